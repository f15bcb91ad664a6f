"""SSRF guard, table-driven over IPv6 encodings (issue 14 item 9).

Every way an IPv6 literal can carry an IPv4 address (IPv4-mapped, -translated, -compatible, 6to4, Teredo,
NAT64 well-known and local-use prefixes) is generated for refused IPv4 targets and must be refused; the same
encodings of a public IPv4 address are refused only where the IPv6 range itself is not global. Non-global
IPv6 ranges (site-local, documentation, discard, ULA, …) are refused whatever they embed. Both the check at
create time (`url_check`) and the check on the connected socket (`peer_check`) are exercised.
"""

from __future__ import annotations

import ipaddress

import pytest

from webhooks import ssrf

pytestmark = pytest.mark.django_db

REFUSED_V4 = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1"]
PUBLIC_V4 = "93.184.216.34"


def _v4int(v4: str) -> int:
    return int(ipaddress.IPv4Address(v4))


def encodings(v4: str) -> dict[str, str]:
    """Each IPv6 encoding of `v4`, by name."""
    n = _v4int(v4)
    hi, lo = n >> 16, n & 0xFFFF
    teredo_client = n ^ 0xFFFFFFFF
    return {
        "mapped": f"::ffff:{v4}",
        "mapped-hex": f"::ffff:{hi:x}:{lo:x}",
        "translated": f"::ffff:0:{v4}",
        "compatible": f"::{v4}",
        "6to4": f"2002:{hi:x}:{lo:x}::",
        "6to4-host-part": f"2002:{hi:x}:{lo:x}:1::1",
        "teredo-client": f"2001:0:4136:e378:8000:63bf:{teredo_client >> 16:x}:{teredo_client & 0xFFFF:x}",
        "teredo-server": f"2001:0:{hi:x}:{lo:x}:8000:63bf:a2b8:1cdd",
        "nat64": f"64:ff9b::{v4}",
        "nat64-hex": f"64:ff9b::{hi:x}:{lo:x}",
        "nat64-local": f"64:ff9b:1:{hi:x}:{lo >> 8:x}:{(lo & 0xFF) << 8:x}::",
    }


CASES = [(f"{v4} as {name}", literal) for v4 in REFUSED_V4 for name, literal in encodings(v4).items()]

NON_GLOBAL_V6 = [
    "::1",
    "::",
    "fec0::1",  # site-local (deprecated, still routed by some stacks)
    "fef0::1",
    "fe80::1",
    "fd00::1",
    "fc00::1",
    "ff02::1",
    "ff0e::1",
    "100::1",  # discard
    "2001:db8::1",  # documentation
    "3fff::1",  # documentation (RFC 9637)
    "2001:2::1",  # benchmarking
    "2001:10::1",  # ORCHID
    "5f00::1",  # SRv6 SIDs
    "4000::1",  # unassigned, outside global unicast
    "e000::1",
]


def _refused(literal: str) -> bool:
    try:
        ssrf.url_check(f"http://[{literal}]:8080/hook")
    except ssrf.UnsafeTarget:
        return True
    return False


def _peer_refused(literal: str) -> bool:
    try:
        ssrf.peer_check("hook.example", literal)
    except ssrf.UnsafeTarget:
        return True
    return False


@pytest.fixture(autouse=True)
def no_exceptions(settings):
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = []


@pytest.mark.parametrize("literal", [literal for _, literal in CASES], ids=[case for case, _ in CASES])
def test_every_ipv6_encoding_of_a_refused_ipv4_address_is_refused(literal):
    embedded = ssrf.embedded_ipv4(ipaddress.IPv6Address(literal))
    assert embedded, f"{literal} should be recognised as embedding an IPv4 address"
    assert _refused(literal) and _peer_refused(literal)


@pytest.mark.parametrize("name", sorted(encodings(PUBLIC_V4)))
def test_the_embedding_is_decoded_to_the_address_it_carries(name):
    literal = encodings(PUBLIC_V4)[name]
    assert ipaddress.IPv4Address(PUBLIC_V4) in ssrf.embedded_ipv4(ipaddress.IPv6Address(literal))


@pytest.mark.parametrize("literal", NON_GLOBAL_V6)
def test_every_non_global_ipv6_range_is_refused(literal):
    assert _refused(literal) and _peer_refused(literal)


def test_the_issue_examples_are_refused_through_the_api(api):
    for url in ("http://[2002:7f00:1::]/hook", "http://[fec0::1]/hook", "http://[64:ff9b::127.0.0.1]/hook"):
        response = api.post("/ipam/webhooks", {"webhook_url": url, "events": ["region.created"]}, format="json")
        assert response.status_code == 400 and response.json()["error"] == "unsafe_webhook_url", url


@pytest.mark.parametrize(
    "literal",
    [
        "2606:4700:4700::1111",  # ordinary global unicast
        "2a00:1450:4001:82a::200e",
        encodings(PUBLIC_V4)["6to4"],  # 6to4 of a public address
        encodings(PUBLIC_V4)["nat64"],  # NAT64 well-known prefix of a public address
    ],
)
def test_global_ipv6_addresses_and_public_embeddings_are_accepted(literal):
    assert not _refused(literal) and not _peer_refused(literal)


@pytest.mark.parametrize("name", ["translated", "compatible", "teredo-client", "nat64-local"])
def test_non_global_ipv6_ranges_stay_refused_even_when_they_embed_a_public_address(name):
    assert _refused(encodings(PUBLIC_V4)[name])


def test_an_operator_exception_for_an_ipv6_network_still_applies(settings):
    settings.IPAM_WEBHOOK_ALLOWED_HOSTS = ["fec0::/10"]
    assert not _refused("fec0::1")
