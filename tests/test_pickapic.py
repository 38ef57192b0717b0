"""Pick-a-Pic-format preference data from local files through HF `datasets`, and an SD suite end to end."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from sail_bench.config import load_suite
from sail_bench.data.pairs import PairSet
from sail_bench.pipeline import Pipeline
from sail_bench.runner import run_suite

from .conftest import TINY_TRAIN
from .tiny_sd import make_tiny_sd15, make_tiny_sdxl


def _png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 16), colour).save(buf, format="PNG")
    return buf.getvalue()


def write_pickapic_parquet(path, n_prompts=12, pairs_per_prompt=2):
    rng = np.random.default_rng(0)
    rows = []
    for p in range(n_prompts):
        for k in range(pairs_per_prompt):
            label = [1.0, 0.0, 0.5][(p + k) % 3]
            rows.append(
                {
                    "caption": f"prompt number {p}",
                    "label_0": label,
                    "jpg_0": _png(tuple(int(v) for v in rng.integers(0, 255, 3))),
                    "jpg_1": _png(tuple(int(v) for v in rng.integers(0, 255, 3))),
                }
            )
    rows[1]["jpg_1"] = b"not an image"  # a corrupt file: skipped, counted, no crash
    pd.DataFrame(rows).to_parquet(path)
    return rows


def _suite(tmp_path, backend, data_path, **data_over):
    return {
        "name": "sdtiny",
        "seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "sdtiny"},
        "backend": backend,
        "data": {
            "preferences": {"source": "pickapic_v2", "path": str(data_path), **data_over},
            "seed_pairs": 6,
            "prompt_pools": [2, 2],
        },
        "evaluation": {
            "sampler": {"name": "ddim", "steps": 3, "guidance": 5.0},
            "benchmarks": [{"name": "toy_shapes", "limit": 3}],
            "metrics": ["toy_aesthetic"],
            "bootstrap": 100,
            "reward_accuracy": {"pairs": 4, "draws": 2},
        },
        "methods": [
            {"id": "base", "method": "base"},
            {"id": "dpo_seed", "method": "diffusion_dpo", "train": {**TINY_TRAIN, "batch_size": 2}},
            {"id": "mapo", "method": "mapo", "train": {"lr": 1e-5, "batch_size": 2, "steps": 2}},
            {
                "id": "sail",
                "method": "sail",
                "iterations": 2,
                "candidates": 2,
                "draws": 2,
                "train": {**TINY_TRAIN, "batch_size": 2},
            },
        ],
    }


def test_split_drops_ties_and_keeps_pools_disjoint(tmp_path):
    data = tmp_path / "pairs.parquet"
    rows = write_pickapic_parquet(data)
    d = _suite(tmp_path, {"name": "sd15", "model": "unused"}, data)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    pipe = Pipeline(load_suite(tmp_path / "s.yaml"))
    seed_prompts, pools = pipe.prompt_split
    chosen = pipe.source._seed_rows
    assert len(chosen) == 6 and all(rows[i]["label_0"] != 0.5 for i in chosen)
    assert {rows[i]["caption"] for i in chosen} == set(seed_prompts)
    groups = [set(seed_prompts)] + [set(p) for p in pools]
    assert sum(len(g) for g in groups) == len(set().union(*groups))  # pairwise disjoint
    assert [len(p) for p in pools] == [2, 2]


@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
def test_sd_suite_runs_end_to_end_on_tiny_pipeline(tmp_path, kind):
    model = (make_tiny_sd15 if kind == "sd15" else make_tiny_sdxl)(tmp_path / kind)
    data = tmp_path / "pairs.parquet"
    write_pickapic_parquet(data)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_suite(tmp_path, {"name": kind, "model": str(model)}, data, random_flip=True)))
    suite = load_suite(path)
    res = run_suite(suite)
    df = res.frame()
    assert set(df["method"]) == {"base", "dpo_seed", "mapo", "sail"}
    assert sorted(df[(df.method == "sail") & (df.metric == "toy_aesthetic")]["step"]) == [0, 1, 2]
    # reward accuracy on held-out rows of the same file (none of them a seed pair), for every trained model
    acc = df[df.metric == "implicit_reward_acc"]
    assert sorted(acc.method) == ["dpo_seed", "mapo", "sail", "sail", "sail"] and acc["mean"].between(0, 1).all()
    pipe = Pipeline(suite)
    seed_dir = pipe.store.path(pipe.seed_pairs())
    rec = json.loads((seed_dir / "_stage.json").read_text())["summary"]
    pairs = PairSet.load(seed_dir)
    assert rec["skipped_unreadable"] + rec["pairs"] == 6 and len(pairs) == rec["pairs"]
    assert pairs.has_flips and pairs.x_w.shape[1:] == (4, 8, 8)
    assert run_suite(suite).stages_run == 0


def test_real_hub_ids_validate_and_plan_without_weights(tmp_path, capsys):
    from sail_bench.cli import main

    d = _suite(
        tmp_path,
        {"name": "sd15", "model": "stable-diffusion-v1-5/stable-diffusion-v1-5", "dtype": "bf16"},
        "yuvalkirstain/pickapic_v2",
    )
    d["data"].update(seed_pairs=50000, prompt_pools=[10000, 20000, 20000])
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "schema ok" in out and "yuvalkirstain/pickapic_v2" in out
    assert main(["plan", str(path)]) == 0
    assert "cannot compute the stages" in capsys.readouterr().out
    d["backend"]["model"] = str(tmp_path / "missing")  # a local path that does not exist is a typo, not absent data
    d["data"]["preferences"]["path"] = str(tmp_path / "nope.parquet")
    path.write_text(yaml.safe_dump(d))
    assert main(["validate", str(path)]) == 0  # still only "not present": the file may come later


def test_jsonl_with_image_paths_and_missing_files(tmp_path):
    """An image folder described by a jsonl file: paths relative to it; a missing file is skipped and counted."""
    from sail_bench.backends.sd15 import SD15Backend

    folder = tmp_path / "prefs"
    (folder / "img").mkdir(parents=True)
    lines = []
    for i in range(4):
        for side in (0, 1):
            Image.new("RGB", (16, 16), (60 * i, 100 * side, 50)).save(folder / "img" / f"{i}_{side}.png")
        lines.append(
            {"caption": f"p{i}", "label_0": 0.0 if i % 2 else 1.0, "jpg_0": f"img/{i}_0.png", "jpg_1": f"img/{i}_1.png"}
        )
    lines[2]["jpg_0"] = "img/missing.png"
    (folder / "pairs.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    model = make_tiny_sd15(tmp_path / "sd15")
    d = _suite(tmp_path, {"name": "sd15", "model": str(model)}, folder / "pairs.jsonl")
    d["data"].update(seed_pairs=4, prompt_pools=[])
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    pipe = Pipeline(load_suite(tmp_path / "s.yaml"))
    out = pipe.store.ensure(pipe.seed_pairs())
    rec = json.loads((out / "_stage.json").read_text())["summary"]
    assert rec == {"pairs": 3, "skipped_unreadable": 1, "prompts": 3}
    pairs = PairSet.load(out)
    backend = SD15Backend(str(model))
    # label_0 == 0 means image 1 won: p1 and p3 are swapped, so their winner is the *_1.png image
    w1 = backend.encode_images([Image.open(folder / "img" / "1_1.png")])
    assert torch.allclose(pairs.x_w[pairs.prompts.index("p1")], w1[0], atol=1e-5)
