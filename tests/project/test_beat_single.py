"""Exactly one scheduler: two real beat processes (started by mistake on two nodes) send each periodic job
once per tick; the second idles on the Redis lock and takes over when the first is killed -9 (ADR 0015).

The dispatch job runs every 2 s here (IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS); no worker consumes the
queue, so every message a beat sent is still there to be counted.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from kombu import Connection

from tests.brokers import REDIS_BROKER_URL
from tests.ops_support import BIN, Background, subprocess_env, wait_for

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]

INTERVAL = 2
SENT = "Scheduler: Sending due task webhook_dispatch_due"


def _drain(broker) -> int:
    """Take every message off the test's queue; the number of webhook_dispatch_due runs sent."""
    count = 0
    with Connection(broker.url) as conn:
        queue = conn.SimpleQueue(broker.queue)
        while True:
            try:
                message = queue.get(block=True, timeout=1)
            except queue.Empty:
                break
            count += message.headers.get("task") == "webhook_dispatch_due"
            message.ack()
        queue.close()
    return count


def _sends(beat: Background) -> int:
    return beat.output().count(SENT)


def test_two_beats_send_each_tick_once_and_the_second_takes_over_when_the_first_dies(tmp_path, broker):
    env = subprocess_env(
        tmp_path,
        redis_url=REDIS_BROKER_URL,  # the beat lock and schedule state live in Redis, whatever the broker
        **broker.env(),
        IPAM_WEBHOOK_DISPATCH_INTERVAL_SECONDS=str(INTERVAL),
        IPAM_BEAT_MAX_LOOP_INTERVAL="1",
        IPAM_BEAT_LOCK_TIMEOUT="5",
    )
    args = [str(BIN / "celery"), "-A", "ipam_project", "beat", "--loglevel=DEBUG"]
    first = Background(args, env, tmp_path / "beat-1.out")
    try:
        wait_for(lambda: _sends(first) >= 1, 60, lambda: f"beat 1 to send:\n{first.output()}")
        second = Background(args, env, tmp_path / "beat-2.out")
        try:
            wait_for(lambda: "Beat started" in second.output(), 60, lambda: f"beat 2 to start:\n{second.output()}")
            before = _sends(first)
            time.sleep(12)
            both_alive = _sends(first) - before
            assert _sends(second) == 0, second.output()  # idle: blocked on the lock the first renews
            assert "Acquired lock" not in second.output()
            assert INTERVAL <= both_alive * INTERVAL <= 12 + INTERVAL  # one send per tick, not two

            os.killpg(first.proc.pid, signal.SIGKILL)
            first.proc.wait(10)
            killed_at = time.monotonic()
            wait_for(lambda: _sends(second) >= 3, 60, lambda: f"beat 2 to take over:\n{second.output()}")
            took_over = time.monotonic() - killed_at
            assert "Acquired lock" in second.output()
            assert took_over <= 5 + 3 * INTERVAL + 5  # the lock expires (5 s), then the next ticks
        finally:
            second.stop()
    finally:
        first.stop()
        client = redis.Redis.from_url(REDIS_BROKER_URL)
        for key in client.scan_iter(f"{broker.beat_prefix}*"):
            client.delete(key)

    sent_by_beats = _sends(first) + _sends(second)
    # Every send is a message and nothing else sent the job; the first beat may have been killed between
    # logging a send and publishing it, so one logged send can be missing — never an extra message.
    assert sent_by_beats - 1 <= _drain(broker) <= sent_by_beats
