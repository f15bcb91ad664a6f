"""Country lookups: by name (case-insensitive), ISO alpha-2 or alpha-3; by X octet."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from ipam.exceptions import NotFound
from ipam.models import Country


def country_get(value: str) -> Country:
    value = (value or "").strip()
    if not value or "\x00" in value or len(value) > 100:  # no such name; NUL would upset PostgreSQL
        raise NotFound(f"Unknown country {value[:100]!r}.", code="country_not_found")
    country = Country.objects.filter(Q(name__iexact=value) | Q(code__iexact=value) | Q(code3__iexact=value)).first()
    if country is None:
        raise NotFound(f"Unknown country {value!r}: use a name, ISO alpha-2 or alpha-3 code.", code="country_not_found")
    return country


def country_for_x(x: int) -> Country | None:
    return Country.objects.filter(x_start__lte=x, x_end__gte=x).first()


def countries_health() -> dict[str, Any]:
    """The /health check `countries`: the seeded country table is there."""
    count = Country.objects.count()
    return {"status": "ok" if count else "error", "count": count}
