"""One execution of a payment instruction across channels, with unknown outcomes handled.

The rule that keeps a payment from being made twice:

    At any time at most one channel may hold a live copy of an instruction id. Before the
    instruction is sent to another channel, the channel that may hold it must have said
    "failed" or "closed" (never executed, and now it never will be).

So a timeout or a lost reply is not a failure. The engine queries that channel; if the
channel has no record, it closes the id there (the channel's "void this order"
operation), which turns "not received" into a confirmed answer: a request still stuck in
the network can no longer execute. Only then does the payment move on to the backup. If
the channel cannot be reached to confirm either way, the outcome is UNKNOWN and the
engine stops: the caller stores the instruction as `unknown` and re-queries later
(schedules.RequeryPolicy); nothing sends it elsewhere.

Other outcomes are decided by the code table (codes.py): "unreachable" (never delivered)
and FAILOVER codes move to the next channel at once, RETRY codes try the same channel
again a few times, FINAL codes stop. Channels whose breaker is open are skipped; when
nothing could take the payment right now it is DEFERRED (no channel holds it, so it can
safely be sent anywhere later).

Before each submission the engine calls `journal.before_submit(channel, spent)`, which the caller
makes durable (a committed row): after a crash the resolver knows which channel may hold
the instruction and asks it first. Everything else the engine saw is returned in
`Outcome.attempts` for the caller to store with the result.

Pure: channels, breakers, health, clock and sleep are passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from lendbridge.payments import codes
from lendbridge.payments.breaker import CircuitBreaker
from lendbridge.payments.codes import Action
from lendbridge.payments.health import ChannelHealth
from lendbridge.payments.ports import (
    ChannelError,
    ChannelStatus,
    ChannelTimeout,
    ChannelUnreachable,
    Order,
    PaymentChannel,
    Reply,
)


class OutcomeKind(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PROCESSING = "processing"  # a channel accepted it; its callback or a query will tell
    UNKNOWN = "unknown"  # a channel may hold it and cannot be asked now
    DEFERRED = "deferred"  # no channel took it now; none holds it
    REVERSED = "reversed"  # the holder executed it and has since returned it


class Op(StrEnum):
    SUBMIT = "submit"
    QUERY = "query"
    CLOSE = "close"
    SKIP = "skip"  # breaker open
    CALLBACK = "callback"  # the channel told us (recorded by the callback handler)


@dataclass(frozen=True)
class AttemptRecord:
    channel: str
    op: Op
    result: str  # a ChannelStatus value, "timeout", "unreachable" or "breaker_open"
    code: str | None = None
    channel_ref: str | None = None
    latency_ms: float = 0.0


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    channel: str | None = None  # the channel that executed or may hold it
    channel_ref: str | None = None
    code: str | None = None
    spent: frozenset[str] = frozenset()  # channels where this id can never run again
    attempts: tuple[AttemptRecord, ...] = ()


@dataclass(frozen=True)
class EngineConfig:
    submit_timeout: float = 2.0
    query_timeout: float = 1.0
    confirm_tries: int = 3
    confirm_backoff: tuple[float, ...] = (0.05, 0.2, 0.5)
    retry_limit: int = 1
    retry_backoff: float = 0.1


class Journal(Protocol):
    def before_submit(self, channel: str, spent: frozenset[str]) -> None:
        """Durably note that `channel` is about to receive the instruction (and what is spent)."""
        ...


@dataclass(frozen=True)
class Job:
    order: Order
    plan: Sequence[str]  # ordered channel names (routing.plan)
    holder: str | None = None  # a channel that may hold it from an earlier run
    spent: frozenset[str] = frozenset()


@dataclass
class Env:
    channels: Mapping[str, PaymentChannel]
    breakers: Mapping[str, CircuitBreaker]
    health: Mapping[str, ChannelHealth]
    journal: Journal
    config: EngineConfig = field(default_factory=EngineConfig)
    sleep: Callable[[float], None] = time.sleep
    timer: Callable[[], float] = time.perf_counter


class _Run:
    def __init__(self, job: Job, env: Env) -> None:
        self.job = job
        self.env = env
        self.order = job.order
        self.spent = set(job.spent)
        self.attempts: list[AttemptRecord] = []
        self.could_retry_later = False  # a channel was skipped or unavailable, not refusing
        self.last_code: str | None = None

    # -- outcomes -------------------------------------------------------------------------
    def done(
        self, kind: OutcomeKind, channel: str | None = None, ref: str | None = None, code: str | None = None
    ) -> Outcome:
        return Outcome(kind, channel, ref, code, frozenset(self.spent), tuple(self.attempts))

    # -- bookkeeping -----------------------------------------------------------------------
    def note(self, channel: str, op: Op, result: str, started: float, reply: Reply | None = None) -> None:
        latency = (self.env.timer() - started) * 1000
        self.attempts.append(
            AttemptRecord(
                channel,
                op,
                result,
                reply.code if reply else None,
                reply.channel_ref if reply else None,
                round(latency, 3),
            )
        )
        fault = result in ("timeout", "unreachable") or (
            reply is not None and reply.status is ChannelStatus.FAILED and codes.is_channel_fault(reply.code)
        )
        health = self.env.health.get(channel)
        if health is not None:
            health.record(not fault, latency)

    # -- confirming what a channel did -------------------------------------------------------
    def confirm(self, name: str) -> Reply | None:
        """The channel's definitive answer for the id, or None if it cannot be reached.

        Query; if it has no record, close the id there so that it never executes.
        """
        channel = self.env.channels[name]
        cfg = self.env.config
        iid = self.order.instruction_id
        for i in range(cfg.confirm_tries):
            started = self.env.timer()
            try:
                reply = channel.query(iid, cfg.query_timeout)
            except ChannelError as exc:
                self.note(name, Op.QUERY, _transport(exc), started)
                self.env.sleep(cfg.confirm_backoff[min(i, len(cfg.confirm_backoff) - 1)])
                continue
            self.note(name, Op.QUERY, reply.status.value, started, reply)
            if reply.status is not ChannelStatus.NOT_FOUND:
                return reply
            started = self.env.timer()
            try:
                closed = channel.close(iid, cfg.query_timeout)
            except ChannelError as exc:
                self.note(name, Op.CLOSE, _transport(exc), started)
                self.env.sleep(cfg.confirm_backoff[min(i, len(cfg.confirm_backoff) - 1)])
                continue
            self.note(name, Op.CLOSE, closed.status.value, started, closed)
            if closed.status is not ChannelStatus.NOT_FOUND:
                return closed
        return None

    def settle(self, name: str, reply: Reply) -> Outcome | None:
        """Act on a definitive answer from `name`; None means: go on to the next channel."""
        status = reply.status
        if status is ChannelStatus.SUCCEEDED:
            return self.done(OutcomeKind.SUCCEEDED, name, reply.channel_ref)
        if status is ChannelStatus.PROCESSING:
            return self.done(OutcomeKind.PROCESSING, name, reply.channel_ref)
        if status is ChannelStatus.REVERSED:
            return self.done(OutcomeKind.REVERSED, name, reply.channel_ref, reply.code)
        self.spent.add(name)  # FAILED or CLOSED: this id is finished at this channel
        if status is ChannelStatus.CLOSED:
            self.last_code = self.last_code or "channel_timeout"
        if status is ChannelStatus.FAILED:
            self.last_code = reply.code
            if codes.action(reply.code) is Action.FINAL:
                return self.done(OutcomeKind.FAILED, name, reply.channel_ref, reply.code)
            if codes.is_channel_fault(reply.code):
                self.could_retry_later = True
        return None

    # -- the walk -------------------------------------------------------------------------
    def run(self) -> Outcome:
        holder = self.job.holder
        if holder is not None and holder not in self.spent:
            reply = self.confirm(holder)
            if reply is None:
                return self.done(OutcomeKind.UNKNOWN, holder)
            outcome = self.settle(holder, reply)
            if outcome is not None:
                return outcome
        for name in self.job.plan:
            if name in self.spent or name not in self.env.channels:
                continue
            outcome = self.try_channel(name)
            if outcome is not None:
                return outcome
        if self.could_retry_later:
            return self.done(OutcomeKind.DEFERRED, code=self.last_code)
        return self.done(OutcomeKind.FAILED, code=self.last_code or "no_eligible_channel")

    def try_channel(self, name: str) -> Outcome | None:
        env, cfg = self.env, self.env.config
        channel = env.channels[name]
        breaker = env.breakers.get(name)
        retries = 0
        while True:
            if breaker is not None and not breaker.allow():
                self.attempts.append(AttemptRecord(name, Op.SKIP, "breaker_open"))
                self.could_retry_later = True
                return None
            env.journal.before_submit(name, frozenset(self.spent))
            started = env.timer()
            try:
                reply = channel.submit(self.order, cfg.submit_timeout)
            except ChannelUnreachable:
                self.note(name, Op.SUBMIT, "unreachable", started)
                if breaker is not None:
                    breaker.failure()
                self.could_retry_later = True
                self.last_code = "system_unavailable"
                return None  # never delivered: fail over at once
            except ChannelTimeout:
                self.note(name, Op.SUBMIT, "timeout", started)
                if breaker is not None:
                    breaker.failure()
                verdict = self.confirm(name)
                if verdict is None:
                    return self.done(OutcomeKind.UNKNOWN, name)
                return self.settle(name, verdict)
            except ChannelError:  # any other transport failure: treat like a timeout
                self.note(name, Op.SUBMIT, "timeout", started)
                if breaker is not None:
                    breaker.failure()
                verdict = self.confirm(name)
                if verdict is None:
                    return self.done(OutcomeKind.UNKNOWN, name)
                return self.settle(name, verdict)
            self.note(name, Op.SUBMIT, reply.status.value, started, reply)
            fault = reply.status is ChannelStatus.FAILED and codes.is_channel_fault(reply.code)
            if breaker is not None:
                (breaker.failure if fault else breaker.success)()
            if reply.status in (ChannelStatus.NOT_FOUND, ChannelStatus.CLOSED):
                # A submit never answers this; do not guess, confirm.
                verdict = self.confirm(name)
                if verdict is None:
                    return self.done(OutcomeKind.UNKNOWN, name)
                return self.settle(name, verdict)
            if reply.status is not ChannelStatus.FAILED:
                return self.settle(name, reply)
            self.last_code = reply.code
            act = codes.action(reply.code)
            if act is Action.FINAL:
                return self.done(OutcomeKind.FAILED, name, reply.channel_ref, reply.code)
            if fault:
                self.could_retry_later = True
            if act is Action.RETRY and retries < cfg.retry_limit:
                retries += 1
                env.sleep(cfg.retry_backoff * retries)
                continue
            return None  # FAILOVER, or retries used up


def _transport(exc: ChannelError) -> str:
    return "unreachable" if isinstance(exc, ChannelUnreachable) else "timeout"


def execute(job: Job, env: Env) -> Outcome:
    """Run `job` through its plan; see the module docstring for the guarantees."""
    return _Run(job, env).run()
