#!/usr/bin/env bash
# Serve the API for `bench/run.py`: gunicorn with deploy/gunicorn.conf.py, 2 sync workers, PostgreSQL
# `ipam_stats_bench`, Redis DB 8, port 8108 (override with DATABASE_URL, REDIS_URL, PORT, WEB_CONCURRENCY).
# Production-like: DEBUG off, access log off, rate limits off (the driver sends thousands of requests), a long
# worker timeout so the 100,000-row import fits in one request.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipam_stats_bench}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/8}"
export DEBUG=false
export SECRET_KEY="${SECRET_KEY:-bench-only-secret-key-not-for-production-0123456789abcdef}"
export FERNET_KEY="${FERNET_KEY:-YmVuY2gtZmVybmV0LWtleS1ub3QtYS1zZWNyZXQtMzI=}"
export IPAM_RATE_LIMITS_ENABLED=false
export IPAM_LOG_LEVEL="${IPAM_LOG_LEVEL:-WARNING}"
export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-600}"
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
export GUNICORN_TIMEOUT="${GUNICORN_TIMEOUT:-900}"
export GUNICORN_ACCESS_LOG=""
export GUNICORN_LOG_LEVEL=warning
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus-bench-${PORT:-8108}}"
export IPAM_BIND="127.0.0.1:${PORT:-8108}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
.venv/bin/python manage.py migrate --no-input -v0
exec .venv/bin/gunicorn -c deploy/gunicorn.conf.py ipam_project.wsgi
