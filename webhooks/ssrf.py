"""SSRF guard: webhook targets must be public addresses unless an operator allows them.

Refused: loopback, private (RFC 1918, ULA), link-local, shared (CGNAT), multicast, unspecified and
reserved addresses, IPv4-mapped forms included. `IPAM_WEBHOOK_ALLOWED_HOSTS` lists exceptions as host
names (`receiver.internal`), addresses (`127.0.0.1`) or networks (`10.20.0.0/16`).

Checked when a webhook is created or its URL changes (400), before each attempt, and on the socket the
transport actually connected (`peer_check`), so DNS answers that change between check and connect
(rebinding) cannot reach a refused address.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(Exception):
    """The URL is not a target the service may call."""


def resolve(host: str, port: int) -> list[str]:
    """Addresses `host` resolves to (the DNS lookup; tests replace it to simulate names)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _allowed() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks = []
    for entry in settings.IPAM_WEBHOOK_ALLOWED_HOSTS:
        entry = entry.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def _as_ip(value: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public(ip: IPAddress) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback or ip.is_link_local)


def _ip_permitted(ip: IPAddress, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    return is_public(ip) or any(ip.version == net.version and ip in net for net in networks)


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or UnsafeTarget with the reason."""
    if not isinstance(url, str) or not url or len(url) > 500 or any(ch.isspace() for ch in url):
        raise UnsafeTarget("Must be an http or https URL of at most 500 characters without spaces.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"Not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget("Only http and https URLs are allowed.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("The URL has no host.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def url_check(url: str) -> None:
    """Raise UnsafeTarget unless every address `url`'s host resolves to is permitted."""
    _, host, port = split_url(url)
    names, networks = _allowed()
    if host.lower() in names:
        return
    literal = _as_ip(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            resolved = resolve(host, port)
        except (OSError, UnicodeError):
            raise UnsafeTarget(f"The host {host!r} could not be resolved.") from None
        addresses = [ip for ip in (_as_ip(a) for a in resolved) if ip is not None]
        if not addresses:
            raise UnsafeTarget(f"The host {host!r} could not be resolved.")
    refused = [str(ip) for ip in addresses if not _ip_permitted(ip, networks)]
    if refused:
        raise UnsafeTarget(
            f"The host {host!r} resolves to a non-public address ({', '.join(refused)}); add it to IPAM_WEBHOOK_ALLOWED_HOSTS to allow it."
        )


def peer_check(host: str, peer_address: str) -> None:
    """Raise UnsafeTarget if the connected peer is not permitted for `host` (called by the transport)."""
    names, networks = _allowed()
    if host.lower().rstrip(".").strip("[]") in names:
        return
    ip = _as_ip(peer_address)
    if ip is None or not _ip_permitted(ip, networks):
        raise UnsafeTarget(f"Connected to a non-public address ({peer_address}) for host {host!r}; refused.")
