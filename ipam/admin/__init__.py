"""The IPAM models in the Django admin: the address space (countries, regions, hosts, audit, quotas, jobs)
and the enhancement stores (reservations, shares, preferences, bulk jobs)."""

from . import address, audit, regions, stores

__all__ = ["address", "audit", "regions", "stores"]
