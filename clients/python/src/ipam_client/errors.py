"""The one exception the client raises for an error answer of the API."""

from __future__ import annotations

from typing import Any


class IPAMError(Exception):
    """An error answer: `code` is the API's stable snake_case error (`region_not_found`, `precondition_failed`,
    `rate_limited` …), `message` its text, `details` its per-field context, `status` the HTTP status.

    Connection failures that outlast the retries are raised as `requests` exceptions, unchanged.
    """

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None, status: int = 0) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status

    def __repr__(self) -> str:
        return f"IPAMError(code={self.code!r}, message={self.message!r}, details={self.details!r}, status={self.status})"
