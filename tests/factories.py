"""factory-boy factories. Regions and hosts are made through the services so counters, bitmaps,
quotas and audit rows stay consistent with what the API would have written."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model

from ipam.models import Host, Region
from ipam.services.hosts import host_allocate
from ipam.services.regions import region_allocate


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("correct-horse-battery-staple")


_counter = {"n": 0}


def make_region(user: Any, country: str = "India", name: str | None = None, **kwargs: Any) -> Region:
    _counter["n"] += 1
    return region_allocate(actor=user, country=country, region_name=name or f"region-{_counter['n']}", **kwargs)


def make_host(user: Any, region: Region, hostname: str | None = None, **kwargs: Any) -> Host:
    _counter["n"] += 1
    return host_allocate(actor=user, region_id=region.pk, hostname=hostname or f"host-{_counter['n']}", **kwargs)
