"""Implicit-reward accuracy on held-out pairs: it reads the direction a model was trained in."""

from pathlib import Path

import pytest

from sail_bench.config import Suite, TrainConfig
from sail_bench.data.pairs import PairSet
from sail_bench.errors import UserError
from sail_bench.pipeline import Pipeline
from sail_bench.stages import Stage

from .conftest import tiny_suite_dict


def _swapped(pairs: Stage) -> Stage:
    def run(out: Path, deps: dict) -> dict:
        p = PairSet.load(deps["pairs"])
        PairSet(p.x_l, p.x_w, p.prompts, p.origin).save(out)
        return {}

    return Stage("swap", 1, {}, {"pairs": pairs}, run, label="test/swap")


def test_accuracy_follows_the_trained_preference(tmp_path):
    suite = Suite.model_validate(tiny_suite_dict(tmp_path, evaluation={"reward_accuracy": {"pairs": 16, "draws": 4}}))
    pipe = Pipeline(suite)
    base, held = pipe.base_model(), pipe.heldout_pairs()
    fit = TrainConfig(beta=2000, lr=1e-4, batch_size=16, steps=12, warmup_steps=0)
    acc = {}
    for name, pairs in (("agree", held), ("disagree", _swapped(held))):
        model = pipe.train(init=base, ref=base, pairs=pairs, cfg=fit, label=name)
        st = pipe.reward_accuracy(model, name)
        pipe.store.ensure(st)
        acc[name] = pipe.store.record(st)["summary"]["accuracy"]
    # fitted to the held-out winners the reward agrees with them; fitted to the losers it disagrees
    assert acc["agree"] >= 0.75 and acc["disagree"] <= 0.25, acc
    assert pipe.reward_accuracy(base, "base") is None  # the base against itself has no reward


def test_pickapic_heldout_from_the_training_file_excludes_seed_rows(tmp_path):
    from .test_pickapic import _suite, write_pickapic_parquet

    data = tmp_path / "pairs.parquet"
    rows = write_pickapic_parquet(data)  # 24 rows, 8 ties
    d = _suite(tmp_path, {"name": "sd15", "model": "unused"}, data)
    d["evaluation"]["reward_accuracy"] = {"pairs": 10}
    pipe = Pipeline(Suite.model_validate(d))
    path, chosen = pipe.source.heldout_rows(pipe.suite.evaluation.reward_accuracy)
    assert path == str(data) and len(chosen) == 10 and not set(chosen) & set(pipe.source._seed_rows)
    assert all(rows[i]["label_0"] != 0.5 for i in chosen)
    d["evaluation"]["reward_accuracy"] = {"pairs": 11}  # 16 usable - 6 seed rows = 10
    with pytest.raises(UserError, match="has 10 usable held-out pairs"):
        Pipeline(Suite.model_validate(d)).heldout_pairs()
