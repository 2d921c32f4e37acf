from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendbridge.core.money import fen, format_rate, format_yuan, parse_rate, round_fen


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.5", 1), ("1.4999", 1), ("2.5", 3), ("-2.5", -3), ("860.6642970708", 861), ("0", 0)],
)
def test_round_fen_is_half_up(amount: str, expected: int) -> None:
    assert round_fen(Decimal(amount)) == expected


def test_floats_are_refused_for_rates() -> None:
    with pytest.raises(TypeError):
        parse_rate(0.06)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", ""])
def test_non_numeric_rates_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_fen_refuses_non_integers() -> None:
    with pytest.raises(TypeError):
        fen(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fen(True)
    assert fen(123) == 123


def test_format_rate_keeps_at_least_four_places() -> None:
    assert format_rate(Decimal("0.06"), 2) == "0.0600"
    assert format_rate(Decimal("0.0599977060"), 10) == "0.0599977060"


def test_format_yuan() -> None:
    assert format_yuan(123456) == "1,234.56"
    assert format_yuan(-5) == "-0.05"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_round_fen_of_an_integer_is_itself(value: int) -> None:
    assert round_fen(Decimal(value)) == value
