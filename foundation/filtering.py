"""The project's list filter backends.

`TotalOrderingFilter`: DRF's ordering filter, whose orders always end in a unique key, so that page numbers
neither repeat nor skip rows that tie on the chosen fields.

`QueryFilterBackend`: the django-filter backend, building the filter set only when the query string names
one of its filters (issue 19, the fixed cost of every list page).

django-filter builds the view's `FilterSet` and its bound form on every list request, and validates and
applies every filter, even when the query string holds only `page` (or nothing): a few milliseconds under the
profiler, paid by every list page. With none of its filters in the query string a filter set selects every
row it was given — each filter skips an empty value, and no filter is required — so this backend returns the
queryset as it is in that case. Any parameter a filter set declares (valid or not) takes django-filter's own
path, errors included. A filter set that overrides `filter_queryset` or `qs`, or declares a required filter,
always takes it too.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import OrderingFilter

from foundation.pagination import cursor_ordering_of


def total_ordering(ordering: Any, view: Any, model: Any) -> list[str]:
    """`ordering` (DRF's list of `field` / `-field`), ended with the primary key in the direction of its last
    field unless it already holds the primary key or every field of the view's unique order (its
    `cursor_ordering`: a key unique among the rows the view lists, in any direction and position)."""
    terms = list(ordering)
    names = {term.lstrip("-") for term in terms}
    pk = model._meta.pk
    unique = cursor_ordering_of(view) or ()
    if names & {"pk", pk.name, pk.attname} or (unique and {term.lstrip("-") for term in unique} <= names):
        return terms
    return [*terms, f"-{pk.name}" if terms[-1].startswith("-") else pk.name]


class TotalOrderingFilter(OrderingFilter):
    """DRF's `OrderingFilter` (same `ordering` parameter, fields and schema) whose every order is total: rows that
    tie on the chosen fields (two reservations of one instant, hosts of one status) come in primary-key order,
    the same on every page. A default order that is already unique (the host list's `ip_int`, the region list's
    `x_octet, y_octet`) is kept as it is, so its index still gives the rows in order."""

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        return total_ordering(ordering, view, queryset.model) if ordering else ordering


@cache
def _filter_names(filterset_class: type[FilterSet]) -> frozenset[str] | None:
    """The query parameters `filterset_class` reads, or None when it may filter without any of them."""
    if filterset_class.filter_queryset is not FilterSet.filter_queryset or filterset_class.qs is not FilterSet.qs:
        return None
    if any(f.extra.get("required") for f in filterset_class.base_filters.values()):
        return None
    return frozenset(filterset_class.base_filters)


class QueryFilterBackend(DjangoFilterBackend):
    """`DjangoFilterBackend`, skipped when the request names none of the view's filters (module docstring)."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is not None and not getattr(view, "filterset_fields", None):
            names = _filter_names(filterset_class)
            if names is not None and names.isdisjoint(request.query_params):
                return queryset
        return super().filter_queryset(request, queryset, view)
