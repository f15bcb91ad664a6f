"""Periodic maintenance tasks that span areas (the `housekeeping` and `capacity_monitor` jobs)."""
