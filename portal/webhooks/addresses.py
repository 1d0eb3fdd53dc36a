"""Where a webhook may be sent: checked on the URL when an endpoint is saved, and on the
addresses its name resolves to just before every delivery (a name may point anywhere
tomorrow), and the request then goes to the address that was checked.

Always refused: loopback, link-local (which holds the clouds' metadata service
169.254.169.254), multicast, unspecified and reserved addresses, and the metadata
addresses outside those ranges (``fd00:ec2::254``, ``100.100.100.200``). Private ranges
(10/8, 172.16/12, 192.168/16, fc00::/7, the carrier-grade 100.64/10) are refused unless
``WEBHOOK_ALLOW_PRIVATE=1``. Networks in ``WEBHOOK_ALLOW_ADDRESSES`` are allowed whatever
they are (a receiver on the same host: ``127.0.0.1/32``). A name with any refused address
is refused, so a DNS answer cannot smuggle one in beside a public one.

IPv6 addresses that carry an IPv4 address are judged by it too, as ``why_refused`` says:
IPv4-mapped (``::ffff:0:0/96``) and NAT64 (``64:ff9b::/96``) ones are that IPv4 address
spelled in IPv6 and are judged as it; 6to4 (``2002::/16``) and Teredo (``2001::/32``)
tunnel to the IPv4 addresses inside them, which must pass as well as the IPv6 address
itself; local-use NAT64 (``64:ff9b:1::/48``, RFC 8215) is refused outright, since where it
leads depends on the local translator.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from portal.webhooks.models import URL_MAX

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = (ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200"))
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: the translator decides


class AddressRefused(ValueError):
    """The URL may not be called; the message says why, for the admin."""


@dataclass(frozen=True)
class Target:
    """A checked URL: what to connect to, and the names the request must carry."""

    url: str        # the URL with its host replaced by the checked address
    host: str       # the original name, for the Host header and TLS (SNI, certificate)
    host_header: str
    address: IPAddress


def check_url(url: str) -> tuple[str, str, int]:
    """Check the URL's form; return (scheme, host, port).

    :raises AddressRefused: not an http(s) URL with a host, or credentials in it.
    """
    if not isinstance(url, str) or not url.strip():
        raise AddressRefused("a URL is needed")
    if len(url) > URL_MAX:
        raise AddressRefused(f"the URL is longer than {URL_MAX} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise AddressRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise AddressRefused("the URL must start with https:// or http://")
    if not parts.hostname:
        raise AddressRefused("the URL has no host")
    if parts.username or parts.password:
        raise AddressRefused("put no user name or password in the URL: receivers check "
                             "the signature instead")
    if any(ord(char) < 33 for char in url.strip()):
        raise AddressRefused("the URL contains spaces or control characters")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def as_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv4-mapped or NAT64 address stands for, else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address


def tunnelled_ipv4(address: IPAddress) -> tuple[str, tuple[ipaddress.IPv4Address, ...]]:
    """The tunnel an IPv6 address goes through and the IPv4 addresses it reaches: 6to4's
    gateway, Teredo's server and client; ``("", ())`` for any other address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour:
            return "6to4", (address.sixtofour,)
        if address.teredo:
            return "Teredo", address.teredo
    return "", ()


def why_refused(address: IPAddress) -> str | None:
    """Why ``address`` may not be called, or None when it may."""
    address = as_ipv4(address)
    if _allowed(address):
        return None
    if address in NAT64_LOCAL:
        return "a local-use NAT64 address (64:ff9b:1::/48), which may lead anywhere"
    tunnel, inside = tunnelled_ipv4(address)
    for ipv4 in inside:
        reason = _why_refused(ipv4)
        if reason:
            return f"a {tunnel} address that leads to {ipv4}, {reason}"
    return _why_refused(address)


def _allowed(address: IPAddress) -> bool:
    return any(address in network for network in current_app.config["WEBHOOK_ALLOW_ADDRESSES"])


def _why_refused(address: IPAddress) -> str | None:
    # The rules for one address, tunnels aside.
    config = current_app.config
    if _allowed(address):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local or address in METADATA:
        return "a link-local or cloud metadata address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "not a unicast address"
    if address.is_private or address in SHARED:
        if config["WEBHOOK_ALLOW_PRIVATE"]:
            return None
        return "a private address (set WEBHOOK_ALLOW_PRIVATE=1 to allow them)"
    if not address.is_global:
        return "not a public address"
    return None


def resolve(url: str) -> Target:
    """Resolve the URL's host and check every address it has; the target to call.

    :raises AddressRefused: a refused address, or a name that does not resolve.
    """
    scheme, host, port = check_url(url)
    try:
        literal = ipaddress.ip_address(host)
        addresses = [literal]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise AddressRefused(f"{host} does not resolve: {exc}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0])
                                       for info in infos))
    for address in addresses:
        reason = why_refused(address)
        if reason:
            raise AddressRefused(f"{host} is {address}, {reason}")
    address = addresses[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    parts = urlsplit(url.strip())
    default = 443 if scheme == "https" else 80
    host_header = host if port == default else f"{host}:{port}"
    if ":" in host and port == default:
        host_header = f"[{host}]"
    elif ":" in host:
        host_header = f"[{host}]:{port}"
    pinned = parts._replace(netloc=f"{netloc}:{port}").geturl()
    return Target(url=pinned, host=host, host_header=host_header, address=address)
