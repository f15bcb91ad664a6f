"""The Python client (`clients/python`) against a live server: gunicorn in a subprocess on the test database,
and a real local HTTP proxy in front of it that can answer 429/503 or lose a response, to prove retries.

The server runs for the whole module; each test is a transactional test with serialized rollback (its rows
are committed, so the server sees them, and flushed afterwards) with its own user, who logs in with a
password like a script would.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Group, User

from tests.ops_support import BASE_DIR, BIN, Background, subprocess_env, wait_for

sys.path.insert(0, str(BASE_DIR / "clients" / "python" / "src"))  # the client as `pip install ./clients/python` ships it

PORTS = range(18600, 18700)  # this suite's port range
PASSWORD = "client-tests-pass-1"


def port_in_range() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18600-18699")


@pytest.fixture(scope="module")
def live_server_url(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("client-server")
    with django_db_blocker.unblock():
        # IPAM_TESTING: the password hasher of the test process, so the users it creates can log in.
        env = subprocess_env(tmp, IPAM_TESTING="true", IPAM_RATE_LIMITS_ENABLED="false", IPAM_LOG_LEVEL="WARNING")
    port = port_in_range()
    base = f"http://127.0.0.1:{port}"
    args = [str(BIN / "gunicorn"), "ipam_project.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    with Background(args, env, tmp / "gunicorn.out") as server:
        wait_for(lambda: _up(base), 120, server.output)
        yield base


def _up(base: str) -> bool:
    try:
        return requests.get(base + "/health", timeout=2).status_code in (200, 503)
    except requests.RequestException:
        return False


@pytest.fixture
def operator() -> User:
    """A script's user (the test modules are marked transactional with serialized rollback)."""
    user = User.objects.create_user("script-bot", password=PASSWORD)
    user.groups.add(Group.objects.get(name="IPAM Operators"))
    return user


@pytest.fixture
def ipam(live_server_url: str, operator: User) -> Any:
    from ipam_client import IPAM

    return IPAM(live_server_url, username=operator.username, password=PASSWORD, max_retry_wait=5)


# --- a fault-injecting proxy ----------------------------------------------------------------------------
@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


# A rule sees each request and returns None (forward it), ("answer", status, headers) to answer without
# forwarding, or ("lose", status, headers) to forward it and then answer that instead of the real response.
Rule = Callable[[Seen, int], tuple[str, int, dict[str, str]] | None]


@dataclass
class Proxy:
    url: str
    seen: list[Seen] = field(default_factory=list)
    rule: Rule = lambda seen, index: None


@pytest.fixture
def proxy(live_server_url: str) -> Iterator[Proxy]:
    port = port_in_range()
    state = Proxy(url=f"http://127.0.0.1:{port}")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = Seen(self.command, self.path, dict(self.headers.items()))
            with lock:
                state.seen.append(seen)
                decision = state.rule(seen, len(state.seen) - 1)
            if decision is None or decision[0] == "lose":
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
                upstream = requests.request(self.command, live_server_url + self.path, data=body, headers=headers, timeout=30)
                if decision is None:
                    # Links in the body point at the server; rewriting is not needed for the tests that follow them.
                    self._reply(upstream.status_code, {"Content-Type": upstream.headers.get("Content-Type", "")}, upstream.content)
                    return
            assert decision is not None
            _, status, extra = decision
            payload = b'{"error": "injected", "message": "injected by the test proxy", "details": {}}'
            self._reply(status, {"Content-Type": "application/json", **extra}, payload)

        def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if value:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def client_via(proxy: Proxy, user: User, **kwargs: Any) -> Any:
    from ipam_client import IPAM

    return IPAM(proxy.url, username=user.username, password=PASSWORD, **kwargs)
