"""Log line format, request ids, secret redaction and a rotating file handler safe for several processes.

A line looks like the deployment guide's, in UTC:

    [2025-11-13 10:00:00] [INFO] [ipam.reservations] Created reservation: 550e8400... [request_id=3f2a...]

The `[request_id=...]` suffix is added only when a request (or a Celery task: its task id) wrote the line,
so the guide's prefix `[time] [LEVEL] [logger]` is always intact for `grep`/log shippers.
"""

from __future__ import annotations

import contextvars
import fcntl
import logging
import os
import re
import time
from logging.handlers import RotatingFileHandler
from typing import Any

from . import context

REDACTED = "[REDACTED]"

# What must never reach a log file: bearer/JWT tokens, Authorization headers, passwords, secrets, keys,
# share tokens and webhook signatures. Patterns keep the name and hide the value.
_SECRET_NAMES = (
    r"password|passwd|pwd|secret(?:_key)?|api[_-]?key|access[_-]?token|refresh[_-]?token|token|"
    r"share[_-]?token|fernet[_-]?key|authorization|x-ipam-signature|signature|cookie|sessionid|csrftoken"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer xxx / Basic xxx (header dumps, curl lines)
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*[\"']?)(bearer|basic|token)\s+[^\s\"',;}]+"), rf"\1\2 {REDACTED}"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # API token secrets anywhere (foundation.apitokens): the public key id stays, the secret part goes
    (re.compile(r"\b(ipam_[0-9a-f]{12}_)[A-Za-z0-9_-]{20,}"), rf"\1{REDACTED}"),
    # JSON / dict / repr style: "password": "x", 'token': 'x'
    (re.compile(rf"(?i)([\"']?(?:{_SECRET_NAMES})[\"']?\s*:\s*)([\"'])(.*?)(?<!\\)\2"), rf"\1\2{REDACTED}\2"),
    # header/YAML style: password: x, X-IPAM-Signature: x (values not already quoted or redacted)
    (re.compile(rf"(?i)\b((?:{_SECRET_NAMES})\s*:\s*)(?![\"'\[])(?!(?:bearer|basic|token)\s)([^\s,;}}]+)"), rf"\1{REDACTED}"),
    # key=value style (query strings, env dumps, kwargs): password=x, token=x
    (re.compile(rf"(?i)\b((?:{_SECRET_NAMES})\s*=\s*)([^\s&,;\"')}}]+)"), rf"\1{REDACTED}"),
    # JSON Web Tokens anywhere (header.payload.signature, base64url)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), REDACTED),
    # Share tokens travel in the path of the public share view (/ipam/shares/<token>)
    (re.compile(r"(/shares/)([A-Za-z0-9_-]{32,})"), rf"\1{REDACTED}"),
    # HMAC signatures sha256=<hex>
    (re.compile(r"(?i)\bsha256=[0-9a-f]{32,}"), f"sha256={REDACTED}"),
]

# Every pattern above needs one of these substrings to match (compared without case, which only widens the
# test). A line holding none of them — most lines, every access-log line of a plain API request — is
# returned as it is after one scan instead of nine. Add the trigger of any new pattern here.
_TRIGGERS = re.compile(rf"(?i){_SECRET_NAMES}|bearer|ipam_|eyJ|/shares/|sha256=")


# The id shown on lines written by Celery tasks (the sending request's id, or `task-<task id>`). Kept apart
# from the request context so audit rows written by tasks are not affected.
_log_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("ipam_log_request_id", default="")


def set_log_request_id(value: str) -> None:
    _log_request_id.set(value)


def current_request_id() -> str:
    """The id of the request (or task) this code runs for, '' if none."""
    return context.current().request_id or _log_request_id.get()


def redact(text: str) -> str:
    """`text` with tokens, passwords, secrets and signatures replaced by [REDACTED]."""
    if not _TRIGGERS.search(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id`: the id of the request or task that wrote the line, or '-'."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    """Replaces secrets in the message, its arguments and any traceback before a handler writes them."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class AppFormatter(logging.Formatter):
    """`[YYYY-MM-DD HH:MM:SS] [LEVEL] [logger] message` in UTC, plus ` [request_id=...]` when known."""

    converter = time.gmtime  # type: ignore[assignment]  # UTC, like every timestamp of the API

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fmt="[%(asctime)s] [%(levelname)s] [%(name)s] %(message)s", datefmt="%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id and request_id != "-":
            first, newline, rest = line.partition("\n")
            line = f"{first} [request_id={request_id}]{newline}{rest}"
        return line


class MultiProcessRotatingFileHandler(RotatingFileHandler):
    """Size-based rotation for a file written by several processes (gunicorn workers, Celery, beat).

    The stock handler decides from its own file position and renames the file under the other writers,
    which then keep writing to (and rotating) the renamed file: lines are lost. Here the size is read from
    the path, rotation happens under an exclusive lock with a re-check, and a writer whose file was
    rotated away (by another process or by logrotate) reopens the path before writing.
    """

    def _reopen_if_moved(self) -> None:
        if self.stream is None:
            return
        try:
            on_disk = os.stat(self.baseFilename)
            mine = os.fstat(self.stream.fileno())
        except OSError:
            on_disk = None
            mine = None
        if on_disk is None or mine is None or (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino):
            self.stream.close()
            self.stream = self._open()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._reopen_if_moved()
        except Exception:
            self.handleError(record)
            return
        super().emit(record)

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        if self.maxBytes <= 0:
            return False
        try:
            size = os.stat(self.baseFilename).st_size
        except OSError:
            return False
        return size + len(self.format(record)) + 1 >= self.maxBytes

    def doRollover(self) -> None:
        with open(self.baseFilename + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    size = os.stat(self.baseFilename).st_size
                except OSError:
                    size = 0
                if size < self.maxBytes:  # another process rotated while we waited for the lock
                    if self.stream is not None:
                        self.stream.close()
                    self.stream = self._open()
                    return
                super().doRollover()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
