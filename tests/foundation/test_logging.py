"""Log lines: the guide's format in a configurable directory, request ids, no secrets, and a rotating
file that several processes can share without losing lines."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys

import pytest

from foundation.logging import AppFormatter, RedactSecretsFilter, RequestIdFilter, redact
from tests.ops_support import BASE_DIR, PYTHON, closed_port, run_django, subprocess_env

LINE = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] \[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\] \[[\w.]+\] .+$")

WRITE_LINES = """
import logging
from django.test import Client
from foundation import context
logging.getLogger('ipam.reservations').info('Created reservation: %s', '550e8400-e29b-41d4-a716-446655440000')
token = context.set_context(context.RequestContext(request_id='req-42'))
logging.getLogger('ipam.statistics').info('Dashboard cache hit')
context.reset_context(token)
Client().get('/health', HTTP_X_REQUEST_ID='probe-7')
"""


@pytest.mark.django_db
def test_log_lines_have_the_guides_format_in_the_configured_directory(tmp_path):
    log_dir = tmp_path / "custom-logs"
    env = subprocess_env(tmp_path, IPAM_LOG_DIR=str(log_dir), redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    result = run_django(WRITE_LINES, env)
    assert result.returncode == 0, result.stderr
    lines = (log_dir / "app.log").read_text().splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines
    assert re.match(
        r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\] \[INFO\] \[ipam\.reservations\] "
        r"Created reservation: 550e8400-e29b-41d4-a716-446655440000$",
        lines[0],
    )
    assert re.match(r"^\[[\d :-]{19}\] \[INFO\] \[ipam\.statistics\] Dashboard cache hit \[request_id=req-42\]$", lines[1])
    # A real request: the id sent in X-Request-ID marks the lines it caused.
    assert any(line.endswith("[WARNING] [ipam.health] Health check cache failed: ConnectionError [request_id=probe-7]") for line in lines)


def _capture(logger_name: str = "ipam.test") -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AppFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger, stream, handler


JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoxLCJleHAiOjE3MDB9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
SECRETS = [JWT, "hunter2-password", "whsec_9f8e7d6c5b4a", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-share", "ab" * 32, "dXNlcjpwYXNz"]


def test_secrets_and_tokens_never_reach_a_log_line():
    logger, stream, handler = _capture()
    try:
        logger.info("Request headers: {'Authorization': 'Bearer %s', 'Content-Type': 'application/json'}", JWT)
        logger.info("Authorization: Basic dXNlcjpwYXNz")
        logger.info("login body %s", {"username": "bob", "password": "hunter2-password"})
        logger.warning("webhook created secret_key=whsec_9f8e7d6c5b4a for %s", "https://example.com/hook")
        logger.info('"GET /ipam/shares/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-share HTTP/1.1" 200')
        logger.info("X-IPAM-Signature: sha256=%s", "ab" * 32)
        logger.info("refresh token %s issued", JWT)
        try:
            raise RuntimeError(f"upstream rejected token={JWT}")
        except RuntimeError:
            logger.exception("Delivery failed with password: hunter2-password")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    for secret in SECRETS:
        assert secret not in text, secret
    assert text.count("[REDACTED]") >= 9
    # What is not secret stays readable.
    assert "https://example.com/hook" in text
    assert "'Content-Type': 'application/json'" in text
    assert "'username': 'bob'" in text


def test_redaction_keeps_ordinary_messages_intact():
    for message in [
        "Created reservation: 550e8400-e29b-41d4-a716-446655440000",
        "Webhook delivered: 200 OK (145ms)",
        "[BackgroundTasks] Registered: housekeeping (daily)",
        "GET /ipam/shares/550e8400-e29b HTTP/1.1",
    ]:
        assert redact(message) == message


def test_lines_are_in_utc_and_keep_the_prefix_on_tracebacks():
    record = logging.LogRecord("ipam.reservations", logging.ERROR, __file__, 1, "boom", None, None)
    record.created = 0.0  # 1970-01-01 00:00:00 UTC
    record.request_id = "r-1"
    try:
        raise ValueError("x")
    except ValueError:
        record.exc_info = sys.exc_info()
    text = AppFormatter().format(record)
    first, *rest = text.splitlines()
    assert first == "[1970-01-01 00:00:00] [ERROR] [ipam.reservations] boom [request_id=r-1]"
    assert rest and rest[-1] == "ValueError: x"


WRITER = """
import logging, os, sys
from foundation.logging import AppFormatter, MultiProcessRotatingFileHandler
handler = MultiProcessRotatingFileHandler(sys.argv[1], maxBytes=20000, backupCount=100)
handler.setFormatter(AppFormatter())
log = logging.getLogger('ipam.rotation')
log.addHandler(handler)
log.setLevel(logging.INFO)
for i in range(400):
    log.info('writer %s line %04d %s', sys.argv[2], i, 'x' * 40)
"""


def test_rotation_with_several_writers_loses_no_line(tmp_path):
    path = tmp_path / "app.log"
    env = dict(os.environ, PYTHONPATH=str(BASE_DIR))
    procs = [subprocess.Popen([PYTHON, "-c", WRITER, str(path), str(n)], env=env, cwd=BASE_DIR) for n in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    files = sorted(tmp_path.glob("app.log*"))
    assert len([f for f in files if not f.name.endswith(".lock")]) > 3  # it did rotate
    lines = [line for f in files if not f.name.endswith(".lock") for line in f.read_text().splitlines()]
    assert len(lines) == 1200
    assert all(LINE.match(line) for line in lines)
    assert {(m.group(1), m.group(2)) for m in (re.search(r"writer (\d) line (\d{4})", line) for line in lines) if m} == {
        (str(n), f"{i:04d}") for n in range(3) for i in range(400)
    }
    # Size is checked without a lock before each write: concurrent writers may each add a line past the limit.
    assert all(f.stat().st_size <= 20000 + 3 * 200 for f in files)
