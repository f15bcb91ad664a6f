"""Page-number pagination with a bounded page size and an optional row-count hint, and keyset (cursor)
pagination for the large lists.

Without `cursor` in the query string every list pages by number exactly as always: `{"count", "next",
"previous", "results"}`. A view that declares `cursor_ordering` — a tuple of fields, all ascending or all
descending, unique within the view's queryset and matching an index — also answers `?cursor=` (empty for
the first page): `{"next", "previous", "results"}`, where `next`/`previous` are links carrying an opaque
cursor. A cursor holds the position of the row it continues from (the ordering fields' values), so the
next page is `WHERE (a, b) > (:a, :b) ORDER BY a, b LIMIT n+1` — one index range scan whatever the depth,
and rows inserted or deleted elsewhere never shift a page (no OFFSET). `?ordering=` is accepted with a
cursor only as the cursor ordering's first field or its reverse (`ip_int`/`-ip_int`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import F, OrderBy
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.functional import cached_property
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

CURSOR_PARAM = "cursor"


class CountHintPaginator(DjangoPaginator):
    """Django's paginator, taking the total from the queryset's `count_hint` when a view knows it already.

    Counting a million rows for a page's `count` costs more than the page itself; a view that keeps the
    number in a counter (hosts: the regions' `allocated_hosts`, kept in the allocation transactions)
    attaches it with `with_count_hint` and the paginator uses it instead of `COUNT(*)`.

    A view that can also find a page without OFFSET attaches a seek with `with_page_seek`: a function
    `(offset, limit) -> (total, rows)` answering the total and the page's rows together (hosts: from the
    regions' running counters, see ipam/selectors/host_pages.py); the paginator then reads neither
    `COUNT(*)` nor `OFFSET`, and a page past the end is still a 404.
    """

    @cached_property
    def count(self) -> int:
        hint = getattr(self.object_list, "count_hint", None)
        if callable(hint):
            hint = hint()
        return int(hint) if hint is not None else int(super().count)

    def page(self, number: Any) -> Any:
        seek = getattr(self.object_list, "page_seek", None)
        if seek is None:
            number = self.validate_number(number)
            if self.count == 0:  # the empty first page: no rows to slice (compiling the empty slice cost ~1 ms)
                return Page([], number, self)
            return super().page(number)
        try:
            bottom = (int(number) - 1) * self.per_page
        except (TypeError, ValueError):
            return super().page(number)  # validate_number raises the usual error
        if not 0 <= bottom < 2**40:  # past any real list: the counted path answers 404 without a huge offset
            return super().page(number)
        total, rows = seek(bottom, self.per_page)
        self.__dict__["count"] = int(total)  # the cached_property, from the same snapshot as the rows
        number = self.validate_number(number)
        return Page(list(rows), number, self)


def with_count_hint(queryset: Any, count: int | Callable[[], int]) -> Any:
    """`queryset`, telling `StandardPagination` its total row count, or how to read it (see `CountHintPaginator`)."""
    queryset.count_hint = count
    return queryset


def with_page_seek(queryset: Any, seek: Callable[[int, int], tuple[int, Sequence[Any]]]) -> Any:
    """`queryset`, telling `StandardPagination` how to read a page and the total without OFFSET (see
    `CountHintPaginator`); `seek(offset, limit)` must answer exactly what COUNT(*) and OFFSET would."""
    queryset.page_seek = seek
    return queryset


class StandardPagination(PageNumberPagination):
    django_paginator_class = CountHintPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            raise exceptions.ValidationError({"page_size": ["Must be an integer between 1 and 1000."]}) from None
        if not 1 <= value <= self.max_page_size:
            raise exceptions.ValidationError({"page_size": ["Must be an integer between 1 and 1000."]})
        return value

    keyset: Keyset | None = None

    @classmethod
    def plain_page(cls, params: Any) -> bool:
        """`params` ask only for a page by number and size, both valid (what `paginate_queryset` and
        `get_page_size` accept, and within what the paginator seeks without counting): no error of theirs can
        come before the page is read. A view may then let the page's own statement check what it would check
        first otherwise (`newest_first_page(guard=…)`)."""
        if not set(params) <= {cls.page_query_param, cls.page_size_query_param}:
            return False
        page, size = params.get(cls.page_query_param, "1"), params.get(cls.page_size_query_param, str(cls.page_size))
        return page.isdigit() and size.isdigit() and 1 <= int(page) < 2**30 and 1 <= int(size) <= cls.max_page_size

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        ordering = cursor_ordering_of(view)
        if ordering is not None and CURSOR_PARAM in request.query_params:
            self.keyset = Keyset(ordering, request, self.get_page_size(request))
            return self.keyset.page(queryset)
        self.keyset = None
        raw = request.query_params.get(self.page_query_param, "1")
        if raw != "last" and (not raw.isdigit() or int(raw) < 1):
            raise exceptions.ValidationError({"page": ["Must be a positive integer."]})
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.keyset is not None:
            return Response({"next": self.keyset.next_link, "previous": self.keyset.previous_link, "results": data})
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["next", "previous", "results"]  # `count` is absent in cursor mode
        paginated["properties"]["count"]["description"] = "total rows (page-number mode only; absent with `cursor`)"
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = list(super().get_schema_operation_parameters(view))
        if cursor_ordering_of(view) is not None:
            parameters.append(
                {
                    "name": CURSOR_PARAM,
                    "required": False,
                    "in": "query",
                    "description": (
                        "Keyset pagination: give it empty for the first page, then follow `next`/`previous`. The answer "
                        "is `{next, previous, results}` (no `count`); pages stay stable while rows are inserted and cost "
                        "the same at any depth. Without this parameter the list pages by number."
                    ),
                    "schema": {"type": "string"},
                }
            )
        return parameters


def cursor_ordering_of(view: Any) -> tuple[str, ...] | None:
    """The view's keyset ordering, or None when it pages by number only (`get_cursor_ordering` or `cursor_ordering`)."""
    if view is None:
        return None
    getter = getattr(view, "get_cursor_ordering", None)
    ordering = getter() if callable(getter) else getattr(view, "cursor_ordering", None)
    return tuple(ordering) if ordering else None


def _invalid(message: str = "Invalid cursor: follow the next/previous links of an earlier page.") -> exceptions.ValidationError:
    return exceptions.ValidationError({CURSOR_PARAM: [message]})


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(position: Sequence[Any], *, backwards: bool = False) -> str:
    """The cursor continuing after (or, `backwards`, before) the row whose ordering fields hold `position`."""
    raw = json.dumps({"p": [_plain(value) for value in position], "b": backwards}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class Keyset:
    """One keyset page: decodes the cursor, filters and orders the queryset, builds the links."""

    def __init__(self, ordering: Sequence[str], request: Request, page_size: int) -> None:
        self.request = request
        self.page_size = page_size
        self.fields = [name.lstrip("-") for name in ordering]
        self.descending = ordering[0].startswith("-")
        requested = request.query_params.get("ordering")
        if requested:
            if requested.lstrip("-") != self.fields[0]:
                allowed = f"{self.fields[0]} or -{self.fields[0]}"
                raise exceptions.ValidationError({"ordering": [f"With a cursor the ordering must be {allowed}."]})
            self.descending = requested.startswith("-")
        self.position, self.backwards = self._decode(request.query_params.get(CURSOR_PARAM, ""))
        self.next_link: str | None = None
        self.previous_link: str | None = None

    def _decode(self, raw: str) -> tuple[list[Any] | None, bool]:
        if not raw:
            return None, False
        try:
            padded = raw + "=" * (-len(raw) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            values, backwards = data["p"], data.get("b", False)
        except (ValueError, UnicodeError, binascii.Error, KeyError, TypeError):
            raise _invalid() from None
        if not isinstance(values, list) or len(values) != len(self.fields) or not isinstance(backwards, bool):
            raise _invalid()
        return values, backwards

    def _encode(self, row: Any, backwards: bool) -> str:
        return encode_cursor([getattr(row, name) for name in self.fields], backwards=backwards)

    def _typed(self, model: Any) -> list[Any]:
        assert self.position is not None
        try:
            return [model._meta.get_field(name).to_python(value) for name, value in zip(self.fields, self.position, strict=True)]
        except (DjangoValidationError, ValueError, TypeError):
            raise _invalid() from None

    def page(self, queryset: Any) -> list[Any]:
        # Walking backwards reads the rows before the position in reverse order, then flips them back.
        descending = self.descending != self.backwards
        order = [OrderBy(F(name), descending=descending) for name in self.fields]
        queryset = queryset.order_by(*order)
        if self.position is not None:
            values = self._typed(queryset.model)
            if len(self.fields) == 1:
                queryset = queryset.filter(**{f"{self.fields[0]}__{'lt' if descending else 'gt'}": values[0]})
            else:  # a row comparison (a, b) > (:a, :b) on PostgreSQL, its OR expansion elsewhere
                lookup = TupleLessThan if descending else TupleGreaterThan
                queryset = queryset.filter(lookup(Tuple(*(F(name) for name in self.fields)), tuple(values)))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if self.backwards:
            rows.reverse()
        url = self.request.build_absolute_uri()
        if rows:
            # Forwards: more rows ahead → next; we came from a position → previous. Backwards: the mirror image.
            if more if not self.backwards else self.position is not None:
                self.next_link = replace_query_param(url, CURSOR_PARAM, self._encode(rows[-1], False))
            if more if self.backwards else self.position is not None:
                self.previous_link = replace_query_param(url, CURSOR_PARAM, self._encode(rows[0], True))
        elif self.position is not None and self.backwards:
            self.next_link = replace_query_param(url, CURSOR_PARAM, "")
        for link in ("next_link", "previous_link"):
            value = getattr(self, link)
            if value is not None:
                setattr(self, link, remove_query_param(value, "page"))
        return rows
