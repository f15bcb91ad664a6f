"""`make run`'s supervisor starts the API, a Celery worker and beat with no other service, and Ctrl-C
stops all three."""

from __future__ import annotations

import os
import re
import signal
import urllib.request

import pytest

from ipam_project.schedule import JOBS
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
        wait_for(lambda: f"[BackgroundTasks] Beat started: {len(JOBS)} periodic jobs" in run.output(), 90, lambda: f"beat:\n{run.output()}")
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


def _group_members(groups: set[int]) -> list[int]:
    """Live processes (not zombies) whose process group is one of `groups` (from /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp in groups and state != "Z":
            members.append(int(entry))
    return members


def test_killing_the_supervisor_takes_web_worker_and_beat_with_it_and_the_port_is_free_again(tmp_path):
    port = free_port()
    env = subprocess_env(tmp_path, IPAM_RUN_GRACE_SECONDS="5")
    with Background([PYTHON, "scripts/run_dev.py", "--port", str(port)], env, tmp_path / "run.out") as run:  # with the reloader
        wait_for(lambda: _status(f"http://127.0.0.1:{port}/health") == 200, 90, lambda: f"the API:\n{run.output()}")
        wait_for(lambda: "ready." in run.output(), 90, lambda: f"the worker:\n{run.output()}")
        output = run.output()
        assert f"API on http://127.0.0.1:{port} " in output and f"http://127.0.0.1:{port}/admin/" in output
        pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)}
        groups = set(pids.values())  # each child leads its own process group
        assert len(_group_members(groups)) > 3  # runserver's reloaded server and Celery's pool included

        run.proc.send_signal(signal.SIGKILL)  # no chance to clean up
        run.proc.wait(timeout=10)
        wait_for(lambda: not _group_members(groups), 60, lambda: f"orphans left: {_group_members(groups)}\n{run.output()}")
    assert _status(f"http://127.0.0.1:{port}/health") == 0

    # The next `make run` on the same port starts (no "port already in use").
    with Background([PYTHON, "scripts/run_dev.py", "--port", str(port), "--no-reload"], env, tmp_path / "again.out") as again:
        wait_for(lambda: _status(f"http://127.0.0.1:{port}/health") == 200, 90, lambda: f"the API again:\n{again.output()}")
        again.proc.send_signal(signal.SIGINT)
        assert again.proc.wait(timeout=60) == 0


def test_a_busy_port_is_one_clear_line_naming_the_port_and_how_to_change_it(tmp_path):
    import socket
    import subprocess

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [PYTHON, "scripts/run_dev.py", "--port", str(port), "--no-reload"],
            env=subprocess_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and f"port {port}" in lines[0] and "already in use" in lines[0] and "PORT=" in lines[0], lines
    assert "started" not in result.stdout  # nothing was launched


def test_port_zero_picks_a_free_port_and_prints_the_one_used(tmp_path):
    env = subprocess_env(tmp_path)
    with Background([PYTHON, "scripts/run_dev.py", "--port", "0", "--no-reload"], env, tmp_path / "run.out") as run:
        wait_for(lambda: "API on http://" in run.output(), 60, lambda: run.output())
        port = int(re.search(r"API on http://127\.0\.0\.1:(\d+)", run.output()).group(1))
        assert port != 0
        wait_for(lambda: _status(f"http://127.0.0.1:{port}/health") == 200, 90, lambda: f"the API:\n{run.output()}")
        run.proc.send_signal(signal.SIGINT)
        assert run.proc.wait(timeout=60) == 0
