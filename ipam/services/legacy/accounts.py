"""`users` → Django users: bcrypt hashes kept, `ipam:*` permissions mapped to the IPAM groups.

An existing Django user with the same username is *matched*: the import puts the original's data in that
user's namespace and changes nothing of the account itself (password, e-mail, groups); every difference
is reported as a conflict. A user created by an earlier run is recognised by its imported password hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from ipam.services.legacy.quirks import aware, oid, text
from ipam.services.legacy.report import ImportReport

COLLECTION = "users"
BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
GROUP_FOR = {  # the IPAM groups of ipam/migrations/0002, largest first
    "IPAM Admins": {"read", "allocate", "update", "release", "admin"},
    "IPAM Operators": {"read", "allocate", "update", "release"},
    "IPAM Readers": {"read"},
}


@dataclass
class Account:
    user: Any
    created: bool
    keys: set[str]  # the `user_id` values the original's documents of this user carry (ObjectId string, username)


def password_of(doc: dict[str, Any]) -> str | None:
    """`bcrypt$<hash>` (Django's BCryptPasswordHasher format) or None. Older documents use `password_hash`."""
    raw = doc.get("hashed_password") or doc.get("password_hash")
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return f"bcrypt${raw}" if isinstance(raw, str) and BCRYPT.match(raw) else None


def ipam_permissions(doc: dict[str, Any]) -> set[str]:
    values = doc.get("permissions") or []
    found = {str(p).split(":", 1)[1] for p in values if isinstance(p, str) and p.startswith("ipam:")}
    return found & {"read", "allocate", "update", "release", "admin"}


def groups_and_extras(perms: set[str]) -> tuple[list[str], set[str]]:
    """The largest IPAM group whose permissions the user fully had, plus the rest as direct permissions.

    The original's permissions were flat (`ipam:admin` did not imply the others there); here admin implies
    all, so a user with `ipam:admin` gets the Admins group."""
    if "admin" in perms:
        return ["IPAM Admins"], set()
    for name, needed in GROUP_FOR.items():
        if needed <= perms:
            return [name], perms - needed
    return [], perms


def account_import(doc: dict[str, Any], *, report: ImportReport) -> Account | None:
    """Create or match the Django user of one `users` document (inside the caller's transaction)."""
    username = text(doc.get("username"), 150).strip()
    if not username:
        report.skip(COLLECTION, "no username")
        return None
    keys = {username, oid(doc.get("_id"))} - {""}
    User = get_user_model()
    password = password_of(doc)
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        report.existing(COLLECTION)
        if not (password and existing.password == password):  # not the account an earlier run created
            report.conflicts.append(_conflict(existing, doc, password))
        return Account(user=existing, created=False, keys=keys)

    user = User(
        username=username,
        email=text(doc.get("email"), 254),
        is_active=doc.get("is_active") is not False,
        last_login=aware(doc.get("last_login")),
    )
    joined = aware(doc.get("created_at")) or (doc["_id"].generation_time if isinstance(doc.get("_id"), ObjectId) else None)
    if joined:
        user.date_joined = joined
    if password:
        user.password = password
    else:
        user.set_unusable_password()
        report.normalise(COLLECTION, "no bcrypt hash (hashed_password/password_hash): created without a usable password")
    user.save()
    perms = ipam_permissions(doc)
    groups, extras = groups_and_extras(perms)
    if groups:
        user.groups.set(Group.objects.filter(name__in=groups))
    if extras:
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="ipam", codename__in=extras))
        report.normalise(COLLECTION, "permissions that fit no IPAM group: granted directly")
    if not perms:
        report.normalise(COLLECTION, "no ipam:* permission: created without IPAM access")
    report.created(COLLECTION)
    return Account(user=user, created=True, keys=keys)


def _conflict(existing: Any, doc: dict[str, Any], password: str | None) -> str:
    differences = []
    if password and existing.password != password:
        differences.append("password differs (the existing one is kept; the original's hash was not imported)")
    email = text(doc.get("email"), 254)
    if email and email.lower() != (existing.email or "").lower():
        differences.append(f"e-mail differs ({existing.email or 'none'} here, {email} there; kept)")
    wanted, _ = groups_and_extras(ipam_permissions(doc))
    have = set(existing.groups.values_list("name", flat=True))
    if set(wanted) - have:
        differences.append(f"IPAM groups not granted ({', '.join(sorted(set(wanted) - have))}); grant them by hand if intended")
    detail = "; ".join(differences) or "no differences"
    return f"{existing.username}: matched the existing user (data imported into its namespace): {detail}"
