"""Import regions and hosts from CSV or JSON (the layouts `ipam.services.exports` writes, or hand-made):
`parsing` reads the file into records, `cleaning` checks their fields, `running` writes them."""

from ipam.services.imports.cleaning import import_parse
from ipam.services.imports.parsing import MODES, PLACEMENTS, RECORD_KINDS, ROW_STATUSES, format_from_name, max_bytes, too_large
from ipam.services.imports.running import import_run

__all__ = [
    "MODES",
    "PLACEMENTS",
    "RECORD_KINDS",
    "ROW_STATUSES",
    "format_from_name",
    "import_parse",
    "import_run",
    "max_bytes",
    "too_large",
]
