# One command per chore; CI (.ci/run) calls `make test`, exactly as the README says.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CODE   := src tests $(wildcard bench tools)

.PHONY: install test lint typecheck format docs demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,web,semantic,pandas,spark,pdf]'
	@# Bytecode written once, also where PYTHONDONTWRITEBYTECODE is set: else every `los`
	@# process compiles the package again (about 0.25 s of CPU at each start).
	$(BIN)/python -m compileall -q src >/dev/null
	@sh scripts/ensure-postgres.sh
	@sh scripts/ensure-java.sh
	@sh scripts/ensure-chromium.sh
	@sh scripts/ensure-axe.sh
	@touch $(STAMP)

## Lint, type-check, import contracts, then every test on SQLite and PostgreSQL.
test: install lint typecheck
	$(BIN)/python -m pytest -n 2 -q

lint: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

## Regenerate the rule reference from the rules' docstrings.
docs: install
	$(BIN)/python -m lineofsight.checks.docs > docs/checks.md

## The main job on the embedded default: a worked example in ./demo on SQLite, then its
## alignment check (as of a fixed date, so that the output does not age with the data).
demo: install
	rm -rf demo
	$(BIN)/los init demo --example techinnovate
	cd demo && ../$(BIN)/los check --as-of 2026-11-22

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m compileall -q src >/dev/null
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/bench_*.py; do $(BIN)/python $$b; done || echo "no benchmarks yet"

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
