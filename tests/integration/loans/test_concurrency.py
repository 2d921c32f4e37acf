"""Concurrent writes on one loan (PostgreSQL): repayments racing each other and the COB."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lendbridge.core.money import Fen
from lendbridge.ledger import services as ledger
from lendbridge.loans import cob, repository
from lendbridge.loans import services as loans
from lendbridge.loans.interest import accrued_to_date
from lendbridge.loans.models import Loan, LoanInstalment, Repayment
from tests.factories.loans import (
    close_days,
    get_loan,
    make_book,
    make_loan,
    repay,
    set_day,
    uow_for,
    use_clock,
)
from tests.factories.tenancy import auth

START = date(2026, 1, 15)


def in_books(app: Flask, loan_id: str) -> bool:
    with uow_for(app, None) as uow:
        loan = uow.get(Loan, loan_id)
        return loans.matches_ledger(loan, ledger.loan_balances(uow.session, loan_id)) and (
            ledger.unbalanced_entries(uow.session) == 0
        )


def test_concurrent_repayments_on_one_loan_are_serialised(pg_app: Flask) -> None:
    use_clock(pg_app, START)
    book = make_book(pg_app)
    loan_id = make_loan(pg_app, book)
    close_days(pg_app, START, date(2026, 2, 14))
    set_day(pg_app, date(2026, 2, 15))
    workers, amount = 8, 40_000
    barrier = threading.Barrier(workers)
    results: list[Any] = []

    def pay() -> None:
        client = pg_app.test_client()
        barrier.wait()
        resp = client.post(
            f"/v1/loans/{loan_id}/repayments", json={"amount": amount}, headers=auth(book.partner.test_key)
        )
        results.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=pay) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [201] * workers, results
    loan = get_loan(pg_app, loan_id)
    principal_paid = sum(body["principal"] for _, body in results)
    assert loan.principal_outstanding == 1_200_000 - principal_paid
    assert sum(body["amount"] for _, body in results) == workers * amount
    with uow_for(pg_app, None) as uow:
        count = uow.session.execute(
            select(func.count()).select_from(Repayment).where(Repayment.loan_id == loan_id)
        )
        assert count.scalar_one() == workers
        first = uow.session.get(LoanInstalment, (loan_id, 1))
        assert first is not None and first.status == "paid" and first.paid_interest == first.interest
    assert in_books(pg_app, loan_id)


def test_a_repayment_waits_for_the_cob_batch_holding_its_loan(
    pg_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_clock(pg_app, START)
    book = make_book(pg_app)
    loan_id = make_loan(pg_app, book)
    day = date(2026, 1, 25)
    close_days(pg_app, START, day - date.resolution)
    set_day(pg_app, day)
    locked, release = threading.Event(), threading.Event()
    real = repository.instalments_to_accrue

    def pause_with_rows_locked(*args: Any, **kwargs: Any) -> Any:
        locked.set()  # the batch's loan rows are locked FOR UPDATE by now
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(repository, "instalments_to_accrue", pause_with_rows_locked)
    db = pg_app.extensions["lendbridge"].db
    reports: list[cob.CobReport] = []
    runner = threading.Thread(target=lambda: reports.append(cob.run_cob(db, day)))
    runner.start()
    assert locked.wait(10)
    paid: list[Any] = []
    payer = threading.Thread(
        target=lambda: paid.append(repay(pg_app, book.partner.tenant_id, loan_id, 5_000))
    )
    payer.start()
    time.sleep(0.5)
    assert not paid, "the repayment must wait for the COB batch's row lock"
    release.set()
    runner.join(10)
    payer.join(10)
    assert reports[0].loans_accrued == 1 and len(paid) == 1
    loan = get_loan(pg_app, loan_id)
    assert loan.accrued_through == day
    with uow_for(pg_app, None) as uow:
        first = uow.session.get(LoanInstalment, (loan_id, 1))
        assert first is not None
        # Day 25's interest is booked once, by the COB; the repayment found it done.
        assert first.interest_accrued == accrued_to_date(
            Fen(first.interest), first.period_start, first.due_date, day
        )
    assert in_books(pg_app, loan_id)
