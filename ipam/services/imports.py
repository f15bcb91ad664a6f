"""Import regions and hosts from CSV or JSON (the layouts `ipam.services.exports` writes, or hand-made).

1. Parse and validate the whole file first: bad encoding, bad CSV/JSON, unknown columns, malformed
   addresses, names or fields → `ValidationFailed` (400) listing every problem with its line and field.
2. Then, in one transaction: regions (one savepoint each, through `region_allocate`, at the file's
   address in manual mode), then hosts grouped by region (one savepoint and one region lock per group,
   batched: one hostname check, one insert, one audit insert), then non-active statuses.
   Each row that cannot be imported gets the error the API would give (409 conflicts, 404, 429 quota).
3. Preview rolls everything back (a dry run: the results show what would happen). Without `force` any
   failed row rolls everything back and raises `ImportFailed`; with `force` the successful rows commit.

Hosts are batched per region rather than created one `host_allocate` call each: a 100,000-row file is
a few thousand queries instead of over a million. The batch applies the same rules as `host_allocate`
(active region, unique hostname, free and unreserved address, lowest free Z in auto mode, quota in the
same transaction) and writes the same audit rows and events.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from ipam import bitmaps, exceptions
from ipam.models import Country, Host, HostStatus, Region, RegionStatus
from ipam.selectors import occupancy
from ipam.selectors.search import parse_cidr
from ipam.services import allocation
from ipam.services.audit import audit_record
from ipam.services.exports import CSV_HIERARCHY_COLUMNS, HOST_FIELDS
from ipam.services.hosts import clean_host_metadata, host_row, hosts_insert
from ipam.services.quotas import quota_get
from ipam.services.regions import region_allocate, region_update
from ipam.validation import clean_hostname, clean_region_name, clean_tags, parse_private_ip
from webhooks.models import Webhook

MODES = ("preview", "auto", "manual")
PLACEMENTS = ("auto", "manual")
ROW_STATUSES = ["created", "would_create", "failed", "rolled_back"]
RECORD_KINDS = ["region", "host"]
MAX_REPORTED_ERRORS = 200
INFORMATIVE = {
    "continent",
    "country_code",
    "created_at",
    "updated_at",
    "region_id",
    "host_id",
    "allocated_hosts",
    "utilization_percentage",
    "owner_id",
    "created_by",
    "updated_by",
}
CSV_COLUMNS = set(CSV_HIERARCHY_COLUMNS) | INFORMATIVE
JSON_KEYS = CSV_COLUMNS | {"hosts"}
REGION_ONLY = ("description", "owner")
HOST_ONLY = ("hostname", "ip_address", "z_octet", *HOST_FIELDS)
JSON_TOP_KEYS = {"regions", "hosts", "continents", "exported_at", "filters", "layout", "format", "version", "count"}


def max_bytes() -> int:
    return int(settings.IPAM_IMPORT_MAX_BYTES)


def too_large(size: int) -> exceptions.ValidationFailed:
    return exceptions.ValidationFailed(
        f"The file is {size} bytes; the limit is {max_bytes()}.",
        code="file_too_large",
        details={"file": [f"At most {max_bytes()} bytes."], "max_bytes": max_bytes(), "size": size},
    )


def format_from_name(name: str, content_type: str = "") -> str:
    lowered = name.lower()
    if lowered.endswith(".csv") or "csv" in content_type:
        return "csv"
    if lowered.endswith(".json") or "json" in content_type:
        return "json"
    return ""


# --- Records -------------------------------------------------------------------------------------------
@dataclass(eq=False)
class Record:
    line: int
    kind: str
    raw: dict[str, Any]
    path: str = ""
    parent: Record | None = None
    # cleaned values
    country: Country | None = None
    region_name: str = ""
    x: int | None = None
    y: int | None = None
    z: int | None = None
    hostname: str = ""
    status: str = "active"
    values: dict[str, Any] = field(default_factory=dict)
    # outcome
    region: Region | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def xy(self) -> tuple[int, int] | None:
        return (self.x, self.y) if self.x is not None and self.y is not None else None


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, record: Record | None, field_name: str, message: str, *, line: int | None = None) -> None:
        item: dict[str, Any] = {"line": record.line if record else line, "field": field_name, "message": message}
        if record is not None and record.path:
            item["path"] = record.path
        self.items.append(item)

    def raise_if_any(self) -> None:
        if self.items:
            count = len(self.items)
            raise exceptions.ValidationFailed(
                f"The file has {count} problem{'s' if count != 1 else ''}; nothing was imported.",
                details={"rows": self.items[:MAX_REPORTED_ERRORS], "error_count": count},
            )


def _decode(content: Any) -> str:
    if isinstance(content, str):
        size = len(content.encode("utf-8", "surrogatepass"))
        if size > max_bytes():
            raise too_large(size)
        return content.removeprefix("\ufeff")
    if not isinstance(content, bytes | bytearray):
        raise exceptions.ValidationFailed(details={"content": ["Must be the file's text."]})
    if len(content) > max_bytes():
        raise too_large(len(content))
    try:
        return bytes(content).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise exceptions.ValidationFailed(
            f"The file is not UTF-8 (invalid byte at offset {exc.start}, line {line}).",
            code="invalid_encoding",
            details={"file": [f"Not UTF-8: invalid byte at offset {exc.start} (line {line}). Save the file as UTF-8."], "line": line},
        ) from None


def _kind(raw: dict[str, Any], errors: _Errors, record_line: int) -> str:
    given = str(raw.get("resource_type") or "").strip().lower()
    if given in ("region", "host"):
        return given
    if given:
        errors.add(None, "resource_type", "Must be region or host.", line=record_line)
        return "region"
    return "host" if any(_present(raw.get(key)) for key in ("hostname", "z_octet")) else "region"


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != {}


def parse_csv(text: str) -> list[Record]:
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise exceptions.ValidationFailed(
            f"The file contains a NUL character (line {line}).", details={"file": ["NUL characters are not allowed."], "line": line}
        )
    errors = _Errors()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[Record] = []
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise exceptions.ValidationFailed("The file is empty.", details={"file": ["Expected a header row and data rows."]})
        columns = [cell.strip().lower() for cell in header]
        unknown = [c for c in columns if c not in CSV_COLUMNS]
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        if unknown or duplicated or "" in columns:
            details: dict[str, Any] = {"line": reader.line_num}
            if unknown:
                details["columns"] = [f"Unknown column {c!r}." for c in unknown] + [f"Allowed: {', '.join(sorted(CSV_COLUMNS))}."]
            if duplicated:
                details["duplicate_columns"] = duplicated
            if "" in columns:
                details["empty_columns"] = ["A header cell is empty."]
            raise exceptions.ValidationFailed("The CSV header is invalid.", details=details)
        last_line = reader.line_num
        for cells in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not cells or not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                errors.add(None, "row", f"{len(cells)} values for {len(columns)} columns.", line=line)
                continue
            raw = {col: cell.strip() for col, cell in zip(columns, cells, strict=True)}
            records.append(Record(line=line, kind=_kind(raw, errors, line), raw=raw))
    except csv.Error as exc:
        raise exceptions.ValidationFailed(
            f"The CSV is malformed near line {reader.line_num}: {exc}.", details={"file": [str(exc)], "line": reader.line_num}
        ) from None
    errors.raise_if_any()
    return records


def parse_json(content: Any) -> list[Record]:
    if isinstance(content, str):
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise exceptions.ValidationFailed(
                f"The JSON is malformed at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
                details={"file": [exc.msg], "line": exc.lineno, "column": exc.colno},
            ) from None
    else:
        data = content
    _check_strings(data)
    errors = _Errors()
    records: list[Record] = []

    def add(item: Any, path: str, inherited: dict[str, Any], parent: Record | None, kind: str | None) -> Record | None:
        line = len(records) + 1
        if not isinstance(item, dict):
            errors.add(None, path, "Each record must be an object.", line=line)
            return None
        unknown = sorted(set(item) - JSON_KEYS)
        if unknown:
            errors.add(None, path, f"Unknown keys: {', '.join(unknown)}.", line=line)
            return None
        raw = {key: value for key, value in item.items() if key != "hosts"}
        for key, value in inherited.items():
            if not _present(raw.get(key)):
                raw[key] = value
        record = Record(line=line, kind=kind or _kind(raw, errors, line), raw=raw, path=path, parent=parent)
        records.append(record)
        nested = item.get("hosts")
        if nested is not None:
            if record.kind != "region" or not isinstance(nested, list):
                errors.add(record, "hosts", "Only a region can hold a list of hosts.")
            else:
                keep = {k: raw[k] for k in ("country", "region_name", "cidr") if _present(raw.get(k))}
                for index, host in enumerate(nested):
                    add(host, f"{path}.hosts[{index}]", keep, record, "host")
        return record

    def add_list(items: Any, path: str, inherited: dict[str, Any], kind: str | None) -> None:
        if not isinstance(items, list):
            errors.add(None, path, "Must be a list.", line=len(records) + 1)
            return
        for index, item in enumerate(items):
            add(item, f"{path}[{index}]", inherited, None, kind)

    if isinstance(data, list):
        add_list(data, "", {}, None)
    elif isinstance(data, dict):
        unknown = sorted(set(data) - JSON_TOP_KEYS)
        if unknown:
            raise exceptions.ValidationFailed(
                "Unknown top-level keys.", details={"keys": unknown, "allowed": sorted(JSON_TOP_KEYS - {"exported_at", "filters"})}
            )
        for c_index, continent in enumerate(data.get("continents") or []):
            if not isinstance(continent, dict) or not isinstance(continent.get("countries", []), list):
                errors.add(None, f"continents[{c_index}]", "Expected {continent, countries: [...]}.", line=len(records) + 1)
                continue
            for k_index, country in enumerate(continent.get("countries", [])):
                path = f"continents[{c_index}].countries[{k_index}]"
                if not isinstance(country, dict) or set(country) - {"country", "country_code", "code", "code3", "regions"}:
                    errors.add(None, path, "Expected {country, regions: [...]}.", line=len(records) + 1)
                    continue
                name = country.get("country") or country.get("country_code") or country.get("code") or ""
                add_list(country.get("regions", []), f"{path}.regions", {"country": name}, "region")
        if "regions" in data:
            add_list(data["regions"], "regions", {}, "region")
        if "hosts" in data:
            add_list(data["hosts"], "hosts", {}, "host")
    else:
        raise exceptions.ValidationFailed(details={"file": ["Expected a list of records or an object with regions/hosts/continents."]})
    errors.raise_if_any()
    return records


def _check_strings(data: Any) -> None:
    """Refuse text the database cannot store (NUL, lone surrogates from `\\ud800` escapes): 400, not a 500."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise exceptions.ValidationFailed(details={"file": ["Strings must be valid Unicode (a lone surrogate escape)."]}) from None
            if "\x00" in item:
                raise exceptions.ValidationFailed(details={"file": ["Strings cannot contain NUL (\\u0000)."]})


