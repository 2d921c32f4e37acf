"""Duplicate instructions: the same logical payment is never paid twice, however often it
is requested, enqueued or submitted."""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy import func, select

from lendbridge.payments import services
from lendbridge.payments.channels import order_body
from lendbridge.payments.models import PaymentInstruction
from tests.factories.payments import CUSTODY_NUMBER, make_world, order
from tests.factories.tenancy import auth


def test_a_task_delivered_twice_executes_once(any_app: Flask) -> None:
    w = make_world(any_app)
    payment_id = w.disburse(w.loan())
    up = w.sims.channel("unionpay_sim")
    submits = up.calls["submit"]
    assert services.execute_payment(payment_id, rt=w.rt) == "succeeded"  # at-least-once delivery
    assert up.calls["submit"] == submits
    assert len(w.sims.executions()) == 1


def test_parallel_disburse_requests_make_one_payment(pg_app: Flask) -> None:
    w = make_world(pg_app)
    loan = w.loan()
    codes: list[int] = []

    def post() -> None:
        resp = pg_app.test_client().post(
            f"/v1/loans/{loan.loan_id}/disburse", headers=auth(w.partner.test_key)
        )
        codes.append(resp.status_code)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 201 in codes and set(codes) <= {201, 409}
    with w.rt.new_uow() as uow:
        count = uow.session.execute(
            select(func.count())
            .select_from(PaymentInstruction)
            .where(PaymentInstruction.subject_id == loan.loan_id)
            .execution_options(all_tenants=True)
        ).scalar_one()
    assert count == 1


def test_the_channel_dedupes_a_resubmitted_instruction_id(any_app: Flask) -> None:
    w = make_world(any_app)
    p = w.payment(w.disburse(w.loan(principal=300_000)))
    balance = w.sims.custody_bank.balance(CUSTODY_NUMBER)
    again = w.sims.channel("unionpay_sim").submit(order_body(order(p.instruction_id, p.amount)), 1.0)
    assert again["status"] == "succeeded" and again["channel_ref"] == p.channel_ref
    assert w.sims.custody_bank.balance(CUSTODY_NUMBER) == balance
    assert len(w.sims.custody_bank.movements(CUSTODY_NUMBER, reference=p.instruction_id)) == 1
