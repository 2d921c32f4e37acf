"""The execution engine: failover, and above all unknown outcomes that must never pay twice."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.payments.breaker import BreakerConfig, CircuitBreaker
from lendbridge.payments.engine import Env, Job, Op, OutcomeKind, execute
from lendbridge.payments.health import ChannelHealth
from lendbridge.payments.ports import ChannelStatus, ChannelTimeout, ChannelUnreachable, PaymentChannel
from tests.factories.payments import (
    FAST,
    LedgerChannel,
    RecordingJournal,
    ScriptedChannel,
    failed,
    ok,
    order,
    status,
)


def env(*channels: PaymentChannel, journal: RecordingJournal | None = None, breakers: bool = True) -> Env:
    return Env(
        channels={c.name: c for c in channels},
        breakers={c.name: CircuitBreaker(c.name, BreakerConfig(failure_threshold=3)) for c in channels}
        if breakers
        else {},
        health={c.name: ChannelHealth() for c in channels},
        journal=journal or RecordingJournal(),
        config=FAST,
        sleep=lambda s: None,
    )


def run(plan: list[str], e: Env, holder: str | None = None, spent: frozenset[str] = frozenset()):
    return execute(Job(order(), plan, holder=holder, spent=spent), e)


def test_success_on_the_primary_touches_nothing_else() -> None:
    a, b = ScriptedChannel("a", submit=[ok("A1")]), ScriptedChannel("b")
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "a" and out.channel_ref == "A1"
    assert a.calls == ["submit"] and b.calls == []


def test_unreachable_primary_fails_over_at_once_without_confirming() -> None:
    a = ScriptedChannel("a", submit=[ChannelUnreachable])
    b = ScriptedChannel("b", submit=[ok("B1")])
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "b"
    assert a.calls == ["submit"]  # never delivered: nothing to confirm
    assert "a" not in out.spent  # it may be used again later


def test_timeout_then_query_says_paid_means_paid_and_no_failover() -> None:
    a = ScriptedChannel("a", submit=[ChannelTimeout], query=[ok("A9")])
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "a" and out.channel_ref == "A9"
    assert b.calls == []


def test_timeout_then_not_found_is_closed_before_the_backup_is_used() -> None:
    a = ScriptedChannel(
        "a",
        submit=[ChannelTimeout],
        query=[status(ChannelStatus.NOT_FOUND)],
        close=[status(ChannelStatus.CLOSED)],
    )
    b = ScriptedChannel("b", submit=[ok("B1")])
    journal = RecordingJournal()
    out = run(["a", "b"], env(a, b, journal=journal))
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "b"
    assert a.calls == ["submit", "query", "close"]
    assert out.spent == {"a"}
    # The write-ahead for b already knows a is spent.
    assert journal.calls == [("a", frozenset()), ("b", frozenset({"a"}))]


def test_timeout_and_channel_unreachable_for_confirmation_is_unknown_and_never_fails_over() -> None:
    a = ScriptedChannel("a", submit=[ChannelTimeout], query=[ChannelUnreachable])
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.UNKNOWN and out.channel == "a"
    assert b.calls == []
    assert a.calls.count("query") == FAST.confirm_tries


def test_close_that_finds_the_payment_executed_after_all_wins() -> None:
    # The late request arrived between our query and our close.
    a = ScriptedChannel(
        "a", submit=[ChannelTimeout], query=[status(ChannelStatus.NOT_FOUND)], close=[ok("LATE")]
    )
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "a" and out.channel_ref == "LATE"
    assert b.calls == []


def test_timeout_then_processing_waits_for_the_channel() -> None:
    a = ScriptedChannel("a", submit=[ChannelTimeout], query=[status(ChannelStatus.PROCESSING)])
    b = ScriptedChannel("b")
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.PROCESSING and out.channel == "a" and b.calls == []


def test_a_query_that_fails_then_answers_is_retried() -> None:
    a = ScriptedChannel("a", submit=[ChannelTimeout], query=[ChannelTimeout, ok("A2")])
    out = run(["a"], env(a))
    assert out.kind is OutcomeKind.SUCCEEDED and a.calls == ["submit", "query", "query"]


def test_failover_code_moves_on_and_final_code_stops() -> None:
    a = ScriptedChannel("a", submit=[failed("bank_not_supported")])
    b = ScriptedChannel("b", submit=[failed("insufficient_funds")])
    c = ScriptedChannel("c", submit=[ok()])
    out = run(["a", "b", "c"], env(a, b, c))
    assert out.kind is OutcomeKind.FAILED and out.code == "insufficient_funds" and out.channel == "b"
    assert c.calls == []


def test_retry_code_retries_the_same_channel_then_fails_over() -> None:
    a = ScriptedChannel("a", submit=[failed("channel_busy"), failed("channel_busy")])
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["a", "b"], env(a, b))
    assert a.calls == ["submit", "submit"]  # retry_limit=1
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "b"


def test_retry_code_succeeding_on_retry_stays_on_the_channel() -> None:
    a = ScriptedChannel("a", submit=[failed("rate_limited"), ok("A3")])
    b = ScriptedChannel("b")
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "a" and b.calls == []


def test_unmapped_code_is_final() -> None:
    a = ScriptedChannel("a", submit=[failed("something_new")])
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.FAILED and out.code == "something_new" and b.calls == []


def test_open_breaker_is_skipped_and_all_unavailable_defers() -> None:
    a = ScriptedChannel("a", submit=[ok()])
    b = ScriptedChannel("b", submit=[ChannelUnreachable])
    e = env(a, b)
    e.breakers["a"].force_open()
    out = run(["a", "b"], e)
    assert out.kind is OutcomeKind.DEFERRED and a.calls == []
    assert (Op.SKIP, "breaker_open") in {(x.op, x.result) for x in out.attempts}


def test_channels_refusing_for_their_limits_fail_the_payment() -> None:
    a = ScriptedChannel("a", submit=[failed("amount_limit_exceeded")])
    b = ScriptedChannel("b", submit=[failed("daily_limit_exceeded")])
    out = run(["a", "b"], env(a, b))
    assert out.kind is OutcomeKind.FAILED and out.code == "daily_limit_exceeded"


def test_a_holder_from_an_earlier_run_is_asked_first() -> None:
    a = ScriptedChannel("a", query=[ok("A5")])
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["b", "a"], env(a, b), holder="a")
    assert out.kind is OutcomeKind.SUCCEEDED and out.channel == "a"
    assert a.calls == ["query"] and b.calls == []


def test_a_holder_that_cannot_be_reached_keeps_the_payment_unknown() -> None:
    a = ScriptedChannel("a", query=[ChannelUnreachable])
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["b"], env(a, b), holder="a")
    assert out.kind is OutcomeKind.UNKNOWN and b.calls == []


def test_a_closed_channel_is_never_submitted_to_again() -> None:
    a = ScriptedChannel("a")
    b = ScriptedChannel("b", submit=[ok()])
    out = run(["a", "b"], env(a, b), spent=frozenset({"a"}))
    assert out.kind is OutcomeKind.SUCCEEDED and a.calls == []


def test_every_channel_closed_after_timeouts_fails_with_channel_timeout() -> None:
    chans = [
        ScriptedChannel(
            n,
            submit=[ChannelTimeout],
            query=[status(ChannelStatus.NOT_FOUND)],
            close=[status(ChannelStatus.CLOSED)],
        )
        for n in ("a", "b")
    ]
    out = run(["a", "b"], env(*chans))
    assert out.kind is OutcomeKind.FAILED and out.code == "channel_timeout" and out.spent == {"a", "b"}


def test_breaker_counts_channel_faults_but_not_business_refusals() -> None:
    a = ScriptedChannel("a", submit=[failed("insufficient_funds")])
    e = env(a)
    for _ in range(5):
        run(["a"], e)
    assert e.breakers["a"].state.value == "closed"
    down = ScriptedChannel("d", submit=[ChannelUnreachable])
    e2 = env(down)
    for _ in range(3):
        run(["d"], e2)
    assert e2.breakers["d"].state.value == "open"


def test_attempts_record_every_call_with_latency() -> None:
    a = ScriptedChannel(
        "a",
        submit=[ChannelTimeout],
        query=[status(ChannelStatus.NOT_FOUND)],
        close=[status(ChannelStatus.CLOSED)],
    )
    b = ScriptedChannel("b", submit=[ok("B")])
    out = run(["a", "b"], env(a, b))
    assert [(x.channel, x.op.value, x.result) for x in out.attempts] == [
        ("a", "submit", "timeout"),
        ("a", "query", "not_found"),
        ("a", "close", "closed"),
        ("b", "submit", "succeeded"),
    ]
    assert all(x.latency_ms >= 0 for x in out.attempts)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 8), p_down=st.floats(0.0, 0.6))
def test_random_failures_never_pay_twice(seed: int, rounds: int, p_down: float) -> None:
    """Channels that drop requests, lose replies, deliver late and go down at random:
    whatever happens, the payment executes at most once across all channels, and the
    engine's verdict agrees with what the channels actually did."""
    rng = random.Random(seed)
    chans = [LedgerChannel(n, rng, p_down=p_down) for n in ("a", "b", "c")]
    e = env(*chans, breakers=False)
    holder: str | None = None
    spent: frozenset[str] = frozenset()
    outcome = None
    for _ in range(rounds):  # the first execution plus resolver re-runs
        outcome = execute(Job(order(), ["a", "b", "c"], holder=holder, spent=spent), e)
        holder = outcome.channel if outcome.kind in (OutcomeKind.UNKNOWN, OutcomeKind.PROCESSING) else None
        spent = outcome.spent
        for c in chans:
            if rng.random() < 0.5:
                c.deliver_late()
        if outcome.kind not in (OutcomeKind.UNKNOWN, OutcomeKind.DEFERRED):
            break
    for c in chans:
        c.deliver_late()  # whatever was still in the network arrives eventually
    executions = sum(c.executions.get("LBTEST0001", 0) for c in chans)
    assert executions <= 1
    assert outcome is not None
    if outcome.kind is OutcomeKind.SUCCEEDED:
        assert executions == 1
        assert chans[["a", "b", "c"].index(outcome.channel or "")].executions.get("LBTEST0001") == 1
    if outcome.kind in (OutcomeKind.FAILED, OutcomeKind.DEFERRED):
        # Not paid, and nothing in the network can pay it later.
        assert executions == 0
