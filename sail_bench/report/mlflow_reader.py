"""Read a suite's results back from MLflow only, so a report works wherever the tracking store is visible."""

from __future__ import annotations

import re

import pandas as pd
from mlflow.tracking import MlflowClient

from ..errors import UserError
from ..tracking import PARENT_TAG

EVAL_KEY = re.compile(r"^eval/(?P<benchmark>[^/]+)/(?P<metric>[^/]+)/(?P<stat>.+)$")


def latest_parent_run(client: MlflowClient, experiment: str, run_id: str | None = None):
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise UserError(f"experiment {experiment!r} not found in the tracking store; run the suite first")
    if run_id:
        return client.get_run(run_id)
    runs = client.search_runs(
        [exp.experiment_id],
        "tags.`sail_bench.kind` = 'suite' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise UserError(f"experiment {experiment!r} has no finished suite run; run the suite first")
    return runs[0]


def results_frame(uri: str, experiment: str, run_id: str | None = None) -> pd.DataFrame:
    """One row per (method, step, benchmark, metric) with every logged statistic as a column."""
    client = MlflowClient(tracking_uri=uri)
    parent = latest_parent_run(client, experiment, run_id)
    children = client.search_runs([parent.info.experiment_id], f"tags.`{PARENT_TAG}` = '{parent.info.run_id}'")
    rows: dict[tuple, dict] = {}
    for child in children:
        method = child.data.tags.get("sail_bench.method_id", child.info.run_name)
        kind = child.data.tags.get("sail_bench.method", "")
        for key in child.data.metrics:
            m = EVAL_KEY.match(key)
            if not m:
                continue
            # search_runs only carries the latest value; the curve is in the history
            for point in client.get_metric_history(child.info.run_id, key):
                row = rows.setdefault(
                    (method, point.step, m["benchmark"], m["metric"]),
                    {
                        "method": method,
                        "method_kind": kind,
                        "step": point.step,
                        "benchmark": m["benchmark"],
                        "metric": m["metric"],
                    },
                )
                row[m["stat"]] = point.value
    if not rows:
        raise UserError(f"run {parent.info.run_id} has no evaluation metrics")
    return pd.DataFrame(list(rows.values())).sort_values(["method", "step", "benchmark", "metric"])
