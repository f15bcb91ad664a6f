"""A lighter path for single-object GETs (issue 19): same JSON, less machinery per request.

DRF's `retrieve` runs the list's filter backends (django-filter builds a whole filterset and its form, the
ordering filter parses `?ordering`) on a query that selects one row by primary key, and instantiates the
`ModelSerializer` anew, deep-copying all its fields, for every response. `LightRetrieveMixin`:

- looks the object up in `get_queryset()` (the caller's own rows, the same selects and the same read
  routing) by its lookup field, and applies the object permissions exactly as `get_object` does;
- runs the filter backends only when the request carries query parameters (then it is DRF's `get_object`,
  unchanged: a detail URL with filter parameters still answers 404 when the object does not match them);
- represents the object with the process's shared serializer instance (`serializers.represent`): the same
  `to_representation`, hence byte-for-byte the same body and the same ETag
  (`tests/ipam/test_light_retrieve.py` compares both against the full serializer).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from rest_framework.request import Request
from rest_framework.response import Response

from ipam.api.serializers import represent


class LightRetrieveMixin:
    """`retrieve` (and `get_object` for other detail actions) without the list machinery; see the module."""

    def get_object(self) -> Any:
        view: Any = self
        if view.request.query_params:
            return super().get_object()  # type: ignore[misc]  # filters apply: DRF's path, unchanged
        lookup_url_kwarg = view.lookup_url_kwarg or view.lookup_field
        try:
            lookup = {view.lookup_field: view.kwargs[lookup_url_kwarg]}
            # One row by its key: no ORDER BY to compile or sort (the model's default ordering is for lists).
            found = next(iter(view.get_queryset().filter(**lookup).order_by()[:1]), None)
        except (TypeError, ValueError, ValidationError):  # as django's get_object_or_404 under DRF
            found = None
        if found is None:
            raise Http404
        view.check_object_permissions(view.request, found)
        return found

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view: Any = self
        return Response(represent(view.get_serializer_class(), view.get_object()))
