"""`sail-bench run` and `plan`: build every method's stage graph, run what is missing, log to MLflow."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .config import Suite
from .evaluation.stats import paired, summarize
from .methods import METHODS, Iterate
from .pipeline import Pipeline
from .stages import Stage
from .tracking import Tracker, environment_tags, flatten

log = logging.getLogger(__name__)


def check_names(suite: Suite) -> None:
    """Every registered name the suite uses resolves (a typo fails here, before any work)."""
    from .backends import BACKENDS
    from .data.sources import PREFERENCE_SOURCES
    from .evaluation.benchmarks import BENCHMARKS
    from .metrics import METRICS, build_metric

    BACKENDS.get(suite.backend.name, where="backend.name")
    PREFERENCE_SOURCES.get(suite.data.preferences.source, where="data.preferences.source")
    for b in suite.evaluation.benchmarks:
        BENCHMARKS.get(b.name, where="evaluation.benchmarks")
    for m in suite.evaluation.metrics:
        build_metric(m.name, **m.options())  # loads nothing; checks the name and the options it is given
    for m in suite.methods:
        METHODS.get(m.method, where=f"methods[{m.id}].method")
        ranker = getattr(m, "ranker", "")
        scorers = [(ranker.split(":", 1)[1], "ranker")] if ranker.startswith("scorer:") else []
        scorers += [(m.audit_metric, "audit_metric")] if getattr(m, "audit_metric", None) else []
        for name, key in scorers:  # built as the pipeline will: with the options evaluation.metrics gives
            METRICS.get(name, where=f"methods[{m.id}].{key}")
            ref = next((r for r in suite.evaluation.metrics if r.name == name), None)
            build_metric(name, **(ref.options() if ref else {}))


def build_plan(pipe: Pipeline) -> dict[str, list[Iterate]]:
    check_names(pipe.suite)
    return {m.id: METHODS.get(m.method, where=f"methods[{m.id}].method")(pipe, m) for m in pipe.suite.methods}


def walk(stage: Stage, seen: dict[str, Stage]) -> None:
    """Dependencies first, each stage once."""
    for dep in stage.deps.values():
        walk(dep, seen)
    seen.setdefault(stage.key, stage)


def plan_rows(pipe: Pipeline) -> list[dict]:
    """Every stage the suite needs, in execution order, with whether it is already done."""
    seen: dict[str, Stage] = {}
    for st in pipe.evaluation(pipe.base_model(), label="base").values():
        walk(st, seen)
    for method_id, iterates in build_plan(pipe).items():
        for it in iterates:
            walk(it.model, seen)
            for st in pipe.evaluation(it.model, label=f"{method_id}/{it.name}").values():
                walk(st, seen)
            if acc := pipe.reward_accuracy(it.model, label=f"{method_id}/{it.name}"):
                walk(acc, seen)
    rows = []
    for st in seen.values():
        rows.append({"kind": st.kind, "key": st.key, "label": st.label.strip("/"), "done": pipe.store.is_done(st)})
    return rows


# the implicit reward's accuracy on held-out human pairs, logged beside the benchmark metrics
HELDOUT = ("heldout_pairs", "implicit_reward_acc")


@dataclass
class SuiteResult:
    parent_run_id: str
    rows: list[dict] = field(default_factory=list)  # one per (method, iterate, benchmark, metric)
    stages_run: int = 0
    seconds: float = 0.0

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)


def run_suite(suite: Suite, tracking_uri: str | None = None) -> SuiteResult:
    t0 = time.time()
    pipe = Pipeline(suite)
    plan = build_plan(pipe)  # builds the graph (and fails on bad config) before any run is created
    tracker = Tracker(tracking_uri or suite.tracking.uri, suite.tracking.experiment or suite.name)
    env = environment_tags(suite.seed)
    parent = tracker.start(suite.name, {**env, "sail_bench.suite": suite.name, "sail_bench.kind": "suite"})
    resolved = suite.model_dump(mode="json")
    tracker.log_text(parent, yaml.safe_dump(resolved, sort_keys=False), "suite.resolved.yaml")
    tracker.log_params(parent, flatten({k: v for k, v in resolved.items() if k != "methods"}))
    result = SuiteResult(parent)
    ok = False
    try:
        base_scores = load_scores(pipe, pipe.evaluation(pipe.base_model(), label="base"))
        dpo_id = next((m.id for m in suite.methods if m.method == "diffusion_dpo"), None)
        dpo_scores, dpo_correct = None, None
        order = sorted(suite.methods, key=lambda m: m.id != dpo_id)  # DPO first: others compare against it
        for m in order:
            child = tracker.start(
                m.id, {**env, "sail_bench.method": m.method, "sail_bench.method_id": m.id}, parent=parent
            )
            tracker.log_params(child, flatten(m.model_dump(mode="json")))
            for it in plan[m.id]:
                label = f"{m.id}/{it.name}"
                evals = pipe.evaluation(it.model, label=label)
                scores = load_scores(pipe, evals)
                metrics: dict[str, float] = {}
                for (bench, metric), df in scores.items():
                    refs = {"base": base_scores[(bench, metric)]}
                    if dpo_scores is not None and m.id != dpo_id:
                        refs["dpo"] = dpo_scores[(bench, metric)]
                    stats = score_stats(df, refs, suite.evaluation.bootstrap, suite.seed)
                    metrics.update({f"eval/{bench}/{metric}/{k}": v for k, v in stats.items()})
                    result.rows.append(_row(m, it, bench, metric, stats))
                if acc := pipe.reward_accuracy(it.model, label=label):
                    correct, margin = held_out_rewards(pipe.store.ensure(acc))
                    refs = {"dpo": dpo_correct} if dpo_correct is not None and m.id != dpo_id else {}
                    stats = reward_accuracy_stats(correct, margin, refs, suite.evaluation.bootstrap, suite.seed)
                    if m.id == dpo_id:
                        dpo_correct = correct
                    metrics.update({f"eval/{HELDOUT[0]}/{HELDOUT[1]}/{k}": v for k, v in stats.items()})
                    result.rows.append(_row(m, it, *HELDOUT, stats))
                    tracker.log_artifact(child, pipe.store.path(acc) / "rewards.parquet", f"reward_accuracy/{it.name}")
                    pipe.store.link(acc, Path(suite.out_dir) / m.id / it.name / "reward_accuracy")
                metrics.update(_diagnostics(pipe, it))
                tracker.log_metrics(child, metrics, step=it.step)
                _log_artifacts(pipe, tracker, child, it, evals)
                _link(pipe, m.id, it, evals)
            if m.id == dpo_id:
                dpo_scores = scores  # DPO has one iterate
            tracker.finish(child)
        ok = True
    finally:
        result.stages_run = len(pipe.store.ran)
        result.seconds = round(time.time() - t0, 1)
        tracker.log_metrics(parent, {"stages_run": result.stages_run, "seconds": result.seconds}, step=0)
        tracker.finish(parent, ok)
    return result


def _row(m, it: Iterate, bench: str, metric: str, stats: dict) -> dict:
    return {
        "method": m.id,
        "method_kind": m.method,
        "iterate": it.name,
        "step": it.step,
        "benchmark": bench,
        "metric": metric,
        **stats,
    }


def held_out_rewards(stage_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per held-out pair: 1 where the implicit reward prefers the winner, and the reward margin w - l."""
    rewards = pd.read_parquet(stage_dir / "rewards.parquet")
    margin = (rewards["reward_w"] - rewards["reward_l"]).to_numpy()
    return (margin > 0).astype(float), margin


