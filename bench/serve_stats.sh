#!/usr/bin/env bash
# Serve the API for the statistics benchmark: PostgreSQL `ipam_stats_bench`, Redis DB 6, port 8106.
# gunicorn when the venv has it (WORKERS, default 2), else `manage.py runserver --noreload`.
# Production-like settings: DEBUG off, rate limits off (the driver sends thousands of reads).
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipam_stats_bench}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/6}"
export DEBUG=false
export SECRET_KEY="${SECRET_KEY:-bench-only-secret-key-not-for-production-0123456789abcdef}"
export FERNET_KEY="${FERNET_KEY:-YmVuY2gtZmVybmV0LWtleS1ub3QtYS1zZWNyZXQtMzI=}"
export IPAM_RATE_LIMITS_ENABLED=false
export IPAM_LOG_LEVEL="${IPAM_LOG_LEVEL:-WARNING}"
export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-600}"
PORT="${PORT:-8106}"
.venv/bin/python manage.py migrate --no-input -v0
if [ -x .venv/bin/gunicorn ]; then
  exec .venv/bin/gunicorn ipam_project.wsgi:application --bind "127.0.0.1:${PORT}" --workers "${WORKERS:-2}" --log-level warning
fi
exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT}" --noreload
