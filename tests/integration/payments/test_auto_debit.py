"""Auto-debit on due dates: insufficient funds, the retry schedule, idempotency, test clocks."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import select

from lendbridge.events.models import Event
from lendbridge.payments import services
from lendbridge.payments.models import PaymentInstruction
from tests.factories.payments import CARD, PaymentsWorld, make_world
from tests.factories.tenancy import auth

DUE = date(2026, 12, 10)


def mandate(w: PaymentsWorld, loan_id: str) -> None:
    resp = w.app.test_client().post(f"/v1/loans/{loan_id}/mandate", json={}, headers=auth(w.partner.test_key))
    assert resp.status_code == 201, resp.get_json()


def debits(w: PaymentsWorld, loan_id: str) -> list[PaymentInstruction]:
    with w.rt.new_uow() as uow:
        rows = list(
            uow.session.execute(
                select(PaymentInstruction)
                .where(PaymentInstruction.subject_id == loan_id, PaymentInstruction.purpose == "auto_debit")
                .order_by(PaymentInstruction.sequence)
                .execution_options(all_tenants=True)
            ).scalars()
        )
        uow.session.expunge_all()
        return rows


def event_types(app: Flask, object_id: str) -> list[str]:
    with app.extensions["lendbridge"].db.reader() as s:
        return list(
            s.execute(select(Event.type).where(Event.object_id == object_id).order_by(Event.id)).scalars()
        )


def test_insufficient_funds_then_the_retry_a_day_later_succeeds(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="active", dues=[(DUE, 105_000), (DUE + timedelta(days=31), 105_000)])
    mandate(w, loan.loan_id)
    w.sims.set_card_balance(CARD, 50_000)
    custody_before = w.sims.custody_bank.balance("6214830000000001")

    report = services.run_auto_debits(w.rt.new_uow, DUE, rt=w.rt)
    assert (report.created, report.succeeded, report.failed) == (1, 0, 1)
    (first,) = debits(w, loan.loan_id)
    assert (
        first.state == "failed"
        and first.failure_code == "insufficient_funds"
        and first.direction == "collection"
    )
    assert first.amount == 105_000 and first.due_date == DUE and first.sequence == 1
    assert sorted(event_types(any_app, first.id)) == ["payment.failed", "repayment.failed"]
    assert w.loans.loans[loan.loan_id].repayments == []

    again = services.run_auto_debits(w.rt.new_uow, DUE, rt=w.rt)
    assert again.created == 0 and len(debits(w, loan.loan_id)) == 1  # the same day never debits twice

    w.sims.set_card_balance(CARD, 500_000)
    report = services.run_auto_debits(w.rt.new_uow, DUE + timedelta(days=1), rt=w.rt)
    assert (report.created, report.succeeded) == (1, 1)
    second = debits(w, loan.loan_id)[1]
    assert (
        second.state == "succeeded" and second.sequence == 2 and second.instruction_id != first.instruction_id
    )
    assert w.loans.loans[loan.loan_id].repayments == [(105_000, second.instruction_id)]
    assert w.sims.custody_bank.balance("6214830000000001") == custody_before + 105_000

    later = services.run_auto_debits(w.rt.new_uow, DUE + timedelta(days=3), rt=w.rt)
    assert later.created == 0  # paid: no third attempt


def test_the_last_retry_is_on_day_three_then_collections_take_over(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="active", dues=[(DUE, 80_000)])
    mandate(w, loan.loan_id)
    w.sims.set_card_balance(CARD, 0)
    for offset in range(0, 6):
        services.run_auto_debits(w.rt.new_uow, DUE + timedelta(days=offset), rt=w.rt)
    rows = debits(w, loan.loan_id)
    assert [(r.sequence, r.state) for r in rows] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert [r.failure_code for r in rows] == ["insufficient_funds"] * 3


def test_no_mandate_no_debit(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="active", dues=[(DUE, 80_000)])
    report = services.run_auto_debits(w.rt.new_uow, DUE, rt=w.rt)
    assert report.created == 0 and report.skipped == 1 and debits(w, loan.loan_id) == []


def test_test_clock_loans_are_debited_only_by_their_clock(any_app: Flask) -> None:
    w = make_world(any_app)
    normal = w.loan(state="active", dues=[(DUE, 10_000)])
    clocked = w.loan(state="active", dues=[(DUE, 20_000)], test_clock_id="clock_01JD3Q8Z6S0M4W2C7V9E5K1T3P")
    mandate(w, normal.loan_id)
    mandate(w, clocked.loan_id)
    services.run_auto_debits(w.rt.new_uow, DUE, rt=w.rt)
    assert len(debits(w, normal.loan_id)) == 1 and debits(w, clocked.loan_id) == []
    report = services.run_auto_debits(
        w.rt.new_uow, DUE, test_clock_id="clock_01JD3Q8Z6S0M4W2C7V9E5K1T3P", rt=w.rt
    )
    assert report.succeeded == 1
    (debit,) = debits(w, clocked.loan_id)
    assert debit.test_clock_id == "clock_01JD3Q8Z6S0M4W2C7V9E5K1T3P" and debit.state == "succeeded"


def test_a_card_changed_since_the_mandate_is_not_debited(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="active", dues=[(DUE, 10_000)])
    mandate(w, loan.loan_id)
    w.accounts.cards[loan.borrower_id] = "6217000000000022"
    services.run_auto_debits(w.rt.new_uow, DUE, rt=w.rt)
    (debit,) = debits(w, loan.loan_id)
    assert debit.state == "failed" and debit.failure_code == "mandate_missing"
    assert w.sims.executions() == {}
