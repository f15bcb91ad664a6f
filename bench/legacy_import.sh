#!/usr/bin/env bash
# Time import_original on a generated dump into a scratch PostgreSQL database.
#   bench/legacy_import.sh [HOSTS] [REGIONS] [AUDIT]     (defaults: 1000000 4000 1000000)
# Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ipam_bench_legacy), dropped and recreated.
set -euo pipefail
HOSTS=${1:-1000000}; REGIONS=${2:-4000}; AUDIT=${3:-1000000}
DB=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipam_bench_legacy}
NAME=${DB##*/}
OUT=$(mktemp -d)
PY=${PY:-.venv/bin/python}
export IPAM_SKIP_DOTENV=1 DEBUG=true DATABASE_URL=$DB
psql "${DB%/*}/postgres" -qc "DROP DATABASE IF EXISTS $NAME" -c "CREATE DATABASE $NAME"
$PY manage.py migrate -v0
$PY bench/legacy_dump.py "$OUT" --hosts "$HOSTS" --regions "$REGIONS" --audit "$AUDIT"
/usr/bin/time -v $PY manage.py import_original "$OUT" 2>&1 | grep -E "new|Elapsed|User time|System time|Maximum resident|regions:|hosts:|audit"
START=$(date +%s); $PY manage.py import_original "$OUT" | tail -1; echo "re-run: $(( $(date +%s) - START )) s"
rm -rf "$OUT"
