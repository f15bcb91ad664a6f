"""Conditional requests: `ETag`, `If-None-Match` (304) and `If-Match` (412), as one mixin for any API view.

    class ThingViewSet(ConditionalMixin, viewsets.GenericViewSet): ...

- **ETag** — a strong validator: the first 32 hex digits of the sha256 of the object's JSON representation
  (keys sorted). It is sent on every single-object GET (`etag_read_actions`) and on the 200/201 answers
  of writes that return the object (`etag_write_actions`). Hashing the representation instead of deriving a
  version from `updated_at` means the tag changes exactly when the body a client sees changes — derived
  fields such as a region's `allocated_hosts` or a reservation's expiry included — at the cost of one
  sha256 over a few hundred bytes per response, which the body's rendering dwarfs.
- **If-None-Match** on those GETs: a matching tag (or `*`) answers 304 with the tag and no body.
- **If-Match** on PATCH/PUT/DELETE (`precondition_actions`): the whole request runs in one transaction
  that first takes the locks the write takes, in the same order (`precondition_lock`, by default the
  object's row `FOR UPDATE`; on SQLite the transaction's write lock), then computes the current tag from
  the object as a GET would show it, and answers 412 `precondition_failed` when no listed tag matches.
  Only then does the handler (and its service) run, still under those locks, so no other write can slip
  in between the check and the change. Weak tags (`W/…`) never match (strong comparison, RFC 9110 §13.1.1);
  `*` matches any existing object. Without the header nothing changes.

The OpenAPI schema (`foundation.schema`) documents the headers and the 304/412 answers of every operation
this mixin governs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from foundation.errors import ServiceError

SAFE_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"PATCH", "PUT", "DELETE"})
REPLAYED_HEADER = "Idempotent-Replayed"  # foundation.idempotency: a replayed body may be stale, no tag


class PreconditionFailed(ServiceError):
    status_code = 412
    code = "precondition_failed"
    default_message = "The object changed since you read it (If-Match does not match its current ETag)."


def etag_of(data: Any) -> str:
    """The strong ETag of a JSON-able representation: same data (any key order) → same tag."""
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32] + '"'


def _listed_tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match_satisfied(header: str, current: str) -> bool:
    """Strong comparison: `*`, or one listed tag equal to `current` (weak tags never match)."""
    tags = _listed_tags(header)
    return "*" in tags or current in tags


def if_none_match_matches(header: str, current: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`."""
    tags = [tag.removeprefix("W/") for tag in _listed_tags(header)]
    return "*" in tags or current in tags


class ConditionalMixin:
    """ETag / If-None-Match / If-Match for a view (see the module docstring).

    Handlers are named by their viewset action (`retrieve`, `partial_update` …) or, on a plain `APIView`,
    by their method in lower case (`get`, `put` …). Override `precondition_lock` when the write locks
    something else first (a region write locks the allocation cursor, then the region), and
    `precondition_data` when the GET representation is not `get_serializer(get_object()).data`.
    """

    etag_read_actions: frozenset[str] = frozenset({"retrieve"})
    etag_write_actions: frozenset[str] = frozenset({"create", "partial_update", "update"})
    precondition_actions: frozenset[str] = frozenset({"partial_update", "update", "destroy"})

    # --- hooks --------------------------------------------------------------------------------------
    def precondition_lock(self) -> None:
        """Lock what the write will lock, in the same order. Default: the object's row."""
        view: Any = self
        queryset = view.get_queryset()
        lookup = view.lookup_url_kwarg or view.lookup_field
        list(queryset.select_for_update(of=("self",)).filter(**{view.lookup_field: view.kwargs[lookup]}).values_list("pk"))

    def precondition_data(self) -> Any:
        """The object's representation exactly as its GET returns it (a 404 if it does not exist)."""
        view: Any = self
        return view.get_serializer(view.get_object()).data

    # --- machinery ----------------------------------------------------------------------------------
    def conditional_action(self, request: Any) -> str:
        action_map = getattr(self, "action_map", None)
        if action_map is not None:
            return str(action_map.get(request.method.lower(), ""))
        return str(request.method.lower())

    def _checks_precondition(self, request: Any) -> bool:
        return (
            request.method in WRITE_METHODS
            and "HTTP_IF_MATCH" in request.META
            and self.conditional_action(request) in self.precondition_actions
        )

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._checks_precondition(request):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        # Check and write in one transaction: the locks taken by the check are held until the write commits.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # authentication, permissions, throttles
        if self._checks_precondition(request):
            self.precondition_lock()
            current = etag_of(self.precondition_data())
            if not if_match_satisfied(request.headers["If-Match"], current):
                raise PreconditionFailed(details={"current_etag": current})

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        action = self.conditional_action(request)
        tagged = (request.method in SAFE_METHODS and action in self.etag_read_actions) or (
            request.method not in SAFE_METHODS and action in self.etag_write_actions
        )
        if not tagged or response.status_code not in (200, 201) or not isinstance(response, Response):
            return response
        if not isinstance(response.data, dict) or response.has_header(REPLAYED_HEADER):
            return response
        etag = etag_of(response.data)
        response["ETag"] = etag
        if request.method in SAFE_METHODS and if_none_match_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
            response.status_code = 304
            response.data = None
        return response


def is_conditional(view: Any) -> bool:
    return isinstance(view, ConditionalMixin)


ETAG_RESPONSE_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "Strong validator of the returned object."}}

IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    name="If-None-Match",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="ETag(s) from an earlier response: when one still matches, the answer is 304 with no body.",
)

IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "ETag(s) of the version you read (or `*`): when the object has changed since, the request is refused with "
        "412 `precondition_failed` (details.current_etag holds the current tag) and nothing is written."
    ),
)
