"""`make run`'s supervisor starts the API, a Celery worker and beat with no other service, and Ctrl-C
stops all three."""

from __future__ import annotations

import os
import re
import signal
import urllib.request

import pytest

from tests.ops_support import PYTHON, Background, free_port, subprocess_env, wait_for

# transaction=True: on SQLite the child processes must not wait for a lock held by the test's transaction.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except OSError:
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_starts_api_worker_and_beat_and_ctrl_c_stops_them_all(tmp_path):
    port = free_port()
    env = subprocess_env(tmp_path)  # no REDIS_URL, no broker service: file-system transport under tmp var/
    with Background([PYTHON, "scripts/run_dev.py", "--port", str(port), "--no-reload"], env, tmp_path / "run.out") as run:
        wait_for(lambda: _status(f"http://127.0.0.1:{port}/health") == 200, 90, lambda: f"the API:\n{run.output()}")
        wait_for(lambda: "ready." in run.output(), 90, lambda: f"the worker:\n{run.output()}")
        wait_for(lambda: "[BackgroundTasks] Beat started: 8 periodic jobs" in run.output(), 90, lambda: f"beat:\n{run.output()}")
        output = run.output()
        pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)}
        assert set(pids) == {"web", "worker", "beat"}
        assert re.search(r"^worker\| .*\[BackgroundTasks\] Registered: housekeeping \(daily\)", output, re.MULTILINE)
        assert all(_alive(pid) for pid in pids.values())

        run.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.proc.wait(timeout=60) == 0
    assert "all stopped" in run.output()
    assert not [name for name, pid in pids.items() if _alive(pid)]
    assert _status(f"http://127.0.0.1:{port}/health") == 0
