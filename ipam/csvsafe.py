"""CSV formula injection (OWASP "CSV Injection"): a spreadsheet evaluates a cell that starts with `=`, `+`, `-`,
`@`, a tab or a carriage return as a formula. Exports write such text cells with a leading single quote
(`'=1+1`), which spreadsheets show as text; the import removes that one quote again so an exported file
re-imports to the original values.

So that the quote is unambiguous, a text cell that itself starts with a quote is also prefixed (`'x` is written
`''x`); the import strips a leading quote only when a trigger character or another quote follows it, so a
hand-made file's `'abc` stays `'abc`. Only text is touched: numbers are written as numbers.
"""

from __future__ import annotations

from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = (*FORMULA_TRIGGERS, "'")


def neutralise_cell(value: Any) -> Any:
    """The value as an export cell: text that a spreadsheet would evaluate gets a leading single quote."""
    if isinstance(value, str) and value.startswith(_ESCAPED):
        return "'" + value
    return value


def neutralise_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: neutralise_cell(value) for key, value in row.items()}


def unquote_cell(value: str) -> str:
    """The original text of an exported cell (undoes `neutralise_cell`)."""
    if len(value) > 1 and value[0] == "'" and value[1] in _ESCAPED:
        return value[1:]
    return value