def reward_accuracy_stats(
    correct: np.ndarray, margin: np.ndarray, refs: dict[str, np.ndarray], n_boot: int, seed: int
) -> dict[str, float]:
    """Accuracy with a bootstrap CI over pairs, the mean reward margin, and paired differences to other models'
    accuracy on the same pairs and draws (``vs_dpo/diff``: lost or gained discriminative ability)."""
    stats = {k: v for k, v in summarize(correct, n_boot, seed).items() if k != "n"}
    stats["margin_mean"] = float(margin.mean())
    for name, ref in refs.items():
        d = paired(correct, ref, n_boot, seed)
        stats.update({f"vs_{name}/{k}": d[k] for k in ("diff", "diff_se", "diff_ci_low", "diff_ci_high")})
    return stats


def score_stats(df: pd.DataFrame, refs: dict[str, pd.DataFrame], n_boot: int, seed: int) -> dict[str, float]:
    """Mean and CI of per-prompt scores, and paired comparisons with reference models on the same items."""
    values = df["score"].to_numpy()
    stats = {k: v for k, v in summarize(values, n_boot, seed).items() if k != "n"}
    for name, ref in refs.items():
        stats.update({f"vs_{name}/{k}": v for k, v in paired(values, ref["score"].to_numpy(), n_boot, seed).items()})
    for column in ("group", "subgroup"):  # HPSv2 style, PartiPrompts category / challenge
        groups = df[column] if column in df else pd.Series([""] * len(df))
        if groups.nunique() < 2:
            continue
        for g, idx in groups.groupby(groups).groups.items():
            rows = df.index.get_indexer(idx)
            sub = {k: v for k, v in summarize(values[rows], n_boot, seed).items() if k != "n"}
            stats.update({f"by_{column}/{g}/{k}": v for k, v in sub.items()})
            if "base" in refs:
                stats[f"by_{column}/{g}/vs_base/diff"] = float(
                    (values[rows] - refs["base"]["score"].to_numpy()[rows]).mean()
                )
    return stats


