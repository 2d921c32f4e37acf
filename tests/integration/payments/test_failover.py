"""Failover: a down primary costs milliseconds, its breaker opens, and traffic comes back."""

from __future__ import annotations

import threading
import time

from flask import Flask

from lendbridge.payments import services
from lendbridge.payments.breaker import BreakerConfig, BreakerState, CircuitBreaker
from lendbridge.payments.health import ChannelHealth
from tests.factories.payments import make_world
from tests.factories.tenancy import auth


def breakers_only(w: object, clock: Clock, **cfg: float) -> None:
    """Breakers on the injected clock; health frozen so routing keeps trying the primary
    (by itself, falling health would move traffic to the backup before the breaker opens)."""
    rt = w.rt  # type: ignore[attr-defined]
    rt.breakers = {n: CircuitBreaker(n, BreakerConfig(**cfg), clock) for n in rt.channels}  # type: ignore[arg-type]
    rt.health = {n: ChannelHealth(alpha=1e-9) for n in rt.channels}


def state(b: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh (a plain attribute read would let mypy narrow it)."""
    return b.state


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_primary_down_completes_on_the_backup_within_a_second(any_app: Flask) -> None:
    w = make_world(any_app)
    up = w.sims.channel("unionpay_sim")
    up.fail_for(60, "unavailable")
    loan = w.loan()
    with w.tenant_uow() as uow:
        payment = services.disburse_loan(uow, loan.loan_id, ports=w.rt.ports)
        uow.commit()
    started = time.perf_counter()
    services.execute_payment(payment.id, rt=w.rt)
    elapsed = time.perf_counter() - started
    p = w.payment(payment.id)
    assert p.state == "succeeded" and p.channel == "netsunion_sim"
    assert elapsed < 1.0, f"failover took {elapsed:.3f}s"
    assert w.sims.executions() == {p.instruction_id: ["netsunion_sim"]}


def test_breaker_opens_skips_the_primary_then_half_opens_and_closes(any_app: Flask) -> None:
    w = make_world(any_app)
    clock = Clock()
    breakers_only(w, clock, failure_threshold=3, open_seconds=30)
    up = w.sims.channel("unionpay_sim")
    up.kill()
    for _ in range(3):
        assert w.payment(w.disburse(w.loan())).channel == "netsunion_sim"
    breaker = w.rt.breakers["unionpay_sim"]
    assert state(breaker) is BreakerState.OPEN
    calls = up.calls["submit"]
    assert w.payment(w.disburse(w.loan())).channel == "netsunion_sim"
    assert up.calls["submit"] == calls, "an open breaker keeps traffic away"
    up.restore()
    clock.t += 30
    assert state(breaker) is BreakerState.HALF_OPEN
    p = w.payment(w.disburse(w.loan()))  # the probe
    assert p.channel == "unionpay_sim" and state(breaker) is BreakerState.CLOSED
    assert w.payment(w.disburse(w.loan())).channel == "unionpay_sim"
    moves = [(t.from_state.value, t.to_state.value) for t in breaker.transitions]
    assert moves == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    body = (
        any_app.test_client().get("/admin/v1/payment_channels", headers=auth(w.operator.test_key)).get_json()
    )
    by_name = {c["name"]: c for c in body["data"]}
    assert by_name["unionpay_sim"]["breaker"] == "closed" and by_name["unionpay_sim"]["calls"] >= 5


def test_a_failed_probe_reopens_and_payments_still_complete(any_app: Flask) -> None:
    w = make_world(any_app)
    clock = Clock()
    breakers_only(w, clock, failure_threshold=2, open_seconds=10)
    up = w.sims.channel("unionpay_sim")
    up.fail_for(600, "unavailable")
    for _ in range(2):
        w.disburse(w.loan())
    clock.t += 10
    p = w.payment(w.disburse(w.loan()))
    assert p.state == "succeeded" and p.channel == "netsunion_sim"
    assert state(w.rt.breakers["unionpay_sim"]) is BreakerState.OPEN


def test_all_channels_down_defers_then_completes_when_one_returns(any_app: Flask) -> None:
    w = make_world(any_app)
    for sim in w.sims.channels.values():
        sim.kill()
    loan = w.loan()
    p = w.payment(w.disburse(loan))
    assert p.state == "pending" and p.channel is None and p.checks == 1
    assert w.loans.loans[loan.loan_id].loan.state == "disbursing"  # not failed: nothing was refused
    w.sims.channel("netsunion_sim").restore()
    for b in w.rt.breakers.values():
        b.reset()
    services.resolve_open_payments(w.rt)
    p = w.payment(p.id)
    assert p.state == "succeeded" and p.channel == "netsunion_sim"


def test_business_refusal_is_final_and_does_not_trip_the_breaker(any_app: Flask) -> None:
    w = make_world(any_app)
    w.sims.custody_bank.post("6214830000000001", "debit", 10_000_000_000 - 100, "drain", "test")
    loan = w.loan()
    p = w.payment(w.disburse(loan))
    assert p.state == "failed" and p.failure_code == "insufficient_funds"
    assert w.sims.channel("netsunion_sim").calls["submit"] == 0  # another channel would not do better
    assert state(w.rt.breakers["unionpay_sim"]) is BreakerState.CLOSED
    assert w.loans.loans[loan.loan_id].events == [
        "loan.disbursing",
        "loan.disbursement_failed:insufficient_funds",
    ]


def test_concurrent_executions_of_one_payment_submit_once(any_app: Flask) -> None:
    w = make_world(any_app)
    up = w.sims.channel("unionpay_sim")
    up.set_latency(100)
    loan = w.loan()
    with w.tenant_uow() as uow:
        payment = services.disburse_loan(uow, loan.loan_id, ports=w.rt.ports)
        uow.commit()
    threads = [
        threading.Thread(target=services.execute_payment, args=(payment.id,), kwargs={"rt": w.rt})
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert up.calls["submit"] == 1  # the lease let one runner through
    assert w.payment(payment.id).state == "succeeded"
