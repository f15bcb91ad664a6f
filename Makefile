# The two commands a newcomer needs: `make run` and `make test`. Everything else is for developers and CI.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Development conveniences (DEBUG on, keys generated once under var/) for the developer targets only: a server
# started any other way is production-safe and refuses to start without SECRET_KEY and FERNET_KEY.
DEV := DEBUG=$${DEBUG:-true}

.PHONY: run test install migrate lint format typecheck check schema ci clean serve worker beat verify-indexes bench soak cluster-test

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(DEV) $(PY) manage.py migrate --no-input

## run: install, migrate (seeds countries and groups), ensure an admin login, then start the API on
## http://$(HOST):$(PORT) + Celery worker + Celery beat together (Ctrl-C stops all three). No other service needed.
run: migrate
	$(DEV) $(PY) manage.py ensure_admin --base-url http://$(HOST):$(PORT)
	$(DEV) $(PY) scripts/run_dev.py --host $(HOST) --port $(PORT)

## test: the whole suite (SQLite by default; set DATABASE_URL / REDIS_URL for PostgreSQL / Redis)
test: install
	$(BIN)/pytest -q

## lint: ruff, the import contracts of .importlinter (dependencies run one way; a new cycle fails), doc links/fences
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(PY) docs/tools/check_docs.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(DEV) $(BIN)/mypy foundation notifications webhooks ipam enhancements ipam_project scripts
	$(DEV) $(BIN)/mypy --strict clients/python/src

check: install
	$(DEV) $(PY) manage.py check
	$(DEV) $(PY) manage.py makemigrations --check --dry-run
	$(DEV) $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

## serve / worker / beat: the production processes one at a time (see docs/operations.md and deploy/)
serve: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input -v0
	IPAM_BIND=$(HOST):$(PORT) $(BIN)/gunicorn -c deploy/gunicorn.conf.py ipam_project.wsgi

worker: install
	$(BIN)/celery -A ipam_project worker --loglevel=INFO

beat: install
	$(BIN)/celery -A ipam_project beat --loglevel=INFO

## bench: the benchmark suite (docs/performance.md): gunicorn (2 workers) on BENCH_DATABASE_URL + BENCH_REDIS_URL, port
## BENCH_PORT, then bench/run.py; the database must hold the dataset of bench/generate.py. Not part of `make test`.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ipam_stats_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/8
BENCH_PORT ?= 8108
BENCH_ARGS ?= --requests 100 --output bench/results/latest.json
bench: install
	@export DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) PORT=$(BENCH_PORT); \
	bench/serve.sh > var/bench-server.log 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null' EXIT; \
	for i in $$(seq 60); do curl -sf http://127.0.0.1:$(BENCH_PORT)/health >/dev/null && break; sleep 1; done; \
	$(DEV) $(PY) bench/run.py --base-url http://127.0.0.1:$(BENCH_PORT) $(BENCH_ARGS)

verify-indexes: install
	$(DEV) $(PY) manage.py verify_indexes

## soak: a few minutes of mixed load on gunicorn (several workers) against PostgreSQL + Redis, then consistency
## checks (docs/reliability.md). Needs DATABASE_URL (PostgreSQL) and REDIS_URL; SOAK_SECONDS (default 180).
soak: install
	$(PY) scripts/soak.py

## cluster-test: two gunicorn nodes (127.0.0.1, 127.0.0.2), two workers on RabbitMQ, one beat, a private PostgreSQL
## cluster and Redis under 64 clients, with a web node and a worker killed -9 and PostgreSQL restarted, then the
## consistency checks (docs/reliability.md "Multi-node"). CLUSTER_SECONDS (default 120), CLUSTER_REDIS_URL.
cluster-test: install
	$(PY) scripts/cluster_test.py

schema: install
	$(DEV) $(PY) manage.py spectacular --format openapi-json --file openapi.json

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) var/*.sqlite3* var/celery-broker var/celerybeat-schedule* var/prometheus-web .mypy_cache .ruff_cache .pytest_cache
