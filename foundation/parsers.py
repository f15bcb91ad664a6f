"""Request parsers. A module of its own: DRF imports parser classes while `rest_framework.views` loads."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator, Mapping
from typing import IO, Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from rest_framework import exceptions, parsers

from foundation.errors import body_too_large


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
        raise body_too_large()
    return io.BytesIO(raw)


INVALID_TEXT = "{kind} parse error - the body is not valid {encoding} (invalid byte sequence)."


def _encoding(parser_context: Mapping[str, Any] | None) -> str:
    return (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET


class FormParser(parsers.FormParser):
    """DRF's form parser with the body size limit (DRF reads the stream itself, bypassing Django's check), and
    strict decoding: Django's QueryDict decodes with errors="replace" (and falls back to Latin-1 for raw
    bytes), so invalid UTF-8 — raw or percent-encoded — would be stored mangled; here it is a 400
    `parse_error`, as for JSON."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        raw = _within_limit(stream).read()
        encoding = _encoding(parser_context)
        try:
            text = raw.decode(encoding)
            pairs = parse_qsl(
                text, keep_blank_values=True, encoding=encoding, errors="strict", max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            )
        except UnicodeDecodeError:
            raise exceptions.ParseError(INVALID_TEXT.format(kind="Form", encoding=encoding)) from None
        except ValueError as exc:  # parse_qsl's max_num_fields, as Django's own QueryDict reports it
            raise TooManyFieldsSent("The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.") from exc
        data = QueryDict(mutable=True, encoding=encoding)
        for key, value in pairs:
            data.appendlist(key, value)
        data._mutable = False
        return data


_STRICT_UTF8 = "ipam-strict-utf-8"


def _strict_utf8_search(name: str) -> codecs.CodecInfo | None:
    """A UTF-8 codec that ignores the `errors` argument and is always strict. Django's multipart parser decodes
    field names, values and file names with errors="replace" (hard-coded); given this codec as the request
    encoding, invalid bytes raise UnicodeDecodeError instead of turning into U+FFFD."""
    if name.replace("_", "-") != _STRICT_UTF8:
        return None
    utf8 = codecs.lookup("utf-8")

    def decode(data: Any, errors: str = "strict") -> tuple[str, int]:
        return codecs.utf_8_decode(data, "strict", True)

    return codecs.CodecInfo(utf8.encode, decode, name=_STRICT_UTF8)


codecs.register(_strict_utf8_search)


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser refusing (400 `parse_error`) text parts — field names, values, file names — that
    are not valid UTF-8; file contents stay bytes (an import checks its own file's encoding)."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        context = dict(parser_context or {})
        encoding = _encoding(context)
        if codecs.lookup(encoding).name == "utf-8":
            context["encoding"] = _STRICT_UTF8
        try:
            result = super().parse(stream, media_type, context)
        except UnicodeDecodeError:
            raise exceptions.ParseError(INVALID_TEXT.format(kind="Multipart form", encoding=encoding)) from None
        result.data.encoding = encoding  # the parsed values are str already; report the real charset
        return result


def iter_strings(data: Any) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included; iterative, since a document may be deep."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item


def _check_strings(data: Any) -> None:
    for item in iter_strings(data):
        if "\x00" in item:
            raise exceptions.ParseError("JSON parse error - strings cannot contain NUL (\\u0000).")
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise exceptions.ParseError("JSON parse error - strings must be valid Unicode (lone surrogate escape).") from None
