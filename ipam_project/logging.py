"""Log record enrichment: every line carries the request id of the request that wrote it (or '-')."""

from __future__ import annotations

import logging

from . import context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id or "-"
        return True
