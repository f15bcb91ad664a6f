"""A small, typed Python client for the IPAM API.

    from ipam_client import IPAM, IPAMError

    ipam = IPAM("https://ipam.example.com", token="…")              # or username=…, password=…
    region = ipam.regions.allocate(country="India", name="edge-1")
    host = ipam.hosts.allocate(region_id=region["region_id"], hostname="web-1")
    for h in ipam.hosts.list(region_id=region["region_id"]):        # follows cursors
        print(h["ip_address"], h["hostname"])

See README.md next to this package.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from ipam_client.errors import IPAMError
from ipam_client.resources import Audit, Countries, Hosts, Notifications, Regions, Reservations, Tokens
from ipam_client.transport import Record, Transport

__all__ = ["IPAM", "IPAMError", "Record"]
__version__ = "0.1.0"


class IPAM:
    """The API of one server as one identity: an API token (`token=`), or a password (`username=`,
    `password=`) exchanged for a JWT that is refreshed when it expires.

    `max_retries` bounds the retries of a call answered 429/503 (after `Retry-After`, when it is at most
    `max_retry_wait` seconds; a longer wait raises at once) or failing to connect (reads and allocations only).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        session: requests.Session | None = None,
    ) -> None:
        self.transport = Transport(
            base_url,
            token=token,
            username=username,
            password=password,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            session=session,
        )
        self.regions = Regions(self.transport)
        self.hosts = Hosts(self.transport)
        self.reservations = Reservations(self.transport)
        self.countries = Countries(self.transport)
        self.tokens = Tokens(self.transport)
        self.audit = Audit(self.transport)
        self.notifications = Notifications(self.transport)

    def search(self, q: str | None = None, **params: Any) -> Iterator[Record]:
        """Regions and hosts matching `q` and/or filters (cidr, ip_range, country, status, tag …), every page."""
        query = {**params, **({"q": q} if q is not None else {})}
        return self.transport.pages("/ipam/search", query)

    def quota(self) -> dict[str, Any]:
        """Your quotas and usage."""
        return self.transport.request("GET", "/ipam/quotas/me")  # type: ignore[no-any-return]
