"""Reading an import file: formats, size limits, decoding, CSV into `Record`s one at a time (JSON: `jsonstream`)
with the problems collected by line and field (nothing is written here)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from ipam import exceptions
from ipam.csvsafe import unquote_cell
from ipam.models import Country, Region
from ipam.services.exports import CSV_HIERARCHY_COLUMNS, HOST_FIELDS

MODES = ("preview", "auto", "manual")
PLACEMENTS = ("auto", "manual")
ROW_STATUSES = ["created", "would_create", "failed", "rolled_back"]
RECORD_KINDS = ["region", "host"]
MAX_REPORTED_ERRORS = 200
PROGRESS_EVERY = 1000  # rows between progress reports of a background import
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


def max_rows() -> int:
    return int(settings.IPAM_IMPORT_MAX_ROWS)


# A header can only name known columns, each once: anything longer is invalid without looking further.
MAX_COLUMNS = len(CSV_COLUMNS)
MAX_LISTED_COLUMNS = 20  # problems reported per kind in a bad header (a 60,000-column header is one answer)


def too_many_rows(line: int) -> exceptions.ValidationFailed:
    return exceptions.ValidationFailed(
        f"The file has more than {max_rows()} records; split it.",
        code="too_many_rows",
        details={"file": [f"At most {max_rows()} records (IPAM_IMPORT_MAX_ROWS)."], "max_rows": max_rows(), "line": line},
    )


def check_header(cells: list[str], line: int) -> list[str]:
    """The header's column names, or 400 naming what is wrong with it. Linear in the header's length."""
    if len(cells) > MAX_COLUMNS:
        raise exceptions.ValidationFailed(
            f"The CSV header has {len(cells)} columns; at most {MAX_COLUMNS} are known.",
            code="too_many_columns",
            details={"line": line, "columns": [f"At most {MAX_COLUMNS} columns, each once."], "max_columns": MAX_COLUMNS},
        )
    columns = [cell.strip().lower() for cell in cells]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    seen: set[str] = set()
    duplicated: set[str] = set()
    for c in columns:
        (duplicated if c in seen else seen).add(c)
    if unknown or duplicated or "" in columns:
        details: dict[str, Any] = {"line": line}
        if unknown:
            listed = [f"Unknown column {c!r}." for c in unknown[:MAX_LISTED_COLUMNS]]
            details["columns"] = [*listed, f"Allowed: {', '.join(sorted(CSV_COLUMNS))}."]
        if duplicated:
            details["duplicate_columns"] = sorted(duplicated)[:MAX_LISTED_COLUMNS]
        if "" in columns:
            details["empty_columns"] = ["A header cell is empty."]
        raise exceptions.ValidationFailed("The CSV header is invalid.", details=details)
    return columns


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
@dataclass(eq=False, slots=True)  # slots: a 100,000-row import holds one per row
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


class Errors:
    """Problems found in a file: the first MAX_REPORTED_ERRORS kept (file order), all counted, so that a file with a
    problem on every row costs no more memory than one with a few."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0
        self._line: int | None = None
        self._line_fields: set[str] = set()

    def add(self, record: Record | None, field_name: str, message: str, *, line: int | None = None) -> None:
        self.count += 1
        at = record.line if record else line
        if at != self._line:
            self._line, self._line_fields = at, set()
        self._line_fields.add(field_name)
        if len(self.items) >= MAX_REPORTED_ERRORS:
            return
        item: dict[str, Any] = {"line": at, "field": field_name, "message": message}
        if record is not None and record.path:
            item["path"] = record.path
        self.items.append(item)

    def fields_of(self, line: int) -> set[str]:
        """The fields reported for `line` (the record being checked) so far."""
        return self._line_fields if line == self._line else set()

    def raise_if_any(self) -> None:
        if self.count:
            count = self.count
            raise exceptions.ValidationFailed(
                f"The file has {count} problem{'s' if count != 1 else ''}; nothing was imported.",
                details={"rows": self.items[:MAX_REPORTED_ERRORS], "error_count": count},
            )


def decode(content: Any) -> str:
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
        raise _invalid_encoding(exc.start, content[: exc.start].count(b"\n") + 1) from None


def _invalid_encoding(offset: int, line: int) -> exceptions.ValidationFailed:
    return exceptions.ValidationFailed(
        f"The file is not UTF-8 (invalid byte at offset {offset}, line {line}).",
        code="invalid_encoding",
        details={"file": [f"Not UTF-8: invalid byte at offset {offset} (line {line}). Save the file as UTF-8."], "line": line},
    )


def csv_lines(content: Any) -> Iterator[str]:
    """The lines of a CSV upload, decoded one at a time: the file's text is never held whole (an upload's bytes
    are, up to IPAM_IMPORT_MAX_BYTES). Line ends are kept and split as `newline=""` text files split them."""
    if isinstance(content, str):
        yield from io.StringIO(decode(content), newline="")
        return
    if not isinstance(content, bytes | bytearray):
        raise exceptions.ValidationFailed(details={"content": ["Must be the file's text."]})
    if len(content) > max_bytes():
        raise too_large(len(content))
    offset = 0
    for number, raw in enumerate(io.BytesIO(content), start=1):  # b"\n" never occurs inside a UTF-8 sequence
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid_encoding(offset + exc.start, number) from None
        offset += len(raw)
        if "\r" in line:  # a bare CR ends a line too (as in a newline="" text file)
            yield from io.StringIO(line, newline="")
        else:
            yield line


def record_kind(raw: dict[str, Any], errors: Errors, record_line: int) -> str:
    given = str(raw.get("resource_type") or "").strip().lower()
    if given in ("region", "host"):
        return given
    if given:
        errors.add(None, "resource_type", "Must be region or host.", line=record_line)
        return "region"
    return "host" if any(present(raw.get(key)) for key in ("hostname", "z_octet")) else "region"


def present(value: Any) -> bool:
    return value is not None and value != "" and value != {}


def csv_records(lines: Iterable[str], errors: Errors, progress: Callable[[int], None] | None = None) -> Iterator[Record]:
    """The records of a CSV file given line by line (`csv_lines`), one at a time: problems of a row go to
    `errors` (the row is skipped), problems of the file raise at once; `progress(rows)` every PROGRESS_EVERY rows."""
    reader = csv.reader(_no_nul(lines), strict=True)
    rows = 0
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise exceptions.ValidationFailed("The file is empty.", details={"file": ["Expected a header row and data rows."]})
        columns = check_header(header, reader.line_num)
        last_line = reader.line_num
        for cells in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not cells or not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(columns):
                errors.add(None, "row", f"{len(cells)} values for {len(columns)} columns.", line=line)
                continue
            if rows >= max_rows():
                raise too_many_rows(line)
            raw = {col: unquote_cell(cell.strip()) for col, cell in zip(columns, cells, strict=True)}
            rows += 1
            yield Record(line=line, kind=record_kind(raw, errors, line), raw=raw)
            if progress is not None and rows % PROGRESS_EVERY == 0:
                progress(rows)
    except csv.Error as exc:
        raise exceptions.ValidationFailed(
            f"The CSV is malformed near line {reader.line_num}: {exc}.", details={"file": [str(exc)], "line": reader.line_num}
        ) from None


def _no_nul(lines: Iterable[str]) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        if "\x00" in line:
            raise exceptions.ValidationFailed(
                f"The file contains a NUL character (line {number}).", details={"file": ["NUL characters are not allowed."], "line": number}
            )
        yield line
