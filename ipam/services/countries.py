"""Country writes (staff, through the Django admin): validated ranges, audited like every other write.

Countries are seed data; a staff member may correct or add one. The rules: 0 ≤ x_start ≤ x_end ≤ 255,
no overlap with another country, and an existing country's range cannot shrink below what is
allocated or actively reserved in it (in any user's namespace).

The checks see committed rows: shrink a range while nobody is allocating at its edge (a first allocation
racing with the edit is not locked out — allocation never locks the country row, by design).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Q

from foundation.types import Actor
from ipam import exceptions
from ipam.models import Continent, Country, Region, Reservation, ReservationStatus
from ipam.services.audit import audit_record, diff

COUNTRY_FIELDS = ("name", "code", "code3", "continent", "x_start", "x_end", "is_reserved")
_CODE_RE = {"code": re.compile(r"^[A-Z]{2}$"), "code3": re.compile(r"^[A-Z]{3}$")}


def country_snapshot(country: Country) -> dict[str, Any]:
    return {"country_id": country.pk, **{name: getattr(country, name) for name in COUNTRY_FIELDS}}


def country_clean(data: dict[str, Any], *, country_id: int | None = None) -> dict[str, Any]:
    """Validate a full set of country fields against the other countries and the allocations.

    Raises `ValidationFailed` with per-field messages (`__all__` for range conflicts).
    """
    cleaned: dict[str, Any] = {name: data.get(name) for name in COUNTRY_FIELDS}
    errors: dict[str, list[str]] = {}
    name = cleaned["name"]
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        errors["name"] = ["1-100 characters."]
    else:
        cleaned["name"] = name.strip()
    for field, pattern in _CODE_RE.items():
        value = cleaned[field]
        if not isinstance(value, str) or not pattern.match(value.strip().upper()):
            errors[field] = [f"{2 if field == 'code' else 3} letters A-Z (ISO 3166)."]
        else:
            cleaned[field] = value.strip().upper()
    if cleaned["continent"] not in Continent.values:
        errors["continent"] = [f"One of {', '.join(Continent.values)}."]
    for field in ("x_start", "x_end"):
        value = cleaned[field]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            errors[field] = ["An integer 0-255."]
    cleaned["is_reserved"] = bool(cleaned["is_reserved"])
    if errors:
        raise exceptions.ValidationFailed(details=errors)

    others = Country.objects.exclude(pk=country_id) if country_id else Country.objects.all()
    clashes = {
        field: ["Another country already uses this value."]
        for field in ("name", "code", "code3")
        if others.filter(**{f"{field}__iexact": cleaned[field]}).exists()
    }
    if clashes:
        raise exceptions.ValidationFailed(details=clashes)
    x_start, x_end = cleaned["x_start"], cleaned["x_end"]
    if x_start > x_end:
        raise exceptions.ValidationFailed(details={"__all__": ["x_start must not be greater than x_end."]})
    overlapping = list(others.filter(x_start__lte=x_end, x_end__gte=x_start).values_list("name", flat=True))
    if overlapping:
        raise exceptions.ValidationFailed(details={"__all__": [f"The range {x_start}-{x_end} overlaps {', '.join(overlapping)}."]})
    if country_id:
        outside = ~Q(x_octet__gte=x_start, x_octet__lte=x_end)
        for what, rows in (
            ("allocated regions", Region.objects.filter(country_id=country_id)),
            ("active reservations", Reservation.objects.filter(country_id=country_id, status=ReservationStatus.ACTIVE)),
        ):
            if rows.filter(outside).exists():
                raise exceptions.ValidationFailed(details={"__all__": [f"The range cannot shrink below {what} (some lie outside it)."]})
    return cleaned


def country_create(*, actor: Actor, data: dict[str, Any]) -> Country:
    with transaction.atomic():
        country = Country.objects.create(**country_clean(data))
        audit_record(
            actor=actor,
            user_id=None,
            action_type="create",
            resource_type="country",
            resource_id=str(country.pk),
            country_code=country.code,
            snapshot=country_snapshot(country),
        )
    return country


def country_update(*, actor: Actor, country_id: int, data: dict[str, Any]) -> Country:
    """Change some fields of a country (absent keys are left alone); the full result is validated."""
    unknown = set(data) - set(COUNTRY_FIELDS)
    if unknown:
        raise exceptions.ValidationFailed(details={key: ["This field cannot be changed."] for key in sorted(unknown)})
    with transaction.atomic():
        country = Country.objects.select_for_update().filter(pk=country_id).first()
        if country is None:
            raise exceptions.NotFound("Country not found.", code="country_not_found")
        before = country_snapshot(country)
        cleaned = country_clean({**before, **data}, country_id=country.pk)
        for name, value in cleaned.items():
            setattr(country, name, value)
        country.save()
        after = country_snapshot(country)
        changes = diff(before, after)
        if changes:
            audit_record(
                actor=actor,
                user_id=None,
                action_type="update",
                resource_type="country",
                resource_id=str(country.pk),
                country_code=country.code,
                changes=changes,
                snapshot=after,
            )
    return country
