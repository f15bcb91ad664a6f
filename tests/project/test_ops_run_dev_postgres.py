"""`make run` on PostgreSQL holds a bounded number of connections (issue 14 item 15).

runserver starts a thread per request; each thread used to keep its own connection for DB_CONN_MAX_AGE, so a
32-request burst held 93 of the cluster's 100 connections and answered 503s. The supervisor now gives the
web process Django's psycopg pool (DB_POOL_MAX_SIZE=4): bursts wait for a pooled connection instead.
"""

from __future__ import annotations

import signal
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.ops_support import PYTHON, Background, free_port, subprocess_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow, pytest.mark.postgres]

BURSTS, CONCURRENCY = 3, 32
# The web pool (4) + the worker (main process + 2 pool children) + beat, with room for the broker-less
# health checks; far below what a connection per request thread reached (one per concurrent request).
MAX_CONNECTIONS = 12


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_burst_against_the_dev_server_leaves_a_bounded_number_of_connections_and_no_503(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    port = free_port()
    env = subprocess_env(tmp_path)
    with Background([PYTHON, "scripts/run_dev.py", "--port", str(port), "--no-reload"], env, tmp_path / "run.out") as run:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _status(f"{base}/health") == 200, 90, lambda: f"the API:\n{run.output()}")
        wait_for(lambda: "ready." in run.output(), 90, lambda: f"the worker:\n{run.output()}")
        statuses: list[int] = []
        peak = 0
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            for _ in range(BURSTS):
                urls = [f"{base}/health" if i % 2 else f"{base}/ipam/health" for i in range(CONCURRENCY)]
                statuses += list(pool.map(_status, urls))
                peak = max(peak, _connections())
        assert statuses.count(200) == BURSTS * CONCURRENCY, sorted(set(statuses))
        held = _connections()
        assert peak <= MAX_CONNECTIONS and held <= MAX_CONNECTIONS, (peak, held, run.output()[-3000:])
        run.proc.send_signal(signal.SIGINT)
        assert run.proc.wait(timeout=60) == 0
