# opsai — the two commands: `make run` and `make test`.
# The newest Python opsai supports (3.13, 3.12, 3.11) that is on this machine; PYTHON=… overrides.
PYTHON ?= $(or $(shell for v in 3.13 3.12 3.11; do python$$v -c '' >/dev/null 2>&1 && { echo python$$v; break; }; done),python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Tests always run against PostgreSQL and Redis; override these to point elsewhere.
OPSAI_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/opsai
OPSAI_TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# A queue and cache prefix of its own, so parallel test runs never steal each other's jobs.
TEST_RUN_ID := opsai-test-$(shell date +%s)-$(shell echo $$$$)
TEST_ENV := DATABASE_URL=$(OPSAI_TEST_DATABASE_URL) REDIS_URL=$(OPSAI_TEST_REDIS_URL) \
	CELERY_QUEUE=$(TEST_RUN_ID) CACHE_KEY_PREFIX=$(TEST_RUN_ID) OPSAI_VAR_DIR=$(CURDIR)/var/test

.PHONY: run test install install-test lint format bench bench-inventory faults load clean backup restore

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test
	@bash scripts/ensure-chromium

## make run: install, migrate, load demo data, serve on http://127.0.0.1:$(PORT) with a worker.
## The web server and the worker both get OPSAI_SITE_URL (the address links in emails use):
## honcho hands the worker PORT+100, so it must not work the address out from PORT.
OPSAI_SITE_URL ?= http://127.0.0.1:$(PORT)
RUN_ENV := PORT=$(PORT) OPSAI_SITE_URL=$(OPSAI_SITE_URL)
run: install
	@echo "Migrating the database, then loading the demo data…"
	@$(RUN_ENV) $(BIN)/python manage.py migrate --noinput -v0
	@$(RUN_ENV) $(BIN)/python manage.py load_demo
	@echo ""
	@echo "  opsai is starting on $(OPSAI_SITE_URL)/  (Ctrl-C stops the server and the worker)"
	@echo "  /healthz says 503 until the worker's first heartbeat, a few seconds from now."
	@echo "  Emails are kept in var/mail/ (OPSAI_EMAIL_CONSOLE=1 prints them here instead)."
	@echo ""
	@$(RUN_ENV) $(BIN)/honcho -f Procfile.dev start --port $(PORT)

## make test: lint, layers, Django checks, migrations check and the whole suite on PostgreSQL and Redis.
test: install-test
	@start=$$(date +%s); set -e; \
	$(BIN)/ruff check .; \
	$(BIN)/ruff format --check .; \
	$(BIN)/lint-imports --no-cache; \
	$(TEST_ENV) $(BIN)/python scripts/ensure-database.py; \
	$(TEST_ENV) $(BIN)/python manage.py check --fail-level WARNING; \
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run; \
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS); \
	echo "make test: lint, checks and the whole suite took $$(( $$(date +%s) - start )) s"

## make bench: generate a 1,000 use case × 4 KPI × 730 day portfolio on PostgreSQL and time it,
## then a 10,000 use case inventory over a three-level unit tree: its pages, export and import.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/opsai_bench
BENCH_ARGS ?=
INVENTORY_BENCH_ARGS ?=
BENCH_ENV := DATABASE_URL=$(BENCH_DATABASE_URL) DEBUG=false CELERY_QUEUE=opsai-bench
bench: install
	$(BENCH_ENV) $(BIN)/python scripts/ensure-database.py
	$(BENCH_ENV) $(BIN)/python manage.py migrate --noinput -v0
	$(BENCH_ENV) $(BIN)/python manage.py kpi_bench --generate $(BENCH_ARGS)
	$(BENCH_ENV) $(BIN)/python scripts/inventory_bench.py $(INVENTORY_BENCH_ARGS)

## make bench-inventory: only the 10,000 use case inventory part of make bench.
bench-inventory: install
	$(BENCH_ENV) $(BIN)/python scripts/ensure-database.py
	$(BENCH_ENV) $(BIN)/python manage.py migrate --noinput -v0
	$(BENCH_ENV) $(BIN)/python scripts/inventory_bench.py $(INVENTORY_BENCH_ARGS)

## make backup: one archive of the database and MEDIA_ROOT (DATABASE_URL as for run) under var/backups/.
## BACKUP=path.tar (or a directory) chooses where.
backup: install
	$(BIN)/python manage.py backup $(if $(BACKUP),--output "$(BACKUP)")

## make restore BACKUP=var/backups/opsai-….tar: restore into an empty database and MEDIA_ROOT, then
## verify against the archive's manifest. FORCE=1 replaces a database that is not empty.
restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=var/backups/opsai-….tar [FORCE=1]" >&2; exit 2; }
	$(BIN)/python manage.py restore "$(BACKUP)" $(if $(FORCE),--force)

## make faults: stop and freeze Redis, kill a worker, restart PostgreSQL during saves — on
## instances of its own (never the shared ones) — and print what was lost.
faults: install
	$(BIN)/python scripts/faults.py $(FAULTS_ARGS)

## make load: the large portfolio served by gunicorn, mixed page and API reads at 10/s for 60 s;
## fails if a route's p95 is over 300 ms or a request fails.
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/opsai_load
LOAD_ARGS ?=
load: install
	LOAD_DATABASE_URL=$(LOAD_DATABASE_URL) REDIS_URL=$(OPSAI_TEST_REDIS_URL) $(BIN)/python scripts/load.py $(LOAD_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var
