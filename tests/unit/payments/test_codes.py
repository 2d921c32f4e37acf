"""The error-code table: retry / failover / final, explicitly (PEER_LESSONS 9)."""

from __future__ import annotations

import pytest

from lendbridge.payments.codes import CODES, Action, action, is_channel_fault, rule


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("system_unavailable", Action.FAILOVER),
        ("channel_busy", Action.RETRY),
        ("rate_limited", Action.RETRY),
        ("amount_limit_exceeded", Action.FAILOVER),
        ("bank_not_supported", Action.FAILOVER),
        ("insufficient_funds", Action.FINAL),
        ("invalid_account", Action.FINAL),
        ("account_frozen", Action.FINAL),
    ],
)
def test_codes_map_to_actions(code: str, expected: Action) -> None:
    assert action(code) is expected


def test_unmapped_and_missing_codes_are_final_never_retried() -> None:
    assert action("brand_new_code") is Action.FINAL
    assert action(None) is Action.FINAL
    assert not is_channel_fault("brand_new_code")


def test_only_channel_problems_count_against_the_channel() -> None:
    faults = {c for c, r in CODES.items() if r.channel_fault}
    assert faults == {"system_unavailable", "system_error", "channel_busy", "rate_limited"}


def test_every_rule_has_a_description() -> None:
    assert all(rule(c).description for c in CODES)
