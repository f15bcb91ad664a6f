"""Bulk operations (tags) and their jobs."""

from __future__ import annotations


def bulk_jobs_prune(*, older_than_days: int) -> int:
    """Delete bulk jobs created more than `older_than_days` ago; returns how many were deleted."""
    return 0
