"""A real `mlflow server` on 127.0.0.1: a tiny suite logs over HTTP and the report reads it back."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml
from mlflow.tracking import MlflowClient

from sail_bench.cli import main

from .conftest import tiny_suite_dict


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination",
        str(tmp_path / "artifacts"),
        "--workers",
        "1",
    ]
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("mlflow server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_suite_logs_to_an_mlflow_server_over_http(tmp_path, mlflow_server, capsys):
    d = tiny_suite_dict(tmp_path)
    d["methods"] = [m for m in d["methods"] if m["id"] != "sail"] + [{**d["methods"][2], "iterations": 1}]
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["run", str(path), "--tracking-uri", mlflow_server]) == 0
    client = MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("tiny")
    runs = client.search_runs([exp.experiment_id])
    names = sorted(r.info.run_name for r in runs)
    assert names == ["base", "dpo_seed", "sail", "tiny"]
    sail = next(r for r in runs if r.info.run_name == "sail")
    hist = client.get_metric_history(sail.info.run_id, "eval/toy_shapes/toy_aesthetic/mean")
    assert sorted(p.step for p in hist) == [0, 1]
    assert client.list_artifacts(sail.info.run_id, "grids/iter_1/toy_shapes")  # proxied artifact upload
    capsys.readouterr()
    assert (
        main(["report", "--experiment", "tiny", "--tracking-uri", mlflow_server, "--out", str(tmp_path / "rep")]) == 0
    )
    assert "sail iter 1" in (tmp_path / "rep" / "results.md").read_text()


def test_unreachable_server_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(tiny_suite_dict(tmp_path)))
    import os

    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    try:
        assert main(["run", str(path), "--tracking-uri", f"http://127.0.0.1:{_free_port()}"]) == 2
    finally:
        del os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    assert "cannot reach the MLflow store" in capsys.readouterr().err
