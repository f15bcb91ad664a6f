"""Reading a JSON import file record by record without decoding it whole.

The documented layouts are a list of records or an object whose `regions`/`hosts`/`continents` are lists. The
text is walked with `JSONDecoder.raw_decode` one list element at a time, so only one element is decoded at
once: first a checking walk (syntax and strings of the whole text, so that a file `json.loads` would refuse is
refused before any record problem is reported, as before), then the records. The object layout is read in the
order continents, regions, hosts whatever the order of its keys (the record numbers do not change). A
`continents` list is walked down to its regions (continent by continent, country by country), each region
decoded whole with its nested hosts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from foundation.parsers import iter_strings
from ipam import exceptions
from ipam.services.imports.parsing import JSON_KEYS, JSON_TOP_KEYS, Errors, Record, present, record_kind

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _malformed(exc: json.JSONDecodeError) -> exceptions.ValidationFailed:
    return exceptions.ValidationFailed(
        f"The JSON is malformed at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
        details={"file": [exc.msg], "line": exc.lineno, "column": exc.colno},
    )


def _skip(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _decode_at(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise _malformed(exc) from None


def _expect(text: str, pos: int, what: str) -> None:
    raise _malformed(json.JSONDecodeError(f"Expecting {what}", text, pos))


CHECK_DEPTH = 5  # levels of lists/objects walked piece by piece while checking (deeper values are decoded whole)
CONTINENTS_DEPTH = 4  # continents[] → {continent, countries[]} → {country, regions[]} → each region decoded whole


def _walk(text: str, pos: int, depth: int, check: bool) -> int:
    """Past the JSON value at `pos` without holding it: a list walked element by element, an object (while
    `depth` > 0) member by member, anything else decoded (and `_check_strings`-ed when `check`)."""
    if text.startswith("[", pos):
        pos = _skip(text, pos + 1)
        if text.startswith("]", pos):
            return pos + 1
        while True:
            pos = _skip(text, _walk(text, pos, depth - 1, check))
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
            elif text.startswith("]", pos):
                return pos + 1
            else:
                _expect(text, pos, "',' delimiter")
    if text.startswith("{", pos) and depth > 0:
        return _members(text, pos, depth, check)[1]
    value, end = _decode_at(text, pos)
    if check:
        _check_strings(value)
    return end


def _members(text: str, pos: int, depth: int, check: bool) -> tuple[dict[str, int], int]:
    """The object at `pos`: {key: where its value starts} (the last of a repeated key, as `json.loads`) and its end."""
    starts: dict[str, int] = {}
    pos = _skip(text, pos + 1)
    if text.startswith("}", pos):
        return starts, pos + 1
    while True:
        if not text.startswith('"', pos):
            _expect(text, pos, "property name enclosed in double quotes")
        key, pos = _decode_at(text, pos)
        if check:
            _check_strings(key)
        pos = _skip(text, pos)
        if not text.startswith(":", pos):
            _expect(text, pos, "':' delimiter")
        pos = _skip(text, pos + 1)
        starts[key] = pos
        pos = _skip(text, _walk(text, pos, depth - 1, check))
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("}", pos):
            return starts, pos + 1
        else:
            _expect(text, pos, "',' delimiter")


def _lazy(text: str, pos: int, depth: int) -> Any:
    """The value at `pos` of a checked text: a list as an iterator of its elements, an object (while `depth` > 0)
    as a dict of such values, anything else decoded."""
    if text.startswith("[", pos):
        return _lazy_elements(text, pos, depth)
    if text.startswith("{", pos) and depth > 0:
        return {key: _lazy(text, start, depth - 1) for key, start in _members(text, pos, depth, check=False)[0].items()}
    return _decode_at(text, pos)[0]


def _lazy_elements(text: str, pos: int, depth: int) -> Iterator[Any]:
    pos = _skip(text, pos + 1)
    while not text.startswith("]", pos):
        if text.startswith("[", pos) or (text.startswith("{", pos) and depth > 1):
            value = _lazy(text, pos, depth - 1)
            pos = _walk(text, pos, depth - 1, check=False)
        else:
            value, pos = _decode_at(text, pos)
        yield value
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)


def _json_layout(text: str) -> tuple[str, Any]:
    """Check the whole text (syntax, strings) without holding it decoded: ("list", start) for a list,
    ("object", {key: start of its value}) for an object, ("other", None) for anything else."""
    start = _skip(text, 0)
    if text.startswith("{", start):
        starts, pos = _members(text, start, CHECK_DEPTH, check=True)
        layout: tuple[str, Any] = ("object", starts)
    else:
        pos = _walk(text, start, CHECK_DEPTH, check=True)
        layout = ("list", start) if text.startswith("[", start) else ("other", None)
    if _skip(text, pos) != len(text):
        raise _malformed(json.JSONDecodeError("Extra data", text, _skip(text, pos)))
    return layout


def json_records(content: Any, errors: Errors) -> Iterator[Record]:
    """The records of a JSON file (its text, or a value the request already parsed), one at a time."""
    if isinstance(content, str):
        kind, where = _json_layout(content)
        if kind == "other":
            data: Any = None
        elif kind == "list":
            data = _lazy(content, where, 0)
        else:
            data = {key: _lazy(content, start, CONTINENTS_DEPTH if key == "continents" else 0) for key, start in where.items()}
    else:
        data = content
        _check_strings(data)
    count = [0]

    def add(item: Any, path: str, inherited: dict[str, Any], parent: Record | None, kind: str | None) -> Iterator[Record]:
        line = count[0] + 1
        if not isinstance(item, dict):
            errors.add(None, path, "Each record must be an object.", line=line)
            return
        unknown = sorted(set(item) - JSON_KEYS)
        if unknown:
            errors.add(None, path, f"Unknown keys: {', '.join(unknown)}.", line=line)
            return
        raw = {key: value for key, value in item.items() if key != "hosts"}
        for key, value in inherited.items():
            if not present(raw.get(key)):
                raw[key] = value
        count[0] += 1
        record = Record(line=line, kind=kind or record_kind(raw, errors, line), raw=raw, path=path, parent=parent)
        yield record
        nested = item.get("hosts")
        if nested is not None:
            if record.kind != "region" or not isinstance(nested, list):
                errors.add(record, "hosts", "Only a region can hold a list of hosts.")
            else:
                keep = {k: raw[k] for k in ("country", "region_name", "cidr") if present(raw.get(k))}
                for index, host in enumerate(nested):
                    yield from add(host, f"{path}.hosts[{index}]", keep, record, "host")

    def add_list(items: Any, path: str, inherited: dict[str, Any], kind: str | None) -> Iterator[Record]:
        if not isinstance(items, list | Iterator):
            errors.add(None, path, "Must be a list.", line=count[0] + 1)
            return
        for index, item in enumerate(items):
            yield from add(item, f"{path}[{index}]", inherited, None, kind)

    if isinstance(data, list | Iterator):
        yield from add_list(data, "", {}, None)
    elif isinstance(data, dict):
        unknown = sorted(set(data) - JSON_TOP_KEYS)
        if unknown:
            raise exceptions.ValidationFailed(
                "Unknown top-level keys.", details={"keys": unknown, "allowed": sorted(JSON_TOP_KEYS - {"exported_at", "filters"})}
            )
        for c_index, continent in enumerate(data.get("continents") or []):
            if not isinstance(continent, dict) or not isinstance(continent.get("countries", []), list | Iterator):
                errors.add(None, f"continents[{c_index}]", "Expected {continent, countries: [...]}.", line=count[0] + 1)
                continue
            for k_index, country in enumerate(continent.get("countries", [])):
                path = f"continents[{c_index}].countries[{k_index}]"
                if not isinstance(country, dict) or set(country) - {"country", "country_code", "code", "code3", "regions"}:
                    errors.add(None, path, "Expected {country, regions: [...]}.", line=count[0] + 1)
                    continue
                name = country.get("country") or country.get("country_code") or country.get("code") or ""
                yield from add_list(country.get("regions", []), f"{path}.regions", {"country": name}, "region")
        if "regions" in data:
            yield from add_list(data["regions"], "regions", {}, "region")
        if "hosts" in data:
            yield from add_list(data["hosts"], "hosts", {}, "host")
    else:
        raise exceptions.ValidationFailed(details={"file": ["Expected a list of records or an object with regions/hosts/continents."]})


def _check_strings(data: Any) -> None:
    """Refuse text the database cannot store (NUL, lone surrogates from `\\ud800` escapes): 400, not a 500."""
    for item in iter_strings(data):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise exceptions.ValidationFailed(details={"file": ["Strings must be valid Unicode (a lone surrogate escape)."]}) from None
        if "\x00" in item:
            raise exceptions.ValidationFailed(details={"file": ["Strings cannot contain NUL (\\u0000)."]})
