"""SSRF guard: webhook targets must be public addresses unless an operator allows them.

Refused: loopback, private (RFC 1918, ULA), link-local, shared (CGNAT), multicast, unspecified and
reserved addresses; for IPv6 everything outside global unicast (2000::/3: so site-local fec0::/10 too) and the
non-global ranges inside it (documentation, IETF protocol assignments, 3fff::/20), and every address that embeds
an IPv4 address that is refused (IPv4-mapped, -compatible and -translated, 6to4 2002::/16, Teredo 2001::/32,
NAT64 64:ff9b::/96 and 64:ff9b:1::/48). The one IPv6 range outside 2000::/3 that may pass is the NAT64
well-known prefix 64:ff9b::/96, and only when the IPv4 address it embeds is public. `IPAM_WEBHOOK_ALLOWED_HOSTS` lists exceptions as host
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


_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: globally reachable, embeds the last 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, never global
_EMBEDS_LAST_32 = [  # IPv4-mapped, IPv4-translated (SIIT), IPv4-compatible (deprecated), NAT64 well-known
    ipaddress.IPv6Network("::ffff:0:0/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
    ipaddress.IPv6Network("::/96"),
    _NAT64_WELL_KNOWN,
]
# Non-global ranges inside 2000::/3 that Python 3.11's `is_global` does not know (IANA special-purpose registry).
_NON_GLOBAL_V6 = [ipaddress.IPv6Network("3fff::/20")]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (a translator or tunnel would deliver to them)."""
    found: list[ipaddress.IPv4Address] = []
    value = int(ip)
    if any(ip in net for net in _EMBEDS_LAST_32):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if ip in _NAT64_LOCAL:  # RFC 6052 /48 layout: bits 48-63 and 72-87 (bits 64-71 are the "u" octet)
        found.append(ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16 | ((value >> 40) & 0xFFFF)))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client); Python undoes the client's obfuscation
    return found


def is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback or ip.is_link_local)
    embedded = embedded_ipv4(ip)
    if embedded and not all(is_public(v4) for v4 in embedded):
        return False
    if ip in _NAT64_WELL_KNOWN:
        return True  # its embedded address was public (checked above)
    if ip not in _GLOBAL_UNICAST or any(ip in net for net in _NON_GLOBAL_V6):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_link_local or ip.is_site_local)


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
