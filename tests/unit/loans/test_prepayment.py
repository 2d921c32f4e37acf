"""Payoff quotes and partial prepayments (shorten term / lower instalment)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.interest import accrued_to_date
from lendbridge.loans.prepayment import (
    apply_prepayment,
    payoff_quote,
    prepay,
    prepayment_charges,
    split_prepayment,
)
from lendbridge.loans.schedules import Schedule, build_schedule
from lendbridge.loans.terms import FutureRule, LoanTerms, RepaymentMethod
from lendbridge.loans.waterfall import Due, Dueness

START = date(2026, 1, 15)
MID_FIRST_PERIOD = date(2026, 2, 1)  # 17 of 31 days


def annuity(method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALMENT) -> Schedule:
    terms = LoanTerms(principal=Fen(1_200_000), annual_rate=Decimal("0.12"), term=12, start_date=START)
    return build_schedule(terms, method)


def test_payoff_mid_period_is_principal_plus_interest_accrued_to_date_plus_fee() -> None:
    quote = payoff_quote(annuity(), (), MID_FIRST_PERIOD, prepayment_fee_rate=Decimal("0.01"))

    assert quote.outstanding_principal == 1_200_000
    assert quote.accrued_interest == 6581  # 12,000 x 17 / 31
    assert quote.prepayment_fee == 12_000
    assert quote.total == 1_200_000 + 6581 + 12_000


def test_payoff_adds_everything_billed_and_unpaid() -> None:
    schedule = annuity()
    as_of = date(2026, 4, 1)
    first, second = schedule.instalments[:2]
    dues = (
        Due(
            1,
            first.due_date,
            Dueness.PAST_DUE,
            penalty=Fen(900),
            interest=Fen(first.interest),
            principal=first.principal,
        ),
        Due(2, second.due_date, Dueness.PAST_DUE, penalty=Fen(300), interest=Fen(100)),
    )
    quote = payoff_quote(schedule, dues, as_of)
    current = schedule.instalments[2]

    assert quote.billed_principal == first.principal
    assert quote.billed_interest == first.interest + 100
    assert quote.penalty == 1200
    assert quote.outstanding_principal == schedule.instalments[1].remaining_principal
    assert quote.accrued_interest == accrued_to_date(
        current.interest, current.period_start, current.due_date, as_of
    )
    assert quote.total == sum(d.total for d in dues) + quote.outstanding_principal + quote.accrued_interest


def test_payoff_refuses_future_dues() -> None:
    schedule = annuity()
    future = Due.from_instalment(schedule.instalments[5], MID_FIRST_PERIOD)
    with pytest.raises(InvalidParameter) as raised:
        payoff_quote(schedule, (future,), MID_FIRST_PERIOD)
    assert raised.value.param == "dues"


def test_paying_the_payoff_amount_pays_the_loan_off() -> None:
    schedule = annuity()
    quote = payoff_quote(schedule, (), MID_FIRST_PERIOD, prepayment_fee_rate=Decimal("0.01"))

    result = prepay(
        schedule, quote.total, MID_FIRST_PERIOD, FutureRule.SHORTEN_TERM, prepayment_fee_rate=Decimal("0.01")
    )

    assert result.paid_off
    assert len(result.schedule) == 0
    assert result.split.principal == quote.outstanding_principal
    assert result.split.interest == quote.accrued_interest
    assert result.split.fee == quote.prepayment_fee
    assert result.split.excess == 0


def test_paying_more_than_the_payoff_leaves_an_excess_to_refund() -> None:
    schedule = annuity()
    payoff = payoff_quote(schedule, (), MID_FIRST_PERIOD).total
    split = split_prepayment(schedule, Fen(payoff + 777), MID_FIRST_PERIOD)
    assert split.excess == 777
    assert split.total == payoff + 777


def test_prepaid_principal_pays_its_share_of_interest_accrued_so_far() -> None:
    charges = prepayment_charges(annuity(), Fen(600_000), MID_FIRST_PERIOD, Decimal("0.02"))
    assert charges.principal == 600_000
    assert charges.interest == 3290  # half the period's 12,000, x 17/31 = 3290.3
    assert charges.fee == 12_000


def test_prepaying_more_principal_than_is_left_is_rejected() -> None:
    with pytest.raises(InvalidParameter) as raised:
        prepayment_charges(annuity(), Fen(1_200_001), MID_FIRST_PERIOD)
    assert raised.value.param == "amount"
    with pytest.raises(InvalidParameter):
        apply_prepayment(annuity(), Fen(1_200_001), MID_FIRST_PERIOD, FutureRule.SHORTEN_TERM)


def test_lower_instalment_prepayment_keeps_twelve_dates_with_a_smaller_payment() -> None:
    schedule = annuity()
    result = prepay(schedule, Fen(400_000), MID_FIRST_PERIOD, FutureRule.LOWER_INSTALMENT)
    rebuilt = result.schedule

    assert len(rebuilt) == 12
    assert [i.due_date for i in rebuilt] == [i.due_date for i in schedule]
    assert rebuilt.instalments[0].payment < schedule.instalments[0].payment
    assert rebuilt.total_principal == 1_200_000 - result.split.principal
    assert result.split.total == 400_000


def test_shorten_term_prepayment_keeps_the_payment_and_finishes_earlier() -> None:
    schedule = annuity()
    result = prepay(schedule, Fen(400_000), MID_FIRST_PERIOD, FutureRule.SHORTEN_TERM)
    rebuilt = result.schedule

    assert len(rebuilt) < 12
    assert rebuilt.instalments[0].payment == schedule.instalments[0].payment
    assert rebuilt.total_principal == 1_200_000 - result.split.principal
    # Prepaying principal saves interest.
    assert rebuilt.total_interest < schedule.total_interest


def test_on_a_due_date_that_instalment_is_billed_not_prepaid() -> None:
    schedule = annuity()
    as_of = schedule.instalments[0].due_date
    quote = payoff_quote(schedule, (Due.from_instalment(schedule.instalments[0], as_of),), as_of)
    assert quote.outstanding_principal == schedule.instalments[0].remaining_principal
    assert quote.accrued_interest == 0  # the next period starts today
    assert quote.billed_interest == schedule.instalments[0].interest


def test_after_the_last_due_date_everything_is_excess() -> None:
    schedule = annuity()
    split = split_prepayment(schedule, Fen(5000), schedule.instalments[-1].due_date + timedelta(days=1))
    assert split.excess == 5000
    assert split.principal == 0


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(RepaymentMethod),
    rule=st.sampled_from(FutureRule),
    fee_rate=st.decimals(min_value=0, max_value=Decimal("0.05"), places=3),
    day=st.integers(min_value=0, max_value=380),
    amount=st.integers(min_value=0, max_value=1_400_000),
)
def test_prepayment_splits_add_up_and_the_new_schedule_repays_the_rest(
    method: RepaymentMethod, rule: FutureRule, fee_rate: Decimal, day: int, amount: int
) -> None:
    schedule = annuity(method)
    as_of = START + timedelta(days=day)
    balance = sum(i.principal for i in schedule.due_after(as_of))

    result = prepay(schedule, Fen(amount), as_of, rule, prepayment_fee_rate=fee_rate)
    split = result.split

    assert split.total == amount
    assert min(split.principal, split.interest, split.fee, split.excess) >= 0
    assert split.principal <= balance
    assert result.schedule.total_principal == balance - split.principal
    payoff = payoff_quote(schedule, (), as_of, prepayment_fee_rate=fee_rate).total
    if balance:
        # Paid off exactly when the payoff is covered; short of it, at most a rounding residue is refunded.
        assert result.paid_off == (amount >= payoff)
        if amount >= payoff:
            assert split.excess == amount - payoff
        else:
            assert split.excess <= 2
    else:
        assert split.excess == amount
