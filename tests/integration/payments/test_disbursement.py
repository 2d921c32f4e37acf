"""Disbursement end to end over the fake loan engine: routing, channels, states, events."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from lendbridge.events.models import Event
from tests.factories.payments import CMB_CARD, make_world


def events_of(app: Flask, object_id: str) -> list[str]:
    with app.extensions["lendbridge"].db.reader() as s:
        return [
            e.type
            for e in s.execute(select(Event).where(Event.object_id == object_id).order_by(Event.id)).scalars()
        ]


def test_a_signed_loan_is_paid_out_once_and_goes_active(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(principal=1_000_000, upfront_fee=10_000)
    payment_id = w.disburse(loan)
    p = w.payment(payment_id)
    assert p.state == "succeeded" and p.amount == 990_000 and p.channel == "unionpay_sim"
    assert w.loans.loans[loan.loan_id].loan.state == "active"
    assert w.loans.loans[loan.loan_id].events == ["loan.disbursing", "loan.disbursed"]
    assert w.sims.executions() == {p.instruction_id: ["unionpay_sim"]}
    assert w.sims.custody_bank.balance("6214830000000001") == 10_000_000_000 - 990_000
    assert events_of(any_app, payment_id) == ["payment.succeeded"]
    calls = [(a.operation, a.result) for a in w.attempts(payment_id) if a.operation != "callback"]
    assert calls == [("submit", "sent"), ("submit", "succeeded")]
    assert w.enqueued == [("payments.execute", (payment_id, w.partner.tenant_id, False))]


def test_a_cmb_card_goes_bank_direct(any_app: Flask) -> None:
    w = make_world(any_app)
    p = w.payment(w.disburse(w.loan(card=CMB_CARD)))
    assert p.state == "succeeded" and p.channel == "bankdirect_sim"


def test_other_areas_can_call_disburse_loan_with_just_the_loan(any_app: Flask) -> None:
    from lendbridge.payments import services

    w = make_world(any_app)
    loan = w.loan()
    with any_app.app_context(), w.tenant_uow() as uow:
        payment = services.disburse_loan(uow, loan.loan_id)
        uow.commit()
    assert payment.state == "pending" and w.enqueued[-1][0] == "payments.execute"
