#!/usr/bin/env bash
# Serve the API for the benchmarks, production-like: DEBUG off, rate limits off (the drivers send thousands of
# requests), PostgreSQL `ipam_stats_bench`. Two variants:
#
#   bench/serve.sh            for `bench/run.py` (`make bench`): gunicorn with deploy/gunicorn.conf.py, 2 sync
#                             workers (WEB_CONCURRENCY), Redis DB 8, port 8108, access log off, Prometheus
#                             multiprocess metrics, a Celery worker for the background import (100,000 rows).
#   bench/serve.sh --stats    for `bench/stats_driver.py`: Redis DB 6, port 8106, plain gunicorn (WORKERS, default 2)
#                             when the venv has it, else `manage.py runserver --noreload`.
#
# BENCH_SERVER=suite|stats chooses the variant too (the flag wins). Override DATABASE_URL, REDIS_URL, PORT, ….
set -euo pipefail
cd "$(dirname "$0")/.."

variant="${BENCH_SERVER:-suite}"
case "${1:-}" in
  --stats) variant=stats ;;
  --suite) variant=suite ;;
  "") ;;
  -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--suite|--stats]" >&2; exit 2 ;;
esac

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipam_stats_bench}"
export DEBUG=false
# Keys for this run only (nothing is published): the drivers log in with a password and use the JWTs it issues.
PY="$(dirname "$0")/../.venv/bin/python"
export SECRET_KEY="${SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export FERNET_KEY="${FERNET_KEY:-$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')}"
export IPAM_RATE_LIMITS_ENABLED=false
# Plain HTTP on loopback (production terminates TLS in front): the console workload logs in with a cookie.
export SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false
export IPAM_LOG_LEVEL="${IPAM_LOG_LEVEL:-WARNING}"
export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-600}"

case "$variant" in
  suite)
    export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/8}"
    PORT="${PORT:-8108}"
    export WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}"
    export GUNICORN_TIMEOUT="${GUNICORN_TIMEOUT:-900}"
    export GUNICORN_ACCESS_LOG=""
    export GUNICORN_LOG_LEVEL=warning
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus-bench-${PORT}}"
    export IPAM_BIND="127.0.0.1:${PORT}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    .venv/bin/python manage.py migrate --no-input -v0
    .venv/bin/python manage.py collectstatic --no-input -v0  # the console pages (bench/workloads/console.py)
    # A Celery worker for the background import of the 100,000-row file (stopped with the server).
    .venv/bin/python -m celery -A ipam_project worker --concurrency=1 --loglevel=WARNING &
    worker=$!
    # gunicorn runs in the background so that a TERM to this script (make bench's trap) stops it and the worker
    # at once: bash would defer the trap until a foreground child exits, leaving the server on the port.
    .venv/bin/gunicorn -c deploy/gunicorn.conf.py ipam_project.wsgi &
    web=$!
    trap 'kill "$web" "$worker" 2>/dev/null; wait "$web" "$worker" 2>/dev/null' EXIT INT TERM
    wait "$web"
    ;;
  stats)
    export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/6}"
    PORT="${PORT:-8106}"
    .venv/bin/python manage.py migrate --no-input -v0
    if [ -x .venv/bin/gunicorn ]; then
      exec .venv/bin/gunicorn ipam_project.wsgi:application --bind "127.0.0.1:${PORT}" --workers "${WORKERS:-2}" --log-level warning
    fi
    exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT}" --noreload
    ;;
  *) echo "BENCH_SERVER must be suite or stats, not '$variant'" >&2; exit 2 ;;
esac
