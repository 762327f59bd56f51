# Datapedia — two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# Worker processes of `make run` / `make serve` (several: use PostgreSQL, see README).
WORKERS ?= 1
# The base URL `datapedia serve` derives from HOST and PORT: `make run` and `make seed` seed
# with it too (unless DATAPEDIA_BASE_URL is set), so that the stored Data Cube dumps name
# the URIs the server answers for.
LINK_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
LINK_HOST := $(if $(findstring :,$(LINK_HOST)),[$(LINK_HOST)],$(LINK_HOST))
SEED_BASE_URL = DATAPEDIA_BASE_URL="$${DATAPEDIA_BASE_URL:-http://$(LINK_HOST):$(PORT)}"
# Two workers (the machines have two cores) and a random order every run: tests must not
# depend on each other. The seed is printed; --random-order-seed=N repeats an order.
PYTEST_ARGS ?= -n 2 --random-order
FUZZ_ARGS ?=

.PHONY: run test lint typecheck check migrate seed serve test-postgres fuzz clean bench bench-scale bench-serve

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Install, migrate, load the real geography and catalogue, serve on http://$(HOST):$(PORT)
## (links and URIs follow HOST and PORT unless DATAPEDIA_BASE_URL is set)
run: $(STAMP)
	$(BIN)/datapedia db upgrade
	$(SEED_BASE_URL) $(BIN)/datapedia seed
	$(BIN)/datapedia serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## The whole test suite (SQLite; set DATAPEDIA_TEST_DATABASE_URL for PostgreSQL)
test: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

## The suite against the local PostgreSQL server
test-postgres: $(STAMP)
	DATAPEDIA_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
		$(BIN)/pytest -q $(PYTEST_ARGS)

## Schemathesis over every operation with a key of each role, on a throwaway database
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run $(FUZZ_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests migrations benchmarks
	$(BIN)/ruff format --check app tests migrations benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy --strict app

check: lint typecheck test

migrate: $(STAMP)
	$(BIN)/datapedia db upgrade

seed: $(STAMP)
	$(SEED_BASE_URL) $(BIN)/datapedia seed

serve: $(STAMP)
	$(BIN)/datapedia serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

## Serving benchmarks (not in CI): /health against a trivial endpoint, and 2 workers against 1
## on PostgreSQL with wrk as the load generator (installed with apt-get when missing)
bench-serve: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk || sudo apt-get install -y wrk
	$(BIN)/python -m benchmarks.serve_bench

## Scale benchmark (not in CI, ≤ 30 min): 1M synthetic observations on SQLite, 10M on
## PostgreSQL; SCALE_ARGS="--backend sqlite --rows 100000" for a quick run
SCALE_ARGS ?=
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale_bench $(SCALE_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache datapedia.sqlite3*
