"""Payments wired to the real loan engine and identity: disbursement, auto-debit, ledger."""

from __future__ import annotations

import time
from datetime import date

from flask import Flask
from sqlalchemy import select

from lendbridge.db import TenantContext
from lendbridge.ledger.models import JournalEntry
from lendbridge.loans import services as loans
from lendbridge.loans.models import LoanInstalment, Repayment
from lendbridge.payments import services
from lendbridge.payments.runtime import runtime
from lendbridge.tenancy.models import Tenant
from lendbridge.uow import UnitOfWork
from tests.factories.identity import create_borrower, person
from tests.factories.loans import make_book, make_loan, set_day, use_clock
from tests.factories.tenancy import auth

START = date(2026, 11, 20)


def wait_for(fn, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def disbursed_loan_with_mandate(any_app: Flask) -> tuple[str, str, date]:
    """A loan paid out through the real channels, with a debit mandate: (partner key, loan, first due)."""
    use_clock(any_app, START)
    book = make_book(any_app, "Mingde")
    svc = any_app.extensions["lendbridge"]
    rt = runtime(any_app)
    with UnitOfWork(svc.db, clock=svc.clock) as uow:
        services.register_custody_account(
            uow,
            institution_id=book.institution.tenant_id,
            livemode=False,
            bank_name="China Merchants Bank",
            bank_code="CMB",
            account_number="6214830000000002",
            account_holder="Mingde Bank",
            rt=rt,
        )
        uow.commit()
    client = any_app.test_client()
    borrower = create_borrower(client, book.partner.test_key, person(bank_card="6222021234567894"))
    loan_id = make_loan(any_app, book, borrower_id=borrower.id, principal=1_200_000, term=12, disburse=False)

    resp = client.post(f"/v1/loans/{loan_id}/disburse", headers=auth(book.partner.test_key))
    assert resp.status_code == 201, resp.get_json()
    payment = resp.get_json()
    done = wait_for(
        lambda: (
            b
            if (
                b := client.get(
                    f"/v1/loans/{loan_id}/disbursement", headers=auth(book.partner.test_key)
                ).get_json()
            )["status"]
            == "succeeded"
            else None
        )
    )
    assert done["id"] == payment["id"] and done["counterparty"]["last4"] == "7894"

    partner_ctx = TenantContext(book.partner.tenant_id, False)
    with any_app.app_context(), UnitOfWork(svc.db, partner_ctx, clock=svc.clock) as uow:
        loan = loans.get_loan(uow, loan_id)
        assert loan.status == "active" and loan.disbursement_ref == payment["instruction_id"]
        assert loan.disbursed_on == START
        first_due = uow.session.execute(
            select(LoanInstalment.due_date).where(
                LoanInstalment.loan_id == loan_id, LoanInstalment.number == 1
            )
        ).scalar_one()
    with svc.db.reader() as s:
        books = set(s.execute(select(JournalEntry.institution_id)).scalars())
        kinds = dict(s.execute(select(Tenant.id, Tenant.kind)).all())
    assert books == {book.institution.tenant_id} and {kinds[b] for b in books} == {"institution"}

    assert (
        client.post(f"/v1/loans/{loan_id}/mandate", json={}, headers=auth(book.partner.test_key)).status_code
        == 201
    )
    return book.partner.test_key, loan_id, first_due


def test_disburse_and_auto_debit_through_the_loan_engine(any_app: Flask) -> None:
    _, loan_id, first_due = disbursed_loan_with_mandate(any_app)
    svc = any_app.extensions["lendbridge"]
    rt = runtime(any_app)
    rt.simulators.set_card_balance("6222021234567894", 1_000)
    set_day(any_app, first_due)
    with any_app.app_context():
        report = services.run_auto_debits(rt.new_uow, first_due, rt=rt)
    assert (report.created, report.failed) == (1, 1)
    rt.simulators.set_card_balance("6222021234567894", None)
    set_day(any_app, date.fromordinal(first_due.toordinal() + 1))
    with any_app.app_context():
        report = services.run_auto_debits(rt.new_uow, date.fromordinal(first_due.toordinal() + 1), rt=rt)
    assert (report.created, report.succeeded) == (1, 1)
    with svc.db.reader() as s:
        repayments = s.execute(select(Repayment).where(Repayment.loan_id == loan_id)).scalars().all()
        assert [(r.source, r.external_ref) for r in repayments] == [
            ("auto_debit", repayments[0].external_ref)
        ]
        assert repayments[0].amount > 0
        status = s.execute(
            select(LoanInstalment.status).where(LoanInstalment.loan_id == loan_id, LoanInstalment.number == 1)
        ).scalar_one()
    assert status == "paid"


def test_a_borrower_pays_an_overdue_instalment_now_through_the_loan_engine(any_app: Flask) -> None:
    key, loan_id, first_due = disbursed_loan_with_mandate(any_app)
    svc = any_app.extensions["lendbridge"]
    rt = runtime(any_app)
    client = any_app.test_client()
    rt.simulators.set_card_balance("6222021234567894", 0)
    set_day(any_app, first_due)
    with any_app.app_context():
        assert services.run_auto_debits(rt.new_uow, first_due, rt=rt).failed == 1
    # Two days late, the borrower tops the card up and pays from the partner's app.
    late = date.fromordinal(first_due.toordinal() + 2)
    set_day(any_app, late)
    rt.simulators.set_card_balance("6222021234567894", None)
    resp = client.post(f"/v1/loans/{loan_id}/debits", json={}, headers=auth(key))
    assert resp.status_code == 201, resp.get_json()
    payment = resp.get_json()
    assert payment["purpose"] == "debit_now"
    wait_for(
        lambda: (
            client.get(f"/v1/payments/{payment['id']}", headers=auth(key)).get_json()["status"] == "succeeded"
        )
    )
    with svc.db.reader() as s:
        repayment = s.execute(
            select(Repayment).where(Repayment.loan_id == loan_id, Repayment.source == "debit_now")
        ).scalar_one()
        first = s.execute(
            select(LoanInstalment).where(LoanInstalment.loan_id == loan_id, LoanInstalment.number == 1)
        ).scalar_one()
    # The debit was sized to what the waterfall takes: the instalment with its penalty.
    assert repayment.amount == payment["amount"] and repayment.penalty > 0 and repayment.principal > 0
    assert first.status == "paid" and repayment.external_ref == payment["instruction_id"]
    loan = client.get(f"/v1/loans/{loan_id}", headers=auth(key)).get_json()
    assert loan["status"] == "active" and loan["days_past_due"] == 0
