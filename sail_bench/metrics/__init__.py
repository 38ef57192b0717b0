"""Scorers, one file each, registered by name. Interface: ``score(images: list[PIL], prompts) -> np.ndarray``."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PIL import Image

from ..registry import Registry


class Metric(Protocol):
    name: str
    #: shown next to the metric in tables (e.g. "HPSv2.1"); defaults to the name
    display: str

    def score(self, images: list[Image.Image], prompts: list[str]) -> np.ndarray: ...


METRICS: Registry = Registry("metric")


def build_metric(name: str, **options) -> Metric:
    """A scorer by name; options (version, model, weights, batch_size, device) go to those that take them."""
    import inspect

    factory = METRICS.get(name, where="evaluation.metrics")
    accepted = inspect.signature(factory).parameters
    return factory(**{k: v for k, v in options.items() if k in accepted})


# registration happens on import of each metric's module
from . import aesthetics, toy_aesthetic, toy_oracle  # noqa: E402,F401
