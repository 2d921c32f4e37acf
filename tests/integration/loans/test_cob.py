"""Close of business: exact accruals, idempotency, restart after a crash, test-clock scope,
events only on state changes, and the daily tick."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lendbridge.core.money import Fen
from lendbridge.events.models import Event
from lendbridge.ledger import services as ledger
from lendbridge.ledger.models import JournalLine
from lendbridge.loans import cob
from lendbridge.loans import services as loans
from lendbridge.loans.interest import accrued_to_date
from lendbridge.loans.models import CobRun, LoanInstalment
from tests.factories.loans import (
    close_days,
    get_loan,
    make_book,
    make_loan,
    make_test_clock,
    move_test_clock,
    repay,
    set_day,
    uow_for,
    use_clock,
)

START = date(2026, 1, 15)


def balances(app: Flask, ids: list[str]) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    for loan_id in ids:
        loan = get_loan(app, loan_id)
        out[loan_id] = (
            loan.principal_outstanding,
            loan.interest_receivable,
            loan.penalty_receivable,
            loan.fee_receivable,
            loan.days_past_due,
        )
    return out


def all_in_books(app: Flask, ids: list[str]) -> bool:
    with uow_for(app, None) as uow:
        return (
            all(
                loans.matches_ledger(uow.get(loans.Loan, i), ledger.loan_balances(uow.session, i))
                for i in ids
            )
            and ledger.unbalanced_entries(uow.session) == 0
        )


def line_count(app: Flask) -> int:
    with uow_for(app, None) as uow:
        return int(uow.session.execute(select(func.count()).select_from(JournalLine)).scalar_one())


def first_instalment(app: Flask, loan_id: str) -> LoanInstalment:
    with uow_for(app, None) as uow:
        row = uow.session.get(LoanInstalment, (loan_id, 1))
        assert row is not None
        uow.session.expunge(row)
        return row


def test_a_periods_daily_accruals_add_up_to_its_scheduled_interest(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    ids = [
        make_loan(any_app, book, principal=p, method=m)
        for p, m in (
            (1_234_567, "equal_instalment"),
            (999_999, "equal_principal"),
            (700_001, "interest_first"),
        )
    ]
    reports = close_days(any_app, START, date(2026, 2, 15))
    for loan_id in ids:
        first = first_instalment(any_app, loan_id)
        assert first.interest_accrued == first.interest  # exactly, after 31 daily roundings
        assert get_loan(any_app, loan_id).interest_receivable == first.interest
    assert sum(r.interest for r in reports) == sum(first_instalment(any_app, i).interest for i in ids)
    assert all_in_books(any_app, ids)


def test_running_a_date_twice_books_nothing_twice(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    ids = [make_loan(any_app, book) for _ in range(3)]
    close_days(any_app, START, date(2026, 1, 20))
    before, lines = balances(any_app, ids), line_count(any_app)
    again = cob.run_cob(any_app.extensions["lendbridge"].db, date(2026, 1, 20))
    assert again.loans_accrued == 0 and again.journal_lines == 0
    assert balances(any_app, ids) == before and line_count(any_app) == lines


def test_a_crash_mid_batch_is_restarted_without_double_accrual(
    any_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    ids = sorted(make_loan(any_app, book) for _ in range(5))
    db = any_app.extensions["lendbridge"].db
    day = date(2026, 1, 25)
    real_post = cob._post_batch
    calls = {"n": 0}

    def crash_on_second_batch(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed mid-batch")
        real_post(*args, **kwargs)

    monkeypatch.setattr(cob, "_post_batch", crash_on_second_batch)
    with any_app.app_context(), pytest.raises(RuntimeError):
        cob.run_cob(db, day, batch_size=2, workers=1)
    accrued = [get_loan(any_app, i).accrued_through for i in ids]
    assert accrued == [day, day, START, START, START]  # batch 1 committed, batch 2 rolled back
    monkeypatch.setattr(cob, "_post_batch", real_post)
    with any_app.app_context():
        report = cob.run_cob(db, day, batch_size=2)
    assert report.loans_accrued == 3
    first = first_instalment(any_app, ids[0])
    expected = accrued_to_date(Fen(first.interest), first.period_start, first.due_date, day)
    assert {get_loan(any_app, i).interest_receivable for i in ids} == {expected}
    assert all_in_books(any_app, ids)
    with uow_for(any_app, None) as uow:
        run = uow.session.get(CobRun, ("", day))
        assert run is not None and run.status == "closed"


def test_a_repayment_catches_the_loan_up_and_cob_then_skips_it(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    paying, idle = make_loan(any_app, book), make_loan(any_app, book)
    day = date(2026, 1, 30)
    set_day(any_app, day)
    repay(any_app, book.partner.tenant_id, paying, 10_000)  # COB has not run at all yet
    assert get_loan(any_app, paying).accrued_through == day
    report = cob.run_cob(any_app.extensions["lendbridge"].db, day)
    assert report.loans_accrued == 1  # only the idle loan
    first = first_instalment(any_app, idle)
    assert get_loan(any_app, idle).interest_receivable == accrued_to_date(
        Fen(first.interest), first.period_start, first.due_date, day
    )
    assert all_in_books(any_app, [paying, idle])


def test_regular_runs_skip_test_clock_loans_and_a_clock_run_covers_only_its_own(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    clock_a = make_test_clock(any_app, book.partner, START)
    clock_b = make_test_clock(any_app, book.partner, START)
    regular = make_loan(any_app, book)
    on_a = make_loan(any_app, book, test_clock_id=clock_a)
    on_b = make_loan(any_app, book, test_clock_id=clock_b)
    db = any_app.extensions["lendbridge"].db
    close_days(any_app, START, date(2026, 1, 20))
    assert [get_loan(any_app, i).accrued_through for i in (regular, on_a, on_b)] == [
        date(2026, 1, 20),
        START,
        START,
    ]
    move_test_clock(any_app, clock_a, date(2026, 2, 20))
    with any_app.app_context():
        reports = cob.run_cob_through(db, START, date(2026, 2, 19), test_clock_id=clock_a)
    assert sum(r.loans_accrued for r in reports) == 35 and all(r.scope == clock_a for r in reports)
    loan_a = get_loan(any_app, on_a)
    assert loan_a.status == "overdue" and loan_a.days_past_due == 5  # due 15 Feb, closed through 19 Feb
    assert [get_loan(any_app, i).accrued_through for i in (regular, on_b)] == [date(2026, 1, 20), START]
    # A repayment on the clock's loan happens at the clock's date.
    rpy = repay(any_app, book.partner.tenant_id, on_a, 200_000)
    assert rpy.business_date == date(2026, 2, 20)
    assert get_loan(any_app, on_a).status == "active"
    assert all_in_books(any_app, [regular, on_a, on_b])


def test_events_are_emitted_for_state_changes_not_for_daily_accruals(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    loan_id = make_loan(any_app, book)
    with uow_for(any_app, None) as uow:
        before = int(uow.session.execute(select(func.count()).select_from(Event)).scalar_one())
    reports = close_days(any_app, START, date(2026, 2, 25))
    assert sum(r.loans_overdue for r in reports) == 1 and sum(r.delinquency_updated for r in reports) == 10
    with uow_for(any_app, None) as uow:
        events = list(uow.session.execute(select(Event).order_by(Event.id)).scalars())[before:]
        assert [e.type for e in events] == ["loan.overdue"]
        assert events[0].tenant_id == book.partner.tenant_id  # the partner that owns the loan hears it
        assert (
            events[0].data["object"]["status"] == "overdue" and events[0].data["object"]["days_past_due"] == 1
        )
        body = events[0].data["object"]
        assert body["id"] == loan_id and set(body) == set(loans.loan_body(uow.get(loans.Loan, loan_id)))


def test_the_tick_closes_each_missing_date_once(any_app: Flask) -> None:
    use_clock(any_app, START)
    book = make_book(any_app)
    loan_id = make_loan(any_app, book)
    db = any_app.extensions["lendbridge"].db
    with any_app.app_context():
        first = cob.tick(db, START + timedelta(days=1))
        assert [r.business_date for r in first] == [START]
        assert cob.tick(db, START + timedelta(days=1)) == []
        later = cob.tick(db, START + timedelta(days=5))
    assert [r.business_date for r in later] == [START + timedelta(days=d) for d in range(1, 5)]
    assert get_loan(any_app, loan_id).accrued_through == START + timedelta(days=4)


def test_parallel_batches_that_crash_restart_to_the_same_books(
    pg_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_clock(pg_app, START)
    book = make_book(pg_app)
    ids = sorted(make_loan(pg_app, book) for _ in range(6))
    db = pg_app.extensions["lendbridge"].db
    day = date(2026, 1, 22)
    real_post = cob._post_batch
    calls = {"n": 0}

    def crash_on_third_batch(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed mid-batch")
        real_post(*args, **kwargs)

    monkeypatch.setattr(cob, "_post_batch", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        cob.run_cob(db, day, batch_size=1, workers=2)
    assert 0 < sum(get_loan(pg_app, i).accrued_through == day for i in ids) < 6
    monkeypatch.setattr(cob, "_post_batch", real_post)
    cob.run_cob(db, day, batch_size=1, workers=2)
    first = first_instalment(pg_app, ids[0])
    expected = accrued_to_date(Fen(first.interest), first.period_start, first.due_date, day)
    assert {get_loan(pg_app, i).interest_receivable for i in ids} == {expected}
    assert all_in_books(pg_app, ids)
