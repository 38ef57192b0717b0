"""MLflow tracking: one parent run per invocation, one child run per method, a step per iteration."""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from .errors import UserError

PARENT_TAG = "mlflow.parentRunId"
MAX_PARAM = 6000


def sanitize_key(key: str) -> str:
    """MLflow keys allow alphanumerics, _ - . space : / only."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", key)


def flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}.{v.get('id', v.get('name', i))}"))
    else:
        out[prefix] = json.dumps(obj) if not isinstance(obj, str) else obj
    return {sanitize_key(k): v[:MAX_PARAM] for k, v in out.items()}


def environment_tags(seed: int) -> dict[str, str]:
    tags = {"sail_bench.seed": str(seed)}
    for pkg in ("sail-bench", "torch", "diffusers", "transformers", "accelerate", "mlflow"):
        try:
            tags[f"version.{pkg}"] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
        tags["git.commit"] = (commit or "unknown") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        tags["git.commit"] = "unknown"
    return tags


class Tracker:
    def __init__(self, uri: str, experiment: str) -> None:
        self.client = MlflowClient(tracking_uri=uri)
        self.uri = uri
        try:
            exp = self.client.get_experiment_by_name(experiment)
            self.experiment_id = exp.experiment_id if exp else self.client.create_experiment(experiment)
        except Exception as e:  # unreachable server, bad URI
            raise UserError(
                f"tracking.uri {uri!r}: cannot reach the MLflow store ({type(e).__name__}: "
                f"{str(e).splitlines()[0][:200]}); start the server or pass --tracking-uri"
            ) from None

    def start(self, name: str, tags: dict[str, str], parent: str | None = None) -> str:
        tags = dict(tags)
        if parent:
            tags[PARENT_TAG] = parent
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        return run.info.run_id

    def log_params(self, run_id: str, params: dict[str, str]) -> None:
        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), 100):  # log_batch takes at most 100 params per call
            self.client.log_batch(run_id, params=items[i : i + 100])

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        items = [Metric(sanitize_key(k), float(v), now, step) for k, v in metrics.items() if v == v]  # drop NaN
        for i in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[i : i + 1000])

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        self.client.log_batch(run_id, tags=[RunTag(sanitize_key(k), str(v)[:5000]) for k, v in tags.items()])

    def log_artifact(self, run_id: str, path: Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.client.log_text(run_id, text, artifact_file)

    def finish(self, run_id: str, ok: bool = True) -> None:
        self.client.set_terminated(run_id, "FINISHED" if ok else "FAILED")
