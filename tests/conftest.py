from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
# real data files (PartiPrompts.tsv, the LAION aesthetic head) live beside the checkout, never in it
SHARED = Path(os.environ.get("SAIL_BENCH_SHARED", REPO.parent / "shared"))

TINY_TRAIN = {"beta": 2000, "lr": 1e-5, "batch_size": 4, "steps": 2, "warmup_steps": 0}


def tiny_suite_dict(tmp_path: Path, **over) -> dict:
    """The toy suite shrunk to seconds: same stages, a handful of items each."""
    d = {
        "name": "tiny",
        "seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "tiny"},
        "backend": {"name": "toy", "model": "builtin"},
        "data": {
            "preferences": {"source": "toy_oracle", "sampler": {"name": "ddim", "steps": 4}},
            "seed_pairs": 12,
            "seed_prompts": 6,
            "prompt_pools": [4, 4],
        },
        "evaluation": {
            "sampler": {"name": "ddim", "steps": 4, "guidance": 1.0},
            "benchmarks": [{"name": "toy_shapes", "limit": 8}],
            "metrics": ["toy_oracle", "toy_aesthetic"],
            "bootstrap": 200,
            "reward_accuracy": {"pairs": 12, "draws": 2},
        },
        "methods": [
            {"id": "base", "method": "base"},
            {"id": "dpo_seed", "method": "diffusion_dpo", "train": TINY_TRAIN},
            {
                "id": "sail",
                "method": "sail",
                "iterations": 2,
                "candidates": 3,
                "draws": 2,
                "alpha": 0.75,
                "train": TINY_TRAIN,
                "audit_metric": "toy_oracle",
            },
        ],
    }
    d.update(over)
    return d


def pytest_sessionstart(session) -> None:
    if not (SHARED / "data").is_dir():
        raise pytest.UsageError(f"tests need the shared data folder at {SHARED} (set SAIL_BENCH_SHARED)")


@pytest.fixture
def tiny_suite_file(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(tiny_suite_dict(tmp_path)))
    return p
