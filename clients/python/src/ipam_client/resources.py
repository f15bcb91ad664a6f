"""One class per endpoint family. Every method is one API call (list methods: one iterator over all pages).

Allocations (`regions.allocate`, `hosts.allocate`, `hosts.batch`, `reservations.create`,
`reservations.convert`) send an `Idempotency-Key` (a fresh UUID per call unless you pass
`idempotency_key=`); the transport retries them with the same key, so a retried call never allocates twice.
Updates and deletes take an optional `etag=` (from a `Record`): sent as `If-Match`, a concurrent change
makes the call fail with `IPAMError(code="precondition_failed", status=412)` instead of being overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from ipam_client.transport import Record, Transport


def _fields(**kwargs: Any) -> dict[str, Any]:
    return {key: value for key, value in kwargs.items() if value is not None}


def _key(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}


def _if_match(etag: str | None) -> dict[str, str]:
    return {"If-Match": etag} if etag else {}


class _Family:
    def __init__(self, transport: Transport) -> None:
        self._t = transport


class Regions(_Family):
    def allocate(self, *, country: str, name: str, idempotency_key: str | None = None, **fields: Any) -> Record:
        """The next free /24 in `country` (name, ISO alpha-2 or alpha-3); extra fields: description, tags, owner."""
        body = {"country": country, "region_name": name, **fields}
        return self._t.request("POST", "/ipam/regions", json=body, headers=_key(idempotency_key))  # type: ignore[no-any-return]

    def get(self, region_id: str) -> Record:
        return self._t.request("GET", f"/ipam/regions/{region_id}")  # type: ignore[no-any-return]

    def list(self, **filters: Any) -> Iterator[Record]:
        """All of your regions (cursor pages), filtered like `GET /ipam/regions` (country, status, tag …)."""
        return self._t.pages("/ipam/regions", {**filters, "cursor": ""})

    def update(self, region_id: str, *, etag: str | None = None, **fields: Any) -> Record:
        """Change region_name, description, status, tags or owner."""
        return self._t.request("PATCH", f"/ipam/regions/{region_id}", json=fields, headers=_if_match(etag))  # type: ignore[no-any-return]

    def retire(self, region_id: str, *, reason: str, cascade: bool = False, etag: str | None = None) -> dict[str, Any]:
        params = {"reason": reason, "cascade": "true" if cascade else "false"}
        return self._t.request("DELETE", f"/ipam/regions/{region_id}", params=params, headers=_if_match(etag))  # type: ignore[no-any-return]

    def preview_next(self, *, country: str) -> dict[str, Any]:
        return self._t.request("GET", "/ipam/regions/preview-next", params={"country": country})  # type: ignore[no-any-return]

    def utilization(self, region_id: str) -> dict[str, Any]:
        return self._t.request("GET", f"/ipam/regions/{region_id}/utilization")  # type: ignore[no-any-return]


class Hosts(_Family):
    def allocate(self, *, region_id: str, hostname: str, idempotency_key: str | None = None, **fields: Any) -> Record:
        """The next free address in the region; extra fields: device_type, os_type, application, tags …"""
        body = {"region_id": str(region_id), "hostname": hostname, **fields}
        return self._t.request("POST", "/ipam/hosts", json=body, headers=_key(idempotency_key))  # type: ignore[no-any-return]

    def batch(
        self, *, region_id: str, count: int, hostname_prefix: str, idempotency_key: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Up to 100 hosts at once, all or nothing."""
        body = {"region_id": str(region_id), "count": count, "hostname_prefix": hostname_prefix, **fields}
        return self._t.request("POST", "/ipam/hosts/batch", json=body, headers=_key(idempotency_key))  # type: ignore[no-any-return]

    def get(self, host_id: str) -> Record:
        return self._t.request("GET", f"/ipam/hosts/{host_id}")  # type: ignore[no-any-return]

    def by_ip(self, ip_address: str) -> Record:
        return self._t.request("GET", f"/ipam/hosts/by-ip/{quote(ip_address, safe='')}")  # type: ignore[no-any-return]

    def list(self, **filters: Any) -> Iterator[Record]:
        """All of your hosts in address order (cursor pages), filtered like `GET /ipam/hosts` (region_id, status …)."""
        return self._t.pages("/ipam/hosts", {**filters, "cursor": ""})

    def update(self, host_id: str, *, etag: str | None = None, **fields: Any) -> Record:
        return self._t.request("PATCH", f"/ipam/hosts/{host_id}", json=fields, headers=_if_match(etag))  # type: ignore[no-any-return]

    def release(self, host_id: str, *, reason: str = "", etag: str | None = None) -> dict[str, Any]:
        """Retire the host: its address is free again at once."""
        params = {"reason": reason} if reason else {}
        return self._t.request("DELETE", f"/ipam/hosts/{host_id}", params=params, headers=_if_match(etag))  # type: ignore[no-any-return]


