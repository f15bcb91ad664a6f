"""Comments on regions and hosts: append-only, audited in the same transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from foundation.types import Actor
from ipam import exceptions
from ipam.models import Comment, Host, Region
from ipam.services.audit import audit_record

COMMENT_MAX = 2000
RESOURCE_TYPES = ("region", "host")


def clean_comment_text(value: Any) -> str:
    if not isinstance(value, str):
        raise exceptions.ValidationFailed(details={"text": ["Must be a string."]})
    text = value.strip()
    if not 1 <= len(text) <= COMMENT_MAX:
        raise exceptions.ValidationFailed(details={"text": [f"Must be 1-{COMMENT_MAX} characters after trimming."]})
    return text


def comment_target(*, user: Any, resource_type: str, resource_id: Any) -> Region | Host:
    """The caller's region or host (404 for anyone else's or a missing one)."""
    if resource_type == "region":
        region = Region.objects.select_related("country").filter(user=user, pk=resource_id).first()
        if region is None:
            raise exceptions.NotFound("Region not found.", code="region_not_found")
        return region
    if resource_type == "host":
        host = Host.objects.select_related("region__country").filter(user=user, pk=resource_id).first()
        if host is None:
            raise exceptions.NotFound("Host not found.", code="host_not_found")
        return host
    raise exceptions.ValidationFailed(details={"resource_type": ["Must be region or host."]})


def comment_create(*, actor: Actor, resource_type: str, resource_id: Any, text: Any, performed_by: Any = None) -> Comment:
    """Append a comment to the caller's region or host.

    `performed_by`: a staff user commenting in the actor's namespace (the admin), recorded as the comment's
    author and the audit actor."""
    text = clean_comment_text(text)
    author = performed_by or actor
    with transaction.atomic():
        target = comment_target(user=actor, resource_type=resource_type, resource_id=resource_id)
        region = target if isinstance(target, Region) else target.region
        comment = Comment.objects.create(
            user=actor, resource_type=resource_type, resource_id=target.pk, text=text, author=author.get_username()
        )
        audit_record(
            actor=author,
            user_id=actor.pk,
            action_type="comment",
            resource_type=resource_type,
            resource_id=target.pk,
            ip_address=target.ip_address if isinstance(target, Host) else "",
            cidr=region.cidr,
            country_code=region.country.code,
            region_id=region.pk,
            snapshot={"comment_id": str(comment.pk), "text": text, "author": comment.author},
        )
    return comment
