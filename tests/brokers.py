"""The two production brokers for tests that start real Celery workers: Redis and RabbitMQ.

`broker` is parametrized (`[redis]`, `[amqp]`); each test gets its own queue name (and beat key prefix), so
tests and engineers sharing the machine's Redis and RabbitMQ never consume each other's messages. The
queue is deleted afterwards. RabbitMQ not reachable: skipped on a developer machine, a failure in CI
(`.ci/run` starts it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest
from celery import Celery
from kombu import Queue

REDIS_BROKER_URL = os.environ.get("IPAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
AMQP_BROKER_URL = os.environ.get("IPAM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
BROKERS = {"redis": REDIS_BROKER_URL, "amqp": AMQP_BROKER_URL}


@dataclass
class Broker:
    name: str
    url: str
    queue: str
    beat_prefix: str
    _app: Celery | None = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """Variables for a worker/beat/web child process using this broker and queue."""
        return {"CELERY_BROKER_URL": self.url, "CELERY_TASK_DEFAULT_QUEUE": self.queue, "IPAM_BEAT_KEY_PREFIX": self.beat_prefix}

    @property
    def app(self) -> Celery:
        """A bare Celery client for this broker (sends by task name, like foundation.queue)."""
        if self._app is None:
            self._app = Celery("ipam-test-client", broker=self.url, set_as_current=False)
            self._app.conf.update(task_default_queue=self.queue, task_serializer="json", broker_connection_timeout=5)
        return self._app

    def send(self, name: str, *args: object) -> str:
        return str(self.app.send_task(name, args=list(args)).id)

    def delete_queue(self) -> None:
        # Best effort cleanup: never hide the test's own result.
        with contextlib.suppress(Exception), self.app.connection_for_write() as conn:
            Queue(self.queue).bind(conn.default_channel).delete()


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    url = BROKERS[request.param]
    if not reachable(url):
        message = f"{request.param} broker not reachable at {url}"
        if os.environ.get("CI"):
            pytest.fail(message + " (.ci/run starts RabbitMQ and Redis)")
        pytest.skip(message)
    tag = uuid.uuid4().hex[:10]
    found = Broker(request.param, url, f"ipam-test-{tag}", f"ipam-test-beat-{tag}:")
    yield found
    found.delete_queue()
