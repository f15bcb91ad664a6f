"""Field rules shared by serializers, services and import (one definition each)."""

from __future__ import annotations

import re
from typing import Any

from ipam.exceptions import ValidationFailed

TAG_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
TAG_VALUE_MAX = 500
TAGS_MAX = 50
HOSTNAME_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
IPV4_RE = re.compile(r"^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\Z")  # ASCII digits only


def clean_tags(value: Any, field: str = "tags") -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(details={field: ["Must be an object of string keys to string values."]})
    if len(value) > TAGS_MAX:
        raise ValidationFailed(details={field: [f"At most {TAGS_MAX} tags."]})
    errors = []
    for key, item in value.items():
        if not isinstance(key, str) or not TAG_KEY_RE.match(key):
            errors.append(f"Invalid tag key {key!r}: 1-100 characters of A-Z a-z 0-9 _ -.")
        elif not isinstance(item, str):
            errors.append(f"Tag {key!r}: value must be a string.")
        elif len(item) > TAG_VALUE_MAX:
            errors.append(f"Tag {key!r}: value longer than {TAG_VALUE_MAX} characters.")
    if errors:
        raise ValidationFailed(details={field: errors})
    return dict(value)


def clean_hostname(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(details={"hostname": ["Must be a string."]})
    name = value.strip().lower()
    if not name or len(name) > 253 or not all(HOSTNAME_LABEL_RE.match(label) for label in name.split(".")):
        raise ValidationFailed(
            details={"hostname": ["Not a valid RFC 1123 hostname: dot-separated labels of 1-63 a-z 0-9 -, total ≤ 253."]}
        )
    return name


def clean_region_name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(details={"region_name": ["Must be a string."]})
    name = value.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed(details={"region_name": ["Must be 1-100 characters after trimming."]})
    return name


def clean_reason(value: Any, *, required: bool = True) -> str:
    reason = (value or "").strip() if isinstance(value, str) or value is None else None
    if reason is None:
        raise ValidationFailed(details={"reason": ["Must be a string."]})
    if required and not reason:
        raise ValidationFailed(details={"reason": ["A reason (1-500 characters) is required."]})
    if len(reason) > 500:
        raise ValidationFailed(details={"reason": ["At most 500 characters."]})
    return reason


def parse_ipv4(value: Any, field: str = "ip_address") -> tuple[int, int, int, int]:
    """Octets of a dotted IPv4 address; 400 for anything else (no regex on user input beyond this)."""
    match = IPV4_RE.match(value.strip()) if isinstance(value, str) else None
    octets = tuple(int(part) for part in match.groups()) if match else ()
    if len(octets) != 4 or any(o > 255 for o in octets):
        raise ValidationFailed(f"{value!r} is not an IPv4 address.", details={field: ["Not a valid IPv4 address."]})
    return octets  # type: ignore[return-value]


def parse_private_ip(value: Any, field: str = "ip_address") -> tuple[int, int, int]:
    """(x, y, z) of an address in 10.0.0.0/8; 400 otherwise."""
    a, x, y, z = parse_ipv4(value, field)
    if a != 10:
        raise ValidationFailed(f"{value} is outside 10.0.0.0/8.", details={field: ["Only addresses in 10.0.0.0/8 are managed."]})
    return x, y, z
