"""Unknown outcomes: a timeout or a lost reply is not a failure, and nothing is paid twice.

Each test checks the simulators' own ledgers (what the channels really executed), not
only our records.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from lendbridge.events.models import Event
from lendbridge.payments import services
from lendbridge.payments.models import PaymentInstruction
from lendbridge.payments.schedules import RequeryPolicy
from tests.factories.payments import AMBIGUOUS_CARD, TIMEOUT_CARD, make_world, run_until_settled
from tests.factories.tenancy import auth


def executions(w: Any, iid: str) -> list[str]:
    return list(w.sims.executions().get(iid, []))


def event_types(app: Flask, object_id: str) -> list[str]:
    with app.extensions["lendbridge"].db.reader() as s:
        rows = s.execute(select(Event.type).where(Event.object_id == object_id).order_by(Event.id)).scalars()
        return list(rows)


def test_ambiguous_reply_is_confirmed_by_query_not_resent(any_app: Flask) -> None:
    w = make_world(any_app)
    up, nu = w.sims.channel("unionpay_sim"), w.sims.channel("netsunion_sim")
    up.ambiguous_next(1)
    p = w.payment(w.disburse(w.loan()))
    assert p.state == "succeeded" and p.channel == "unionpay_sim"
    assert executions(w, p.instruction_id) == ["unionpay_sim"]
    assert nu.calls["submit"] == 0
    ops = [(a.channel, a.operation, a.result) for a in w.attempts(p.id) if a.operation != "callback"]
    assert ops[:3] == [
        ("unionpay_sim", "submit", "sent"),
        ("unionpay_sim", "submit", "timeout"),
        ("unionpay_sim", "query", "succeeded"),
    ]


def test_magic_ambiguous_card_pays_once(any_app: Flask) -> None:
    w = make_world(any_app)
    p = w.payment(w.disburse(w.loan(card=AMBIGUOUS_CARD)))
    assert p.state == "succeeded" and executions(w, p.instruction_id) == ["unionpay_sim"]


def test_timeout_card_is_closed_on_every_channel_and_fails_without_paying(any_app: Flask) -> None:
    w = make_world(any_app)
    for sim in w.sims.channels.values():
        sim.stall_ms = 400  # they arrive after our timeout and close: they must find the id closed
    loan = w.loan(card=TIMEOUT_CARD)
    p = w.payment(w.disburse(loan))
    assert p.state == "failed" and p.failure_code == "channel_timeout"
    assert set(p.spent_channels) == {"unionpay_sim", "netsunion_sim"}
    time.sleep(0.6)
    assert executions(w, p.instruction_id) == []
    for name in ("unionpay_sim", "netsunion_sim"):
        assert w.sims.channel(name).record(p.instruction_id)["status"] == "closed"
    assert w.loans.loans[loan.loan_id].loan.state == "signed"  # back to signed: retry or cancel
    assert event_types(any_app, p.id) == ["payment.failed"]


def test_unreachable_holder_keeps_the_payment_unknown_until_it_answers(any_app: Flask) -> None:
    w = make_world(any_app)
    up, nu = w.sims.channel("unionpay_sim"), w.sims.channel("netsunion_sim")
    up.set_latency(150)
    loan = w.loan()
    with w.tenant_uow() as uow:
        payment = services.disburse_loan(uow, loan.loan_id, ports=w.rt.ports)
        uow.commit()
    worker = threading.Thread(target=services.execute_payment, args=(payment.id,), kwargs={"rt": w.rt})
    worker.start()
    deadline = time.monotonic() + 5
    while up.calls["submit"] == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.02)
    up.kill()  # crash mid-request: the reply is lost, the payment may or may not have executed
    worker.join()
    p = w.payment(payment.id)
    assert p.state == "unknown" and p.channel == "unionpay_sim"
    assert nu.calls["submit"] == 0, "never resent while the first channel cannot answer"
    assert "payment.unknown" in event_types(any_app, p.id)
    services.resolve_open_payments(w.rt)  # still down: still unknown, one more check
    p = w.payment(payment.id)
    assert p.state == "unknown" and p.checks == 2 and nu.calls["submit"] == 0
    up.restore()
    up.set_latency(0)
    assert run_until_settled(w) == 0
    p = w.payment(payment.id)
    assert p.state == "succeeded"
    assert len(executions(w, p.instruction_id)) == 1
    assert executions(w, p.instruction_id) == [p.channel]


def test_unknown_after_every_requery_goes_to_operations_not_to_another_channel(any_app: Flask) -> None:
    w = make_world(any_app, requery=RequeryPolicy(first_delay=0, factor=1, max_delay=0, max_checks=3))
    up, nu = w.sims.channel("unionpay_sim"), w.sims.channel("netsunion_sim")
    up.callback = None  # no callback either: only a query could tell
    up.ambiguous_next(1)  # the first submit executes and its reply is lost ...
    original = up.submit

    def submit_then_crash(order: dict[str, Any], client_timeout: float | None = None) -> dict[str, Any]:
        try:
            return original(order, client_timeout)
        finally:
            up.kill()  # ... and then the channel is unreachable

    up.submit = submit_then_crash
    p = w.payment(w.disburse(w.loan()))
    assert p.state == "unknown"
    for _ in range(5):
        services.resolve_open_payments(w.rt)
    p = w.payment(p.id)
    assert p.state == "unknown" and p.needs_attention and "3 checks" in (p.attention_reason or "")
    assert nu.calls["submit"] == 0
    # Operations: the queue shows it; a requery after the channel is back settles it.
    client = any_app.test_client()
    queue = client.get("/admin/v1/payments/attention", headers=auth(w.operator.test_key)).get_json()
    assert [x["id"] for x in queue["data"]] == [p.id] and queue["data"][0]["status"] == "unknown"
    up.restore()
    resp = client.post(
        f"/admin/v1/payments/{p.id}/resolve",
        json={"action": "requery", "note": "channel confirmed back up"},
        headers=auth(w.operator.test_key),
    )
    assert resp.status_code == 200, resp.get_json()
    assert run_until_settled(w) == 0
    p = w.payment(p.id)
    assert p.state == "succeeded" and executions(w, p.instruction_id) == ["unionpay_sim"]


def test_operations_can_mark_failed_only_with_a_note(any_app: Flask) -> None:
    w = make_world(any_app, requery=RequeryPolicy(first_delay=0, factor=1, max_delay=0, max_checks=1))
    up = w.sims.channel("unionpay_sim")
    up.stall_ms = 60_000
    up.fail_for(60, "timeout")  # the request stalls in the network (never executes unless it arrives)
    original = up.submit

    def submit_lost(order: dict[str, Any], client_timeout: float | None = None) -> dict[str, Any]:
        try:
            return original(order, client_timeout)
        finally:
            up.kill()  # and the channel goes away before we can ask

    up.submit = submit_lost
    loan = w.loan()
    p = w.payment(w.disburse(loan))
    assert p.state == "unknown" and p.needs_attention
    client = any_app.test_client()
    no_note = client.post(
        f"/admin/v1/payments/{p.id}/resolve",
        json={"action": "mark_failed"},
        headers=auth(w.operator.test_key),
    )
    assert no_note.status_code == 422 and no_note.get_json()["param"] == "note"
    resp = client.post(
        f"/admin/v1/payments/{p.id}/resolve",
        json={"action": "mark_failed", "note": "channel closed the order by hand, ticket 4711"},
        headers=auth(w.operator.test_key),
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "failed"
    assert w.loans.loans[loan.loan_id].loan.state == "signed"
    partner = client.post(
        f"/admin/v1/payments/{p.id}/resolve",
        json={"action": "requery", "note": "x"},
        headers=auth(w.partner.test_key),
    )
    assert partner.status_code == 403


def test_a_crash_after_sending_is_recovered_from_the_write_ahead_record(any_app: Flask) -> None:
    """The process dies after the channel executed and before we stored the reply."""
    w = make_world(any_app)
    up, nu = w.sims.channel("unionpay_sim"), w.sims.channel("netsunion_sim")
    up.callback = None  # the channel's callback would also settle it; here only the record can
    original = up.submit

    class Crash(BaseException):
        pass

    def submit_and_die(order: dict[str, Any], client_timeout: float | None = None) -> dict[str, Any]:
        original(order, client_timeout)
        raise Crash

    up.submit = submit_and_die
    w.rt.ports.enqueue = lambda *a: None
    loan = w.loan()
    with w.tenant_uow() as uow:
        payment = services.disburse_loan(uow, loan.loan_id, ports=w.rt.ports)
        uow.commit()
    with pytest.raises(Crash):
        services.execute_payment(payment.id, rt=w.rt)
    up.submit = original
    p = w.payment(payment.id)
    assert p.state == "processing" and p.channel == "unionpay_sim" and p.lease_until is not None
    # The lease keeps a second runner away until it expires (here: expire it).
    assert services.execute_payment(payment.id, rt=w.rt) == "processing"
    with w.rt.new_uow() as uow:
        uow.session.execute(
            update(PaymentInstruction)
            .where(PaymentInstruction.id == payment.id)
            .values(lease_until=uow.now() - timedelta(seconds=1), next_check_at=uow.now())
            .execution_options(all_tenants=True)
        )
        uow.commit()
    assert run_until_settled(w) == 0
    p = w.payment(payment.id)
    assert p.state == "succeeded" and executions(w, p.instruction_id) == ["unionpay_sim"]
    assert nu.calls["submit"] == 0
    assert w.loans.loans[loan.loan_id].loan.state == "active"


def test_a_callback_settles_an_asynchronous_payment(any_app: Flask) -> None:
    w = make_world(any_app)
    up = w.sims.channel("unionpay_sim")
    up.async_ratio, up.async_delay_ms = 1.0, 30
    payment_id = w.disburse(w.loan(), execute=False)
    assert services.execute_payment(payment_id, rt=w.rt) == "processing"  # accepted, not done yet
    p = w.payment(payment_id)
    assert p.channel == "unionpay_sim"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and w.payment(p.id).state != "succeeded":
        time.sleep(0.02)
    p = w.payment(p.id)
    assert p.state == "succeeded"
    assert "callback" in [a.operation for a in w.attempts(p.id)]


def test_a_forged_callback_is_refused(any_app: Flask) -> None:
    w = make_world(any_app)
    p = w.payment(w.disburse(w.loan(), execute=False))
    client = any_app.test_client()
    body = f'{{"instruction_id": "{p.instruction_id}", "status": "succeeded", "channel_ref": "X"}}'
    resp = client.post(
        "/v1/payment_callbacks/unionpay_sim",
        data=body,
        headers={"Content-Type": "application/json", "X-Channel-Signature": "00" * 32},
    )
    assert resp.status_code == 403 and resp.get_json()["code"] == "signature_invalid"
    assert w.payment(p.id).state == "pending"
    assert (
        client.post(
            "/v1/payment_callbacks/nope", data=body, headers={"Content-Type": "application/json"}
        ).status_code
        == 404
    )


def test_a_signed_callback_over_http_applies(any_app: Flask) -> None:
    w = make_world(any_app)
    up = w.sims.channel("unionpay_sim")
    up.callback = None  # deliver it ourselves, over the endpoint
    up.async_ratio, up.async_delay_ms = 1.0, 10
    payment_id = w.disburse(w.loan(), execute=False)
    assert services.execute_payment(payment_id, rt=w.rt) == "processing"
    p = w.payment(payment_id)
    time.sleep(0.1)
    from lendbridge_sandbox.channels import Record

    record = Record(**up.record(p.instruction_id))
    body, headers = up.signed_callback(record)
    resp = any_app.test_client().post("/v1/payment_callbacks/unionpay_sim", data=body, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["result"] == "applied"
    assert w.payment(p.id).state == "succeeded"
