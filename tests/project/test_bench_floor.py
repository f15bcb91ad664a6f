"""bench/run.py (issue 19): each scenario's ratio is to floor requests measured interleaved with it, in the same
loop — not to a floor measured minutes earlier or later, when the machine may run at another speed."""

from __future__ import annotations

from typing import Any

from bench.measure import FLOOR_PATH
from bench.median import median_rows, table
from bench.report import summarise, with_floor_ratios
from bench.workloads import allocation, batch, cursor, region_allocation, statistics

RUN_FLOOR = {"scenario": "floor: GET /ipam/quotas/me", "p50_ms": 4.0, "p95_ms": 8.0}


class _Response:
    def __init__(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.body = body
        self.headers = headers or {}
        self.status_code = 200

    def json(self) -> dict[str, Any]:
        return self.body


class FakeClient:
    """Records every request; the floor answers in `floor_ms`, everything else in `other_ms`."""

    def __init__(self, floor_ms: float = 2.0, other_ms: float = 5.0) -> None:
        self.calls: list[tuple[str, str]] = []
        self.floor_ms = floor_ms
        self.other_ms = other_ms

    def timed(self, method: str, path: str, **kwargs: Any) -> tuple[float, _Response]:
        self.calls.append((method, path))
        if path == FLOOR_PATH:
            return self.floor_ms, _Response({})
        if path == "/ipam/regions" and method == "POST":
            return self.other_ms, _Response({"region_id": f"r{len(self.calls)}"})
        if path == "/ipam/hosts/batch":
            return self.other_ms, _Response({"count": 100})
        if path.startswith("/ipam/hosts?"):
            return self.other_ms, _Response({"results": [{}] * cursor.PAGE_SIZE})
        return self.other_ms, _Response({}, {"X-Cache": "MISS"})

    def paths(self) -> list[str]:
        return ["floor" if path == FLOOR_PATH else path for _, path in self.calls]


def test_a_row_with_its_own_floor_is_divided_by_it_not_by_the_runs_floor():
    rows = [
        dict(RUN_FLOOR),
        summarise("GET region", [6.0] * 10, [3.0] * 9 + [6.0]),  # measured while the machine was slow
        {"scenario": "host allocation 8 clients, 1 region", "p50_ms": 8.0, "p95_ms": 16.0, "throughput_per_s": 300.0},
    ]
    with_floor_ratios(rows, rows[0])
    region = rows[1]
    assert (region["floor_n"], region["floor_p50_ms"], region["floor_p95_ms"]) == (10, 3.0, 6.0)
    assert region["x_floor_p50"] == 2.0 and region["x_floor_p95"] == 1.0  # not 1.5 / 0.75 (the run's floor)
    assert region["meets_floor_target"] == "✘"
    assert rows[2]["x_floor_p50"] == 2.0 and rows[2]["x_floor_p95"] == 2.0  # no floor of its own: the run's
    assert rows[0]["x_floor_p50"] == 1.0


def test_rows_with_their_own_floor_get_ratios_without_the_run_floor():
    rows = [summarise("GET host", [3.0], [2.0]), summarise("import", [9.0])]
    with_floor_ratios(rows)  # e.g. `--only objects`: the floor group did not run
    assert rows[0]["x_floor_p50"] == 1.5 and rows[0]["meets_floor_target"] == "✔"
    assert "x_floor_p50" not in rows[1] and "floor_p50_ms" not in rows[1]


def test_sequential_allocation_alternates_floor_and_allocation():
    client = FakeClient(floor_ms=2.0, other_ms=5.0)
    row = allocation.host_allocation_sequential(client, "US", 4, [])  # type: ignore[arg-type]
    assert client.paths() == ["/ipam/regions"] + ["floor", "/ipam/hosts"] * 4
    assert row["n"] == 4 and row["floor_n"] == 4 and row["floor_p50_ms"] == 2.0
    with_floor_ratios([row], RUN_FLOOR)
    assert row["x_floor_p50"] == 2.5


def test_region_allocation_alternates_floor_and_allocation():
    client = FakeClient()
    row = region_allocation.region_allocation(client, "JP", 3, "region allocation, empty country")  # type: ignore[arg-type]
    assert [p.split("/")[2] if p != "floor" else p for p in client.paths()] == ["floor", "regions", "regions"] * 3
    assert row["floor_n"] == 3


def test_batches_take_floor_requests_before_each_batch():
    client = FakeClient()
    row = batch.batches(client, "US", 2, [])  # type: ignore[arg-type]
    floors = ["floor"] * batch.FLOOR_PER_BATCH
    assert client.paths() == ["/ipam/regions", *floors, "/ipam/hosts/batch", *floors, "/ipam/hosts/batch"]
    assert row["floor_n"] == 2 * batch.FLOOR_PER_BATCH


def test_cursor_pages_and_cache_reads_interleave_the_floor_after_warm_up():
    client = FakeClient()
    samples, floor_samples = cursor._sample(client, "/ipam/hosts?cursor=", 4)  # type: ignore[arg-type]
    assert client.paths() == ["floor", "/ipam/hosts?cursor="] * (cursor.WARM_UP + 4)
    assert len(samples) == len(floor_samples) == 4  # warm-up floors are not kept

    client = FakeClient()
    floor = statistics.Floor(client)  # type: ignore[arg-type]
    scenarios: list[statistics.Scenario] = [("a", "/a", None, None), ("b", "/b", None, None)]
    statistics.cache_reads(client, scenarios, 3, warmup=1, floor=floor)  # type: ignore[arg-type]
    assert client.paths() == ["floor", "/a", "/b"] * 4 and len(floor.samples) == 3


def _report(region_p50: float, floor_p50: float) -> dict:
    row = summarise("GET region", [region_p50], [floor_p50])
    rows = [dict(RUN_FLOOR), row]
    with_floor_ratios(rows, rows[0])
    return {"results": rows}


def test_median_takes_each_runs_own_interleaved_ratio_and_reads_old_reports():
    old = {"results": [dict(RUN_FLOOR, x_floor_p50=1.0), {"scenario": "GET region", "p50_ms": 6.0, "p95_ms": 6.0, "x_floor_p50": 1.5}]}
    rows = {row["scenario"]: row for row in median_rows([_report(6.0, 5.0), _report(7.0, 5.0), old])}
    region = rows["GET region"]
    assert region["runs"] == 3 and region["x_floor_p50"] == 1.4  # 1.2, 1.4, 1.5 (against 1.5, 1.75 and 1.5 on the run floor)
    assert region["floor_p50_ms"] == 5.0 and region["meets_floor_target"] == "✔"
    assert "| GET region | 3 | 6.0 | 6.0 | 5.0 | 1.4 |" in table(list(rows.values()))
