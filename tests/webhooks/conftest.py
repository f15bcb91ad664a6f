"""A real HTTP receiver in the test process, and helpers to subscribe to it.

The receiver is `http.server` on 127.0.0.1 (an ephemeral port) in a thread; the tests allow 127.0.0.1
through the SSRF guard with `IPAM_WEBHOOK_ALLOWED_HOSTS`, exactly as an operator would.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from webhooks.services import webhook_create


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


class Receiver:
    """Records every request; answers with the queued statuses, then `default_status`."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self.default_status = 200
        self.delay_seconds = 0.0
        self.extra_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.popleft() if receiver.statuses else receiver.default_status
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                self.send_response(status)
                for key, value in receiver.extra_headers.items():
                    self.send_header(key, value)
                reply = f"status {status}".encode()
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def respond(self, *statuses: int) -> None:
        self.statuses.extend(statuses)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _allow_local_receiver(settings: Any) -> None:
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.IPAM_ENABLE_WEBHOOKS = True


@pytest.fixture
def receiver() -> Any:
    server = Receiver()
    yield server
    server.stop()


ALL_EVENTS = [
    "region.created",
    "region.updated",
    "region.retired",
    "host.allocated",
    "host.updated",
    "host.released",
    "capacity.warning",
    "capacity.critical",
]


@pytest.fixture
def subscribe() -> Any:
    """subscribe(user, url, events=ALL_EVENTS) -> (webhook, secret)."""

    def make(user: Any, url: str, events: list[str] | None = None) -> Any:
        return webhook_create(actor=user, webhook_url=url, events=events or ALL_EVENTS)

    return make


from tests.brokers import broker  # noqa: E402, F401 (a fixture: Redis and RabbitMQ for the real-worker tests)
