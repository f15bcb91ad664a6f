"""What an import did, per collection: created, already there (re-run), skipped with reasons, normalised."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass


@dataclass
class CollectionStats:
    read: int = 0
    created: int = 0
    existing: int = 0  # imported by an earlier run (or matched): left unchanged
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)
    normalised: Counter[str] = dataclasses.field(default_factory=Counter)

    def merge(self, other: CollectionStats) -> None:
        self.read += other.read
        self.created += other.created
        self.existing += other.existing
        self.skipped.update(other.skipped)
        self.normalised.update(other.normalised)


@dataclass
class WebhookNotice:
    username: str
    email: str
    urls: list[str]


@dataclass
class ImportReport:
    dry_run: bool = False
    collections: dict[str, CollectionStats] = dataclasses.field(default_factory=dict)
    users_imported: list[str] = dataclasses.field(default_factory=list)
    users_failed: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    conflicts: list[str] = dataclasses.field(default_factory=list)
    webhook_notices: list[WebhookNotice] = dataclasses.field(default_factory=list)
    verify: list[str] = dataclasses.field(default_factory=list)  # counter drifts found after the import

    def stats(self, collection: str) -> CollectionStats:
        stats = self.collections.get(collection)  # not setdefault: that would build two Counters per call
        if stats is None:
            stats = self.collections[collection] = CollectionStats()
        return stats

    def created(self, collection: str, n: int = 1) -> None:
        self.stats(collection).created += n

    def existing(self, collection: str, n: int = 1) -> None:
        self.stats(collection).existing += n

    def skip(self, collection: str, reason: str, n: int = 1) -> None:
        self.stats(collection).skipped[reason] += n

    def normalise(self, collection: str, reason: str, n: int = 1) -> None:
        self.stats(collection).normalised[reason] += n

    def merge(self, other: ImportReport) -> None:
        for name, stats in other.collections.items():
            self.stats(name).merge(stats)
        self.users_imported += other.users_imported
        self.conflicts += other.conflicts
        self.webhook_notices += other.webhook_notices

    @property
    def total_new(self) -> int:
        return sum(stats.created for stats in self.collections.values())

    def collection_line(self, name: str) -> str:
        stats = self.stats(name)
        verb = "would be created" if self.dry_run else "new"
        skipped = sum(stats.skipped.values())
        return f"{name}: {stats.read} read, {stats.created} {verb}, {stats.existing} already imported, {skipped} skipped"

    def render(self) -> str:
        lines = [("DRY RUN — nothing was written. " if self.dry_run else "") + f"{self.total_new} new objects in total."]
        for name in self.collections:
            stats = self.collections[name]
            lines.append(self.collection_line(name))
            lines += [f"    skipped {n}: {reason}" for reason, n in stats.skipped.most_common()]
            lines += [f"    normalised {n}: {reason}" for reason, n in stats.normalised.most_common()]
        if self.users_failed:
            lines.append(f"{len(self.users_failed)} user(s) FAILED and were rolled back (nothing of them imported):")
            lines += [f"    {name}: {error}" for name, error in self.users_failed]
        if self.conflicts:
            lines.append("Conflicts with existing accounts (nothing overwritten):")
            lines += [f"    {conflict}" for conflict in self.conflicts]
        if self.webhook_notices:
            lines.append(
                "Tell these webhook owners: the signature format changed. Deliveries are now signed as "
                "X-IPAM-Signature: sha256=HMAC-SHA256(secret, '<X-IPAM-Timestamp>.<body>') — see docs/webhooks.md; "
                "the secret itself is unchanged (now encrypted at rest)."
            )
            lines += [f"    {n.username} <{n.email or 'no e-mail'}>: {', '.join(n.urls)}" for n in self.webhook_notices]
        if self.verify:
            lines.append("verify_counters found drift after the import:")
            lines += [f"    {drift}" for drift in self.verify]
        return "\n".join(lines)
