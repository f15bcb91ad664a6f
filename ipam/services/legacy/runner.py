"""One import path for every source: group the documents by owner, import each user in one transaction,
then check the allocator's derived state (`verify_counters`) over the whole database.

A user's documents are imported together or not at all: any error rolls back that user only and is
reported. `dry_run` runs the very same code and rolls every user back, so its counts (created, already
imported, skipped with reasons) are exactly what a real run would do.
"""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ipam import cache
from ipam.models import Country
from ipam.services.integrity import counters_check, counters_rebuild
from ipam.services.legacy.accounts import account_import
from ipam.services.legacy.address import address_write, hosts_import, regions_import
from ipam.services.legacy.bulk import bulk_tables_empty, check_deferred, deferred_indexes
from ipam.services.legacy.history import audit_import, quota_import
from ipam.services.legacy.quirks import oid
from ipam.services.legacy.readers import SourceReader, add_chunk
from ipam.services.legacy.report import ImportReport
from ipam.services.legacy.scope import Scope
from ipam.services.legacy.stores import (
    notifications_import,
    preferences_import,
    reservations_import,
    rules_import,
    shares_import,
    webhooks_import,
)
from ipam.services.legacy.writer import DEFAULT_BATCH

logger = logging.getLogger("ipam.import_original")

OWNED = (  # imported per user, in this order (later ones refer to earlier ones)
    "ipam_regions",
    "ipam_hosts",
    "ipam_user_quotas",
    "ipam_audit_history",
    "ipam_reservations",
    "ipam_shares",
    "ipam_user_preferences",
    "ipam_notifications",
    "ipam_notification_rules",
    "ipam_webhooks",
)
COUNTED_ONLY = {
    "ipam_export_jobs": "export jobs are transient (their files expired at the end of their day)",
    "ipam_bulk_jobs": "bulk jobs are transient (and never stored their operation, so they could not run)",
    "ipam_capacity_events": "capacity events: our capacity monitor derives its own state",
    "ipam_webhook_deliveries": "delivery history not imported (the original purged it after 30 days; ours starts empty)",
}
NOT_USER_DATA = {"continent_country_mapping", "migration_history", "ipam_audit"}


@dataclass
class ImportOptions:
    dry_run: bool = False
    usernames: Sequence[str] = ()
    batch_size: int = DEFAULT_BATCH


class _DryRun(Exception):
    """Raised at the end of a user's transaction in a dry run, to roll it back."""


Progress = Callable[[int, int, str], None]


