"""Page-number pagination with a bounded page size and an optional row-count hint."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator as DjangoPaginator
from django.utils.functional import cached_property
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView


class CountHintPaginator(DjangoPaginator):
    """Django's paginator, taking the total from the queryset's `count_hint` when a view knows it already.

    Counting a million rows for a page's `count` costs more than the page itself; a view that keeps the
    number in a counter (hosts: the regions' `allocated_hosts`, kept in the allocation transactions)
    attaches it with `with_count_hint` and the paginator uses it instead of `COUNT(*)`.
    """

    @cached_property
    def count(self) -> int:
        hint = getattr(self.object_list, "count_hint", None)
        return int(hint) if hint is not None else int(super().count)


def with_count_hint(queryset: Any, count: int) -> Any:
    """`queryset`, telling `StandardPagination` its total row count (see `CountHintPaginator`)."""
    queryset.count_hint = count
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

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        raw = request.query_params.get(self.page_query_param, "1")
        if raw != "last" and (not raw.isdigit() or int(raw) < 1):
            raise exceptions.ValidationError({"page": ["Must be a positive integer."]})
        return super().paginate_queryset(queryset, request, view)
