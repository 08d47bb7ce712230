# Every target runs through uv with the committed lock (`--locked` fails when
# uv.lock and pyproject.toml disagree instead of re-resolving), after
# scripts/toolchain.sh has made sure uv and Python 3.13.5 are on this machine.
# Serving and the database targets install the runtime dependencies and the
# embedded PostgreSQL only (SERVE); the others take every group (RUN).
SHELL := /bin/bash
# Python caches compiled modules (and pytest its rewritten tests) in __pycache__/, which git
# ignores; a machine that turns that off makes every process compile its imports again: each
# test worker's collection took 3.2 s instead of 1.4, and each `python -m api` 1.0 s instead of 0.5.
unexport PYTHONDONTWRITEBYTECODE
UV := eval "$$(bash scripts/toolchain.sh)" && uv
RUN := $(UV) run --locked
SERVE := $(UV) run --locked --quiet --no-default-groups --group embedded

.PHONY: help run dev test test-fast lint fuzz bench migrate status verify db-start db-stop db-status psql standby-start standby-stop standby-status

help:
	@echo "make run        serve the API (embedded PostgreSQL 16 in .data/ unless DATABASE_URL is set)"
	@echo "make dev        the same, restarting when the code changes"
	@echo "make test       the test suite against a throw-away PostgreSQL 16, with coverage"
	@echo "make test-fast  the tests that start no cluster or API process of their own: the inner loop"
	@echo "make lint       ruff (lint and formatting) and the import contracts (lint-imports)"
	@echo "make fuzz       schemathesis against the live API, 300 examples per operation"
	@echo "make bench      the API against its ceilings (pgbench, /healthz), with wrk (installed if missing)"
	@echo "make migrate    apply pending migrations and redeploy changed functions"
	@echo "make status     list migrations and the state of the function set"
	@echo "make verify     exit non-zero unless the database matches this checkout"
	@echo "make db-start   start the embedded PostgreSQL (initialised in .data/ on first use)"
	@echo "make db-stop    stop the embedded PostgreSQL (its data in .data/ is kept)"
	@echo "make db-status  whether the embedded PostgreSQL is running"
	@echo "make psql       open psql on the configured or embedded database"
	@echo "make standby-start   start a streaming standby of the embedded PostgreSQL (port + 1); prints its DSN"
	@echo "make standby-stop    stop it (its data is kept)"
	@echo "make standby-status  whether it is running"

# Not echoed, and uv quiet: with LOG_FORMAT=json, what the service writes is its JSON lines alone.
run:
	@$(SERVE) python -m devtools.serve

dev:
	@$(SERVE) python -m devtools.serve --reload

test:
	eval "$$(bash scripts/toolchain.sh --browser)" && uv run --locked pytest -n 3 --dist loadfile --cov --cov-report=term-missing:skip-covered

test-fast:
	$(RUN) pytest -n 3 -m "not own_process" -p no:cacheprovider

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports --no-cache

fuzz:
	$(RUN) env FUZZ_MAX_EXAMPLES=300 FUZZ_SEED=random pytest -s -p no:cacheprovider --no-cov api/http/openapi_fuzz_test.py

bench:
	eval "$$(bash scripts/toolchain.sh --bench)" && uv run --locked python -m bench

migrate:
	$(SERVE) python migrations.py up

status:
	$(SERVE) python migrations.py status

verify:
	$(SERVE) python migrations.py verify

db-start:
	$(SERVE) python -m devtools.database start

db-stop:
	$(SERVE) python -m devtools.database stop

db-status:
	$(SERVE) python -m devtools.database status

psql:
	$(SERVE) python -m devtools.database psql

standby-start:
	$(SERVE) python -m devtools.database start --standby

standby-stop:
	$(SERVE) python -m devtools.database stop --standby

standby-status:
	$(SERVE) python -m devtools.database status --standby