def import_original(reader: SourceReader, *, options: ImportOptions, progress: Progress | None = None) -> ImportReport:
    """Import every selected user (see the module docstring). The cyclic garbage collector is paused meanwhile:
    the import allocates millions of short-lived acyclic objects (decoded documents, row tuples) and its
    generation scans would otherwise cost a sizeable share of the CPU time. Reference counting still frees each
    user's documents when the next user starts; the collector runs again when the import returns."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _import_original(reader, options=options, progress=progress)
    finally:
        if enabled:
            gc.enable()


def _import_original(reader: SourceReader, *, options: ImportOptions, progress: Progress | None = None) -> ImportReport:
    report = ImportReport(dry_run=options.dry_run)
    users = [doc for doc in reader.documents("users")]
    report.stats("users").read = len(users)
    owner_of: dict[str, int] = {}
    for index, doc in enumerate(users):
        for key in (oid(doc.get("_id")), str(doc.get("username") or "")):
            if key:
                owner_of.setdefault(key, index)
    wanted = _selected(users, options.usernames, report)
    buckets = _group(reader, owner_of, wanted, report)
    countries = list(Country.objects.all())
    with ExitStack() as bulk:
        if not options.dry_run and bulk_tables_empty():  # first import: one outer transaction, indexes built once
            bulk.enter_context(transaction.atomic())
            bulk.enter_context(deferred_indexes())
        for done, index in enumerate(sorted(wanted), start=1):
            doc = users[index]
            username = str(doc.get("username") or oid(doc.get("_id")))
            if progress:
                progress(done, len(wanted), username)
            docs = _documents(reader, buckets.pop(index, {}), index, owner_of, report)
            report.merge(_import_user(doc, docs, countries, options, report, username))
            del docs
    for name in sorted(reader.collections() - set(OWNED) - set(COUNTED_ONLY) - NOT_USER_DATA - {"users"}):
        if not name.startswith("system."):
            report.skip(name, "not an IPAM collection of the original: ignored", _count(reader, name))
    if not options.dry_run:
        report.verify = [str(drift) for drift in counters_check().drifts]
    return report


def _selected(users: list[dict[str, Any]], usernames: Sequence[str], report: ImportReport) -> set[int]:
    if not usernames:
        return set(range(len(users)))
    by_name = {str(doc.get("username")): index for index, doc in enumerate(users)}
    for name in usernames:
        if name not in by_name:
            report.users_failed.append((name, "no such username in the source"))
    return {by_name[name] for name in usernames if name in by_name}


def _group(reader: SourceReader, owner_of: dict[str, int], wanted: set[int], report: ImportReport) -> dict[int, dict[str, list[Any]]]:
    """Every owned document of the selected users, by user then collection; the others counted or skipped.

    A reader that can locate documents without decoding them (`DumpReader.owners`) gives where each one is:
    the buckets then hold positions, decoded one user at a time by `_documents`."""
    buckets: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    available = reader.collections()
    owners = getattr(reader, "owners", None)
    for collection in OWNED:
        if collection not in available:
            continue
        if owners is not None:
            for key, chunk in owners(collection):
                index = owner_of.get(key)
                if index is None:
                    _unowned(report, collection, key)
                elif index in wanted:
                    add_chunk(buckets[index][collection], chunk)
            continue
        for doc in reader.documents(collection):
            key = str(doc.get("user_id") or "")
            index = owner_of.get(key)
            if index is None:
                _unowned(report, collection, key)
            elif index in wanted:
                buckets[index][collection].append(doc)
    for collection, reason in COUNTED_ONLY.items():
        if collection in available:
            count = _count(reader, collection)
            report.stats(collection).read += count
            report.skip(collection, reason, count)
    return buckets


def _unowned(report: ImportReport, collection: str, key: str) -> None:
    report.stats(collection).read += 1
    reason = (
        "written by the original's periodic jobs (user 'system'): no user namespace"
        if key.startswith("system")
        else ("owner (user_id) not in the users collection")
    )
    report.skip(collection, reason)


def _count(reader: SourceReader, collection: str) -> int:
    owners = getattr(reader, "owners", None)
    return sum(1 for _ in (owners(collection) if owners is not None else reader.documents(collection)))


def _documents(
    reader: SourceReader, bucket: dict[str, list[Any]], index: int, owner_of: dict[str, int], report: ImportReport
) -> dict[str, list[Any]]:
    """One user's documents, decoded now when the bucket holds positions. Each decoded document's owner is
    checked again: one whose `user_id` was only found inside a nested object is not this user's."""
    load = getattr(reader, "load", None)
    if load is None:
        return bucket
    docs: dict[str, list[Any]] = {}
    for collection, chunks in bucket.items():
        mine = docs[collection] = []
        for doc in load(chunks):
            key = str(doc.get("user_id") or "")
            if owner_of.get(key) == index:
                mine.append(doc)
            else:
                _unowned(report, collection, key)
    return docs


def _import_user(
    doc: dict[str, Any], docs: dict[str, list[Any]], countries: list[Country], options: ImportOptions, report: ImportReport, username: str
) -> ImportReport:
    mine = ImportReport(dry_run=options.dry_run)
    try:
        with transaction.atomic():
            account = account_import(doc, report=mine)
            if account is not None:
                scope = Scope(
                    user=account.user,
                    report=mine,
                    countries=countries,
                    batch_size=options.batch_size,
                    fresh=account.created,
                    now=timezone.now(),
                    keys=account.keys,
                )
                _import_owned(scope, docs)
                if connection.vendor == "postgresql" and connection.savepoint_ids:
                    check_deferred()  # inside the bulk transaction: this user's remaining foreign keys are checked now, not at the end
                mine.users_imported.append(account.user.username)
                user_id = scope.user_id
                transaction.on_commit(lambda: cache.forget_user_history(user_id))
            if options.dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except Exception as exc:  # one user's failure must not stop the others: it is rolled back and reported
        logger.exception("import of user %s failed; rolled back", username)
        report.users_failed.append((username, f"{type(exc).__name__}: {exc}"))
        return ImportReport(dry_run=options.dry_run)
    return mine


def _import_owned(scope: Scope, docs: dict[str, list[Any]]) -> None:
    regions_import(scope, docs.get("ipam_regions", []))
    hosts_import(scope, docs.get("ipam_hosts", []))
    address_write(scope)
    quota_import(scope, docs.get("ipam_user_quotas", []))
    audit_import(scope, docs.get("ipam_audit_history", []))
    reservations_import(scope, docs.get("ipam_reservations", []))
    shares_import(scope, docs.get("ipam_shares", []))
    preferences_import(scope, docs.get("ipam_user_preferences", []))
    notifications_import(scope, docs.get("ipam_notifications", []))
    rules_import(scope, docs.get("ipam_notification_rules", []))
    webhooks_import(scope, docs.get("ipam_webhooks", []))
    quota = scope.report.collections.get("ipam_user_quotas")
    if scope.new_regions or scope.new_hosts or (quota and quota.created):
        counters_rebuild(user_id=scope.user_id, region_ids=scope.touched_regions)
