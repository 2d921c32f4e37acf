"""The SSRF guard: URL form per mode, and every resolved address judged (IPv4, IPv6, names)."""

from __future__ import annotations

from typing import Any

import pytest

from lendbridge.webhooks.ssrf import UnsafeUrl, check_address, check_url, parse_url, resolve

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:4700:4700::1111"


def stub(table: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    resolver.calls = calls  # type: ignore[attr-defined]
    return resolver


# -- URL form ------------------------------------------------------------------------------
def test_live_mode_requires_https() -> None:
    assert parse_url("https://hooks.example.com/lb?x=1", livemode=True).path == "/lb?x=1"
    with pytest.raises(UnsafeUrl, match="https"):
        parse_url("http://hooks.example.com/lb", livemode=True)


def test_test_mode_allows_http() -> None:
    target = parse_url("http://localhost:8000/hooks", livemode=False)
    assert (target.scheme, target.host, target.port, target.path) == ("http", "localhost", 8000, "/hooks")


def test_default_ports_and_path() -> None:
    assert parse_url("https://a.example.com", livemode=True).port == 443
    assert parse_url("https://a.example.com", livemode=True).path == "/"
    assert parse_url("http://a.example.com", livemode=False).port == 80


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "https://user:pass@hooks.example.com/x",
        "https://user@hooks.example.com/x",
        "https:///nohost",
        "https://hooks.example.com:0/x",
        "https://hooks.example.com:99999/x",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\r\nX-Injected: 1",
        "not a url",
        "https://" + "a" * 2050 + ".com/",
    ],
)
def test_malformed_or_dangerous_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        parse_url(url, livemode=False)


# -- addresses -----------------------------------------------------------------------------
REFUSED_ALWAYS = [
    "10.0.0.5",  # private
    "172.16.3.4",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # shared address space (CGNAT)
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "fe80::1",  # IPv6 link-local
    "fc00::1",  # unique local
    "fd12:3456::1",
    "fec0::1",  # site-local (deprecated)
    "ff02::1",  # multicast
    "::",  # unspecified
    "2001:db8::1",  # documentation
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "::ffff:169.254.169.254",
    "2002:0a00:0001::1",  # 6to4 embedding 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "fe80::1%eth0",  # scoped link-local
]
LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]


@pytest.mark.parametrize("address", REFUSED_ALWAYS)
@pytest.mark.parametrize("livemode", [True, False], ids=["live", "test"])
def test_internal_addresses_are_refused_in_both_modes(address: str, livemode: bool) -> None:
    with pytest.raises(UnsafeUrl, match="private, link-local or reserved"):
        check_address(address, livemode)


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_is_refused_in_live_mode(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_address(address, livemode=True)


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_is_allowed_in_test_mode(address: str) -> None:
    check_address(address, livemode=False)


@pytest.mark.parametrize("address", LOOPBACK)
def test_a_shared_server_refuses_loopback_in_test_mode_too(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="test mode on a local server"):
        check_address(address, livemode=False, allow_loopback=False)
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_address(address, livemode=True, allow_loopback=True)  # never in live mode


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "2002:5db8:d822::1"])
@pytest.mark.parametrize("livemode", [True, False], ids=["live", "test"])
def test_public_addresses_are_allowed(address: str, livemode: bool) -> None:
    check_address(address, livemode)


def test_a_non_address_is_refused() -> None:
    with pytest.raises(UnsafeUrl):
        check_address("not-an-ip", livemode=False)


# -- names, through a stub resolver ----------------------------------------------------------
def test_name_resolving_to_a_private_address_is_refused() -> None:
    resolver = stub({"hooks.partner.example": ["10.1.2.3"]})
    with pytest.raises(UnsafeUrl, match="private"):
        check_url("https://hooks.partner.example/lb", True, resolver)


def test_name_resolving_to_loopback_is_refused_live_and_allowed_in_test() -> None:
    resolver = stub({"rebind.example": ["127.0.0.1"]})
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_url("https://rebind.example/", True, resolver)
    assert check_url("http://rebind.example/", False, resolver)[1] == "127.0.0.1"
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_url("http://rebind.example/", False, resolver, allow_loopback=False)


def test_name_resolving_to_an_ipv6_private_address_is_refused() -> None:
    resolver = stub({"v6.example": ["fd00::5"]})
    with pytest.raises(UnsafeUrl):
        check_url("https://v6.example/", True, resolver)


def test_one_private_record_among_public_ones_is_enough_to_refuse() -> None:
    resolver = stub({"mixed.example": [PUBLIC_V4, "192.168.0.10"]})
    with pytest.raises(UnsafeUrl):
        check_url("https://mixed.example/", True, resolver)


def test_public_name_resolves_to_the_checked_address() -> None:
    resolver = stub({"hooks.partner.example": [PUBLIC_V4, PUBLIC_V6]})
    target, address = check_url("https://hooks.partner.example/lb", True, resolver)
    assert address == PUBLIC_V4 and target.host == "hooks.partner.example"


def test_unresolvable_name_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="could not be resolved"):
        check_url("https://nowhere.example/", True, stub({}))
    with pytest.raises(UnsafeUrl, match="could not be resolved"):
        check_url("https://empty.example/", True, stub({"empty.example": []}))


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("https://127.0.0.1/", "127.0.0.1"),
        ("https://[::1]/", "::1"),
        ("https://[::ffff:7f00:1]/", "::ffff:7f00:1"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ],
)
def test_ip_literals_are_judged_without_dns(url: str, address: str) -> None:
    resolver = stub({})
    with pytest.raises(UnsafeUrl):
        check_url(url, True, resolver)
    assert resolver.calls == []


@pytest.mark.parametrize("spelling", ["127.1", "0x7f.0.0.1", "2130706433", "017700000001"])
def test_odd_spellings_of_loopback_are_judged_by_what_they_resolve_to(spelling: str) -> None:
    resolver = stub({spelling: ["127.0.0.1"]})
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_url(f"https://{spelling}/", True, resolver)


def test_resolve_returns_a_checked_ipv6_address() -> None:
    target = parse_url("https://v6only.example/", True)
    assert resolve(target, True, stub({"v6only.example": [PUBLIC_V6]})) == PUBLIC_V6
