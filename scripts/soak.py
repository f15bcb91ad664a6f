#!/usr/bin/env python
"""Soak test: a bounded mixed workload against gunicorn (several workers) on PostgreSQL + Redis, then
consistency checks. `make soak` runs it; see docs/reliability.md for the last results.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ipam_soak REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python scripts/soak.py --seconds 180 --workers 3 --clients 8

The database is migrated (created if missing); each run uses fresh users (`soak-<run>-<n>`), so the
checks only look at this run's rows. Workload per client, picked at random: allocate a region, allocate
a host, read (list, detail, by-ip, utilization), retire a host, reserve a region, create a share and
view it publicly. Rate limits are off (this measures correctness under concurrency, not throttling).

Checks (exit 1 if any fails): zero 5xx; zero duplicate active addresses (regions per user and
10.X.Y.0/24, hosts per user and IP); `manage.py verify_counters` clean; one audit row per successful
write; one webhook event per successful write that publishes one (every soak user subscribes).
A JSON summary is printed and written to var/soak-last.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COUNTRIES = ["IN", "JP", "BR", "US", "FI"]
# writes that publish a webhook event, by workload operation
EVENT_OF = {"region": "region.created", "host": "host.allocated", "retire": "host.released", "reserve": "reservation.created"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def django_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(IPAM_SKIP_DOTENV="1", DJANGO_SETTINGS_MODULE="ipam_project.settings", PYTHONPATH=str(BASE_DIR))
    env.setdefault("IPAM_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")  # the soak webhooks point at a closed local port
    env.update(extra or {})
    return env


def setup_django() -> None:
    os.environ.update(django_env())
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: Counter[str] = Counter()  # "op status"
        self.ok_writes: Counter[str] = Counter()
        self.errors_5xx: list[str] = []
        self.latencies: list[float] = []

    def record(self, op: str, response: requests.Response | None, started: float, write: bool) -> None:
        code = response.status_code if response is not None else 0
        with self.lock:
            self.status[f"{op} {code}"] += 1
            self.latencies.append(time.monotonic() - started)
            if code >= 500 or code == 0:
                body = response.text[:300] if response is not None else "no response"
                self.errors_5xx.append(f"{op} {code} {body}")
            elif write and 200 <= code < 300:
                self.ok_writes[op] += 1


class Client:
    def __init__(self, base: str, token: str, stats: Stats, rng: random.Random) -> None:
        self.base, self.stats, self.rng = base, stats, rng
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.public = requests.Session()
        self.regions: list[str] = []
        self.hosts: list[tuple[str, str]] = []  # (host_id, ip)
        self.shares: list[str] = []

    def call(self, op: str, method: str, path: str, *, write: bool = False, public: bool = False, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            response = (self.public if public else self.session).request(method, self.base + path, timeout=60, **kwargs)
        except requests.RequestException:
            response = None
        self.stats.record(op, response, started, write)
        if response is not None and 200 <= response.status_code < 300 and response.content:
            return response.json()
        return None

    def step(self) -> None:
        rng = self.rng
        choice = rng.choices(["region", "host", "read", "retire", "reserve", "share"], weights=[2, 6, 8, 2, 1, 1])[0]
        if choice == "region" or not self.regions:
            body = self.call(
                "region",
                "POST",
                "/ipam/regions",
                write=True,
                json={"country": rng.choice(COUNTRIES), "region_name": f"r-{uuid.uuid4().hex[:8]}"},
            )
            if body:
                self.regions.append(body["region_id"])
        elif choice == "host":
            body = self.call(
                "host",
                "POST",
                "/ipam/hosts",
                write=True,
                json={"region_id": rng.choice(self.regions), "hostname": f"h-{uuid.uuid4().hex[:8]}"},
            )
            if body:
                self.hosts.append((body["host_id"], body["ip_address"]))
        elif choice == "read":
            what = rng.choice(["list", "region", "host", "by-ip", "utilization"])
            if what == "list":
                self.call("read", "GET", rng.choice(["/ipam/regions", "/ipam/hosts"]) + "?page_size=20")
            elif what == "region":
                self.call("read", "GET", f"/ipam/regions/{rng.choice(self.regions)}")
            elif what == "utilization":
                self.call("read", "GET", f"/ipam/regions/{rng.choice(self.regions)}/utilization")
            elif self.hosts:
                host_id, ip = rng.choice(self.hosts)
                self.call("read", "GET", f"/ipam/hosts/{host_id}" if what == "host" else f"/ipam/hosts/by-ip/{ip}")
        elif choice == "retire" and self.hosts:
            host_id, _ = self.hosts.pop(rng.randrange(len(self.hosts)))
            self.call("retire", "DELETE", f"/ipam/hosts/{host_id}?reason=soak", write=True)
        elif choice == "reserve":
            body = {
                "resource_type": "region",
                "x_octet": rng.randrange(0, 256),
                "y_octet": rng.randrange(0, 256),
                "reason": "soak",
                "expires_in_days": 1,
            }
            self.call("reserve", "POST", "/ipam/reservations", write=True, json=body)
        elif choice == "share":
            body = self.call(
                "share", "POST", "/ipam/shares", write=True, json={"resource_type": "region", "resource_id": rng.choice(self.regions)}
            )
            if body:
                self.shares.append(body["share_token"])
            if self.shares:
                self.call("share-view", "GET", f"/ipam/shares/{rng.choice(self.shares)}", public=True)


def make_users(run: str, count: int, webhook_url: str) -> list[tuple[Any, str]]:
    from django.contrib.auth.models import Group, User
    from rest_framework_simplejwt.tokens import RefreshToken

    from webhooks.services import webhook_create

    users = []
    for n in range(count):
        user = User.objects.create_user(f"soak-{run}-{n}", password=uuid.uuid4().hex)
        user.groups.add(Group.objects.get(name="IPAM Operators"))
        webhook_create(actor=user, webhook_url=webhook_url, events=sorted(set(EVENT_OF.values())), description="soak")
        users.append((user, str(RefreshToken.for_user(user).access_token)))
    return users


def checks(run: str, stats: Stats, users: list[Any]) -> dict[str, Any]:
    from django.db.models import Count

    from ipam.models import AuditLog, Host, Region
    from webhooks.models import WebhookEvent

    ids = [u.pk for u in users]
    dup_regions = (
        Region.objects.filter(user_id__in=ids)
        .exclude(status="retired")
        .values("user_id", "x_octet", "y_octet")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    dup_hosts = (
        Host.objects.filter(user_id__in=ids)
        .exclude(status="retired")
        .values("user_id", "ip_int")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    verify = subprocess.run(
        [sys.executable, "manage.py", "verify_counters"], cwd=BASE_DIR, env=django_env(), capture_output=True, text=True, check=False
    )
    audit = Counter(AuditLog.objects.filter(user_id__in=ids).values_list("action_type", flat=True))
    events = Counter(WebhookEvent.objects.filter(user_id__in=ids).values_list("event_type", flat=True))
    expected_events = Counter({EVENT_OF[op]: n for op, n in stats.ok_writes.items() if op in EVENT_OF})
    writes = sum(stats.ok_writes.values())
    result = {
        "five_xx": len(stats.errors_5xx),
        "duplicate_regions": dup_regions,
        "duplicate_hosts": dup_hosts,
        "verify_counters_ok": verify.returncode == 0,
        "verify_counters": verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr.strip()[-300:],
        "successful_writes": dict(stats.ok_writes),
        "audit_rows": dict(audit),
        "audit_rows_total": sum(audit.values()),
        "audit_one_per_write": sum(audit.values()) == writes,
        "events": dict(events),
        "events_one_per_write": {k: events.get(k, 0) for k in expected_events} == dict(expected_events),
    }
    result["passed"] = (
        result["five_xx"] == 0
        and dup_regions == 0
        and dup_hosts == 0
        and result["verify_counters_ok"]
        and result["audit_one_per_write"]
        and result["events_one_per_write"]
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 180)))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("SOAK_WORKERS", 3)), help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", 8)), help="concurrent client threads")
    parser.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", 3)), help="operators the clients share")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SOAK_PORT", 0)) or None)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        print("soak: set DATABASE_URL (PostgreSQL) and REDIS_URL", file=sys.stderr)
        return 2

    migrate = [sys.executable, "manage.py", "migrate", "--no-input"]
    subprocess.run(migrate, cwd=BASE_DIR, env=django_env(), check=True, capture_output=True)  # noqa: S603 (our own fixed commands)
    setup_django()
    run = time.strftime("%Y%m%d%H%M%S")
    users = make_users(run, args.users, "http://127.0.0.1:9/soak")
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    var = BASE_DIR / "var"
    var.mkdir(exist_ok=True)
    env = django_env(
        {
            "IPAM_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_ACCESS_LOG": "",
            "IPAM_RATE_LIMITS_ENABLED": "false",
            "IPAM_LOG_DIR": str(var / "soak-logs"),
        }
    )
    log = open(var / "soak-gunicorn.out", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(  # noqa: S603 (our own fixed commands)
        [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "ipam_project.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stats = Stats()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("soak: gunicorn did not start; see var/soak-gunicorn.out")
        end = time.monotonic() + args.seconds
        started = time.monotonic()

        def client_loop(n: int) -> None:
            _, token = users[n % len(users)]
            client = Client(base, token, stats, random.Random(n))
            while time.monotonic() < end:
                client.step()

        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(client_loop, range(args.clients)))
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    summary: dict[str, Any] = {
        "run": run,
        "seconds": round(elapsed, 1),
        "gunicorn_workers": args.workers,
        "clients": args.clients,
        "users": args.users,
        "requests": sum(stats.status.values()),
        "requests_per_second": round(sum(stats.status.values()) / elapsed, 1),
        "latency_p50_ms": round(sorted(stats.latencies)[len(stats.latencies) // 2] * 1000, 1) if stats.latencies else None,
        "latency_p99_ms": round(sorted(stats.latencies)[int(len(stats.latencies) * 0.99)] * 1000, 1) if stats.latencies else None,
        "status_counts": dict(sorted(stats.status.items())),
        **checks(run, stats, [u for u, _ in users]),
        "first_5xx": stats.errors_5xx[:5],
    }
    text = json.dumps(summary, indent=2)
    print(text)
    (var / "soak-last.json").write_text(text + "\n")
    print("SOAK PASSED" if summary["passed"] else "SOAK FAILED")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
