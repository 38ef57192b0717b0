"""Uncertainty for per-prompt scores: bootstrap CIs and paired comparisons on the same prompts and seeds."""

from __future__ import annotations

import numpy as np

from ..seeding import rng_for


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float("nan"), float("nan")
    rng = rng_for(seed, "bootstrap", len(values))
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def summarize(values: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    lo, hi = bootstrap_ci(values, n_boot, seed=seed)
    return {"mean": float(np.mean(values)), "ci_low": lo, "ci_high": hi, "n": float(len(values))}


def paired(values: np.ndarray, baseline: np.ndarray, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """Difference to a baseline scored on the same items: mean, s.e., 95% CI, win rate (ties count half)."""
    a, b = np.asarray(values, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    d = a - b
    lo, hi = bootstrap_ci(d, n_boot, seed=seed)
    wins = (d > 0).mean() + 0.5 * (d == 0).mean()
    return {
        "diff": float(d.mean()),
        "diff_se": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan"),
        "diff_ci_low": lo,
        "diff_ci_high": hi,
        "win_rate": float(wins),
    }
