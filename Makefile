# The two set-up commands of the README: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INDEX := var/index
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test index serve lint typecheck unit bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(wildcard */__init__.py) | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(wildcard */__init__.py) | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

index: $(VENV)/.installed
	$(BIN)/policyqa index knowledge --out $(INDEX)

demo: index
	$(BIN)/policyqa serve --index $(INDEX) --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	$(BIN)/pytest

test: lint typecheck unit

bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_indexing.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
