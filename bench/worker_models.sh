#!/usr/bin/env bash
# The worker-model comparison of docs/decisions/0017-worker-model.md (issue 19): the floor, single-object and
# allocation groups of bench/run.py against the same dataset, served in turn by
#
#   sync        gunicorn, 2 sync workers (today's deploy/gunicorn.conf.py default for 2 CPUs)
#   gthread-N   gunicorn, 2 gthread workers x N threads, for each N in THREADS (default "4 8")
#   asgi        an ASGI server on ipam_project.asgi, 2 workers -- only when one is installed in the venv
#               (uvicorn or hypercorn); otherwise the run says so and skips it
#
# Each model gets its own server (bench/serve.sh, so every other setting is the production-like one of
# `make bench`), started, probed on /health, measured, and stopped before the next one starts; the JSON of
# each run lands in OUT (default var/worker-models/<UTC time>/<model>.json) and `summary.md` in the same
# directory puts the models side by side (p50 x floor per scenario, alloc/s of the concurrent runs).
#
#   bench/worker_models.sh                          # all models, --requests 100
#   MODELS="sync gthread" THREADS=4 REQUESTS=20 bench/worker_models.sh   # a smoke run
#
# Environment: DATABASE_URL (default ipam_stats_bench, as make bench), REDIS_URL (default DB 8), PORT (8108),
# MODELS ("sync gthread asgi"), THREADS ("4 8"), REQUESTS (100), BENCH_GROUPS ("floor,objects,alloc,region"),
# WORKERS (2), OUT. Run it on a quiet machine: the comparison means something only when nothing else runs.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ipam_stats_bench}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/8}"
PORT="${PORT:-8108}"
MODELS="${MODELS:-sync gthread asgi}"
THREADS="${THREADS:-4 8}"
REQUESTS="${REQUESTS:-100}"
BENCH_GROUPS="${BENCH_GROUPS:-floor,objects,alloc,region}"
WORKERS="${WORKERS:-2}"
OUT="${OUT:-var/worker-models/$(date -u +%Y%m%dT%H%M%SZ)}"
PY=.venv/bin/python
mkdir -p "$OUT" var
server=""

stop_server() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}
trap stop_server EXIT INT TERM

wait_healthy() {
  for _ in $(seq 90); do
    if curl -sf "http://127.0.0.1:${PORT}/health" >/dev/null; then return 0; fi
    if ! kill -0 "$server" 2>/dev/null; then echo "the server of $1 exited; see $OUT/$1.server.log" >&2; return 1; fi
    sleep 1
  done
  echo "the server of $1 did not answer /health within 90 s" >&2
  return 1
}

measure() {  # measure <model name>
  local name=$1
  wait_healthy "$name"
  echo "== $name: $(uptime)" | tee -a "$OUT/conditions.txt"
  DEBUG=true "$PY" bench/run.py --base-url "http://127.0.0.1:${PORT}" --requests "$REQUESTS" --only "$BENCH_GROUPS" \
    --output "$OUT/$name.json" | tee "$OUT/$name.txt"
  stop_server
}

asgi_command() {  # the ASGI server available in the venv, or nothing
  if "$PY" -c 'import uvicorn' 2>/dev/null; then
    echo "$PY -m uvicorn ipam_project.asgi:application --host 127.0.0.1 --port $PORT --workers $WORKERS --no-access-log --log-level warning"
  elif "$PY" -c 'import hypercorn' 2>/dev/null; then
    echo "$PY -m hypercorn ipam_project.asgi:application --bind 127.0.0.1:$PORT --workers $WORKERS --log-level warning"
  fi
}

for model in $MODELS; do
  case "$model" in
    sync)
      WEB_CONCURRENCY="$WORKERS" GUNICORN_THREADS=1 PORT="$PORT" bench/serve.sh > "$OUT/sync.server.log" 2>&1 &
      server=$!
      measure sync
      ;;
    gthread)
      for n in $THREADS; do
        WEB_CONCURRENCY="$WORKERS" GUNICORN_THREADS="$n" PORT="$PORT" bench/serve.sh > "$OUT/gthread-$n.server.log" 2>&1 &
        server=$!
        measure "gthread-$n"
      done
      ;;
    asgi)
      command="$(asgi_command)"
      if [ -z "$command" ]; then
        echo "asgi: skipped, no ASGI server (uvicorn, hypercorn) is installed in the venv" | tee -a "$OUT/conditions.txt"
        continue
      fi
      # The same production-like settings as bench/serve.sh, without its gunicorn line.
      (
        export DEBUG=false IPAM_RATE_LIMITS_ENABLED=false SESSION_COOKIE_SECURE=false CSRF_COOKIE_SECURE=false
        export IPAM_LOG_LEVEL="${IPAM_LOG_LEVEL:-WARNING}" DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-600}"
        export SECRET_KEY="${SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
        export FERNET_KEY="${FERNET_KEY:-$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')}"
        export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus-bench-${PORT}}"
        mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        exec $command
      ) > "$OUT/asgi.server.log" 2>&1 &
      server=$!
      measure asgi
      ;;
    *) echo "unknown model '$model' (sync, gthread, asgi)" >&2; exit 2 ;;
  esac
done

"$PY" - "$OUT" <<'PYTHON'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
runs = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
names: list[str] = []
table: dict[str, dict[str, str]] = {}
for model, run in runs.items():
    for row in run.get("results", []):
        if not isinstance(row, dict) or "scenario" not in row:
            continue
        scenario = row["scenario"]
        if scenario not in names:
            names.append(scenario)
        cell = f"{row.get('p50_ms')} ms / {row.get('x_floor_p50')}x"
        if "throughput_per_s" in row:
            cell = f"{row['throughput_per_s']} alloc/s, dup {row.get('duplicates')}, 5xx {row.get('server_errors')}"
        table.setdefault(scenario, {})[model] = cell
models = list(runs)
lines = ["| scenario | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
lines += [f"| {name} | " + " | ".join(table[name].get(m, "") for m in models) + " |" for name in names]
(out / "summary.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PYTHON
echo "results: $OUT"
