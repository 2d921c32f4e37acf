"""Merchant-subsidised 0 % instalments: borrower APR 0, institution earns its target."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.schedules import build_schedule
from lendbridge.loans.subsidy import recognition_schedule, subsidise
from lendbridge.loans.terms import LoanTerms, RepaymentMethod

START = date(2026, 9, 1)


def course_fee(principal: int = 1_200_000, term: int = 12) -> LoanTerms:
    return LoanTerms(principal=Fen(principal), annual_rate=Decimal(0), term=term, start_date=START)


def test_borrower_pays_only_the_price_and_the_merchant_bears_the_interest() -> None:
    loan = subsidise(course_fee(), RepaymentMethod.EQUAL_INSTALMENT, Decimal("0.08"))

    assert loan.schedule.total_interest == 0
    assert loan.schedule.total_payment == 1_200_000
    assert loan.borrower_apr.nominal == 0
    # The subsidy equals the interest an 8 % annuity would charge, discounted: about ¥520.
    assert 50_000 < loan.subsidy < 55_000
    assert loan.merchant_disbursement == 1_200_000 - loan.subsidy


def test_subsidy_is_principal_minus_present_value_at_the_target_rate() -> None:
    loan = subsidise(course_fee(), RepaymentMethod.EQUAL_INSTALMENT, Decimal("0.12"))
    pv = sum(Decimal(i.payment) / Decimal("1.01") ** i.number for i in loan.schedule)
    assert loan.subsidy == round(Decimal(1_200_000) - pv)


@settings(max_examples=30, deadline=None)
@given(
    principal=st.integers(min_value=500_000, max_value=50_000_000),
    term=st.integers(min_value=1, max_value=36),
    target=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.24"), places=4),
    method=st.sampled_from(RepaymentMethod),
)
def test_institution_yield_equals_the_target_rate(
    principal: int, term: int, target: Decimal, method: RepaymentMethod
) -> None:
    loan = subsidise(course_fee(principal, term), method, target)

    assert loan.subsidy > 0
    assert loan.institution_apr.nominal > 0
    # Only the fen rounding of the subsidy separates the yield from the target.
    # Half a fen on the disbursement moves the monthly yield by at most 0.5 x (1 + i) / principal.
    assert abs(loan.institution_apr.nominal - target) <= 12 * Decimal("0.5") * Decimal("1.02") / principal
    income = recognition_schedule(loan)
    assert sum(income) == loan.subsidy
    assert len(income) == len(loan.schedule)
    assert all(amount >= 0 for amount in income)


def test_subsidy_income_is_front_loaded_like_interest() -> None:
    income = recognition_schedule(subsidise(course_fee(), RepaymentMethod.EQUAL_INSTALMENT, Decimal("0.08")))
    assert list(income) == sorted(income, reverse=True)


def test_interest_bearing_terms_cannot_be_subsidised() -> None:
    terms = LoanTerms(principal=Fen(1_200_000), annual_rate=Decimal("0.05"), term=12, start_date=START)
    with pytest.raises(InvalidParameter) as raised:
        subsidise(terms, RepaymentMethod.EQUAL_INSTALMENT, Decimal("0.08"))
    assert raised.value.param == "annual_rate"
    with pytest.raises(InvalidParameter) as raised:
        subsidise(course_fee(), RepaymentMethod.EQUAL_INSTALMENT, Decimal(0))
    assert raised.value.param == "target_rate"


def test_zero_rate_schedule_is_the_one_the_borrower_sees() -> None:
    loan = subsidise(course_fee(), RepaymentMethod.EQUAL_PRINCIPAL, Decimal("0.08"))
    assert loan.schedule == build_schedule(course_fee(), RepaymentMethod.EQUAL_PRINCIPAL)
