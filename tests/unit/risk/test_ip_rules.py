from __future__ import annotations

import pytest

from lendbridge.risk.decision import is_countable_ip


@pytest.mark.parametrize("ip", ["203.0.113.7", "10.1.2.3", "192.168.0.9", "2001:db8::1", "100.64.0.1"])
def test_routable_and_private_addresses_count_for_ip_rules(ip: str) -> None:
    assert is_countable_ip(ip)


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "169.254.1.1", "fe80::1", "0.0.0.0", "not-an-ip"])
def test_loopback_link_local_and_garbage_do_not_count(ip: str) -> None:
    assert not is_countable_ip(ip)
