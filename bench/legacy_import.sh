#!/usr/bin/env bash
# Time import_original on a generated dump into a scratch PostgreSQL database.
#   bench/legacy_import.sh [--dump DIR] [HOSTS] [REGIONS] [AUDIT]     (defaults: 1000000 4000 1000000)
# --dump DIR reuses the mongodump in DIR (generating it there first if DIR does not exist yet), e.g.
#   bench/legacy_import.sh --dump var/legacy-1m
# Without --dump the dump goes to a temporary directory, removed at the end.
# Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ipam_bench_legacy), dropped and recreated.
# Prints the wall time, the import process's CPU (user + system) and the PostgreSQL backend's CPU
# (bench/legacy_cpu.py; the server must run on this machine), peak RSS and the load average, then times a
# second, no-op run ("0 new").
set -euo pipefail
DUMP=""
if [[ "${1:-}" == "--dump" ]]; then DUMP=$2; shift 2; fi
HOSTS=${1:-1000000}; REGIONS=${2:-4000}; AUDIT=${3:-1000000}
DB=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipam_bench_legacy}
NAME=${DB##*/}
PY=${PY:-.venv/bin/python}
export IPAM_SKIP_DOTENV=1 DEBUG=true DATABASE_URL=$DB
if [[ -z "$DUMP" ]]; then
  OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
else
  OUT=$DUMP
fi
psql "${DB%/*}/postgres" -qc "DROP DATABASE IF EXISTS $NAME" -c "CREATE DATABASE $NAME"
$PY manage.py migrate -v0
if [[ ! -d "$OUT/platform" ]]; then
  $PY bench/legacy_dump.py "$OUT" --hosts "$HOSTS" --regions "$REGIONS" --audit "$AUDIT"
fi
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -v $PY bench/legacy_cpu.py "$OUT" 2>&1 | grep -E "new|wall|Elapsed|User time|System time|Maximum resident"
START=$(date +%s); $PY manage.py import_original "$OUT" | tail -1; echo "re-run: $(( $(date +%s) - START )) s"
