"""The address space's domain errors. Services raise these; `foundation.errors.exception_handler` maps
them to HTTP. Each carries a stable snake_case `code`, a human `message` and optional `details`.

The generic errors every app shares (`NotFound`, `Conflict`, `ValidationFailed` …) are defined in
`foundation.errors` and named here too, so a service says `exceptions.NotFound` whatever its kind.
"""

from __future__ import annotations

from foundation.errors import (
    Conflict,
    IdempotencyKeyReused,
    InsufficientPermissions,
    NotFound,
    RequestTooLarge,
    ServiceError,
    StateConflict,
    ValidationFailed,
)

__all__ = [
    "Conflict",
    "IdempotencyKeyReused",
    "InsufficientPermissions",
    "NotFound",
    "RequestTooLarge",
    "ServiceError",
    "StateConflict",
    "ValidationFailed",
]


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


class QuotaExceeded(ServiceError):
    status_code = 429
    code = "quota_exceeded"
    default_message = "Quota exceeded."

    def __init__(self, *, quota_type: str, limit: int, current: int):
        super().__init__(
            f"The {quota_type} quota of {limit} would be exceeded ({current} in use).",
            details={"quota_type": quota_type, "limit": limit, "current": current},
        )


class ImportFailed(Conflict):
    """An import without `force` had rows that could not be imported; nothing was written.
    `details.results` holds the per-row outcome."""

    code = "import_failed"
    default_message = "Some rows could not be imported; nothing was imported."


class ImportQuotaExceeded(ServiceError):
    """As ImportFailed, when every failing row failed on a quota (429 like any allocation)."""

    status_code = 429
    code = "quota_exceeded"
    default_message = "The import would exceed your quota; nothing was imported."