class Reservations(_Family):
    def create(
        self,
        *,
        resource_type: str,
        x_octet: int,
        y_octet: int,
        reason: str,
        z_octet: int | None = None,
        expires_in_days: int | None = None,
        idempotency_key: str | None = None,
    ) -> Record:
        """Hold 10.X.Y.0/24 (`resource_type="region"`) or 10.X.Y.Z (`"host"`) for later."""
        body = _fields(
            resource_type=resource_type, x_octet=x_octet, y_octet=y_octet, z_octet=z_octet, reason=reason, expires_in_days=expires_in_days
        )
        return self._t.request("POST", "/ipam/reservations", json=body, headers=_key(idempotency_key))  # type: ignore[no-any-return]

    def get(self, reservation_id: str) -> Record:
        return self._t.request("GET", f"/ipam/reservations/{reservation_id}")  # type: ignore[no-any-return]

    def list(self, **filters: Any) -> Iterator[Record]:
        return self._t.pages("/ipam/reservations", filters)

    def convert(self, reservation_id: str, *, idempotency_key: str | None = None, **fields: Any) -> dict[str, Any]:
        """Allocate exactly the reserved address (region_name / hostname and metadata in `fields`)."""
        path = f"/ipam/reservations/{reservation_id}/convert"
        return self._t.request("POST", path, json=fields, headers=_key(idempotency_key))  # type: ignore[no-any-return]

    def delete(self, reservation_id: str, *, etag: str | None = None) -> None:
        self._t.request("DELETE", f"/ipam/reservations/{reservation_id}", headers=_if_match(etag))


class Countries(_Family):
    def list(self, *, continent: str | None = None) -> list[Record]:
        return list(self._t.pages("/ipam/countries", _fields(continent=continent)))

    def get(self, country: str) -> Record:
        """By name, ISO alpha-2 or alpha-3, with your utilization there."""
        return self._t.request("GET", f"/ipam/countries/{quote(country, safe='')}")  # type: ignore[no-any-return]

    def utilization(self, country: str) -> dict[str, Any]:
        return self._t.request("GET", f"/ipam/countries/{quote(country, safe='')}/utilization")  # type: ignore[no-any-return]


class Tokens(_Family):
    """Your API tokens. The secret is in `create`'s answer (`token`) and never again."""

    def create(self, *, name: str, scope: str = "read", expires_at: str | None = None, allowed_networks: list[str] | None = None) -> Record:
        body = _fields(name=name, scope=scope, expires_at=expires_at, allowed_networks=allowed_networks)
        return self._t.request("POST", "/auth/tokens", json=body)  # type: ignore[no-any-return]

    def list(self) -> list[Record]:
        return list(self._t.pages("/auth/tokens", {}))

    def get(self, token_id: str | int) -> Record:
        return self._t.request("GET", f"/auth/tokens/{token_id}")  # type: ignore[no-any-return]

    def revoke(self, token_id: str | int) -> None:
        self._t.request("DELETE", f"/auth/tokens/{token_id}")


class Audit(_Family):
    def list(self, **filters: Any) -> Iterator[Record]:
        """Your audit trail, newest first (cursor pages); filters as `GET /ipam/audit` (action_type, resource_type …)."""
        return self._t.pages("/ipam/audit", {**filters, "cursor": ""})


class Notifications(_Family):
    def list(self, **filters: Any) -> Iterator[Record]:
        return self._t.pages("/ipam/notifications", {**filters, "cursor": ""})

    def mark_read(self, notification_id: str, *, is_read: bool = True, etag: str | None = None) -> Record:
        path = f"/ipam/notifications/{notification_id}"
        return self._t.request("PATCH", path, json={"is_read": is_read}, headers=_if_match(etag))  # type: ignore[no-any-return]
