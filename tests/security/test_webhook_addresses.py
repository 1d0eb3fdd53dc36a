"""Issue 28, finding 7: IPv6 addresses that carry an IPv4 address reach it: 6to4
(2002::/16) and Teredo (2001::/32) tunnel to the IPv4 inside them, NAT64 (64:ff9b::/96)
translates to it. ``http://[2002:7f00:1::]/`` (6to4 to 127.0.0.1) was accepted as a
webhook URL. The IPv4 inside is now checked like any address, and local-use NAT64
(64:ff9b:1::/48), which leads wherever the local translator says, is refused."""
from __future__ import annotations

import ipaddress

import pytest

from portal.webhooks import service
from portal.webhooks.service import WebhookRefused
from tests.clients import bearer


def teredo(server: str, client: str) -> str:
    """A Teredo address (RFC 4380): prefix, server, flags, obscured port and client."""
    value = (0x2001_0000 << 96 | int(ipaddress.IPv4Address(server)) << 64 | 0x8000 << 48
             | 0x9C40 << 32 | int(ipaddress.IPv4Address(client)) ^ 0xFFFF_FFFF)
    return str(ipaddress.IPv6Address(value))


PUBLIC_SERVER = "65.54.227.120"
# (address, words of the refusal): each was accepted before, or refused for a wrong reason.
REFUSED = [
    ("2002:7f00:1::", "6to4 address that leads to 127.0.0.1, a loopback"),
    ("2002:a9fe:a9fe::1", "leads to 169.254.169.254, a link-local or cloud metadata"),
    ("2002:6464:64c8::", "leads to 100.100.100.200, a link-local or cloud metadata"),
    ("2002:a00:1::", "leads to 10.0.0.1, a private address"),
    ("2002:c0a8:101::", "leads to 192.168.1.1, a private address"),
    ("2002:6440:1::", "leads to 100.64.0.1, a private address"),
    ("2002::", "leads to 0.0.0.0, not a unicast"),
    (teredo(PUBLIC_SERVER, "127.0.0.1"), "Teredo address that leads to 127.0.0.1, a loopback"),
    (teredo(PUBLIC_SERVER, "169.254.169.254"), "leads to 169.254.169.254"),
    (teredo("127.0.0.1", "93.184.216.34"), "leads to 127.0.0.1, a loopback"),
    (teredo(PUBLIC_SERVER, "10.0.0.1"), "leads to 10.0.0.1, a private address"),
    ("64:ff9b::7f00:1", "a loopback address"),
    ("64:ff9b::a9fe:a9fe", "a link-local or cloud metadata address"),
    ("64:ff9b::a00:1", "a private address"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("64:ff9b:1:ffff::5db8:d822", "local-use NAT64"),
]


@pytest.mark.parametrize("address, words", REFUSED)
def test_tunnelled_and_translated_ipv4_is_checked(admin, address, words):
    with pytest.raises(WebhookRefused) as refused:
        service.create(admin, url=f"http://[{address}]/hooks", events=["incident.created"])
    assert refused.value.field == "url" and words in refused.value.message


def test_the_review_s_url_is_refused_by_the_api(client, admin):
    response = client.post("/api/v1/webhooks", headers=bearer(admin), json={
        "url": "http://[2002:7f00:1::]/", "events": ["incident.created"]})
    assert response.status_code == 422
    assert "127.0.0.1, a loopback address" in str(response.get_json())


@pytest.mark.parametrize("address", [
    "2002:7f00:1::", teredo(PUBLIC_SERVER, "127.0.0.1"), "64:ff9b::7f00:1",
    teredo(PUBLIC_SERVER, "169.254.169.254"), "64:ff9b:1::a00:1"])
def test_allowing_private_addresses_never_opens_loopback_or_metadata(admin, app,
                                                                     monkeypatch, address):
    # Teredo's own prefix counts as private: with private addresses allowed, a Teredo
    # address to loopback went through.
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    with pytest.raises(WebhookRefused):
        service.create(admin, url=f"http://[{address}]/", events=["incident.created"])


@pytest.mark.parametrize("address", [
    "2002:5db8:d822::1",        # 6to4 to a public address
    "64:ff9b::5db8:d822",       # NAT64 of a public address (DNS64 answers these)
])
def test_tunnels_to_public_addresses_are_allowed(admin, address):
    endpoint, _secret = service.create(admin, url=f"https://[{address}]/hooks",
                                       events=["incident.created"])
    assert endpoint.url == f"https://[{address}]/hooks"
