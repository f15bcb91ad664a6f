"""Request parsers. A module of its own: DRF imports parser classes while `rest_framework.views` loads."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, parsers

from foundation.errors import RequestTooLarge


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing (400 `parse_error`) what it would let through to a 500 later:
    nesting deeper than Python's recursion limit, and strings the database cannot store — lone UTF-16
    surrogates (`"\\ud800"`) and NUL characters (`"\\u0000"`), in keys or values. Bodies over
    DATA_UPLOAD_MAX_MEMORY_SIZE are a 413 `request_too_large` (DRF reads the stream directly, so Django's own
    check on `request.body` never runs for JSON)."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        stream = _within_limit(stream)
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
        _check_strings(data)
        return data


def _within_limit(stream: IO[Any]) -> IO[Any]:
    """The body, read at most DATA_UPLOAD_MAX_MEMORY_SIZE + 1 bytes; 413 `request_too_large` beyond it."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or stream is None:
        return stream
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise RequestTooLarge(f"The request body is larger than {limit} bytes.", details={"max_bytes": limit})
    return io.BytesIO(raw)


class FormParser(parsers.FormParser):
    """DRF's form parser with the body size limit (DRF reads the stream itself, bypassing Django's check)."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        return super().parse(_within_limit(stream), media_type, parser_context)


def _check_strings(data: Any) -> None:
    stack = [data]
    while stack:  # iterative: the document may be deep
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise exceptions.ParseError("JSON parse error - strings cannot contain NUL (\\u0000).")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise exceptions.ParseError("JSON parse error - strings must be valid Unicode (lone surrogate escape).") from None
