"""Import regions and hosts from CSV or JSON (the layouts `ipam.services.exports` writes, or hand-made):
`parsing` reads the file into records, `cleaning` checks their fields, `running` writes them; `jobs` runs a
large file in the background (202 + status URL)."""

from ipam.services.imports.cleaning import import_parse
from ipam.services.imports.jobs import import_job_create, import_job_get, import_job_progress, runs_in_background
from ipam.services.imports.parsing import MODES, PLACEMENTS, RECORD_KINDS, ROW_STATUSES, format_from_name, max_bytes, too_large
from ipam.services.imports.running import import_run

__all__ = [
    "MODES",
    "PLACEMENTS",
    "RECORD_KINDS",
    "ROW_STATUSES",
    "format_from_name",
    "import_job_create",
    "import_job_get",
    "import_job_progress",
    "import_parse",
    "import_run",
    "max_bytes",
    "runs_in_background",
    "too_large",
]
