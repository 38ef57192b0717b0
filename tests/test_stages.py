import pytest

from sail_bench.stages import RECORD, Stage, StageStore


def _stage(params, deps=None, fn=None, version=1):
    def write(out, deps_dirs):
        (out / "x.txt").write_text(str(params))
        return {"ok": 1}

    return Stage("demo", version, params, deps or {}, fn or write)


def test_key_depends_on_params_version_and_upstream_but_not_label():
    a, b = _stage({"x": 1}), _stage({"x": 2})
    assert a.key != b.key
    assert _stage({"x": 1}, version=2).key != a.key
    assert _stage({"y": 0}, {"up": a}).key != _stage({"y": 0}, {"up": b}).key
    same = _stage({"x": 1})
    same.label = "other/label"
    assert same.key == a.key


def test_ensure_runs_once_and_records_completion(tmp_path):
    calls = []

    def fn(out, deps):
        calls.append(1)
        (out / "x.txt").write_text("hi")
        return {"n": 1}

    store = StageStore(tmp_path)
    st = _stage({"x": 1}, fn=fn)
    d = store.ensure(st)
    assert (d / "x.txt").read_text() == "hi" and (d / RECORD).exists()
    assert store.record(st)["summary"] == {"n": 1}
    store.ensure(st)
    assert calls == [1]


def test_failed_stage_leaves_nothing_that_looks_complete(tmp_path):
    def boom(out, deps):
        (out / "half.bin").write_text("partial")
        raise RuntimeError("crash mid-stage")

    store = StageStore(tmp_path)
    st = _stage({"x": 1}, fn=boom)
    with pytest.raises(RuntimeError):
        store.ensure(st)
    assert not store.is_done(st)
    assert not store.path(st).exists()
    assert not list((tmp_path / "stages" / "demo").iterdir())  # no temp dir left either


def test_dependencies_run_first(tmp_path):
    order = []

    def mk(name):
        def fn(out, deps):
            order.append(name)
            return {}

        return fn

    store = StageStore(tmp_path)
    up = Stage("demo", 1, {"n": "up"}, {}, mk("up"))
    down = Stage("demo", 1, {"n": "down"}, {"up": up}, mk("down"))
    store.ensure(down)
    assert order == ["up", "down"]
