"""Value-level normalisation of the original's documents: ids, datetimes, tags, text.

Every helper is total: bad input gives a fallback value plus (where it matters) a note for the report,
never an exception, so one odd document cannot stop an import.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from django.utils.dateparse import parse_datetime

# Fixed forever: the new UUID of every imported object is uuid5(NAMESPACE, "<kind>:<ObjectId>"), so a re-run
# (or a second environment) derives the same ids and clients can map old references.
NAMESPACE = uuid.UUID("0b6c1f4e-8a5d-5f3e-9c2b-7d41e0a9c316")
IMPORT_MARK = "import_original"  # request_id of imported audit rows (and how a re-run finds them)


_NAMESPACE_SHA1 = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)


def legacy_uuid(kind: str, legacy_id: str) -> uuid.UUID:
    """`uuid.uuid5(NAMESPACE, f"{kind}:{legacy_id}")`, from a SHA-1 already fed the namespace (same value)."""
    digest = _NAMESPACE_SHA1.copy()
    digest.update(f"{kind}:{legacy_id}".encode())
    return uuid.UUID(bytes=digest.digest()[:16], version=5)


def oid(value: Any) -> str:
    """The string form of an ObjectId (or of whatever the original stored as an id)."""
    kind = type(value)
    if kind is ObjectId or kind is str:  # the usual cases, without the (slow) abstract Mapping check
        return str(value)
    if isinstance(value, Mapping) and "$oid" in value:  # a stray Extended JSON wrapper
        return str(value["$oid"])
    return str(value) if value is not None else ""


def is_object_id(value: Any) -> bool:
    return isinstance(value, ObjectId) or (isinstance(value, str) and ObjectId.is_valid(value))


def aware(value: Any) -> datetime | None:
    """A UTC-aware datetime. The original's Motor client was not tz_aware: its datetimes come back naive and
    are UTC (⚠ §9); strings (mongoexport of old documents) are parsed as ISO 8601."""
    if isinstance(value, str):
        value = parse_datetime(value.strip().replace("Z", "+00:00")) if value.strip() else None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def text(value: Any, limit: int, default: str = "") -> str:
    if value is None:
        return default
    return str(value)[:limit]


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def tags(value: Any) -> tuple[dict[str, str], str | None]:
    """Tags as a flat str→str dict. ⚠ The original's HTTP routes stored the raw JSON string of the query."""
    note = None
    if isinstance(value, str):
        if not value.strip():
            return {}, None
        try:
            value = json.loads(value)
            note = "tags stored as a JSON string: parsed"
        except ValueError:
            return {"legacy": value[:200]}, "tags stored as text that is not JSON: kept under the key 'legacy'"
    if value is None:
        return {}, note
    if not isinstance(value, Mapping):
        return {}, "tags were neither an object nor a JSON string: dropped"
    return {str(k)[:100]: "" if v is None else str(v)[:200] for k, v in value.items()}, note


def plain(value: Any) -> Any:
    """JSON-safe copy of a BSON value (ObjectId → str, datetime → ISO 8601 UTC), for snapshots and criteria."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:  # exact types first (cheap)
        return value
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        moment = aware(value)
        return moment.isoformat().replace("+00:00", "Z") if moment else None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # ObjectId, Decimal128, Binary, Int64 …


def octets_of_ip(value: Any) -> tuple[int, int, int] | None:
    """(X, Y, Z) of '10.X.Y.Z', or None."""
    parts = str(value or "").strip().split(".")
    if len(parts) != 4 or parts[0] != "10" or not all(p.isdigit() for p in parts[1:]):
        return None
    x, y, z = (int(p) for p in parts[1:])
    return (x, y, z) if max(x, y, z) <= 255 else None


def octets_of_cidr(value: Any) -> tuple[int, int] | None:
    found = octets_of_ip(str(value or "").split("/")[0])
    return (found[0], found[1]) if found else None
