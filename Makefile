# yigongti — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test check lint types imports serve messages clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[dev,spark]"
	touch $(STAMP) $@

## make demo — install, build the synthetic county into SQLite, serve http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/ygt demo --scale small

serve: $(STAMP)
	$(BIN)/ygt serve

## make test — install dev dependencies, lint, type-check, and run the suite on SQLite
## (and at the same time on PostgreSQL when YGT_TEST_POSTGRES_URL is set, as .ci/run does)
test: $(DEVSTAMP) check
	BIN=$(BIN) bash .ci/test-suite

check: lint types

lint: $(DEVSTAMP)
	$(BIN)/ruff check yigongti tests benchmarks

types: $(DEVSTAMP)
	$(BIN)/mypy yigongti

messages: $(DEVSTAMP)
	$(BIN)/python -m yigongti.web.messages

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_demo.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
