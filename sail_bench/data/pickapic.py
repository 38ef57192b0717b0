"""Pick-a-Pic v2 preference pairs (or any table with its columns), through HF `datasets`.

Columns: ``caption``, ``jpg_0``, ``jpg_1`` (image bytes, or paths relative to a local file),
``label_0`` (1: image 0 preferred, 0: image 1 preferred, 0.5: tie). Ties are dropped; pairs are
swapped so the winner comes first. The seed set is a seeded subset of the pairs; the SAIL prompt
pools are drawn from the prompts that no seed pair uses (paper §5.1). The seed stage encodes the
images once into VAE latents — the cache the trainer reads — keyed by model and preprocessing.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from ..errors import MissingInput, UserError
from ..seeding import rng_for
from ..stages import Stage, hash_json
from .pairs import PairSet
from .sources import PREFERENCE_SOURCES

log = logging.getLogger(__name__)

DEFAULT_PATH = "yuvalkirstain/pickapic_v2"
PREPROCESSING = "short-side-bilinear-centre-crop/vae-mean/v1"


def load_preferences(path: str, split: str = "train", streaming: bool = False, columns: list[str] | None = None):
    """A `datasets` Dataset (or IterableDataset) from a hub id, a parquet/jsonl file, or a directory of them."""
    from datasets import load_dataset

    p = Path(path).expanduser()
    try:
        if p.exists():
            files = (
                [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.suffix in (".parquet", ".jsonl", ".json"))
            )
            if not files:
                raise UserError(f"data.preferences.path: no .parquet/.jsonl files under {p}")
            kind = "parquet" if files[0].suffix == ".parquet" else "json"
            ds = load_dataset(kind, data_files=[str(f) for f in files], split="train", streaming=streaming)
        else:
            ds = load_dataset(path, split=split, streaming=streaming)
    except UserError:
        raise
    except Exception as e:  # offline, unknown dataset, no credentials
        raise MissingInput(
            f"data.preferences.path {path!r}: cannot load ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:160]}); give a local parquet/jsonl path or check the hub id"
        ) from None
    missing = {"caption", "label_0", "jpg_0", "jpg_1"} - set(ds.column_names or [])
    if missing:
        raise UserError(f"data.preferences.path {path!r}: missing columns {sorted(missing)}")
    return ds.select_columns(columns) if columns else ds


def open_image(value, base_dir: Path | None) -> Image.Image:
    """Bytes, a {'bytes', 'path'} dict (datasets' Image feature) or a path → RGB PIL image."""
    if isinstance(value, dict):
        value = value.get("bytes") or value.get("path")
    if isinstance(value, (bytes, bytearray)):
        return Image.open(io.BytesIO(value)).convert("RGB")
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return Image.open(path).convert("RGB")


@PREFERENCE_SOURCES.register("pickapic_v2")
class PickAPicSource:
    """Pick-a-Pic v2 human pairs (hub or local parquet/jsonl): ties dropped, winner first."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.cfg = pipe.suite.data.preferences
        self.path = self.cfg.path or DEFAULT_PATH
        self._meta: pd.DataFrame | None = None
        self._seed_rows: list[int] | None = None

    @property
    def base_dir(self) -> Path | None:
        p = Path(self.path).expanduser()
        return (p if p.is_dir() else p.parent) if p.exists() else None

    def metadata(self) -> pd.DataFrame:
        """caption and label_0 of every row (no images are read)."""
        if self._meta is None:
            self._meta = self._read_meta(self.path, self.cfg.split)
        return self._meta

    def _read_meta(self, path: str, split: str) -> pd.DataFrame:
        ds = load_preferences(path, split, self.cfg.streaming, ["caption", "label_0"])
        rows = ds if self.cfg.streaming else ds.to_pandas().to_dict("records")
        return pd.DataFrame(list(rows), columns=["caption", "label_0"])

    def split(self) -> tuple[list[str], list[list[str]]]:
        d, seed = self.pipe.suite.data, self.pipe.suite.seed
        meta = self.metadata()
        usable = meta[meta["label_0"] != 0.5] if self.cfg.drop_ties else meta
        if d.seed_pairs > len(usable):
            raise UserError(f"data.seed_pairs = {d.seed_pairs} but {self.path} has {len(usable)} pairs without ties")
        rows = rng_for(seed, "seed_pairs").choice(usable.index.to_numpy(), d.seed_pairs, replace=False)
        self._seed_rows = sorted(int(r) for r in rows)
        seed_prompts = list(dict.fromkeys(meta.loc[self._seed_rows, "caption"]))
        taken = set(seed_prompts)
        rest = [c for c in dict.fromkeys(meta["caption"]) if c not in taken]
        need = sum(d.prompt_pools)
        if need > len(rest):
            raise UserError(
                f"data.prompt_pools {d.prompt_pools} need {need} prompts; {self.path} has {len(rest)} "
                "outside the seed pairs"
            )
        order = rng_for(seed, "prompt_pools").permutation(len(rest))
        pools, start = [], 0
        for size in d.prompt_pools:
            pools.append([rest[i] for i in order[start : start + size]])
            start += size
        return seed_prompts, pools

    def seed_pairs_stage(self) -> Stage:
        if self._seed_rows is None:
            self.pipe.prompt_split  # noqa: B018  (decides the seed rows)
        return self._pairs_stage(self.path, self.cfg.split, list(self._seed_rows), self.cfg.random_flip, "seed")

    def heldout_pairs_stage(self, acc) -> Stage:
        path, rows = self.heldout_rows(acc)
        return self._pairs_stage(path, acc.split, rows, False, "heldout")

    def heldout_rows(self, acc) -> tuple[str, list[int]]:
        """Human pairs no training stage sees: ``acc.split`` of ``acc.path`` (default: the training data's
        location); when that is the very data the seed pairs come from, the seed rows are excluded."""
        path = acc.path or self.path
        if self._seed_rows is None:
            self.pipe.prompt_split  # noqa: B018  (decides the seed rows)
        local = Path(path).expanduser()
        if local.exists():  # a local file has no splits: the same file means the same rows
            same = local.resolve() == Path(self.path).expanduser().resolve()
        else:
            same = path == self.path and acc.split == self.cfg.split
        meta = self.metadata() if same else self._read_meta(path, acc.split)
        usable = meta[meta["label_0"] != 0.5].index.to_numpy()
        if same:
            usable = np.setdiff1d(usable, self._seed_rows)
        if len(usable) < acc.pairs:
            raise UserError(
                f"evaluation.reward_accuracy.pairs = {acc.pairs} but {path!r} ({acc.split}) has {len(usable)} "
                "usable held-out pairs; lower pairs or point evaluation.reward_accuracy.path at more data"
            )
        rows = rng_for(self.pipe.suite.seed, "heldout_pairs").choice(usable, acc.pairs, replace=False)
        return path, sorted(int(r) for r in rows)

    def _pairs_stage(self, path: str, split: str, rows: list[int], flip: bool, tag: str) -> Stage:
        """VAE latents of the chosen rows, winner first: the cache training and reward accuracy read."""
        pipe, streaming = self.pipe, self.cfg.streaming
        local = Path(path).expanduser()
        base_dir = (local if local.is_dir() else local.parent) if local.exists() else None

        def run(out: Path, deps: dict) -> dict:
            backend = pipe.backend
            ds = load_preferences(path, split, streaming)
            wanted = set(rows)
            records = (r for i, r in enumerate(ds) if i in wanted) if streaming else iter(ds.select(rows))
            w_imgs, l_imgs, prompts, skipped = [], [], [], 0
            for rec in tqdm(records, total=len(rows), desc=f"{tag} pairs: read", unit="pair", leave=False):
                try:
                    a, b = open_image(rec["jpg_0"], base_dir), open_image(rec["jpg_1"], base_dir)
                except (UnidentifiedImageError, OSError, ValueError, TypeError) as e:
                    skipped += 1
                    log.warning("skipping pair %r: unreadable image (%s)", rec.get("caption", "")[:60], e)
                    continue
                if rec["label_0"] == 0:  # image 1 won
                    a, b = b, a
                w_imgs.append(a)
                l_imgs.append(b)
                prompts.append(rec["caption"])
            if skipped:
                log.warning("%s pairs: %d of %d pairs skipped (unreadable images)", tag, skipped, len(rows))
            if not prompts:
                raise UserError(f"{path!r}: none of the {len(rows)} {tag} pairs is readable")
            x_w, x_l = backend.encode_images(w_imgs), backend.encode_images(l_imgs)
            pairs = PairSet(x_w, x_l, prompts, [tag] * len(prompts))
            if flip:  # latents of the mirrored images, so training can flip w and l independently
                pairs.x_w_flip = backend.encode_images([im.transpose(Image.FLIP_LEFT_RIGHT) for im in w_imgs])
                pairs.x_l_flip = backend.encode_images([im.transpose(Image.FLIP_LEFT_RIGHT) for im in l_imgs])
            pairs.save(out)
            return {"pairs": len(prompts), "skipped_unreadable": skipped, "prompts": len(set(prompts))}

        params = {
            "source": "pickapic_v2",
            "path": path,
            "split": split,
            "rows": hash_json(rows),
            "drop_ties": self.cfg.drop_ties,
            "flip": flip,
            "model": pipe.model_fingerprint(),
            "preprocessing": PREPROCESSING,
        }
        return Stage("preferences", 1, params, {}, run, label=f"data/{tag}_pairs")
