#!/usr/bin/env python3
"""Development supervisor for `make run`: API + Celery worker + Celery beat, started and stopped together.

    python scripts/run_dev.py [--host 127.0.0.1] [--port 8000] [--no-reload]

Needs no other service: without REDIS_URL the broker is kombu's file-system transport under var/ and the
cache is in-process. Every line is prefixed with the process it comes from. Ctrl-C (or SIGTERM) stops all
three (warm shutdown, then SIGKILL after a grace period); if one of them dies, the others are stopped and
the exit status is non-zero.

If the supervisor itself is killed (SIGKILL, a closed terminal), its children go too: each direct child gets
a Linux parent-death signal (prctl PR_SET_PDEATHSIG → SIGTERM), and a small watchdog process holding the read
end of a pipe from the supervisor kills the children's whole process groups (runserver's reloaded server,
Celery's pool) when that pipe closes — which the kernel does when the supervisor dies, however it dies.

A busy port is one clear line naming the port and how to choose another (`make run PORT=...`), exit status 2;
`--port 0` picks a free port. The printed URLs are those of the port actually used.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent
GRACE_SECONDS = float(os.environ.get("IPAM_RUN_GRACE_SECONDS", "10"))


def commands(host: str, port: int, reload: bool) -> dict[str, list[str]]:
    python = sys.executable
    web = [python, "manage.py", "runserver", f"{host}:{port}"]
    if not reload:
        web.append("--noreload")
    concurrency = os.environ.get("IPAM_WORKER_CONCURRENCY", "2")
    return {
        "web": web,
        "worker": [python, "-m", "celery", "-A", "ipam_project", "worker", "--loglevel=INFO", f"--concurrency={concurrency}"],
        "beat": [python, "-m", "celery", "-A", "ipam_project", "beat", "--loglevel=INFO"],
    }


PR_SET_PDEATHSIG = 1
# runserver starts a thread per request, and each thread would keep its own database connection for
# DB_CONN_MAX_AGE: on PostgreSQL the web process uses a small connection pool instead (unless set already).
PROCESS_ENV = {"web": {"DB_POOL_MAX_SIZE": "4"}}
EXIT_PORT_BUSY = 2


def _die_with_parent() -> None:  # preexec_fn: runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the watchdog still covers it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


WATCHDOG = """
import os, signal, sys, time
groups = [int(g) for g in sys.argv[1:]]
sys.stdin.buffer.read()  # EOF: the supervisor is gone (or closed the pipe after stopping everything)
for sig in (signal.SIGTERM, signal.SIGKILL):
    for group in groups:
        try:
            os.killpg(group, sig)
        except (ProcessLookupError, PermissionError):
            pass
    if sig == signal.SIGTERM:
        time.sleep(float(os.environ.get("IPAM_RUN_GRACE_SECONDS", "10")))
"""


def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver binds: TIME_WAIT is not "in use"
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _pump(name: str, stream: IO[str], lock: threading.Lock) -> None:
    width = 6
    for line in stream:
        with lock:
            sys.stdout.write(f"{name:<{width}}| {line}")
            sys.stdout.flush()


class Supervisor:
    # runserver's autoreloader does not pass SIGTERM on to its server process: signal its whole group. Celery
    # gets it on the main process only (warm shutdown: it stops its pool itself).
    SIGNAL_GROUP = {"web"}

    def __init__(self, cmds: dict[str, list[str]]) -> None:
        self.cmds = cmds
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.stopping = False
        self.interrupted = threading.Event()
        self.lock = threading.Lock()

    def start(self) -> None:
        # The development command is what turns development mode on (DEBUG, keys generated under var/).
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.setdefault("DEBUG", "true")
        for name, cmd in self.cmds.items():
            proc_env = dict(env, **{k: v for k, v in PROCESS_ENV.get(name, {}).items() if k not in os.environ})
            # Own process group: Ctrl-C reaches the supervisor only, which stops each group in order.
            proc = subprocess.Popen(  # noqa: S603 (our own fixed commands)
                cmd,
                cwd=BASE_DIR,
                env=proc_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only a prctl call; needed between fork and exec
            )
            self.procs[name] = proc
            assert proc.stdout is not None
            threading.Thread(target=_pump, args=(name, proc.stdout, self.lock), daemon=True).start()
            self.say(f"started {name} (pid {proc.pid}): {' '.join(cmd[1:])}")
        self._start_watchdog()

    def _start_watchdog(self) -> None:
        """A process that outlives a killed supervisor just long enough to stop its children's groups."""
        read_end, self.watchdog_pipe = os.pipe()
        self.watchdog = subprocess.Popen(  # noqa: S603 (our own fixed command)
            [sys.executable, "-c", WATCHDOG, *(str(proc.pid) for proc in self.procs.values())],
            stdin=read_end,
            start_new_session=True,  # Ctrl-C in the terminal is the supervisor's to handle
        )
        os.close(read_end)  # only the watchdog holds it: the write end's closing is the signal

    def say(self, message: str) -> None:
        with self.lock:
            sys.stdout.write(f"{'run':<6}| {message}\n")
            sys.stdout.flush()

    def stop(self, *_: object) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.say("stopping web, worker and beat ...")
        for name, proc in self.procs.items():
            self._signal(proc, signal.SIGTERM, group=name in self.SIGNAL_GROUP)
        deadline = time.monotonic() + GRACE_SECONDS
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop in {GRACE_SECONDS:.0f}s: killing it")
                self._signal(proc, signal.SIGKILL, group=True)
                proc.wait()
        # Anything left in their process groups (runserver's server, a stuck pool process) goes too.
        for proc in self.procs.values():
            self._signal(proc, signal.SIGKILL, group=True)
        if hasattr(self, "watchdog"):
            self.watchdog.kill()  # nothing left for it to do
            self.watchdog.wait()
            os.close(self.watchdog_pipe)

    @staticmethod
    def _signal(proc: subprocess.Popen[str], sig: signal.Signals, *, group: bool) -> None:
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> int:
        """Until Ctrl-C/SIGTERM (0) or until a process exits on its own (its status, or 1); all stopped after."""
        while not self.interrupted.is_set():
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is not None:
                    self.say(f"{name} exited with status {code}; stopping the others")
                    self.stop()
                    return code or 1
            self.interrupted.wait(0.2)
        self.stop()
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--no-reload", action="store_true", help="do not restart the API when code changes")
    args = parser.parse_args(argv)
    if args.port == 0:
        args.port = free_port(args.host)
    elif port_in_use(args.host, args.port):
        print(
            f"run   | port {args.port} on {args.host} is already in use (another `make run` still running?): "
            f"stop it, or choose another port: make run PORT={args.port + 1}",
            flush=True,
        )
        return EXIT_PORT_BUSY

    supervisor = Supervisor(commands(args.host, args.port, not args.no_reload))
    signal.signal(signal.SIGINT, lambda signum, frame: supervisor.interrupted.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: supervisor.interrupted.set())
    supervisor.start()
    base = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}"
    supervisor.say(f"API on {base}  (Ctrl-C stops web, worker and beat)")
    supervisor.say(f"Admin UI: {base}/admin/   API docs: {base}/docs")
    status = supervisor.wait()
    supervisor.say("all stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
