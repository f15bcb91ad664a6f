"""Geometry for the console's server-rendered SVG charts (no JavaScript chart library, nothing from a CDN).

Templates draw what these return: plain numbers, so a chart is testable without a browser.
"""

from __future__ import annotations

from typing import Any

DAY_WIDTH = 8
CHART_HEIGHT = 120


def day_columns(days: list[dict[str, Any]], *, height: int = CHART_HEIGHT) -> dict[str, Any]:
    """Allocations (up) and releases (down) per day as two bars per column, scaled to the busiest day."""
    peak = max([max(d["allocations"], d["releases"]) for d in days] or [0]) or 1
    half = height // 2
    columns = []
    for index, day in enumerate(days):
        up = round(day["allocations"] * (half - 2) / peak)
        down = round(day["releases"] * (half - 2) / peak)
        columns.append(
            {
                "x": index * DAY_WIDTH,
                "day": day["day"],
                "allocations": day["allocations"],
                "releases": day["releases"],
                "up_y": half - up,
                "up_h": up,
                "down_h": down,
            }
        )
    return {
        "columns": columns,
        "width": len(days) * DAY_WIDTH,
        "height": height,
        "middle": half,
        "bar_width": DAY_WIDTH - 2,
        "peak": peak if days else 0,
        "total_allocations": sum(d["allocations"] for d in days),
        "total_releases": sum(d["releases"] for d in days),
    }


def level(percent: float) -> str:
    """The colour class of a utilization: ok, busy (≥ 50 %), warn (≥ 80 %), full (≥ 100 %)."""
    if percent >= 100:
        return "full"
    if percent >= 80:
        return "warn"
    if percent >= 50:
        return "busy"
    return "ok"


def heat(percent: float) -> str:
    """The colour class of a map cell, in five steps of utilization (empty cells are `free`)."""
    if percent >= 100:
        return "h4"
    if percent >= 75:
        return "h3"
    if percent >= 50:
        return "h2"
    if percent >= 25:
        return "h1"
    return "h0"
