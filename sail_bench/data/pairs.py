"""Preference pairs in model space (latents), as stored between stages.

A pair set is ``pairs.safetensors`` (``x_w``, ``x_l``: (P, C, H, W)) plus ``pairs.json`` with
the prompt of each pair and where the pair came from ("seed" or "generated").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

PAIRS_FILE = "pairs.safetensors"
META_FILE = "pairs.json"


@dataclass
class PairSet:
    x_w: torch.Tensor
    x_l: torch.Tensor
    prompts: list[str]
    origin: list[str]
    # latents of the horizontally mirrored images, when the data stage cached them (random flips)
    x_w_flip: torch.Tensor | None = None
    x_l_flip: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def has_flips(self) -> bool:
        return self.x_w_flip is not None and self.x_l_flip is not None

    def subset(self, idx) -> PairSet:
        idx = [int(i) for i in idx]
        flips = (self.x_w_flip[idx], self.x_l_flip[idx]) if self.has_flips else (None, None)
        prompts, origin = [self.prompts[i] for i in idx], [self.origin[i] for i in idx]
        return PairSet(self.x_w[idx], self.x_l[idx], prompts, origin, *flips)

    @staticmethod
    def concat(sets: list[PairSet]) -> PairSet:
        """Mirrored latents survive only if every part has them."""
        flips = (None, None)
        if all(s.has_flips for s in sets):
            flips = (torch.cat([s.x_w_flip for s in sets]), torch.cat([s.x_l_flip for s in sets]))
        prompts, origin = [p for s in sets for p in s.prompts], [o for s in sets for o in s.origin]
        return PairSet(torch.cat([s.x_w for s in sets]), torch.cat([s.x_l for s in sets]), prompts, origin, *flips)

    def save(self, out_dir: Path) -> None:
        tensors = {"x_w": self.x_w, "x_l": self.x_l}
        if self.has_flips:
            tensors.update(x_w_flip=self.x_w_flip, x_l_flip=self.x_l_flip)
        save_file({k: v.contiguous() for k, v in tensors.items()}, Path(out_dir) / PAIRS_FILE)
        (Path(out_dir) / META_FILE).write_text(json.dumps({"prompts": self.prompts, "origin": self.origin}))

    @staticmethod
    def load(directory: Path) -> PairSet:
        t = load_file(Path(directory) / PAIRS_FILE)
        meta = json.loads((Path(directory) / META_FILE).read_text())
        return PairSet(t["x_w"], t["x_l"], meta["prompts"], meta["origin"], t.get("x_w_flip"), t.get("x_l_flip"))


def mixup(generated: PairSet, seed: PairSet, alpha: float, total: int, rng: np.random.Generator) -> PairSet:
    """SAIL's ranked preference mixup: ``total`` pairs, a share ``alpha`` generated, the rest seed.

    Both parts are drawn without replacement; the result is shuffled so batches mix both kinds.
    """
    n_gen = int(round(alpha * total))
    n_seed = total - n_gen
    if n_gen > len(generated):
        raise ValueError(f"mixup needs {n_gen} generated pairs, only {len(generated)} exist")
    if n_seed > len(seed):
        raise ValueError(
            f"mixup needs {n_seed} seed pairs (alpha={alpha}, {total} pairs) but the seed set has {len(seed)}; "
            "raise data.seed_pairs or alpha"
        )
    parts = [generated.subset(rng.choice(len(generated), n_gen, replace=False))]
    if n_seed:
        parts.append(seed.subset(rng.choice(len(seed), n_seed, replace=False)))
    mixed = PairSet.concat(parts)
    return mixed.subset(rng.permutation(len(mixed)))
