"""Shared helpers of the operator-console tests (tests/ipam/test_console_*.py and tests/browser/)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import Group

from tests.factories import UserFactory, make_host, make_region

ASSET = re.compile(r"""(?:src|href|action|url)\s*[=(]\s*["']?(https?://[^"' >)]+)""", re.IGNORECASE)
LOCAL_HOSTS = ("testserver", "localhost", "127.0.0.1", "[::1]")


def outside_hosts(html: str) -> list[str]:
    """Every absolute http(s) URL the page would load or post to whose host is not the app itself."""
    found = []
    for url in ASSET.findall(html):
        host = re.sub(r"^https?://", "", url).split("/")[0].split(":")[0]
        if host not in LOCAL_HOSTS and not url.startswith("http://[::1]"):
            found.append(url)
    return found


def console_operator(username: str = "operator") -> Any:
    """A staff user with the IPAM admin permission (group IPAM Admins): sees every namespace."""
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name="IPAM Admins"))
    return user


def seed(owner: Any, *, regions: int = 2, hosts: int = 3, country: str = "India", prefix: str = "seed") -> list[Any]:
    made = []
    for index in range(regions):
        region = make_region(owner, country, f"{prefix}-{owner.username}-{index}")
        for _ in range(hosts if index == 0 else 1):
            make_host(owner, region)
        made.append(region)
    return made
