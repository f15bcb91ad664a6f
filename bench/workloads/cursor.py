"""Deep pages of the 1 M-host user's host list: keyset (`?cursor=`) against page numbers (`?page=`).

The 20,000th page of 50 hosts (rows 999,951-1,000,000) must cost what the first page does (target: p50
within 2× the first cursor page's). The cursor of page 20,000 is built from the position it continues from
(the `ip_int` of row 999,950, read once with the ORM) — the same opaque value a client reaches after
following 19,999 `next` links. The page-number equivalent (`?page=20000`, an OFFSET scan) is measured too,
for contrast.
"""

from __future__ import annotations

from typing import Any

from bench.measure import Client, Floor, Run
from bench.report import summarise
from foundation.pagination import encode_cursor
from ipam.models import Host

GROUP = "cursor"
PAGE_SIZE = 50
DEEP_PAGE = 20_000
WARM_UP = 5
FIRST = "host list, cursor page 1"
DEEP = f"host list, cursor page {DEEP_PAGE:,}"
OFFSET = f"host list, page={DEEP_PAGE:,} (OFFSET)"


def run(ctx: Run) -> list[dict[str, Any]]:
    rows = Host.objects.filter(user_id=ctx.user_id).order_by("ip_int").values_list("ip_int", flat=True)
    before = rows[(DEEP_PAGE - 1) * PAGE_SIZE - 1]  # the last row of page 19,999
    deep_url = f"/ipam/hosts?page_size={PAGE_SIZE}&cursor={encode_cursor([before])}"
    n = max(20, ctx.args.requests // 4)
    first, first_floor = _sample(ctx.client, f"/ipam/hosts?page_size={PAGE_SIZE}&cursor=", n)
    deep, deep_floor = _sample(ctx.client, deep_url, n)
    offset, offset_floor = _sample(ctx.client, f"/ipam/hosts?page_size={PAGE_SIZE}&page={DEEP_PAGE}", max(5, n // 4))
    first_row = summarise(FIRST, first, first_floor)
    deep_row = summarise(DEEP, deep, deep_floor, ratio_to_first_p50=round(_p50(deep) / max(_p50(first), 0.01), 2))
    return [first_row, deep_row, summarise(OFFSET, offset, offset_floor)]


def _sample(client: Client, url: str, n: int) -> tuple[list[float], list[float]]:
    """The ms of `n` requests of `url` (after the warm-up) and of the floor requests alternating with them."""
    samples = []
    floor = Floor(client)
    for index in range(WARM_UP + n):
        floor.tick(record=index >= WARM_UP)
        elapsed, response = client.timed("GET", url)
        assert response.status_code == 200, (url, response.status_code)
        assert len(response.json()["results"]) == PAGE_SIZE, url
        if index >= WARM_UP:
            samples.append(elapsed)
    return samples, floor.samples


def _p50(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]
