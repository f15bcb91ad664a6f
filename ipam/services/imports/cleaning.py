"""Checking the fields of parsed records (octets, names, tags, countries, placement) the way the API
would; `ImportSource`, the upload read record by record as often as needed; `import_check`: the whole file
validated in streaming passes, or `ValidationFailed` listing its problems (at most MAX_REPORTED_ERRORS, all
counted); `cleaned_records`: its records again, cleaned, one at a time, for the writing passes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from ipam import exceptions
from ipam.models import Country, HostStatus, RegionStatus
from ipam.selectors.search import parse_cidr
from ipam.services.exports import HOST_FIELDS
from ipam.services.hosts import clean_host_metadata
from ipam.services.imports.jsonstream import json_records
from ipam.services.imports.parsing import (
    HOST_ONLY,
    REGION_ONLY,
    Errors,
    Record,
    csv_lines,
    csv_records,
    decode,
    max_bytes,
    present,
    too_large,
)
from ipam.validation import clean_hostname, clean_region_name, clean_tags, parse_private_ip


# --- Field cleaning ------------------------------------------------------------------------------------
def _int(record: Record, key: str, lo: int, hi: int, errors: Errors) -> int | None:
    value = record.raw.get(key)
    if not present(value):
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        errors.add(record, key, f"Must be a whole number {lo}-{hi}.")
        return None
    number = int(value)
    if not lo <= number <= hi:
        errors.add(record, key, f"Must be {lo}-{hi}.")
        return None
    return number


def _text(record: Record, key: str, limit: int, errors: Errors) -> str | None:
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


def _tags(record: Record, errors: Errors) -> dict[str, str] | None:
    value = record.raw.get("tags")
    if not present(value):
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
        return self.by_key.get(str(value).strip().lower()) if present(value) else None

    def for_x(self, x: int) -> Country | None:
        return next((c for c in self.rows if c.x_start <= x <= c.x_end), None)


def _clean_common(record: Record, countries: _Countries, errors: Errors) -> None:
    raw = record.raw
    if present(raw.get("country")):
        record.country = countries.lookup(raw["country"])
        if record.country is None:
            errors.add(record, "country", f"Unknown country {raw['country']!r}: use a name, ISO alpha-2 or alpha-3 code.")
    if present(raw.get("region_name")):
        try:
            record.region_name = clean_region_name(raw["region_name"])
        except exceptions.ValidationFailed as exc:
            errors.add(record, *_first_message(exc, "region_name"))
    cidr_xy: tuple[int, int] | None = None
    if present(raw.get("cidr")):
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


def _clean_region(record: Record, countries: _Countries, placement: str, errors: Errors) -> None:
    raw = record.raw
    _clean_common(record, countries, errors)
    for key in HOST_ONLY:
        if present(raw.get(key)):
            errors.add(record, key, "Not a region field (leave it empty on region rows).")
    if not record.region_name and "region_name" not in errors.fields_of(record.line):
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
            if not present(raw.get("cidr")):  # a malformed one is reported already
                errors.add(record, "cidr", "Manual placement needs the region's cidr (or x_octet and y_octet).")
        else:
            at_x = countries.for_x(record.x or 0)
            if record.country is None and not present(raw.get("country")):
                record.country = at_x
            elif record.country is not None and record.country != at_x:
                errors.add(record, "cidr", f"10.{record.x}.{record.y}.0/24 is not in {record.country.name}.")
    elif record.country is None and not present(raw.get("country")):
        errors.add(record, "country", "Required.")


def _clean_host(record: Record, countries: _Countries, placement: str, errors: Errors) -> None:
    raw = record.raw
    _clean_common(record, countries, errors)
    for key in REGION_ONLY:
        if present(raw.get(key)):
            errors.add(record, key, "Not a host field (leave it empty on host rows).")
    try:
        record.hostname = clean_hostname(raw.get("hostname") if present(raw.get("hostname")) else "")
    except exceptions.ValidationFailed as exc:
        errors.add(record, *_first_message(exc, "hostname"))
    region_xy = record.xy
    z = _int(record, "z_octet", 1, 254, errors)
    if present(raw.get("ip_address")):
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
    if placement == "manual" and not present(raw.get("ip_address")) and (record.xy is None or record.z is None):
        errors.add(record, "ip_address", "Manual placement needs the host's ip_address (or x_octet, y_octet and z_octet).")
    if placement == "auto" and record.parent is None and not record.region_name and record.xy is None:
        errors.add(record, "region_name", "Say which region: region_name (and country), or the region's cidr.")


def _placed(record: Record) -> bool:
    keys = ("x_octet", "y_octet") if record.kind == "region" else ("x_octet", "y_octet", "z_octet")
    own = "cidr" if record.kind == "region" else "ip_address"
    return present(record.raw.get(own)) or all(present(record.raw.get(k)) for k in keys)


class ImportSource:
    """An upload read record by record, as many times as the import needs (it is validated in one pass and
    written in the next ones): CSV from its bytes line by line, JSON element by element over its decoded text."""

    def __init__(self, content: Any, format: str) -> None:
        if format not in ("csv", "json"):
            raise exceptions.ValidationFailed(details={"format": ["Must be csv or json."]})
        self.format = format
        if format == "json":
            content = decode(content) if isinstance(content, str | bytes | bytearray) else _checked_size(content)
        self.content = content

    def records(self, errors: Errors, progress: Callable[[int], None] | None = None) -> Iterator[Record]:
        if self.format == "csv":
            return csv_records(csv_lines(self.content), errors, progress)
        return json_records(self.content, errors)


def clean_record(record: Record, countries: _Countries, placement: str, errors: Errors) -> None:
    (_clean_region if record.kind == "region" else _clean_host)(record, countries, placement, errors)


def cleaned_records(
    source: ImportSource, placement: str, countries: _Countries, kind: str = "", *, located_only: bool = False
) -> Iterator[Record]:
    """The records of a file `import_check` accepted (of one `kind` when given), cleaned again one at a time
    (for the writing passes; the other kind is only parsed). `located_only`: only what says where a row goes
    (country, region name, address), for a pass that only looks its region up."""
    errors = Errors()
    for record in source.records(errors):
        if not kind or record.kind == kind:
            if located_only:
                _locate(record, countries, errors)
            else:
                clean_record(record, countries, placement, errors)
            yield record


def _locate(record: Record, countries: _Countries, errors: Errors) -> None:
    _clean_common(record, countries, errors)
    if record.kind == "host" and present(record.raw.get("ip_address")):
        x, y, record.z = parse_private_ip(record.raw["ip_address"])  # valid: the file was checked
        record.x, record.y = x, y


def import_check(*, source: ImportSource, placement: str, progress: Callable[[int], None] | None = None) -> tuple[str, _Countries]:
    """Validate the whole file without keeping its records (400 listing the problems, at most MAX_REPORTED_ERRORS
    of them, all counted) and return the placement. Problems of the file's structure are reported alone, before
    any field problem; an empty file is refused. A preview without a placement reads the file once more first
    to infer it (manual when every row carries its address)."""
    countries = _Countries()
    if not placement:
        errors = Errors()
        placed = True
        for record in source.records(errors):
            placed = placed and _placed(record)
        errors.raise_if_any()
        placement = "manual" if placed else "auto"
    structure, fields = Errors(), Errors()
    rows = 0
    for record in source.records(structure, progress):
        rows += 1
        clean_record(record, countries, placement, fields)
    structure.raise_if_any()
    if not rows:
        raise exceptions.ValidationFailed("The file has no rows.", details={"file": ["No region or host rows found."]})
    fields.raise_if_any()
    return placement, countries


def import_parse(*, content: Any, format: str, placement: str) -> tuple[list[Record], str]:
    """The whole file parsed and cleaned into a list (small files, tests); `placement` auto|manual|"" (infer)."""
    source = ImportSource(content, format)
    placement, countries = import_check(source=source, placement=placement)
    return list(cleaned_records(source, placement, countries)), placement


def _checked_size(content: Any) -> Any:
    size = len(json.dumps(content).encode())
    if size > max_bytes():
        raise too_large(size)
    return content
