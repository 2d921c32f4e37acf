"""Where webhooks may be sent: the SSRF guard (pure; stdlib only).

A webhook URL is chosen by a partner and fetched by our servers, so it could point at
our own network (a database port, a cloud metadata service, an internal admin page).
Rules:

- live mode: `https` only; test mode also allows `http` (local development);
- no user:password in the URL (it would end up in logs);
- every address the host resolves to must be public: not loopback, private, link-local,
  shared (CGNAT), multicast, reserved, unspecified or site-local, and an IPv6 address that
  embeds an IPv4 one (mapped, 6to4, NAT64, Teredo) is judged by that IPv4 address too.
  Test mode may additionally allow loopback, so `http://localhost:8000/hooks` works on a
  developer's machine (the caller decides: `allow_loopback`, by default in test mode);
- decisions are made on resolved addresses, never on spelling, so `127.1`, `0x7f.0.0.1`
  or a DNS name pointing at 10.0.0.5 are caught like `127.0.0.1`;
- the check runs when the endpoint is created and again before each delivery (DNS can
  change), and the delivery connects to the address that was checked (no second lookup
  an attacker could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the addresses the host resolves to; raises OSError when it does not."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL may not be used for webhooks; the message says why (no personal data)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    """Path plus query, as sent in the request line."""

    @property
    def https(self) -> bool:
        return self.scheme == "https"


def parse_url(url: str, livemode: bool) -> Target:
    """The parts of a webhook URL, or UnsafeUrl when its form is not allowed."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise UnsafeUrl("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("the URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must start with https://")
    if livemode and scheme != "https":
        raise UnsafeUrl("live-mode webhook URLs must use https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL must not contain a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("the URL has no host")
    if port == 0:
        raise UnsafeUrl("the URL's port must be between 1 and 65535")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(ip: IPAddress) -> bool:
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return False
    return not (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)


def check_address(address: str, livemode: bool, *, allow_loopback: bool | None = None) -> IPAddress:
    """The parsed address when webhooks may connect to it, else UnsafeUrl. Loopback is
    allowed when `allow_loopback`, which defaults to test mode; never in live mode."""
    loopback_ok = (not livemode) if allow_loopback is None else (allow_loopback and not livemode)
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise UnsafeUrl("the host did not resolve to an IP address") from None
    embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if ip.is_loopback or (embedded is not None and embedded.is_loopback):
        if loopback_ok:
            return ip
        raise UnsafeUrl(
            "the URL's host is a loopback address (allowed only in test mode on a local server)"
            if not livemode
            else "the URL's host is a loopback address (allowed in test mode only)"
        )
    if not _public(ip) or (embedded is not None and not _public(embedded)):
        raise UnsafeUrl("the URL's host resolves to a private, link-local or reserved address")
    return ip


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the operating system (getaddrinfo), TCP addresses only."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def resolve(target: Target, livemode: bool, resolver: Resolver, *, allow_loopback: bool | None = None) -> str:
    """The checked address to connect to: every address of the host must be allowed.

    Raises UnsafeUrl when the host does not resolve or any of its addresses is refused
    (one bad record among good ones is enough to refuse: the client picks among them).
    """
    try:
        literal = ipaddress.ip_address(target.host.strip("[]"))
        addresses = [str(literal)]
    except ValueError:
        try:
            addresses = resolver(target.host, target.port)
        except (OSError, UnicodeError):
            raise UnsafeUrl("the URL's host could not be resolved") from None
    if not addresses:
        raise UnsafeUrl("the URL's host could not be resolved")
    checked = [check_address(a, livemode, allow_loopback=allow_loopback) for a in addresses]
    return str(checked[0])


def check_url(
    url: str, livemode: bool, resolver: Resolver, *, allow_loopback: bool | None = None
) -> tuple[Target, str]:
    """Parse and resolve `url`; returns the target and the address to connect to."""
    target = parse_url(url, livemode)
    return target, resolve(target, livemode, resolver, allow_loopback=allow_loopback)
