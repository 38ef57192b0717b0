"""``sail-bench eval``: one model — a base model, or a checkpoint sail-bench trained — on benchmarks × metrics.

The same stages as a suite's evaluation (images generated once per model × benchmark × prompt × seed,
scored separately, cached), logged as one MLflow run with the same statistics.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from .config import validate_suite
from .errors import UserError
from .pipeline import Pipeline
from .runner import check_names, load_scores, log_eval_artifacts, score_stats
from .stages import RECORD
from .tracking import Tracker, environment_tags

# the paper's evaluation samplers (SD1.5: DDPM 50, CFG 7.5; SDXL: DDIM 20, CFG 5); toy: as suites/toy.yaml
DEFAULT_SAMPLERS = {
    "toy": {"name": "ddim", "steps": 20, "guidance": 1.0},
    "sd15": {"name": "ddpm", "steps": 50, "guidance": 7.5},
    "sdxl": {"name": "ddim", "steps": 20, "guidance": 5.0},
}


def parse_ref(text: str) -> dict:
    """``name`` or ``name:key=value,key=value`` (values read as YAML scalars) → {"name": ..., key: value}."""
    name, _, opts = text.partition(":")
    ref: dict = {"name": name}
    for item in filter(None, opts.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UserError(f"{text!r}: options are key=value pairs separated by commas, e.g. hpsv2:version=v2.1")
        ref[key.strip()] = yaml.safe_load(value)
    return ref


def resolve_model(model: str, backend: str | None) -> tuple[dict, Path | None, str]:
    """(backend config, checkpoint directory or None for the base model itself, a readable name)."""
    p = Path(model).expanduser()
    record = p.resolve() / RECORD
    if p.is_dir() and record.exists():  # a sail-bench stage directory (or its readable link)
        rec = json.loads(record.read_text())
        if rec["kind"] != "train":
            raise UserError(f"--model {model}: a sail-bench {rec['kind']!r} stage, not a trained checkpoint")
        cfg = rec["params"]["backend"]
        if backend and backend != cfg["name"]:
            raise UserError(f"--model {model} was trained on backend {cfg['name']!r}, not {backend!r}")
        return cfg, p.resolve(), rec.get("label") or p.resolve().name
    if backend is None:
        if model in ("builtin", "toy"):
            return {"name": "toy", "model": "builtin"}, None, "toy:builtin"
        raise UserError(
            f"--model {model}: not a checkpoint sail-bench trained; for a base model say which with --backend sd15|sdxl"
        )
    cfg = {"name": backend, "model": "builtin" if backend == "toy" else model}
    return cfg, None, f"{cfg['name']}:{cfg['model']}"


def evaluate_model(
    model: str,
    benchmarks: list[str],
    metrics: list[str],
    backend: str | None = None,
    sampler: dict | None = None,
    limit: int | None = None,
    seed: int = 0,
    output_dir: str = "runs/eval",
    tracking_uri: str = "sqlite:///mlflow.db",
    experiment: str = "sail-bench-eval",
    vs_base: bool = False,
    device: str | None = None,
    dtype: str | None = None,
) -> pd.DataFrame:
    backend_cfg, checkpoint, name = resolve_model(model, backend)
    backend_cfg = backend_cfg | {k: v for k, v in (("device", device), ("dtype", dtype)) if v}
    bench_refs = [parse_ref(b) for b in benchmarks]
    if limit:  # a benchmark's own limit wins
        for b in bench_refs:
            b.setdefault("limit", limit)
    data = {
        "name": "eval",
        "seed": seed,
        "output_dir": output_dir,
        "tracking": {"uri": tracking_uri, "experiment": experiment},
        "backend": backend_cfg,
        "evaluation": {
            "sampler": DEFAULT_SAMPLERS.get(backend_cfg["name"], {}) | (sampler or {}),
            "benchmarks": bench_refs,
            "metrics": [parse_ref(m) for m in metrics],
            "reward_accuracy": None,
        },
        "methods": [{"id": "base", "method": "base"}],
    }
    suite = validate_suite(data, "eval")
    pipe = Pipeline(suite)
    base = pipe.base_model()
    stage = pipe.imported_checkpoint(checkpoint) if checkpoint else base
    check_names(suite)
    evals = pipe.evaluation(stage, label=f"eval/{name}")  # benchmarks load (and fail) before any run exists
    tracker = Tracker(suite.tracking.uri, experiment)
    run = tracker.start(name, {**environment_tags(seed), "sail_bench.kind": "eval", "sail_bench.model": model})
    ok = False
    try:
        tracker.log_params(run, {"model": model, "backend": json.dumps(backend_cfg)})
        tracker.log_text(run, yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False), "eval.resolved.yaml")
        refs = load_scores(pipe, pipe.evaluation(base, label="base")) if vs_base and checkpoint else {}
        rows, logged = [], {}
        for (bench, metric), df in load_scores(pipe, evals).items():
            ref = {"base": refs[(bench, metric)]} if refs else {}
            stats = score_stats(df, ref, suite.evaluation.bootstrap, seed)
            logged.update({f"eval/{bench}/{metric}/{k}": v for k, v in stats.items()})
            kind = "checkpoint" if checkpoint else "base"
            rows.append({"method": name, "method_kind": kind, "step": 0, "benchmark": bench, "metric": metric} | stats)
        log_eval_artifacts(pipe, tracker, run, "eval", evals)
        tracker.log_metrics(run, logged, step=0)
        ok = True
    finally:
        tracker.finish(run, ok)
    return pd.DataFrame(rows)
