"""The state of one user's import: who, what already exists in the namespace, and the id maps the
collections need from each other (hosts → regions, shares/audit → regions and hosts)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

from ipam.models import Country
from ipam.services.legacy.report import ImportReport


@dataclass
class RegionRef:
    pk: uuid.UUID
    x: int
    y: int
    country_code: str
    created_at: Any = None


@dataclass
class HostRef:
    pk: uuid.UUID
    region: RegionRef
    z: int


@dataclass
class Scope:
    user: Any
    report: ImportReport
    countries: list[Country]
    batch_size: int
    fresh: bool  # the user was created by this run: nothing of theirs can exist yet (no look-ups needed)
    now: Any  # fallback timestamp for documents that carry none
    keys: set[str] = dataclasses.field(default_factory=set)  # the original's user_id values of this user
    regions: dict[str, RegionRef] = dataclasses.field(default_factory=dict)  # legacy id → region here
    regions_by_xy: dict[tuple[int, int], RegionRef] = dataclasses.field(default_factory=dict)
    hosts: dict[str, HostRef] = dataclasses.field(default_factory=dict)  # legacy id → host here
    new_regions: list[tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=list)  # (legacy id, row)
    new_hosts: list[tuple[str, dict[str, Any]]] = dataclasses.field(default_factory=list)
    touched_regions: set[uuid.UUID] = dataclasses.field(default_factory=set)  # existing regions given new hosts
    new_comments: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    _by_x: list[Country | None] = dataclasses.field(default_factory=list)  # X → country, built on first use

    @property
    def user_id(self) -> int:
        return int(self.user.pk)

    def country_for_x(self, x: int) -> Country | None:
        if not self._by_x:
            self._by_x = [next((c for c in self.countries if c.x_start <= i <= c.x_end), None) for i in range(256)]
        return self._by_x[x] if 0 <= x <= 255 else None

    def country_named(self, name: Any) -> Country | None:
        wanted = str(name or "").strip().lower()
        aliases = {"future use": "reserved", "usa": "united states", "united states of america": "united states"}
        wanted = aliases.get(wanted, wanted)
        return next((c for c in self.countries if wanted in {c.name.lower(), c.code.lower(), c.code3.lower()}), None)

    def actor_name(self, value: Any) -> str:
        """A `created_by`/`author_id` of the original (a user id) as a username where it is this user."""
        text = str(value or "")
        if not text:
            return self.user.username
        return self.user.username if text in self.keys else text[:150]
