#!/usr/bin/env python
"""Multi-node test (issue 18; docs/reliability.md "Multi-node"): `make cluster-test`, bounded in CI.

Topology, all on this machine: two gunicorn nodes (127.0.0.1 and 127.0.0.2, same port), two Celery
workers on RabbitMQ, one beat (RedBeat lock in Redis), a private PostgreSQL cluster (initdb in a temporary
directory, own port: never the machine's server), Redis, and a local webhook receiver. N client threads
(default 64) spread over both nodes allocate, read, retire and reserve for --seconds, while the test

  1. kills -9 web node 2 (master and workers) at 20 % of the run, and restarts it;
  2. kills -9 worker 1 (and its pool) while a webhook POST is in flight, at 45 %, and restarts it;
  3. restarts PostgreSQL (stop -m fast, 3 s down, start) at 70 %.

Then it waits for the webhook backlog to drain and checks: 0 duplicate addresses; `verify_counters` clean;
exactly one audit row per applied write and one for every write a client saw succeed; every event
delivered to the receiver (none lost; any repeat has the same delivery id and the same body); no 5xx except
503s while PostgreSQL was down (+ a short grace). Prints a JSON summary (var/cluster-last.json); exit 1 on
any failed check.

    .venv/bin/python scripts/cluster_test.py --seconds 120            # make cluster-test
    .venv/bin/python scripts/cluster_test.py --seconds 40 --clients 64  # CI (.ci/run)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from kombu import Connection, Queue

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from cluster_checks import checks
from cluster_support import BASE_DIR, Client, Postgres, Proc, Receiver, Stats

BIN = Path(sys.executable).parent
NODES = ["127.0.0.1", "127.0.0.2"]
DB_GRACE_SECONDS = 15  # 503s allowed from the stop until this long after PostgreSQL accepts connections again


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"cluster-test: {base} did not become healthy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("CLUSTER_SECONDS", 120)))
    parser.add_argument("--clients", type=int, default=int(os.environ.get("CLUSTER_CLIENTS", 64)))
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per node")
    parser.add_argument("--redis-url", default=os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--amqp-url", default=os.environ.get("CLUSTER_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"))
    parser.add_argument("--receiver-delay", type=float, default=0.1, help="seconds the receiver takes per POST")
    args = parser.parse_args()

    run = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
    logs = BASE_DIR / "var" / f"cluster-{run}"
    logs.mkdir(parents=True)
    pg = Postgres(free_port())
    procs: list[Proc] = []
    receiver = Receiver(args.receiver_delay)
    try:
        pg.ctl("start")
        pg.createdb("ipam_cluster")
        from cryptography.fernet import Fernet

        env = dict(os.environ)
        for name in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_TEST_NAME"):
            env.pop(name, None)
        env.update(
            IPAM_SKIP_DOTENV="1",
            DJANGO_SETTINGS_MODULE="ipam_project.settings",
            PYTHONPATH=str(BASE_DIR),
            DEBUG="false",  # production mode: the shared keys below are required
            SECRET_KEY=secrets.token_urlsafe(50),
            FERNET_KEY=Fernet.generate_key().decode(),
            ALLOWED_HOSTS=",".join(NODES),
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{pg.port}/ipam_cluster",
            REDIS_URL=args.redis_url,
            CELERY_BROKER_URL=args.amqp_url,
            CELERY_TASK_DEFAULT_QUEUE=f"ipam-cluster-{run}",
            IPAM_BEAT_KEY_PREFIX=f"ipam-cluster-{run}:",
            IPAM_CACHE_PREFIX=f"ipam-cluster-{run}",
            IPAM_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
            IPAM_WEBHOOK_TIMEOUT_SECONDS="5",
            IPAM_WEBHOOK_STALE_CLAIM_SECONDS="10",
            IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS="5",
            IPAM_RATE_LIMITS_ENABLED="false",
            IPAM_LOG_DIR=str(logs),
            GUNICORN_ACCESS_LOG="",
            PYTHONUNBUFFERED="1",
        )
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=BASE_DIR, env=env, check=True, capture_output=True)
        os.environ.update(env)
        import django

        django.setup()
        from cluster_checks import make_users

        users = make_users(run, args.users, receiver.url)

        port = free_port()
        bases = [f"http://{host}:{port}" for host in NODES]
        webs = []
        for n, host in enumerate(NODES, 1):
            prom = logs / f"prometheus-web{n}"  # PROMETHEUS_MULTIPROC_DIR: one per node
            prom.mkdir()
            node_env = dict(env, IPAM_BIND=f"{host}:{port}", WEB_CONCURRENCY=str(args.web_workers), PROMETHEUS_MULTIPROC_DIR=str(prom))
            webs.append(Proc(f"web{n}", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "ipam_project.wsgi"], node_env, logs))
        procs += webs
        celery = [str(BIN / "celery"), "-A", "ipam_project"]
        workers = [
            Proc(f"worker{n}", [*celery, "worker", "--loglevel=INFO", "--concurrency=2", f"--hostname=w{n}-{run}@%h"], env, logs)
            for n in (1, 2)
        ]
        procs += workers
        procs.append(Proc("beat", [*celery, "beat", "--loglevel=INFO"], env, logs))
        for base in bases:
            wait_healthy(base)

        stats = Stats()
        faults: dict[str, Any] = {}
        started = time.monotonic()
        end = started + args.seconds

        def chaos() -> None:
            at = lambda fraction: started + args.seconds * fraction  # noqa: E731
            time.sleep(max(0.0, at(0.2) - time.monotonic()))
            webs[1].kill9()
            faults["web_node_killed_at_s"] = round(time.monotonic() - started, 1)
            time.sleep(3)
            webs[1].start()
            wait_healthy(bases[1])
            faults["web_node_back_after_s"] = round(time.monotonic() - started - faults["web_node_killed_at_s"], 1)
            time.sleep(max(0.0, at(0.45) - time.monotonic()))
            deadline = time.monotonic() + 30
            while receiver.inflight == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            faults["webhook_posts_in_flight_at_worker_kill"] = receiver.inflight
            workers[0].kill9()
            faults["worker_killed_at_s"] = round(time.monotonic() - started, 1)
            workers[0].start()
            time.sleep(max(0.0, at(0.7) - time.monotonic()))
            faults["db_stop_at"] = time.monotonic()
            pg.ctl("stop", "-m", "fast")
            time.sleep(3)
            pg.ctl("start")
            faults["db_back_at"] = time.monotonic()

        chaos_thread = threading.Thread(target=chaos, daemon=True)
        chaos_thread.start()

        def client_loop(n: int) -> None:
            _, token = users[n % len(users)]
            client = Client([bases[n % 2], bases[(n + 1) % 2]], token, stats, random.Random(n))
            while time.monotonic() < end:
                client.step()

        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(client_loop, range(args.clients)))
        elapsed = time.monotonic() - started
        chaos_thread.join(120)
        summary = checks(run, stats, users, receiver, faults, elapsed, args, DB_GRACE_SECONDS)
    finally:
        for proc in procs:
            proc.stop()
        pg.destroy()
        receiver.server.shutdown()
        with contextlib.suppress(Exception), Connection(args.amqp_url) as conn:  # the run's own queue
            Queue(f"ipam-cluster-{run}").bind(conn.default_channel).delete()

    text = json.dumps(summary, indent=2)
    print(text)
    (BASE_DIR / "var" / "cluster-last.json").write_text(text + "\n")
    print("CLUSTER TEST PASSED" if summary["passed"] else f"CLUSTER TEST FAILED (logs: {logs})")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
