# Two commands a fresh clone needs: `make demo` and `make test`. Both create .venv if missing.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test lint venv clean-runs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/sail-bench run suites/toy.yaml

test: $(VENV)/.installed
	$(VENV)/bin/ruff check sail_bench tests benchmarks
	$(PY) -m pytest

clean-runs:
	rm -rf runs mlflow.db mlartifacts mlruns
