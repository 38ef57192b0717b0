"""Alignment methods, registered by name. A method turns its config into a list of model iterates,
each a lazy stage; the runner evaluates every iterate."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import Registry
from ..stages import Stage


@dataclass
class Iterate:
    step: int  # MLflow step: 0 for a baseline, the SAIL iteration otherwise (iteration 0 = DPO on seed)
    name: str  # e.g. "iter_1"
    model: Stage
    extra: dict[str, Stage] = field(default_factory=dict)  # diagnostics: ranking, training


METHODS: Registry = Registry("method")

from . import baselines, sail  # noqa: E402,F401  (registration)
