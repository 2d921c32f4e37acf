"""APR by IRR over the actual cash flows: vectors, numpy_financial cross-checks, edge cases."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.apr import (
    CashFlow,
    DatedCashFlow,
    irr,
    nominal_and_effective_apr,
    schedule_cash_flows,
    xirr,
)
from lendbridge.loans.schedules import build_schedule
from lendbridge.loans.terms import LoanTerms, RepaymentMethod

REPO = Path(__file__).resolve().parents[3]
CASES: list[dict[str, Any]] = json.loads(
    (REPO / ".." / "shared" / "vectors" / "loan_schedules.json").read_text()
)["cases"]
START = date(2026, 1, 15)
TOLERANCE = Decimal("1e-9")


def schedule_for(case: dict[str, Any]) -> tuple[LoanTerms, RepaymentMethod]:
    terms = LoanTerms(
        principal=Fen(case["principal"]),
        annual_rate=Decimal(case["annual_rate"]),
        term=case["term"],
        start_date=START,
        monthly_fee_rate=Decimal(case.get("monthly_fee_rate", "0")),
    )
    return terms, RepaymentMethod(case["method"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_apr_matches_vector(case: dict[str, Any]) -> None:
    terms, method = schedule_for(case)
    flows = schedule_cash_flows(terms.principal_received, build_schedule(terms, method))

    apr = nominal_and_effective_apr(flows)

    assert abs(apr.monthly_irr - Decimal(case["apr"]["monthly_irr"])) < TOLERANCE
    assert abs(apr.nominal - Decimal(case["apr"]["nominal"])) < TOLERANCE
    assert abs(apr.effective - Decimal(case["apr"]["effective"])) < TOLERANCE
    assert abs(float(apr.monthly_irr) - npf.irr([f.amount for f in flows])) < 1e-12


def test_add_on_fee_apr_is_far_above_its_headline_rate() -> None:
    (case,) = [c for c in CASES if "monthly_fee_rate" in c]
    terms, method = schedule_for(case)
    apr = nominal_and_effective_apr(
        schedule_cash_flows(terms.principal_received, build_schedule(terms, method))
    )
    assert apr.nominal > Decimal("0.108")
    assert apr.nominal - Decimal(case["nominal_add_on_rate"]) > Decimal("0.048")


def test_an_upfront_fee_raises_the_apr_above_the_contract_rate() -> None:
    terms = LoanTerms(
        principal=Fen(1_000_000),
        annual_rate=Decimal("0.06"),
        term=12,
        start_date=START,
        upfront_fee=Fen(10_000),
    )
    schedule = build_schedule(terms, RepaymentMethod.EQUAL_INSTALMENT)
    apr = nominal_and_effective_apr(schedule_cash_flows(terms.principal_received, schedule))
    assert apr.nominal > Decimal("0.077")
    expected = npf.irr([-990_000, *(i.payment for i in schedule)])
    assert abs(float(apr.monthly_irr) - expected) < 1e-12


def test_zero_rate_loan_has_zero_apr_exactly() -> None:
    terms = LoanTerms(principal=Fen(1_000_000), annual_rate=Decimal(0), term=7, start_date=START)
    flows = schedule_cash_flows(terms.principal, build_schedule(terms, RepaymentMethod.EQUAL_INSTALMENT))
    apr = nominal_and_effective_apr(flows)
    assert apr.monthly_irr == apr.nominal == apr.effective == 0


def test_bullet_payment_falls_at_the_end_of_the_term() -> None:
    terms = LoanTerms(principal=Fen(1_000_000), annual_rate=Decimal("0.12"), term=6, start_date=START)
    flows = schedule_cash_flows(terms.principal, build_schedule(terms, RepaymentMethod.BULLET))
    assert flows == (CashFlow(0, -1_000_000), CashFlow(6, 1_060_000))
    # Simple interest over six months compounds to slightly less than 1 % a month.
    assert abs(irr(flows) - (Decimal("1.06") ** (Decimal(1) / 6) - 1)) < Decimal("1e-15")


@pytest.mark.parametrize(
    "flows",
    [
        [CashFlow(0, 100), CashFlow(1, 100)],
        [CashFlow(0, -100), CashFlow(1, -100)],
        [CashFlow(0, 0), CashFlow(1, 0)],
        [],
        [CashFlow(0, -100), CashFlow(0, 100)],
    ],
    ids=["all-positive", "all-negative", "all-zero", "empty", "single-period"],
)
def test_cash_flows_without_a_sign_change_have_no_irr(flows: list[CashFlow]) -> None:
    with pytest.raises(InvalidParameter) as raised:
        irr(flows)
    assert raised.value.param == "cash_flows"


def test_negative_returns_are_found_too() -> None:
    assert abs(irr([CashFlow(0, -100), CashFlow(1, 50)]) - Decimal("-0.5")) < Decimal("1e-20")


@settings(max_examples=40, deadline=None)
@given(
    principal=st.integers(min_value=500_000, max_value=500_000_000),
    rate=st.decimals(min_value=0, max_value=Decimal("0.24"), places=4),
    fee_rate=st.decimals(min_value=0, max_value=Decimal("0.01"), places=4),
    term=st.integers(min_value=1, max_value=60),
    method=st.sampled_from(RepaymentMethod),
)
def test_irr_agrees_with_numpy_financial(
    principal: int, rate: Decimal, fee_rate: Decimal, term: int, method: RepaymentMethod
) -> None:
    terms = LoanTerms(
        principal=Fen(principal), annual_rate=rate, term=term, start_date=START, monthly_fee_rate=fee_rate
    )
    flows = schedule_cash_flows(terms.principal, build_schedule(terms, method))
    amounts = [0] * (flows[-1].period + 1)
    for flow in flows:
        amounts[flow.period] += flow.amount

    ours = irr(flows)

    assert abs(float(ours) - npf.irr(amounts)) < 1e-10
    assert ours >= 0


def test_xirr_of_one_year_is_the_simple_return() -> None:
    start = date(2025, 3, 1)
    flows = [DatedCashFlow(start, -10_000), DatedCashFlow(start + timedelta(days=365), 11_000)]
    assert abs(xirr(flows) - Decimal("0.1")) < Decimal("1e-20")


def test_xirr_compounds_over_actual_days() -> None:
    start = date(2025, 3, 1)
    flows = [
        DatedCashFlow(start, -10_000),
        DatedCashFlow(start + timedelta(days=73), 5_100),
        DatedCashFlow(start + timedelta(days=146), 5_100),
    ]
    rate = xirr(flows)
    npv = sum(
        (Decimal(f.amount) / (1 + rate) ** (Decimal((f.on - start).days) / 365) for f in flows), Decimal(0)
    )
    assert abs(npv) < Decimal("1e-15")
    with pytest.raises(InvalidParameter):
        xirr([DatedCashFlow(start, 100)])
