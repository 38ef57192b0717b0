"""The toy world's hidden human preference (see ``sail_bench/toy/oracle.py``), in [0, 5]."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..toy.oracle import oracle_score
from . import METRICS


@METRICS.register("toy_oracle")
class ToyOracle:
    """Toy world: the hidden 'human' preference (prompt adherence + size + centring), 0..5."""

    name = "toy_oracle"
    display = "Oracle"

    def score(self, images: list[Image.Image], prompts: list[str]) -> np.ndarray:
        return oracle_score(np.stack([np.asarray(im.convert("RGB")) for im in images]), prompts)
