"""Pieces of the multi-node test (scripts/cluster_test.py): a private PostgreSQL cluster, child processes
that can be killed -9 and restarted, the local webhook receiver and the load clients."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
COUNTRIES = ["IN", "JP", "BR", "US", "FI"]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"cluster-test: {name} not found (install postgresql)")
    return found[-1]


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


class Postgres:
    """A private cluster (initdb in a temporary directory, own port): never the machine's server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="ipam-cluster-pg-"))
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
            shutil.chown(self.directory, "postgres")
        self.data = self.directory / "data"
        init = _as_postgres(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        if init.returncode:
            raise SystemExit(f"cluster-test: initdb failed: {init.stderr}")

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        result = _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "pg.log"), "-w", *args)
        if result.returncode:
            raise SystemExit(f"cluster-test: pg_ctl {args} failed: {result.stdout}{result.stderr}")

    def createdb(self, name: str) -> None:
        created = _as_postgres(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        if created.returncode:
            raise SystemExit(f"cluster-test: createdb failed: {created.stderr}")

    def destroy(self) -> None:
        _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "stop", "-m", "immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class Proc:
    """A child process in its own session (so kill -9 reaches its pool processes too); restartable."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env, self.logs = name, args, env, logs
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.starts += 1
        log = open(self.logs / f"{self.name}-{self.starts}.out", "wb")  # noqa: SIM115 (inherited by the child)
        self.proc = subprocess.Popen(self.args, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
        log.close()

    def kill9(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def output(self) -> str:
        return (self.logs / f"{self.name}-{self.starts}.out").read_text(errors="replace")


class Receiver:
    """The local webhook receiver: answers 200 after `delay` s; counts every delivery id (and its body)."""

    def __init__(self, delay: float) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.bodies: dict[str, set[str]] = defaultdict(set)
        self.inflight = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = self.headers.get("X-IPAM-Delivery", "")
                with receiver.lock:
                    receiver.seen[delivery] += 1
                    receiver.bodies[delivery].add(hashlib.sha256(body).hexdigest())
                    receiver.inflight += 1
                try:
                    time.sleep(delay)
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                finally:
                    with receiver.lock:
                        receiver.inflight -= 1

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: Counter[str] = Counter()
        self.responses: list[tuple[float, int, str]] = []  # (time, status, op) of every 5xx
        self.latencies: list[float] = []
        self.failovers = 0
        self.acknowledged: dict[str, set[str]] = defaultdict(set)  # op -> resource ids the client saw succeed
        self.uncertain: Counter[str] = Counter()  # writes whose outcome the client never learned

    def record(self, op: str, code: int, started: float) -> None:
        with self.lock:
            self.status[f"{op} {code}"] += 1
            self.latencies.append(time.monotonic() - started)
            if code >= 500:
                self.responses.append((time.monotonic(), code, op))


class Client:
    """One load thread: allocates, reads, retires and reserves on its node, failing over to the other node
    when its node is down (a load balancer would). POSTs carry an Idempotency-Key and are retried with it
    after a lost response or a 503, so a write is applied once and the client learns its outcome."""

    def __init__(self, nodes: list[str], token: str, stats: Stats, rng: random.Random) -> None:
        self.nodes, self.stats, self.rng = nodes, stats, rng
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.regions: list[str] = []
        self.hosts: list[tuple[str, str]] = []

    def call(self, op: str, method: str, path: str, *, write: bool = False, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Idempotency-Key": uuid.uuid4().hex} if write and method == "POST" else {}
        doubtful = False
        for attempt in range(8):
            node = self.nodes[attempt % len(self.nodes)]
            started = time.monotonic()
            try:
                response = self.session.request(method, node + path, timeout=30, headers=headers, **kwargs)
            except requests.RequestException:
                with self.stats.lock:
                    self.stats.failovers += 1
                doubtful = True
                time.sleep(0.2)
                continue
            self.stats.record(op, response.status_code, started)
            if response.status_code == 503 or (response.status_code == 409 and "idempotency_key_in_progress" in response.text):
                # 503: the database is away; 409 in progress: an earlier try with this key still runs somewhere
                doubtful = True
                time.sleep(0.5)
                continue
            body = response.json() if response.content and response.headers.get("Content-Type", "").startswith("application/json") else None
            if write and doubtful and not 200 <= response.status_code < 300 and method != "POST":
                with self.stats.lock:  # e.g. a retire retried after a lost response: did the first one apply?
                    self.stats.uncertain[op] += 1
            return response.status_code, body
        if write:
            with self.stats.lock:
                self.stats.uncertain[op] += 1
        return 0, None

    def step(self) -> None:
        rng = self.rng
        choice = rng.choices(["region", "host", "read", "retire", "reserve"], weights=[2, 6, 8, 2, 1])[0]
        if choice == "region" or not self.regions:
            body: dict[str, Any] = {"country": rng.choice(COUNTRIES), "region_name": f"r-{uuid.uuid4().hex[:8]}"}
            code, got = self.call("region", "POST", "/ipam/regions", write=True, json=body)
            if code == 201 and got:
                self.regions.append(got["region_id"])
                self._ack("region", got["region_id"])
        elif choice == "host":
            body = {"region_id": rng.choice(self.regions), "hostname": f"h-{uuid.uuid4().hex[:8]}"}
            code, got = self.call("host", "POST", "/ipam/hosts", write=True, json=body)
            if code == 201 and got:
                self.hosts.append((got["host_id"], got["ip_address"]))
                self._ack("host", got["host_id"])
        elif choice == "read":
            what = rng.choice(["list", "region", "by-ip", "utilization"])
            if what == "list":
                self.call("read", "GET", rng.choice(["/ipam/regions", "/ipam/hosts"]) + "?page_size=20")
            elif what == "region":
                self.call("read", "GET", f"/ipam/regions/{rng.choice(self.regions)}")
            elif what == "utilization":
                self.call("read", "GET", f"/ipam/regions/{rng.choice(self.regions)}/utilization")
            elif self.hosts:
                self.call("read", "GET", f"/ipam/hosts/by-ip/{rng.choice(self.hosts)[1]}")
        elif choice == "retire" and self.hosts:
            host_id, _ = self.hosts.pop(rng.randrange(len(self.hosts)))
            code, _ = self.call("retire", "DELETE", f"/ipam/hosts/{host_id}?reason=cluster", write=True)
            if code == 200:
                self._ack("retire", host_id)
        elif choice == "reserve":
            body = {
                "resource_type": "region",
                "x_octet": rng.randrange(256),
                "y_octet": rng.randrange(256),
                "reason": "cluster",
                "expires_in_days": 1,
            }
            code, got = self.call("reserve", "POST", "/ipam/reservations", write=True, json=body)
            if code == 201 and got:
                self._ack("reserve", str(got["reservation_id"]))

    def _ack(self, op: str, resource_id: str) -> None:
        with self.stats.lock:
            self.stats.acknowledged[op].add(str(resource_id))
