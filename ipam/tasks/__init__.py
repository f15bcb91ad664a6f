"""Celery tasks of the ipam package, one module per area (Celery autodiscovers `ipam.tasks`).

Task names are plain and stable (`@shared_task(name="...")`) because the beat schedule
(`ipam_project/schedule.py`) and operators refer to them.
"""

from . import bulk, capacity, exports, housekeeping, imports, reservations

__all__ = ["bulk", "capacity", "exports", "housekeeping", "imports", "reservations"]
