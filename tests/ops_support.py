"""Helpers for the operations tests: run the real programs (manage.py, celery, gunicorn) in subprocesses
against the test database, each with its own var/ and logs/ directories."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def current_database_url() -> str:
    """DATABASE_URL of the database this test runs against (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def closed_port() -> int:
    """A local TCP port nothing listens on (a stopped Redis, as far as a client can tell)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port() -> int:
    return closed_port()


def subprocess_env(tmp_path: Path, *, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a child process: test database, own var/logs under tmp_path, Redis only if given."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="ipam_project.settings",
        IPAM_SKIP_DOTENV="1",
        DEBUG="true",  # development mode; production tests override it
        # The test process's keys, so tokens it signs (and secrets it encrypts) are valid in the child.
        SECRET_KEY=settings.SECRET_KEY,
        FERNET_KEY=settings.FERNET_KEY,
        IPAM_VAR_DIR=str(tmp_path / "var"),
        IPAM_LOG_DIR=str(tmp_path / "logs"),
        DATABASE_URL=current_database_url(),
        PYTHONPATH=str(BASE_DIR),
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def run_django(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `code` after django.setup() in a fresh interpreter."""
    script = "import django\ndjango.setup()\n" + code
    return subprocess.run([PYTHON, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str | Callable[[], str], interval: float = 0.2) -> Any:
    """Poll `predicate` until truthy; on timeout fail with `what` (a callable is evaluated then, e.g. output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what() if callable(what) else what}")


class Background:
    """A child process whose combined output is collected in a file; stopped (and its group killed) on exit."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._handle = open(log, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=self._handle, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = 15, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 9)  # leftovers of its group (pool processes)
        self._handle.close()
        return int(self.proc.returncode)

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
