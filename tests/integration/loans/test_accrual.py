"""The servicing arithmetic the COB and the catch-up share (loans/accrual.py; pure, no database).

Kept with the integration tests of the loans area because tests/unit/loans belongs to the
pure core's own suite.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.money import Fen
from lendbridge.loans import accrual
from lendbridge.loans.accrual import InstalmentState
from lendbridge.loans.penalty import penalty_accrued
from lendbridge.loans.prepayment import prepay
from lendbridge.loans.schedules import build_schedule
from lendbridge.loans.terms import FutureRule, LoanTerms, RepaymentMethod
from lendbridge.loans.waterfall import DEFAULT_ORDER, Component, allocate

START = date(2026, 1, 31)
RATE = Decimal("0.36")


def states(
    principal: int = 1_200_000, term: int = 12, method: RepaymentMethod = RepaymentMethod.EQUAL_INSTALMENT
) -> tuple[InstalmentState, ...]:
    terms = LoanTerms(
        principal=Fen(principal),
        annual_rate=Decimal("0.12"),
        term=term,
        start_date=START,
        monthly_fee_rate=Decimal("0.001"),
    )
    return tuple(InstalmentState.scheduled(i) for i in build_schedule(terms, method))


def run_days(
    insts: tuple[InstalmentState, ...], first: date, last: date
) -> tuple[tuple[InstalmentState, ...], accrual.Accrual]:
    total = accrual.NOTHING
    day = first
    while day <= last:
        insts, deltas = accrual.catch_up(insts, day, RATE)
        total = total + accrual.total(deltas)
        day += timedelta(days=1)
    return insts, total


def test_daily_bookings_of_a_period_add_up_to_its_interest_and_fee() -> None:
    insts = states()
    first = insts[0]
    after, total = run_days(insts, START, first.due_date)
    assert after[0].interest_accrued == first.interest and total.interest == first.interest
    assert after[0].fee_charged == first.fee == total.fee  # billed on the due date only


def test_one_catch_up_over_a_gap_books_what_daily_runs_would() -> None:
    insts = states()
    last = date(2026, 4, 20)
    daily, daily_total = run_days(insts, START, last)
    once, deltas = accrual.catch_up(insts, last, RATE)
    assert once == daily and accrual.total(deltas) == daily_total
    again, nothing = accrual.catch_up(once, last, RATE)
    assert again == once and not accrual.total(nothing)


def test_penalty_runs_on_overdue_principal_and_restarts_after_a_partial_payment() -> None:
    insts, _ = accrual.catch_up(states(), date(2026, 3, 10), RATE)
    first = insts[0]  # due 28 Feb
    assert first.penalty_accrued == penalty_accrued(first.principal, RATE, first.due_date, date(2026, 3, 10))
    on = date(2026, 3, 10)
    allocation = allocate(
        Fen(first.penalty_accrued + first.fee + first.interest + 50_000),
        accrual.dues(insts, on),
        DEFAULT_ORDER,
    )
    paid = accrual.apply_allocation(insts, allocation, on)
    assert paid[0].paid_principal == 50_000 and paid[0].penalty_since == on and paid[0].status == "pending"
    later, _ = accrual.catch_up(paid, date(2026, 3, 20), RATE)
    rest = first.principal - 50_000
    assert later[0].penalty_accrued == first.penalty_accrued + penalty_accrued(
        Fen(rest), RATE, on, date(2026, 3, 20)
    )


def test_dues_cover_booked_amounts_of_instalments_due_by_the_date() -> None:
    insts, _ = accrual.catch_up(states(), date(2026, 3, 31), RATE)
    dues = accrual.dues(insts, date(2026, 3, 31))
    assert [(d.instalment, d.dueness.value) for d in dues] == [(1, "past_due"), (2, "due")]
    assert all(d.interest == insts[d.instalment - 1].interest for d in dues)


def test_delinquency_counts_from_the_day_after_the_oldest_unpaid_due_date() -> None:
    insts = accrual.mark_overdue(states(), date(2026, 2, 28))
    assert [i.status for i in insts[:2]] == ["overdue", "pending"]
    found = accrual.delinquency(insts, date(2026, 2, 28))
    assert (found.days_past_due, found.bucket.value, found.classification.value) == (
        1,
        "1-3",
        "special_mention",
    )
    assert accrual.delinquency(insts, date(2026, 5, 31)).bucket.value == "90+"
    assert accrual.delinquency(states(), date(2026, 2, 27)).days_past_due == 0


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(list(RepaymentMethod)),
    principal=st.integers(500_000, 50_000_000),
    term=st.integers(2, 12),
    day_offset=st.integers(1, 200),
    share=st.decimals(Decimal("0.01"), Decimal("0.95"), places=2),
    rule=st.sampled_from(list(FutureRule)),
)
def test_after_re_amortisation_the_period_still_books_exactly_its_new_interest(
    method: RepaymentMethod, principal: int, term: int, day_offset: int, share: Decimal, rule: FutureRule
) -> None:
    insts = states(principal, term, method)
    on = START + timedelta(days=day_offset)
    if on >= insts[-1].due_date:
        on = insts[-1].due_date - timedelta(days=1)
    insts, _ = accrual.catch_up(insts, on, RATE)
    dues = accrual.dues(insts, on)
    owed = sum(d.total for d in dues)
    schedule = accrual.future_schedule(insts, on, method, Decimal("0.12"))
    amount = Fen(owed + max(1, int(schedule.principal * share)))
    allocation = allocate(amount, dues, DEFAULT_ORDER, rule)
    paid = accrual.apply_allocation(insts, allocation, on)
    result = prepay(schedule, allocation.prepayment, on, rule)
    rebuilt = accrual.rebuild_future(paid, result.schedule, on, result.split.interest)
    assert abs(rebuilt.interest_true_up) <= 2  # rounding only
    booked_before = sum(i.interest_accrued for i in insts) - result.split.interest + rebuilt.interest_true_up
    assert sum(i.interest_accrued for i in rebuilt.instalments) == booked_before
    final, _ = accrual.catch_up(rebuilt.instalments, rebuilt.instalments[-1].due_date, RATE)
    assert all(i.interest_accrued == i.interest for i in final)
    assert sum(i.principal - i.paid_principal for i in final) == principal - allocation.total(
        Component.PRINCIPAL
    ) - result.split.principal - sum(i.paid_principal for i in insts)
