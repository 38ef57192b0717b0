import pytest
import yaml

from sail_bench.cli import main
from sail_bench.config import load_suite
from sail_bench.errors import UserError

from .conftest import REPO, tiny_suite_dict


def _write(tmp_path, data) -> str:
    p = tmp_path / "suite.yaml"
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return str(p)


def _methods(d, **sail_over):
    d["methods"][2].update(sail_over)
    return d


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda d: _methods(d, alpah=0.5), "methods[sail].alpah: unknown key — did you mean 'alpha'?"),
        (lambda d: _methods(d, alpha=1.5), "methods[sail].alpha = 1.5: Input should be less than or equal to 1"),
        (lambda d: _methods(d, method="sial"), "methods[sail].method: 'sial' is not a method"),
        (lambda d: _methods(d, ranker="oracle"), "ranker 'oracle': use implicit, random or scorer:<metric>"),
        (lambda d: {k: v for k, v in d.items() if k != "name"}, "name: required key missing"),
        (lambda d: {**d, "evaluaton": {}}, "evaluaton: unknown key — did you mean 'evaluation'?"),
        (
            lambda d: _methods(d, train={"beta": 1, "lr": 1e-5, "steps": 3, "epochs": 2}),
            "give exactly one of steps or epochs",
        ),
        (
            lambda d: {**d, "evaluation": {**d["evaluation"], "sampler": {"name": "plms"}}},
            "evaluation.sampler.name = 'plms': Input should be 'ddim', 'ddpm' or 'euler'",
        ),
    ],
)
def test_schema_errors_name_key_value_and_fix(tmp_path, mutate, expected, capsys):
    path = _write(tmp_path, mutate(tiny_suite_dict(tmp_path)))
    with pytest.raises(UserError) as e:
        load_suite(path)
    assert expected in str(e.value)
    assert str(e.value).startswith(path)
    # the CLI prints it as one line per problem, exits 2, no traceback
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_yaml_syntax_error_is_one_line(tmp_path, capsys):
    path = _write(tmp_path, "name: x\nmethods: [\n  - id: a\n")
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not valid YAML" in err[0]


def test_unknown_registered_names_fail_validate(tmp_path, capsys):
    d = tiny_suite_dict(tmp_path)
    d["evaluation"]["metrics"] = ["toy_oracel"]
    assert main(["validate", _write(tmp_path, d)]) == 2
    assert "unknown metric 'toy_oracel' — did you mean 'toy_oracle'?" in capsys.readouterr().err


@pytest.mark.parametrize(
    "metric,expected",
    [
        ({"name": "hpsv2"}, "hpsv2 needs an explicit version, one of ['v2.0', 'v2.1']"),
        ({"name": "pickscore", "arch": "ViT-H-14"}, "pickscore does not take arch"),
        (
            {"name": "aesthetics", "dtype": "fp8"},
            "evaluation.metrics[0].dtype = 'fp8': Input should be 'fp32', 'fp16' or 'bf16'",
        ),
    ],
)
def test_bad_metric_options_fail_validate_before_any_work(tmp_path, capsys, metric, expected):
    d = tiny_suite_dict(tmp_path)
    d["evaluation"]["metrics"] = [metric]
    assert main(["validate", _write(tmp_path, d)]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_limit_flag_applies_to_every_benchmark(tmp_path, capsys):
    from sail_bench.cli import _load, build_parser

    d = tiny_suite_dict(tmp_path)
    d["evaluation"]["benchmarks"] = [{"name": "toy_shapes"}, {"name": "partiprompts", "limit": 50}]
    args = build_parser().parse_args(["plan", _write(tmp_path, d), "--limit", "3"])
    assert [b.limit for b in _load(args).evaluation.benchmarks] == [3, 3]


def test_pools_larger_than_the_prompt_space_fail_validate(tmp_path, capsys):
    d = tiny_suite_dict(tmp_path)
    d["data"]["prompt_pools"] = [200, 200]
    assert main(["validate", _write(tmp_path, d)]) == 2
    assert "distinct prompts" in capsys.readouterr().err


def test_overrides_and_extends(tmp_path):
    d = tiny_suite_dict(tmp_path)
    d["methods"][1] = {
        "id": "dpo_seed",
        "method": "diffusion_dpo",
        "extends": "baselines/diffusion_dpo.yaml",
        "train": {"steps": 3},
    }
    path = _write(tmp_path, d)
    s = load_suite(path, ["methods.sail.alpha=1.0", "seed=7", "evaluation.sampler.steps=5"])
    assert s.method("sail").alpha == 1.0 and s.seed == 7 and s.evaluation.sampler.steps == 5
    dpo = s.method("dpo_seed").train
    assert dpo.steps == 3 and dpo.beta == 5000 and dpo.lr_per_sample == 1e-8 and dpo.grad_accum == 128
    with pytest.raises(UserError, match="no list item 'nope'"):
        load_suite(path, ["methods.nope.alpha=1"])


def test_shipped_suites_validate():
    for suite in (REPO / "suites").glob("*.yaml"):
        assert main(["validate", str(suite)]) == 0, suite
