"""End to end on a tiny toy suite: what runs, what MLflow holds, resume after an interruption."""

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from sail_bench.cli import main
from sail_bench.config import load_suite
from sail_bench.methods import trainer
from sail_bench.pipeline import Pipeline
from sail_bench.report.mlflow_reader import results_frame
from sail_bench.runner import plan_rows, run_suite

KEYS = ["method", "step", "benchmark", "metric"]


def _frame(res) -> pd.DataFrame:
    return res.frame().sort_values(KEYS).reset_index(drop=True)[KEYS + ["mean", "ci_low", "ci_high"]]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    import yaml

    from .conftest import tiny_suite_dict

    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_suite_dict(tmp)))
    suite = load_suite(path)
    return tmp, path, suite, run_suite(suite)


def test_full_run_stages_shared_and_logged(finished):
    tmp, path, suite, res = finished
    df = res.frame()
    # base, dpo_seed, sail iter 0..2, each on 1 benchmark x 2 metrics; the 4 trained ones: reward accuracy
    assert len(df) == 5 * 2 + 4
    acc = df[df.metric == "implicit_reward_acc"]
    assert set(acc.method) == {"dpo_seed", "sail"} and acc["mean"].between(0, 1).all()
    # SAIL's iteration 0 *is* Diffusion-DPO on the seed pairs: one stage, identical scores
    a = df[(df.method == "dpo_seed")].set_index("metric")["mean"]
    b = df[(df.method == "sail") & (df.step == 0)].set_index("metric")["mean"]
    assert a.to_dict() == b.to_dict()
    kinds = [r["kind"] for r in plan_rows(Pipeline(suite))]
    assert kinds.count("train") == 3  # shared iteration 0 + two SAIL iterations
    assert all(r["done"] for r in plan_rows(Pipeline(suite)))

    client = MlflowClient(suite.tracking.uri)
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id])
    children = {r.info.run_name: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert set(children) == {"base", "dpo_seed", "sail"}
    # iteration 0 trains on seed pairs only; later ones on 3 generated + 1 seed pair (alpha 0.75, pools of 4)
    share = client.get_metric_history(children["sail"].info.run_id, "train/seed_pair_share")
    assert {p.step: p.value for p in share} == {0: 1.0, 1: 0.25, 2: 0.25}
    for key in ("eval/toy_shapes/toy_oracle/mean", "eval/heldout_pairs/implicit_reward_acc/mean"):
        hist = client.get_metric_history(children["sail"].info.run_id, key)
        assert sorted(p.step for p in hist) == [0, 1, 2]
    for key in (
        "eval/toy_shapes/toy_oracle/ci_low",
        "eval/toy_shapes/toy_oracle/vs_base/win_rate",
        "eval/toy_shapes/toy_oracle/vs_dpo/diff",
        "ranking/audit_best_worst_agreement",
        "train/final_loss",
        "eval/toy_shapes/toy_oracle/by_group/full/mean",
        "eval/toy_shapes/toy_oracle/by_group/partial/vs_base/diff",
        "eval/heldout_pairs/implicit_reward_acc/mean",
        "eval/heldout_pairs/implicit_reward_acc/vs_dpo/diff",
    ):
        assert key in children["sail"].data.metrics, key
    tags = children["sail"].data.tags
    assert "git.commit" in tags and tags["sail_bench.seed"] == "0" and "version.torch" in tags
    arts = [a.path for a in client.list_artifacts(children["sail"].info.run_id, "scores/iter_2/toy_shapes/toy_oracle")]
    assert arts and arts[0].endswith("scores.parquet")
    # the report reads MLflow only and sees the same numbers
    rep = results_frame(suite.tracking.uri, "tiny").sort_values(KEYS).reset_index(drop=True)
    pd.testing.assert_series_equal(rep["mean"], _frame(res)["mean"], check_names=False)


def test_rerun_does_no_work(finished, capsys):
    tmp, path, suite, first = finished
    again = run_suite(suite)
    assert again.stages_run == 0
    pd.testing.assert_frame_equal(_frame(again), _frame(first))
    assert main(["report", "--suite", str(path)]) == 0
    assert "sail iter 2" in capsys.readouterr().out


def test_resume_after_interruption_gives_identical_metrics(finished, tmp_path, monkeypatch):
    _, _, suite_full, full = finished
    suite = suite_full.model_copy(update={"output_dir": str(tmp_path / "runs")})
    real, calls = trainer.train_preference, []

    def crash_on_third(*a, **k):
        calls.append(1)
        if len(calls) == 3:  # SAIL iteration 2's training
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(trainer, "train_preference", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite)
    monkeypatch.setattr(trainer, "train_preference", real)
    rows = plan_rows(Pipeline(suite))
    done = {r["label"]: r["done"] for r in rows}
    assert done["sail/iter_1"] and not done["sail/iter_2"]
    resumed = run_suite(suite)
    assert 0 < resumed.stages_run < len(rows)
    pd.testing.assert_frame_equal(_frame(resumed), _frame(full))


def test_eval_command_reproduces_the_suite_scores_of_a_checkpoint(finished, tmp_path, capsys):
    _, _, suite, res = finished
    ckpt = suite.out_dir / "sail" / "iter_2" / "checkpoint"  # the readable link the suite wrote
    args = ["eval", "--model", str(ckpt), "--benchmarks", "toy_shapes:limit=8", "--metrics", "toy_oracle"]
    args += ["--sampler", "ddim", "--steps", "4", "--vs-base", "--output-dir", str(tmp_path / "eval")]
    args += ["--tracking-uri", f"sqlite:///{tmp_path / 'eval.db'}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    suite_row = res.frame().query("method == 'sail' and step == 2 and metric == 'toy_oracle'").iloc[0]
    assert f"{suite_row['mean']:.3f}" in out and "sail/iter_2" in out  # same seeds, same images, same scores
    client = MlflowClient(f"sqlite:///{tmp_path / 'eval.db'}")
    run = client.search_runs([client.get_experiment_by_name("sail-bench-eval").experiment_id])[0]
    assert run.data.metrics["eval/toy_shapes/toy_oracle/mean"] == pytest.approx(suite_row["mean"])
    assert run.data.metrics["eval/toy_shapes/toy_oracle/vs_base/diff"] == pytest.approx(suite_row["vs_base/diff"])
    # evaluated again: every stage is cached, nothing new is written
    before = sorted(p.name for p in (tmp_path / "eval" / "stages").rglob("_stage.json"))
    mtimes = [p.stat().st_mtime_ns for p in (tmp_path / "eval" / "stages").rglob("_stage.json")]
    assert main(args) == 0
    assert sorted(p.name for p in (tmp_path / "eval" / "stages").rglob("_stage.json")) == before
    assert [p.stat().st_mtime_ns for p in (tmp_path / "eval" / "stages").rglob("_stage.json")] == mtimes
    assert main(["eval", "--model", str(ckpt), "--benchmarks", "nope", "--metrics", "toy_oracle"]) == 2


def test_adding_a_metric_later_only_scores(finished):
    from sail_bench.config import MetricRef

    from .conftest import SHARED

    _, _, suite, _ = finished
    fix = Path(__file__).parent / "fixtures" / "parity" / "aesthetics"
    head = SHARED / "data" / "sac+logos+ava1-l14-linearMSE.pth"
    metrics = [*suite.evaluation.metrics, MetricRef(name="aesthetics", model=str(fix), weights=str(head))]
    more = suite.model_copy(update={"evaluation": suite.evaluation.model_copy(update={"metrics": metrics})})
    todo = [r for r in plan_rows(Pipeline(more)) if not r["done"]]
    assert todo and {r["kind"] for r in todo} == {"scores"}  # no image is generated again
    assert all(r["label"].endswith("/aesthetics") for r in todo)
