"""gunicorn settings for production.

    gunicorn -c deploy/gunicorn.conf.py ipam_project.wsgi

Graceful reload: `kill -HUP <master>` (systemctl reload ipam-backend) starts workers with the new code
and configuration, then lets the old ones finish their requests (preload_app stays False for that).
Environment: IPAM_BIND (127.0.0.1:8000), WEB_CONCURRENCY (workers, default 2 x CPUs + 1),
GUNICORN_THREADS (1 = sync workers), GUNICORN_TIMEOUT (30 s), GUNICORN_MAX_REQUESTS (0 = never recycle),
GUNICORN_ACCESS_LOG ("-" = stdout, "" = off), PROMETHEUS_MULTIPROC_DIR (default var/prometheus-web).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
from pathlib import Path
from typing import Any

_BASE_DIR = Path(__file__).resolve().parent.parent
_VAR_DIR = Path(os.environ.get("IPAM_VAR_DIR") or _BASE_DIR / "var")

wsgi_app = "ipam_project.wsgi:application"
chdir = str(_BASE_DIR)
bind = [b.strip() for b in os.environ.get("IPAM_BIND", "127.0.0.1:8000").split(",") if b.strip()]
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 0)
max_requests_jitter = max_requests // 10
preload_app = False
proc_name = "ipam-web"
# Only the local reverse proxy may set X-Forwarded-* (see deploy/nginx/ipam.conf).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
if Path("/dev/shm").is_dir():  # noqa: S108 (heartbeat files in RAM, as gunicorn recommends)
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# Prometheus multiprocess mode: every worker writes its samples here; /metrics merges them. Set before any
# worker imports prometheus_client (workers inherit the master's environment).
_metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_VAR_DIR / "prometheus-web"))
os.makedirs(_metrics_dir, exist_ok=True)

# Imported here, in the master at start, not inside child_exit: that hook runs from the SIGCHLD handler, and
# an import interrupted by the next SIGCHLD leaves a half-initialised module (the master then crashes).
from prometheus_client import multiprocess as _prometheus_multiprocess  # noqa: E402


def on_starting(server: Any) -> None:
    """Master start (not a HUP reload): begin with an empty metrics directory."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def post_worker_init(worker: Any) -> None:
    """Access log lines go through the same secret redaction as the application's."""
    from foundation.logging import RedactSecretsFilter

    logging.getLogger("gunicorn.access").addFilter(RedactSecretsFilter())


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits (reload, crash, recycle) no longer counts in live gauges."""
    try:
        _prometheus_multiprocess.mark_process_dead(worker.pid, _metrics_dir)
    except Exception as exc:  # bookkeeping must never take the master down
        server.log.warning("Could not mark worker %s dead for Prometheus: %s", worker.pid, exc)
