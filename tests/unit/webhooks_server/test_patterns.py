"""Event type patterns for enabled_events and the events list filter."""

from __future__ import annotations

import pytest

from lendbridge.webhooks import patterns

CATALOGUE = ["loan.disbursed", "loan.paid_off", "credit_line.drawn", "repayment.succeeded"]


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("*", "loan.disbursed", True),
        ("loan.disbursed", "loan.disbursed", True),
        ("loan.disbursed", "loan.paid_off", False),
        ("loan.*", "loan.paid_off", True),
        ("loan.*", "credit_line.drawn", False),
        ("loan.*", "loanx.created", False),
        ("credit_line.*", "credit_lineXdrawn", False),
    ],
)
def test_matching(pattern: str, event_type: str, expected: bool) -> None:
    assert patterns.matches(pattern, event_type) is expected


def test_any_of_several_patterns_matches() -> None:
    assert patterns.any_matches(["repayment.succeeded", "loan.*"], "loan.disbursed")
    assert not patterns.any_matches(["repayment.succeeded"], "loan.disbursed")
    assert not patterns.any_matches([], "loan.disbursed")


@pytest.mark.parametrize("pattern", ["*", "loan.disbursed", "loan.*", "credit_line.*"])
def test_catalogued_names_families_and_wildcard_are_valid(pattern: str) -> None:
    assert patterns.validate(pattern, CATALOGUE) == pattern


@pytest.mark.parametrize("pattern", ["loan.exploded", "loans.*", "loan", "*.*", "", "loan.disbursed ", "l*"])
def test_unknown_types_and_families_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        patterns.validate(pattern, CATALOGUE)


def test_prefix_of_a_pattern() -> None:
    assert patterns.prefix("*") == ""
    assert patterns.prefix("loan.*") == "loan."
    assert patterns.prefix("loan.disbursed") is None