def load_scores(pipe: Pipeline, evals: dict) -> dict[tuple[str, str], pd.DataFrame]:
    return {k: pd.read_parquet(pipe.store.ensure(st) / "scores.parquet") for k, st in evals.items()}


def _diagnostics(pipe: Pipeline, it: Iterate) -> dict[str, float]:
    out = {}
    for role, st in it.extra.items():
        summary = pipe.store.record(st).get("summary", {})
        for k, v in summary.items():
            if isinstance(v, (int, float)):
                out[f"{role}/{k}"] = float(v)
    return out


def log_eval_artifacts(pipe: Pipeline, tracker: Tracker, run_id: str, name: str, evals: dict) -> None:
    """Per-prompt scores of every benchmark x metric and one image grid per benchmark, under ``name``."""
    for (bench, metric), st in evals.items():
        tracker.log_artifact(run_id, pipe.store.path(st) / "scores.parquet", f"scores/{name}/{bench}/{metric}")
    for bench in {b for b, _ in evals}:
        imgs = next(st.deps["images"] for (b, _), st in evals.items() if b == bench)
        tracker.log_artifact(run_id, pipe.store.path(imgs) / "grid.png", f"grids/{name}/{bench}")


def _log_artifacts(pipe: Pipeline, tracker: Tracker, run_id: str, it: Iterate, evals: dict) -> None:
    log_eval_artifacts(pipe, tracker, run_id, it.name, evals)
    if "ranking" in it.extra:  # every candidate's reward: the per-prompt best-worst gap distribution
        tracker.log_artifact(run_id, pipe.store.path(it.extra["ranking"]) / "ranking.parquet", f"ranking/{it.name}")
    if "train" in it.extra:
        train_dir = pipe.store.path(it.extra["train"])
        tracker.log_artifact(run_id, train_dir / "train_log.parquet", f"train/{it.name}")
        tracker.set_tags(run_id, {f"checkpoint.{it.name}": str(train_dir.resolve())})


def _link(pipe: Pipeline, method_id: str, it: Iterate, evals: dict) -> None:
    """Readable paths: <output_dir>/<method>/<iterate>/{checkpoint,ranking,eval/<bench>/<metric>}."""
    root = Path(pipe.suite.out_dir) / method_id / it.name
    pipe.store.link(it.model, root / "checkpoint")
    for role, st in it.extra.items():
        if role != "train":
            pipe.store.link(st, root / role)
    for (bench, metric), st in evals.items():
        pipe.store.link(st, root / "eval" / bench / metric)
