"""Loan terms validate at construction and name the API field at fault."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.terms import DayCount, LoanTerms, RepaymentMethod, parse_method

VALID: dict[str, Any] = {
    "principal": Fen(1_000_000),
    "annual_rate": Decimal("0.06"),
    "term": 12,
    "start_date": date(2026, 1, 15),
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("principal", 0),
        ("principal", -100),
        ("principal", 1000.0),
        ("principal", True),
        ("annual_rate", 0.06),
        ("annual_rate", Decimal("-0.01")),
        ("annual_rate", Decimal("1.5")),
        ("annual_rate", Decimal("NaN")),
        ("term", 0),
        ("term", 601),
        ("term", 12.0),
        ("start_date", datetime(2026, 1, 15)),  # noqa: DTZ001 - a naive datetime is the invalid input here
        ("start_date", "2026-01-15"),
        ("monthly_fee_rate", Decimal("-0.001")),
        ("upfront_fee", -1),
        ("upfront_fee", 1_000_000),
    ],
)
def test_invalid_terms_name_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidParameter) as raised:
        LoanTerms(**{**VALID, field: value})
    assert raised.value.param == field


def test_principal_received_is_net_of_the_upfront_fee() -> None:
    terms = LoanTerms(**{**VALID, "upfront_fee": Fen(20_000)})
    assert terms.principal_received == 980_000


def test_terms_are_immutable() -> None:
    terms = LoanTerms(**VALID)
    with pytest.raises(AttributeError):
        terms.term = 24  # type: ignore[misc]


def test_method_names_parse_and_unknown_ones_name_the_param() -> None:
    assert parse_method("bullet") is RepaymentMethod.BULLET
    with pytest.raises(InvalidParameter) as raised:
        parse_method("balloon")
    assert raised.value.param == "method"


def test_day_count_years() -> None:
    assert DayCount.ACT_360.days_in_year == 360
    assert DayCount.ACT_365.days_in_year == 365