# --- Field cleaning ------------------------------------------------------------------------------------
def _int(record: Record, key: str, lo: int, hi: int, errors: _Errors) -> int | None:
    value = record.raw.get(key)
    if not _present(value):
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        errors.add(record, key, f"Must be a whole number {lo}-{hi}.")
        return None
    number = int(value)
    if not lo <= number <= hi:
        errors.add(record, key, f"Must be {lo}-{hi}.")
        return None
    return number


def _text(record: Record, key: str, limit: int, errors: _Errors) -> str | None:
    value = record.raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(record, key, "Must be a string.")
        return None
    if len(value) > limit:
        errors.add(record, key, f"At most {limit} characters.")
        return None
    return value


def _first_message(exc: exceptions.ValidationFailed, default_field: str) -> tuple[str, str]:
    for key, messages in exc.details.items():
        if isinstance(messages, list) and messages:
            return key, str(messages[0])
        return key, str(messages)
    return default_field, exc.message


def _tags(record: Record, errors: _Errors) -> dict[str, str] | None:
    value = record.raw.get("tags")
    if not _present(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            errors.add(record, "tags", 'Must be a JSON object, e.g. {"env": "prod"}.')
            return None
    try:
        return clean_tags(value)
    except exceptions.ValidationFailed as exc:
        errors.add(record, *_first_message(exc, "tags"))
        return None


class _Countries:
    def __init__(self) -> None:
        self.rows = list(Country.objects.order_by("x_start"))
        self.by_key: dict[str, Country] = {}
        for country in self.rows:
            for key in (country.name, country.code, country.code3):
                self.by_key[key.lower()] = country
        self.by_id = {c.pk: c for c in self.rows}

    def lookup(self, value: Any) -> Country | None:
        return self.by_key.get(str(value).strip().lower()) if _present(value) else None

    def for_x(self, x: int) -> Country | None:
        return next((c for c in self.rows if c.x_start <= x <= c.x_end), None)


def _clean_common(record: Record, countries: _Countries, errors: _Errors) -> None:
    raw = record.raw
    if _present(raw.get("country")):
        record.country = countries.lookup(raw["country"])
        if record.country is None:
            errors.add(record, "country", f"Unknown country {raw['country']!r}: use a name, ISO alpha-2 or alpha-3 code.")
    if _present(raw.get("region_name")):
        try:
            record.region_name = clean_region_name(raw["region_name"])
        except exceptions.ValidationFailed as exc:
            errors.add(record, *_first_message(exc, "region_name"))
    cidr_xy: tuple[int, int] | None = None
    if _present(raw.get("cidr")):
        try:
            rng = parse_cidr(raw["cidr"], "cidr")
            if rng.size != 256:
                raise exceptions.ValidationFailed(details={"cidr": ["A region is a /24: 10.X.Y.0/24."]})
            cidr_xy = ((rng.lo >> 16) & 0xFF, (rng.lo >> 8) & 0xFF)
        except exceptions.ValidationFailed as exc:
            errors.add(record, *_first_message(exc, "cidr"))
    record.x = _int(record, "x_octet", 0, 255, errors)
    record.y = _int(record, "y_octet", 0, 255, errors)
    if cidr_xy is not None:
        if record.xy is not None and record.xy != cidr_xy:
            errors.add(record, "cidr", f"Does not match x_octet/y_octet {record.x}.{record.y}.")
        record.x, record.y = cidr_xy


def _clean_region(record: Record, countries: _Countries, placement: str, errors: _Errors) -> None:
    raw = record.raw
    _clean_common(record, countries, errors)
    for key in HOST_ONLY:
        if _present(raw.get(key)):
            errors.add(record, key, "Not a region field (leave it empty on region rows).")
    if not record.region_name and "region_name" not in {e["field"] for e in errors.items if e["line"] == record.line}:
        errors.add(record, "region_name", "Required.")
    status = str(raw.get("status") or "active").strip()
    if status not in RegionStatus.values:
        errors.add(record, "status", f"Must be one of {', '.join(RegionStatus.values)}.")
    record.status = status
    description = _text(record, "description", 2000, errors)
    owner = _text(record, "owner", 150, errors)
    record.values = {"description": description or "", "owner": owner or None, "tags": _tags(record, errors)}
    if placement == "manual":
        if record.xy is None:
            if not _present(raw.get("cidr")):  # a malformed one is reported already
                errors.add(record, "cidr", "Manual placement needs the region's cidr (or x_octet and y_octet).")
        else:
            at_x = countries.for_x(record.x or 0)
            if record.country is None and not _present(raw.get("country")):
                record.country = at_x
            elif record.country is not None and record.country != at_x:
                errors.add(record, "cidr", f"10.{record.x}.{record.y}.0/24 is not in {record.country.name}.")
    elif record.country is None and not _present(raw.get("country")):
        errors.add(record, "country", "Required.")


def _clean_host(record: Record, countries: _Countries, placement: str, errors: _Errors) -> None:
    raw = record.raw
    _clean_common(record, countries, errors)
    for key in REGION_ONLY:
        if _present(raw.get(key)):
            errors.add(record, key, "Not a host field (leave it empty on host rows).")
    try:
        record.hostname = clean_hostname(raw.get("hostname") if _present(raw.get("hostname")) else "")
    except exceptions.ValidationFailed as exc:
        errors.add(record, *_first_message(exc, "hostname"))
    region_xy = record.xy
    z = _int(record, "z_octet", 1, 254, errors)
    if _present(raw.get("ip_address")):
        try:
            x, y, ip_z = parse_private_ip(raw["ip_address"])
            if not 1 <= ip_z <= 254:
                raise exceptions.ValidationFailed(details={"ip_address": ["The last octet must be 1-254."]})
            if region_xy is not None and region_xy != (x, y):
                errors.add(record, "ip_address", f"Not inside the region 10.{region_xy[0]}.{region_xy[1]}.0/24.")
            if z is not None and z != ip_z:
                errors.add(record, "z_octet", f"Does not match ip_address {raw['ip_address']}.")
            record.x, record.y, z = x, y, ip_z
        except exceptions.ValidationFailed as exc:
            errors.add(record, *_first_message(exc, "ip_address"))
    record.z = z
    status = str(raw.get("status") or "active").strip()
    if status not in HostStatus.values:
        errors.add(record, "status", f"Must be one of {', '.join(HostStatus.values)}.")
    record.status = status
    metadata = {key: raw[key] for key in HOST_FIELDS if key in raw and raw[key] is not None}
    try:
        record.values = clean_host_metadata(metadata)
    except exceptions.ValidationFailed as exc:
        for key, messages in exc.details.items():
            errors.add(record, key, str(messages[0] if isinstance(messages, list) and messages else messages))
    tags = _tags(record, errors)
    if tags is not None:
        record.values["tags"] = tags
    if placement == "manual" and not _present(raw.get("ip_address")) and (record.xy is None or record.z is None):
        errors.add(record, "ip_address", "Manual placement needs the host's ip_address (or x_octet, y_octet and z_octet).")
    if placement == "auto" and record.parent is None and not record.region_name and record.xy is None:
        errors.add(record, "region_name", "Say which region: region_name (and country), or the region's cidr.")


def _placement(records: list[Record]) -> str:
    """Preview without an explicit placement: manual when every row carries its address."""

    def placed(record: Record) -> bool:
        keys = ("x_octet", "y_octet") if record.kind == "region" else ("x_octet", "y_octet", "z_octet")
        own = "cidr" if record.kind == "region" else "ip_address"
        return _present(record.raw.get(own)) or all(_present(record.raw.get(k)) for k in keys)

    return "manual" if records and all(placed(r) for r in records) else "auto"


def import_parse(*, content: Any, format: str, placement: str) -> tuple[list[Record], str]:
    """Parse and validate the whole file (400 listing every problem); `placement` auto|manual|"" (infer)."""
    if format == "csv":
        records = parse_csv(_decode(content))
    elif format == "json":
        records = parse_json(_decode(content) if isinstance(content, str | bytes | bytearray) else _checked_size(content))
    else:
        raise exceptions.ValidationFailed(details={"format": ["Must be csv or json."]})
    if not records:
        raise exceptions.ValidationFailed("The file has no rows.", details={"file": ["No region or host rows found."]})
    placement = placement or _placement(records)
    countries = _Countries()
    errors = _Errors()
    for record in records:
        (_clean_region if record.kind == "region" else _clean_host)(record, countries, placement, errors)
    errors.raise_if_any()
    return records, placement


def _checked_size(content: Any) -> Any:
    size = len(json.dumps(content).encode())
    if size > max_bytes():
        raise too_large(size)
    return content


# --- Running ---------------------------------------------------------------------------------------------
def _fail(record: Record, exc: exceptions.ServiceError) -> None:
    record.result = {"status": "failed", "error": exc.code, "message": exc.message}


def _ok(record: Record, **fields: Any) -> None:
    record.result = {"status": "created", **fields}


class _RegionIndex:
    """The caller's regions by address and by name, existing ones plus those the file creates."""

    def __init__(self, user: Any) -> None:
        self.by_xy: dict[tuple[int, int], Region] = {}
        self.by_name: dict[tuple[int, str], Region] = {}
        self.by_plain_name: dict[str, list[Region]] = {}
        for region in Region.objects.filter(user=user).only("id", "x_octet", "y_octet", "region_name", "country_id", "status"):
            self.add(region)

    def add(self, region: Region) -> None:
        self.by_xy[(region.x_octet, region.y_octet)] = region
        self.by_name[(region.country_id, region.region_name.lower())] = region
        self.by_plain_name.setdefault(region.region_name.lower(), []).append(region)


def _region_for_host(record: Record, placement: str, index: _RegionIndex, file_regions: dict[Any, Record]) -> Region:
    """The region a host row goes to (raises the per-row error otherwise)."""

    def from_file(key: Any) -> Region | None:
        source = file_regions.get(key)
        if source is None:
            return None
        if source.region is None:
            raise exceptions.Conflict(
                f"Its region (line {source.line}) was not imported.", code="region_not_imported", details={"region_line": source.line}
            )
        return source.region

    region: Region | None = None
    if placement == "manual":
        assert record.xy is not None
        region = from_file(("xy", record.xy)) or index.by_xy.get(record.xy)
        if region is None:
            raise exceptions.NotFound(f"You have no region 10.{record.x}.{record.y}.0/24.", code="region_not_found")
        if record.region_name and record.region_name.lower() != region.region_name.lower():
            raise exceptions.Conflict(
                f"10.{record.x}.{record.y}.0/24 is region {region.region_name!r}, not {record.region_name!r}.", code="region_mismatch"
            )
        return region
    if record.parent is not None:
        region = from_file(("record", id(record.parent)))
        if region is not None:
            return region
    if record.region_name:
        name = record.region_name.lower()
        if record.country is not None:
            region = from_file(("name", record.country.pk, name)) or index.by_name.get((record.country.pk, name))
        else:
            candidates = index.by_plain_name.get(name, [])
            if len(candidates) > 1:
                raise exceptions.Conflict(f"Several regions are named {record.region_name!r}; add the country.", code="ambiguous_region")
            region = from_file(("plain", name)) or (candidates[0] if candidates else None)
        if region is None:
            raise exceptions.NotFound(f"You have no region named {record.region_name!r}.", code="region_not_found")
        return region
    assert record.xy is not None
    region = from_file(("xy", record.xy)) or index.by_xy.get(record.xy)
    if region is None:
        raise exceptions.NotFound(f"You have no region 10.{record.x}.{record.y}.0/24.", code="region_not_found")
    return region


def _import_regions(actor: Any, records: list[Record], placement: str, index: _RegionIndex, file_regions: dict[Any, Record]) -> None:
    for record in records:
        assert record.country is not None
        file_regions[("record", id(record))] = record
        if record.xy is not None:
            file_regions.setdefault(("xy", record.xy), record)
        file_regions.setdefault(("name", record.country.pk, record.region_name.lower()), record)
        file_regions.setdefault(("plain", record.region_name.lower()), record)
        try:
            with transaction.atomic():
                region = region_allocate(
                    actor=actor,
                    country=record.country,
                    region_name=record.region_name,
                    description=record.values["description"],
                    tags=record.values["tags"],
                    owner=record.values["owner"],
                    at=record.xy if placement == "manual" else None,
                )
        except exceptions.ServiceError as exc:
            _fail(record, exc)
            continue
        record.region = region
        index.add(region)
        _ok(record, region_id=str(region.id), cidr=region.cidr, name=region.region_name)


def _import_host_group(
    actor: Any, region_id: Any, records: list[Record], placement: str, countries: dict[int, Country], *, publish: bool
) -> None:
    """Create the hosts of one region, checking each row as `host_allocate` would; one savepoint."""
    try:
        with allocation.measured("host_import"), transaction.atomic():
            region = allocation.lock_region(actor, region_id)  # serialises allocation in this region
            if region.status != RegionStatus.ACTIVE:
                raise exceptions.RegionNotActive(details={"region_id": str(region.id), "status": region.status})
            names = [r.hostname for r in records]
            taken_names = set(Host.objects.filter(region=region, hostname__in=names).values_list("hostname", flat=True))
            reserved = occupancy.reserved_host_slots(actor, region.x_octet, region.y_octet)
            occupied = bitmaps.from_bytes(region.host_bitmap)
            accepted: list[Record] = []
            for record in records:
                if record.hostname in taken_names:
                    _fail(
                        record,
                        exceptions.DuplicateHostname(f"Hostname {record.hostname!r} is already used in region {region.region_name!r}."),
                    )
                    continue
                if placement == "manual":
                    z = record.z or 0
                    ip = f"10.{region.x_octet}.{region.y_octet}.{z}"
                    if occupied >> z & 1:
                        _fail(record, exceptions.AddressInUse(f"{ip} is already allocated."))
                        continue
                    if z in reserved:
                        _fail(record, exceptions.AddressReserved(f"{ip} is held by reservation {reserved[z]}."))
                        continue
                    occupied |= 1 << z
                taken_names.add(record.hostname)
                accepted.append(record)
            if placement != "manual":
                slots = bitmaps.lowest_free_n(
                    occupied | bitmaps.mask_of(reserved), allocation.Z_FIRST, allocation.Z_LAST + 1, len(accepted)
                )
                for record in accepted[len(slots) :]:
                    _fail(record, exceptions.RegionFull(f"Region {region.region_name!r} ({region.cidr}) has no free address."))
                accepted = accepted[: len(slots)]
                for record, z in zip(accepted, slots, strict=True):
                    record.z = z
            quota = quota_get(user=actor)
            room = max(0, quota.effective_host_limit - quota.hosts_used)
            for record in accepted[room:]:
                _fail(record, exceptions.QuotaExceeded(quota_type="hosts", limit=quota.effective_host_limit, current=quota.hosts_used))
            accepted = accepted[:room]
            if accepted:
                _create_hosts(actor, region, accepted, countries[region.country_id], publish=publish)
    except exceptions.ServiceError as exc:  # the whole group: region not found/active, or a quota race
        for record in records:
            if record.result.get("status") != "failed":
                _fail(record, exc)


def _publishes(actor: Any, event_type: str) -> bool:
    """Whether `event_publish` would record anything for `actor`. It costs a query per call, so an import
    asks once instead of once per host (a webhook created while the import runs misses its events)."""
    if not settings.IPAM_ENABLE_WEBHOOKS:
        return False
    subscriptions = Webhook.objects.filter(user=actor, is_active=True).values_list("events", flat=True)
    return any(event_type in (events or []) for events in subscriptions)


def _create_hosts(actor: Any, region: Region, records: list[Record], country: Country, *, publish: bool) -> None:
    hosts = [host_row(actor, region, record.z or 0, record.hostname, status=record.status, **record.values) for record in records]
    hosts_insert(actor=actor, region=region, hosts=hosts, country_code=country.code, reason="import", publish=publish)
    for record, host in zip(records, hosts, strict=True):
        _ok(record, host_id=str(host.id), ip_address=host.ip_address, name=host.hostname, region_id=str(region.id))


def _apply_region_statuses(actor: Any, records: list[Record]) -> None:
    """Regions imported as reserved/retired: set after their hosts are in (only active regions take hosts)."""
    for record in records:
        if record.region is not None and record.status != RegionStatus.ACTIVE:
            try:
                with transaction.atomic():
                    region_update(actor=actor, region_id=record.region.pk, data={"status": record.status})
            except exceptions.ServiceError as exc:
                _fail(record, exc)


def import_run(*, actor: Any, content: Any, format: str, mode: str, force: bool = False, placement: str = "") -> dict[str, Any]:
    """Import (or, with mode=preview, dry-run) a file for `actor`. See the module docstring."""
    if mode not in MODES:
        raise exceptions.ValidationFailed(details={"mode": [f"Must be one of {', '.join(MODES)}."]})
    if placement and placement not in PLACEMENTS:
        raise exceptions.ValidationFailed(details={"placement": ["Must be auto or manual."]})
    if mode != "preview":
        placement = mode
    records, placement = import_parse(content=content, format=format, placement=placement)
    dry_run = mode == "preview"
    region_records = [r for r in records if r.kind == "region"]
    host_records = [r for r in records if r.kind == "host"]
    countries = {c.pk: c for c in Country.objects.all()}
    with transaction.atomic():
        index = _RegionIndex(actor)
        file_regions: dict[Any, Record] = {}
        _import_regions(actor, region_records, placement, index, file_regions)
        groups: dict[Any, list[Record]] = {}
        for record in host_records:
            try:
                region = _region_for_host(record, placement, index, file_regions)
            except exceptions.ServiceError as exc:
                _fail(record, exc)
                continue
            groups.setdefault(region.pk, []).append(record)
        publish = bool(groups) and _publishes(actor, "host.allocated")
        for region_id in sorted(groups, key=str):  # a fixed lock order
            _import_host_group(actor, region_id, groups[region_id], placement, countries, publish=publish)
        _apply_region_statuses(actor, region_records)
        failed = [r for r in records if r.result.get("status") == "failed"]
        summary = _summary(records, mode=mode, format=format, force=force, placement=placement, dry_run=dry_run)
        if dry_run:
            transaction.set_rollback(True)
        elif failed and not force:
            for record in records:
                if record.result.get("status") == "created":
                    record.result["status"] = "rolled_back"
            summary = _summary(records, mode=mode, format=format, force=force, placement=placement, dry_run=False)
            summary["created"] = {"regions": 0, "hosts": 0}
            message = (
                f"{len(failed)} of {len(records)} rows could not be imported; nothing was imported (use force=true to import the rest)."
            )
            if all(r.result.get("error") == "quota_exceeded" for r in failed):
                raise exceptions.ImportQuotaExceeded(message, details=summary)
            raise exceptions.ImportFailed(message, details=summary)
        elif summary["created"]["regions"] or summary["created"]["hosts"]:
            audit_record(
                actor=actor,
                user_id=actor.pk,
                action_type="import",
                resource_type="import",
                snapshot={k: summary[k] for k in ("mode", "format", "force", "placement", "total_rows", "created", "failed")},
            )
    return summary


def _summary(records: list[Record], **head: Any) -> dict[str, Any]:
    results = []
    created = {"regions": 0, "hosts": 0}
    failed = 0
    for record in records:
        outcome = dict(record.result)
        if outcome.get("status") == "created":
            created["regions" if record.kind == "region" else "hosts"] += 1
            if head["dry_run"]:
                outcome["status"] = "would_create"
        elif outcome.get("status") == "failed":
            failed += 1
        item = {"line": record.line, **({"path": record.path} if record.path else {}), "resource_type": record.kind, **outcome}
        results.append(item)
    return {**head, "total_rows": len(records), "created": created, "failed": failed, "results": results}
