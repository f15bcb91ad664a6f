"""Cached reads are invalidated when the write *commits*, not before (issue 14, item 18).

Every write bumps its user's cache version in `transaction.on_commit` (`ipam.services.audit.audit_save_many`;
`ipam.cache` explains the versions). Bumped any earlier, a reader on another connection that runs between the
bump and the commit computes from the old rows and stores the result under the *new* version — served as
current until the next write. This test makes exactly that reader run (threads, one connection each, the
writer paused inside its transaction) and asks that the first read after the commit sees the write.
Moving the bump before the commit makes it fail (tried: docs/reliability.md, "Hardening round 2").
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections, transaction

from ipam.selectors.dashboard import dashboard_stats
from ipam.services.hosts import host_allocate
from tests.factories import make_region

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_read_between_a_write_and_its_commit_is_not_served_after_the_commit(alice: Any) -> None:
    region = make_region(alice)
    written, read = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with transaction.atomic():
                host_allocate(actor=alice, region_id=region.pk, hostname="late")
                written.set()
                assert read.wait(30), "the reader never ran"
            # committed here: on_commit bumps alice's version
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            written.set()
            connections.close_all()

    def reader() -> None:
        try:
            assert written.wait(30)
            seen["stats"], seen["hit"] = dashboard_stats(alice)  # another connection: the host is not committed yet
        except BaseException as exc:
            errors.append(exc)
        finally:
            read.set()
            connections.close_all()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    # The race really happened: the reader computed (a miss) from the rows before the commit, and cached that.
    assert (seen["stats"]["total_hosts"], seen["hit"]) == (0, False)

    after, hit = dashboard_stats(alice)
    assert after["total_hosts"] == 1, "a value computed before the commit was served after it"
    assert hit is False
    assert dashboard_stats(alice) == (after, True)  # and the fresh value is cached from now on
