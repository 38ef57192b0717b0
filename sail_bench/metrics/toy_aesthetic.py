"""The toy world's proxy 'aesthetic' scorer: vividness and contrast, blind to the prompt."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..toy.oracle import proxy_aesthetic
from . import METRICS


@METRICS.register("toy_aesthetic")
class ToyAesthetic:
    """Toy world: proxy aesthetic (saturation + contrast); agrees with the oracle only in part."""

    name = "toy_aesthetic"
    display = "Aesthetic (proxy)"

    def score(self, images: list[Image.Image], prompts: list[str]) -> np.ndarray:
        return proxy_aesthetic(np.stack([np.asarray(im.convert("RGB")) for im in images]))
