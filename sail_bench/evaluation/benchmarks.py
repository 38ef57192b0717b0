"""Benchmarks: named prompt sets, each item with a stable id."""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry
from ..toy.world import all_prompts


@dataclass(frozen=True)
class BenchmarkItem:
    item_id: str
    prompt: str
    group: str = ""  # style / category for breakdowns


BENCHMARKS: Registry = Registry("benchmark")


@BENCHMARKS.register("toy_shapes")
def toy_shapes() -> list[BenchmarkItem]:
    """Toy world: every one of the 215 toy prompts (full and partial)."""
    items = []
    for i, p in enumerate(all_prompts()):
        kind = "full" if (p.colour and p.shape and p.background) else "partial"
        items.append(BenchmarkItem(f"toy-{i:03d}", p.text, kind))
    return items


def load_benchmark(name: str, limit: int | None = None) -> list[BenchmarkItem]:
    items = BENCHMARKS.get(name, where="evaluation.benchmarks")()
    return items[:limit] if limit else items
