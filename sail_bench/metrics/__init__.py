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


def build_metric(name: str, device: str = "cpu", **options) -> Metric:
    """A scorer by name, with the options a suite gives it (version, model, weights, processor, arch, dtype,
    batch_size); an option the scorer has no use for is an error, not silently dropped."""
    import inspect

    from ..errors import UserError

    factory = METRICS.get(name, where="evaluation.metrics")
    accepted = inspect.signature(factory).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = sorted(set(accepted) - {"device"})
        raise UserError(f"evaluation.metrics: {name} does not take {', '.join(unknown)} (it takes: {', '.join(takes)})")
    return factory(**options, **({"device": device} if "device" in accepted else {}))


# registration happens on import of each metric's module
from . import aesthetics, hpsv2, imagereward, pickscore, toy_aesthetic, toy_oracle  # noqa: E402,F401
