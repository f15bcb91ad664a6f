"""The median of several `bench/run.py` reports, scenario by scenario, with the issue-19 verdicts on it.

    .venv/bin/python bench/median.py bench/results/final-1.json bench/results/final-2.json bench/results/final-3.json

Issue 19 is met when the *median of three runs* meets each target: this prints one Markdown table with, per
scenario, the median p50 and p95 (ms), the median multiple of the floor (each run's ratio is to its own floor:
the floor requests interleaved with the scenario, or for older reports and rows without them the run's floor
row), the median floor p50 the ratios were taken against, the median throughput where there is one, and ✔/✘ against `FLOOR_TARGETS` /
`THROUGHPUT_TARGETS` and the scenario's own target (`bench/report.py`). `--json OUT` writes the same rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import FLOOR_TARGETS, THROUGHPUT_TARGETS

NUMERIC = (
    "p50_ms",
    "p95_ms",
    "floor_p50_ms",
    "floor_p95_ms",
    "x_floor_p50",
    "x_floor_p95",
    "throughput_per_s",
    "duplicates",
    "server_errors",
    "seconds",
)


def median_rows(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per scenario (in the first report's order): the median of each numeric field over the reports
    that have the scenario, how many runs it was in, and each run's own verdicts."""
    order: list[str] = []
    by_name: dict[str, list[dict[str, Any]]] = {}
    for report in reports:
        for row in report["results"]:
            name = row["scenario"]
            if name not in by_name:
                order.append(name)
                by_name[name] = []
            by_name[name].append(row)
    rows = []
    for name in order:
        runs = by_name[name]
        row: dict[str, Any] = {"scenario": name, "runs": len(runs)}
        for field in NUMERIC:
            values = [r[field] for r in runs if isinstance(r.get(field), int | float)]
            if values:
                row[field] = round(statistics.median(values), 2)
        row["target"] = runs[0].get("target", "—")
        row["met_per_run"] = "".join(r.get("meets_target", "—") for r in runs)
        row["floor_target"] = runs[0].get("floor_target", "")
        row["meets_floor_target"] = floor_verdict(row)
        rows.append(row)
    return rows


def floor_verdict(row: dict[str, Any]) -> str:
    """✔/✘ of the median against the issue-19 target of the scenario, "" when it has none."""
    name = row["scenario"]
    if name in FLOOR_TARGETS and "x_floor_p50" in row:
        return "✔" if row["x_floor_p50"] <= FLOOR_TARGETS[name] else "✘"
    if name in THROUGHPUT_TARGETS and "throughput_per_s" in row:
        clean = row.get("duplicates") == 0 and row.get("server_errors") == 0
        return "✔" if clean and row["throughput_per_s"] >= THROUGHPUT_TARGETS[name] else "✘"
    return ""


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| scenario | runs | p50 ms | p95 ms | floor p50 ms | × floor p50 | alloc/s | target | met (each run) "
        "| floor target | met (median) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cells = [
            row["scenario"],
            row["runs"],
            row.get("p50_ms", ""),
            row.get("p95_ms", ""),
            row.get("floor_p50_ms", ""),
            row.get("x_floor_p50", ""),
            row.get("throughput_per_s", ""),
            row["target"],
            row["met_per_run"],
            row["floor_target"],
            row["meets_floor_target"],
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="bench/run.py --output files")
    parser.add_argument("--json", type=Path, help="also write the median rows here")
    args = parser.parse_args()
    reports = [json.loads(path.read_text()) for path in args.reports]
    rows = median_rows(reports)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
