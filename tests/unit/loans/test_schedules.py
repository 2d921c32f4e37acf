"""Schedules: the shared vectors exactly, calendar rules, and properties for every method."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.schedules import add_months, build_schedule, due_dates, level_payment, reamortize
from lendbridge.loans.terms import FutureRule, LoanTerms, RepaymentMethod

REPO = Path(__file__).resolve().parents[3]
VECTORS = json.loads((REPO / ".." / "shared" / "vectors" / "loan_schedules.json").read_text())
CASES: list[dict[str, Any]] = VECTORS["cases"]
START = date(2026, 1, 15)


def terms_of(case: dict[str, Any]) -> LoanTerms:
    return LoanTerms(
        principal=Fen(case["principal"]),
        annual_rate=Decimal(case["annual_rate"]),
        term=case["term"],
        start_date=START,
        monthly_fee_rate=Decimal(case.get("monthly_fee_rate", "0")),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_schedule_matches_vector_exactly(case: dict[str, Any]) -> None:
    schedule = build_schedule(terms_of(case), RepaymentMethod(case["method"]))

    fields = ("number", "principal", "interest", "fee", "payment", "remaining_principal")
    got = [{f: getattr(i, f) for f in fields} for i in schedule]
    assert got == case["instalments"]
    assert schedule.total_interest == case["total_interest"]
    assert schedule.total_fees == case["total_fees"]
    assert schedule.total_payment == case["total_payment"]
    if "level_payment" in case:
        assert (
            level_payment(Fen(case["principal"]), Decimal(case["annual_rate"]), case["term"])
            == case["level_payment"]
        )


@pytest.mark.parametrize("case", [c for c in CASES if "level_payment" in c], ids=lambda c: c["id"])
def test_level_payment_agrees_with_numpy_financial_pmt(case: dict[str, Any]) -> None:
    rate = float(Decimal(case["annual_rate"]) / 12)
    pmt_fen = -npf.pmt(rate, case["term"], case["principal"])
    assert (
        abs(level_payment(Fen(case["principal"]), Decimal(case["annual_rate"]), case["term"]) - pmt_fen)
        <= 0.5
    )


def test_due_dates_keep_the_start_day_clamped_to_month_end() -> None:
    assert due_dates(date(2026, 1, 31), 4) == (
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    )
    assert add_months(date(2027, 12, 29), 2) == date(2028, 2, 29)  # leap year


def test_first_due_sets_the_day_of_later_due_dates() -> None:
    dates = due_dates(date(2026, 1, 20), 3, first_due=date(2026, 3, 1))
    assert dates == (date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1))


@pytest.mark.parametrize("first_due", [date(2026, 1, 20), date(2026, 1, 10), date(2026, 3, 21)])
def test_first_due_outside_the_first_two_months_is_rejected(first_due: date) -> None:
    terms = LoanTerms(
        principal=Fen(100_000), annual_rate=Decimal("0.1"), term=3, start_date=date(2026, 1, 20)
    )
    with pytest.raises(InvalidParameter) as raised:
        build_schedule(terms, RepaymentMethod.EQUAL_INSTALMENT, first_due)
    assert raised.value.param == "first_due"


def test_period_starts_chain_from_the_start_date() -> None:
    schedule = build_schedule(
        LoanTerms(principal=Fen(300_000), annual_rate=Decimal("0.12"), term=3, start_date=START),
        RepaymentMethod.EQUAL_PRINCIPAL,
    )
    starts = [i.period_start for i in schedule]
    assert starts == [START, date(2026, 2, 15), date(2026, 3, 15)]


def test_interest_first_pays_interest_monthly_and_principal_at_the_end() -> None:
    terms = LoanTerms(principal=Fen(1_000_000), annual_rate=Decimal("0.06"), term=6, start_date=START)
    schedule = build_schedule(terms, RepaymentMethod.INTEREST_FIRST)

    assert [i.interest for i in schedule] == [5000] * 6
    assert [i.principal for i in schedule] == [0, 0, 0, 0, 0, 1_000_000]
    assert [i.remaining_principal for i in schedule] == [1_000_000] * 5 + [0]


def test_bullet_is_one_instalment_at_maturity_with_all_the_interest() -> None:
    terms = LoanTerms(
        principal=Fen(1_000_000),
        annual_rate=Decimal("0.0435"),
        term=3,
        start_date=START,
        monthly_fee_rate=Decimal("0.001"),
    )
    (only,) = build_schedule(terms, RepaymentMethod.BULLET).instalments

    assert only.due_date == date(2026, 4, 15)
    assert only.interest == 10875  # 1,000,000 x 0.0435 x 3 / 12
    assert only.fee == 3000
    assert only.principal == 1_000_000
    assert only.months == 3
    assert only.payment == 1_013_875


def test_bullet_refuses_a_first_due_date() -> None:
    terms = LoanTerms(principal=Fen(100_000), annual_rate=Decimal("0.1"), term=3, start_date=START)
    with pytest.raises(InvalidParameter) as raised:
        build_schedule(terms, RepaymentMethod.BULLET, date(2026, 2, 1))
    assert raised.value.param == "first_due"


def test_zero_rate_annuity_splits_principal_evenly() -> None:
    terms = LoanTerms(principal=Fen(1_000_000), annual_rate=Decimal(0), term=3, start_date=START)
    schedule = build_schedule(terms, RepaymentMethod.EQUAL_INSTALMENT)
    assert [i.principal for i in schedule] == [333_333, 333_333, 333_334]
    assert schedule.total_interest == 0


def test_unknown_method_names_the_method_param() -> None:
    terms = LoanTerms(principal=Fen(100_000), annual_rate=Decimal("0.1"), term=3, start_date=START)
    with pytest.raises(InvalidParameter) as raised:
        build_schedule(terms, "balloon")  # type: ignore[arg-type]
    assert raised.value.param == "method"


principals = st.integers(min_value=500_000, max_value=500_000_000)
rates = st.decimals(min_value=0, max_value=Decimal("0.24"), places=4)
terms_months = st.integers(min_value=1, max_value=60)
fee_rates = st.decimals(min_value=0, max_value=Decimal("0.01"), places=4)
starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@settings(max_examples=60, deadline=None)
@given(
    principal=principals,
    rate=rates,
    term=terms_months,
    fee_rate=fee_rates,
    start=starts,
    method=st.sampled_from(RepaymentMethod),
)
def test_every_method_repays_exactly_the_principal_in_term_instalments(
    principal: int, rate: Decimal, term: int, fee_rate: Decimal, start: date, method: RepaymentMethod
) -> None:
    terms = LoanTerms(
        principal=Fen(principal), annual_rate=rate, term=term, start_date=start, monthly_fee_rate=fee_rate
    )
    schedule = build_schedule(terms, method)

    assert len(schedule) == (1 if method is RepaymentMethod.BULLET else term)
    assert sum(i.principal for i in schedule) == principal
    assert schedule.instalments[-1].remaining_principal == 0
    assert schedule.instalments[-1].due_date == add_months(start, term)
    assert sum(i.months for i in schedule) == term
    previous = principal
    for instalment in schedule:
        assert (
            min(instalment.principal, instalment.interest, instalment.fee, instalment.remaining_principal)
            >= 0
        )
        assert instalment.payment == instalment.principal + instalment.interest + instalment.fee
        assert instalment.remaining_principal == previous - instalment.principal
        previous = instalment.remaining_principal
    assert [i.number for i in schedule] == list(range(1, len(schedule) + 1))


@settings(max_examples=40, deadline=None)
@given(principal=principals, rate=rates, term=st.integers(min_value=2, max_value=60))
def test_annuity_payments_are_level_except_the_last(principal: int, rate: Decimal, term: int) -> None:
    terms = LoanTerms(principal=Fen(principal), annual_rate=rate, term=term, start_date=START)
    schedule = build_schedule(terms, RepaymentMethod.EQUAL_INSTALMENT)
    level = level_payment(Fen(principal), rate, term)

    assert {i.payment for i in schedule.instalments[:-1]} == {level}
    # The last instalment only trues up rounding: within a fen per instalment.
    assert abs(schedule.instalments[-1].payment - level) <= term
    pmt = -npf.pmt(float(rate / 12), term, principal)
    assert abs(level - pmt) <= 0.5 + 1e-6


def loan(method: RepaymentMethod, term: int = 12) -> LoanTerms:
    return LoanTerms(principal=Fen(1_200_000), annual_rate=Decimal("0.12"), term=term, start_date=START)


def test_lower_instalment_keeps_the_dates_and_lowers_the_payment() -> None:
    schedule = build_schedule(loan(RepaymentMethod.EQUAL_INSTALMENT), RepaymentMethod.EQUAL_INSTALMENT)
    remaining = schedule.instalments[3:]
    balance = schedule.instalments[2].remaining_principal - 300_000

    rebuilt = reamortize(
        Fen(balance),
        remaining,
        Decimal("0.12"),
        RepaymentMethod.EQUAL_INSTALMENT,
        FutureRule.LOWER_INSTALMENT,
    )

    assert [i.due_date for i in rebuilt] == [i.due_date for i in remaining]
    assert [i.number for i in rebuilt] == [i.number for i in remaining]
    assert rebuilt.instalments[0].payment < remaining[0].payment
    assert rebuilt.total_principal == balance
    assert rebuilt.instalments[-1].remaining_principal == 0


def test_shorten_term_keeps_the_payment_and_drops_instalments() -> None:
    schedule = build_schedule(loan(RepaymentMethod.EQUAL_INSTALMENT), RepaymentMethod.EQUAL_INSTALMENT)
    remaining = schedule.instalments[3:]
    balance = schedule.instalments[2].remaining_principal - 300_000

    rebuilt = reamortize(
        Fen(balance), remaining, Decimal("0.12"), RepaymentMethod.EQUAL_INSTALMENT, FutureRule.SHORTEN_TERM
    )

    assert len(rebuilt) < len(remaining)
    assert {i.payment for i in rebuilt.instalments[:-1]} == {remaining[0].payment}
    assert rebuilt.instalments[-1].payment <= remaining[0].payment
    assert rebuilt.total_principal == balance


def test_shorten_term_for_equal_principal_keeps_the_monthly_principal() -> None:
    schedule = build_schedule(loan(RepaymentMethod.EQUAL_PRINCIPAL), RepaymentMethod.EQUAL_PRINCIPAL)
    remaining = schedule.instalments[2:]  # 10 x 100,000 left
    rebuilt = reamortize(
        Fen(650_000), remaining, Decimal("0.12"), RepaymentMethod.EQUAL_PRINCIPAL, FutureRule.SHORTEN_TERM
    )

    assert [i.principal for i in rebuilt] == [100_000] * 6 + [50_000]
    assert [i.number for i in rebuilt] == list(range(3, 10))


def test_reamortizing_to_zero_leaves_no_instalments() -> None:
    schedule = build_schedule(loan(RepaymentMethod.EQUAL_PRINCIPAL), RepaymentMethod.EQUAL_PRINCIPAL)
    rebuilt = reamortize(
        Fen(0),
        schedule.instalments,
        Decimal("0.12"),
        RepaymentMethod.EQUAL_PRINCIPAL,
        FutureRule.SHORTEN_TERM,
    )
    assert len(rebuilt) == 0


@settings(max_examples=60, deadline=None)
@given(
    principal=principals,
    rate=rates,
    term=st.integers(min_value=2, max_value=60),
    method=st.sampled_from(RepaymentMethod),
    rule=st.sampled_from(FutureRule),
    data=st.data(),
)
def test_reamortized_schedules_repay_the_new_balance_on_the_old_dates(
    principal: int, rate: Decimal, term: int, method: RepaymentMethod, rule: FutureRule, data: st.DataObject
) -> None:
    schedule = build_schedule(
        LoanTerms(principal=Fen(principal), annual_rate=rate, term=term, start_date=START), method
    )
    paid = data.draw(st.integers(min_value=0, max_value=len(schedule) - 1))
    remaining = schedule.instalments[paid:]
    balance = sum(i.principal for i in remaining)
    new_balance = data.draw(st.integers(min_value=1, max_value=balance))

    rebuilt = reamortize(Fen(new_balance), remaining, rate, method, rule)

    assert rebuilt.total_principal == new_balance
    assert rebuilt.instalments[-1].remaining_principal == 0
    assert 1 <= len(rebuilt) <= len(remaining)
    assert [i.due_date for i in rebuilt] == [i.due_date for i in remaining[: len(rebuilt)]]
    if rule is FutureRule.LOWER_INSTALMENT:
        assert len(rebuilt) == len(remaining)
    for instalment in rebuilt:
        assert min(instalment.principal, instalment.interest, instalment.remaining_principal) >= 0
