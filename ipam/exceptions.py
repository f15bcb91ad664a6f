"""Domain errors. Services raise these; `ipam_project.api.exception_handler` maps them to HTTP.

Each carries a stable snake_case `code`, a human `message` and optional `details`.
"""

from __future__ import annotations

from typing import Any


class IPAMError(Exception):
    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None, code: str | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        if code:
            self.code = code
        super().__init__(self.message)


class ValidationFailed(IPAMError):
    status_code = 400
    code = "validation_error"
    default_message = "The request is invalid."


class NotFound(IPAMError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(IPAMError):
    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class CapacityExhausted(Conflict):
    code = "capacity_exhausted"
    default_message = "No free address space is left."


class RegionFull(Conflict):
    code = "region_full"
    default_message = "The region has no free host address left."


class ReservedRange(Conflict):
    code = "reserved_range"
    default_message = "The reserved block (X 208-255) is open to IPAM admins only."


class DuplicateName(Conflict):
    code = "duplicate_name"
    default_message = "A region with this name already exists in this country."


class DuplicateHostname(Conflict):
    code = "duplicate_hostname"
    default_message = "A host with this hostname already exists in this region."


class RegionNotEmpty(Conflict):
    code = "region_not_empty"
    default_message = "The region still has hosts; retire with cascade=true to retire them too."


class RegionNotActive(Conflict):
    code = "region_not_active"
    default_message = "Only active regions accept new hosts."


class AddressReserved(Conflict):
    code = "address_reserved"
    default_message = "The address is held by an active reservation."


class AddressInUse(Conflict):
    code = "address_in_use"
    default_message = "The address is already allocated."


class StateConflict(Conflict):
    code = "state_conflict"


class QuotaExceeded(IPAMError):
    status_code = 429
    code = "quota_exceeded"
    default_message = "Quota exceeded."

    def __init__(self, *, quota_type: str, limit: int, current: int):
        super().__init__(
            f"The {quota_type} quota of {limit} would be exceeded ({current} in use).",
            details={"quota_type": quota_type, "limit": limit, "current": current},
        )


class InsufficientPermissions(IPAMError):
    status_code = 403
    code = "insufficient_permissions"
    default_message = "You do not have the permission this action needs."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used for a different request."


class ImportFailed(Conflict):
    """An import without `force` had rows that could not be imported; nothing was written.
    `details.results` holds the per-row outcome."""

    code = "import_failed"
    default_message = "Some rows could not be imported; nothing was imported."


class ImportQuotaExceeded(IPAMError):
    """As ImportFailed, when every failing row failed on a quota (429 like any allocation)."""

    status_code = 429
    code = "quota_exceeded"
    default_message = "The import would exceed your quota; nothing was imported."


class RequestTooLarge(IPAMError):
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE (IPAM_MAX_BODY_BYTES)."""

    status_code = 413
    code = "request_too_large"
    default_message = "The request body is too large."
