"""Benchmarks: named prompt sets, each item with a stable id, from the hub or a local file.

Each loader takes ``path`` (None: the official source) so a machine behind a firewall, and the
tests, can point at a local copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import MissingInput, UserError
from ..registry import Registry
from ..toy.world import all_prompts


@dataclass(frozen=True)
class BenchmarkItem:
    item_id: str
    prompt: str
    group: str = ""  # style / category for breakdowns
    subgroup: str = ""  # e.g. PartiPrompts' challenge


BENCHMARKS: Registry = Registry("benchmark")


def _hub_table(repo: str, split: str, what: str) -> pd.DataFrame:
    try:
        from datasets import load_dataset

        return load_dataset(repo, split=split).to_pandas()
    except Exception as e:
        raise MissingInput(
            f"{what}: {repo} ({split}) not present and not downloadable here ({type(e).__name__}); "
            "give evaluation.benchmarks[].path to a local copy"
        ) from None


def _local_table(path: str, what: str) -> pd.DataFrame:
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{what}: path {p} does not exist")
    if p.suffix == ".tsv":
        return pd.read_csv(p, sep="\t", keep_default_na=False)
    if p.suffix == ".csv":
        return pd.read_csv(p, keep_default_na=False)
    if p.suffix == ".parquet":
        return pd.read_parquet(p)
    if p.suffix in (".jsonl", ".json"):
        return pd.read_json(p, lines=p.suffix == ".jsonl")
    raise UserError(f"{what}: {p} — expected .tsv, .csv, .parquet, .jsonl or .json")


@BENCHMARKS.register("partiprompts")
def partiprompts(path: str | None = None) -> list[BenchmarkItem]:
    """PartiPrompts (1632 prompts, 12 categories, with challenge), nateraw/parti-prompts or a local TSV."""
    df = _local_table(path, "partiprompts") if path else _hub_table("nateraw/parti-prompts", "train", "partiprompts")
    missing = {"Prompt", "Category", "Challenge"} - set(df.columns)
    if missing:
        raise UserError(f"partiprompts: {path or 'nateraw/parti-prompts'} lacks columns {sorted(missing)}")
    return [
        BenchmarkItem(f"parti-{i:04d}", str(r.Prompt), str(r.Category), str(r.Challenge))
        for i, r in enumerate(df.itertuples(index=False))
    ]


@BENCHMARKS.register("pickapic_val_unique")
def pickapic_val_unique(path: str | None = None) -> list[BenchmarkItem]:
    """Pick-a-Pic v2 validation_unique captions (500), from the prompts-only hub dataset or a local file."""
    df = (
        _local_table(path, "pickapic_val_unique")
        if path
        else _hub_table("yuvalkirstain/pickapic_v2_no_images", "validation_unique", "pickapic_val_unique")
    )
    if "caption" not in df.columns:
        raise UserError(f"pickapic_val_unique: {path} has no 'caption' column")
    captions = list(dict.fromkeys(df["caption"].astype(str)))
    return [BenchmarkItem(f"pap-val-{i:04d}", c) for i, c in enumerate(captions)]


HPS_STYLES = ("anime", "concept-art", "paintings", "photo")


@BENCHMARKS.register("hpsv2")
def hpsv2(path: str | None = None) -> list[BenchmarkItem]:
    """HPSv2 benchmark: 4 styles x 800 prompts (zhwang/HPDv2 benchmark/*.json) or a local folder of them."""
    if path:
        folder = Path(path).expanduser()
    else:
        try:
            from huggingface_hub import snapshot_download

            folder = (
                Path(
                    snapshot_download(
                        "zhwang/HPDv2", repo_type="dataset", allow_patterns=[f"benchmark/{s}.json" for s in HPS_STYLES]
                    )
                )
                / "benchmark"
            )
        except Exception as e:
            raise MissingInput(
                f"hpsv2: zhwang/HPDv2 benchmark not present and not downloadable here "
                f"({type(e).__name__}); give evaluation.benchmarks[].path to a folder with "
                f"{', '.join(s + '.json' for s in HPS_STYLES)}"
            ) from None
    items = []
    for style in HPS_STYLES:
        f = folder / f"{style}.json"
        if not f.exists():
            raise UserError(f"hpsv2: {f} not found (need {', '.join(s + '.json' for s in HPS_STYLES)})")
        items += [BenchmarkItem(f"hps-{style}-{i:03d}", str(p), style) for i, p in enumerate(json.loads(f.read_text()))]
    return items


@BENCHMARKS.register("toy_shapes")
def toy_shapes(path: str | None = None) -> list[BenchmarkItem]:
    """Toy world: every one of the 215 toy prompts (full and partial)."""
    items = []
    for i, p in enumerate(all_prompts()):
        kind = "full" if (p.colour and p.shape and p.background) else "partial"
        items.append(BenchmarkItem(f"toy-{i:03d}", p.text, kind))
    return items


def load_benchmark(name: str, limit: int | None = None, path: str | None = None) -> list[BenchmarkItem]:
    """Items of a benchmark; ``limit`` keeps the first N of every group (style), so breakdowns stay whole."""
    items = BENCHMARKS.get(name, where="evaluation.benchmarks")(path=path)
    if not limit:
        return items
    kept, per_group = [], {}
    for it in items:
        if per_group.get(it.group, 0) < limit:
            kept.append(it)
            per_group[it.group] = per_group.get(it.group, 0) + 1
    return kept
