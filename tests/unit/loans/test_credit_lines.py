"""Revolving credit lines: available credit, daily interest, idempotent accrual."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.credit_lines import CreditLine, accrue, change_limit, draw, open_line, repay
from lendbridge.loans.interest import interest_on_balance_days
from lendbridge.loans.terms import DayCount

OPENED = date(2026, 3, 1)
RATE = Decimal("0.18")


def business_line() -> CreditLine:
    return open_line(Fen(10_000_000), RATE, OPENED)  # ¥100,000


def test_draw_reduces_available_credit() -> None:
    drawn = draw(business_line(), Fen(1_000_000), OPENED)
    assert drawn.line.principal == 1_000_000
    assert drawn.line.available == 9_000_000
    assert drawn.accrued == 0


def test_a_draw_above_available_is_rejected_with_param_amount() -> None:
    line = draw(business_line(), Fen(9_500_000), OPENED).line
    with pytest.raises(InvalidParameter) as raised:
        draw(line, Fen(500_001), OPENED + timedelta(days=1))
    assert raised.value.param == "amount"


def test_interest_accrues_daily_on_the_drawn_balance_act_360() -> None:
    line = draw(business_line(), Fen(1_000_000), OPENED).line
    accrual = accrue(line, OPENED + timedelta(days=29))  # 30 interest days, the draw day included
    assert accrual.amount == 15_000  # 1,000,000 x 0.18 x 30 / 360
    assert accrual.line.interest == 15_000


def test_accruing_the_same_day_twice_posts_nothing() -> None:
    line = draw(business_line(), Fen(1_000_000), OPENED).line
    once = accrue(line, OPENED + timedelta(days=9))
    again = accrue(once.line, OPENED + timedelta(days=9))
    assert again.amount == 0
    assert again.line == once.line


def test_repayment_pays_accrued_interest_first_then_principal() -> None:
    line = draw(business_line(), Fen(1_000_000), OPENED).line
    paid = repay(line, Fen(500_000), OPENED + timedelta(days=30))

    assert paid.accrued == 15_000
    assert paid.interest == 15_000
    assert paid.principal == 485_000
    assert paid.line.principal == 515_000
    assert paid.line.interest == 0


def test_a_draw_repaid_the_same_day_costs_no_interest() -> None:
    line = draw(business_line(), Fen(1_000_000), OPENED).line
    line = repay(line, Fen(1_000_000), OPENED).line
    assert accrue(line, OPENED + timedelta(days=60)).amount == 0


def test_repaying_more_than_is_owed_is_rejected() -> None:
    line = draw(business_line(), Fen(1_000_000), OPENED).line
    with pytest.raises(InvalidParameter) as raised:
        repay(line, Fen(1_000_501), OPENED + timedelta(days=1))  # owes 1,000,000 + 500 interest
    assert raised.value.param == "amount"
    assert repay(line, Fen(1_000_500), OPENED + timedelta(days=1)).line.owed == 0


def test_days_already_accrued_cannot_be_changed() -> None:
    line = accrue(draw(business_line(), Fen(1_000_000), OPENED).line, OPENED + timedelta(days=5)).line
    with pytest.raises(InvalidParameter) as raised:
        draw(line, Fen(1000), OPENED + timedelta(days=5))
    assert raised.value.param == "date"


def test_a_limit_cut_below_the_balance_stops_draws_only() -> None:
    line = change_limit(draw(business_line(), Fen(3_000_000), OPENED).line, Fen(2_000_000))
    assert line.available == 0
    with pytest.raises(InvalidParameter):
        draw(line, Fen(1), OPENED + timedelta(days=1))
    assert repay(line, Fen(1_000_000), OPENED + timedelta(days=1)).line.principal == 2_001_500


def test_act_365_lines_use_a_365_day_year() -> None:
    line = draw(open_line(Fen(10_000_000), RATE, OPENED, DayCount.ACT_365), Fen(1_000_000), OPENED).line
    assert accrue(line, OPENED + timedelta(days=364)).amount == 180_000


operations = st.lists(
    st.tuples(
        st.sampled_from(["draw", "repay", "accrue"]),
        st.integers(min_value=1, max_value=12_000_000),
        st.integers(min_value=0, max_value=20),
    ),
    max_size=25,
)


@settings(max_examples=80, deadline=None)
@given(ops=operations, rate=st.decimals(min_value=0, max_value=Decimal("0.36"), places=4))
def test_line_invariants_hold_for_any_sequence_of_operations(
    ops: list[tuple[str, int, int]], rate: Decimal
) -> None:
    line = open_line(Fen(10_000_000), rate, OPENED)
    day = OPENED
    posted = 0
    paid_interest = 0
    balance_days = 0  # model: end-of-day principal summed over the days accrued
    model_day = OPENED - timedelta(days=1)

    def model_accrue(through: date, principal: int) -> None:
        nonlocal balance_days, model_day
        while model_day < through:
            model_day += timedelta(days=1)
            balance_days += principal

    for kind, amount, gap in ops:
        day += timedelta(days=gap or 1)
        model_accrue(day - timedelta(days=1), line.principal)
        if kind == "draw":
            if amount > line.available:
                with pytest.raises(InvalidParameter):
                    draw(line, Fen(amount), day)
                posted += accrue(line, day - timedelta(days=1)).amount
                line = accrue(line, day - timedelta(days=1)).line
                continue
            drawn = draw(line, Fen(amount), day)
            posted += drawn.accrued
            line = drawn.line
        elif kind == "repay":
            owed = accrue(line, day - timedelta(days=1)).line.owed
            if owed == 0:
                continue
            paid = repay(line, Fen(min(amount, owed)), day)
            posted += paid.accrued
            paid_interest += paid.interest
            line = paid.line
        else:
            accrual = accrue(line, day)
            model_accrue(day, line.principal)
            posted += accrual.amount
            line = accrual.line
        assert line.available == max(line.limit - line.principal, 0)
        assert 0 <= line.principal <= line.limit
        assert line.interest >= 0

    final = accrue(line, day + timedelta(days=3))
    model_accrue(day + timedelta(days=3), line.principal)
    posted += final.amount
    assert final.line.balance_days == balance_days
    assert posted == final.line.interest_accrued == interest_on_balance_days(balance_days, rate)
    assert final.line.interest == posted - paid_interest
