"""Executing payment instructions: routing, the write-ahead journal, the engine, recording
outcomes, channel callbacks, the periodic re-check and the operations queue.

Executing cannot be one transaction: the fact "channel X may now hold this instruction"
must be committed before the request goes out (write-ahead), and the outcome after it
comes back. These use cases therefore take the runtime (which has a unit-of-work factory)
and commit their own short transactions, like the other batch jobs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import or_, select

from lendbridge.audit import service as audit
from lendbridge.core.errors import (
    IllegalTransition,
    InvalidParameter,
    LendBridgeError,
    NotFound,
    PermissionDenied,
)
from lendbridge.core.ids import new_id
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.db import TenantContext
from lendbridge.events.outbox import emit
from lendbridge.payments import codes
from lendbridge.payments.engine import AttemptRecord, Env, Job, Op, Outcome, OutcomeKind, execute
from lendbridge.payments.instructions import (
    ACTIVE_STATES,
    DEBITS,
    OPEN_STATES,
    Direction,
    InstructionEvent,
    InstructionState,
    Purpose,
    transition,
)
from lendbridge.payments.models import (
    CustodyAccount,
    PaymentAttempt,
    PaymentInstruction,
)
from lendbridge.payments.ports import (
    CallbackInvalid,
    ChannelStatus,
    Order,
    Party,
    PartyKind,
    Reply,
)
from lendbridge.payments.routing import RoutePlan, RouteRequest, plan
from lendbridge.payments.runtime import PaymentsRuntime, Ports
from lendbridge.payments.schemas import payment_event_body
from lendbridge.payments.scoping import acting_as, get_any, tenant_uow
from lendbridge.uow import UnitOfWork

log = logging.getLogger("lendbridge.payments")
M = TypeVar("M")


class _CannotBuild(LendBridgeError):
    """The instruction can no longer be built (card changed, account gone): a final failure."""

    status = 409
    code = "invalid_account"


def _order(uow: UnitOfWork, p: PaymentInstruction, ports: Ports) -> Order:
    custody = get_any(uow, CustodyAccount, p.custody_account_id)
    if custody.status != "active":
        raise _CannotBuild("custody account closed", code="invalid_account")
    custody_party = Party(
        PartyKind.CUSTODY, custody.bank_code, custody.account_number, custody.account_holder
    )
    if p.counterparty_kind == PartyKind.SETTLEMENT.value and p.purpose == Purpose.DISBURSEMENT.value:
        loan = ports.loans.payable_loan(uow, p.subject_id)
        counterparty = loan.merchant
        if counterparty is None:
            raise _CannotBuild("merchant account missing", code="invalid_account")
    else:
        loan = ports.loans.payable_loan(uow, p.subject_id)
        try:
            counterparty = ports.payout_accounts.payout_account(uow, loan.borrower_id)
        except LendBridgeError as exc:
            raise _CannotBuild("no payout account", code="invalid_account") from exc
    if counterparty.last4 != p.counterparty_last4:
        code = "mandate_missing" if p.purpose in DEBITS else "invalid_account"
        raise _CannotBuild("the account on file changed since the instruction was made", code=code)
    direction = Direction(p.direction)
    debit, credit = (
        (custody_party, counterparty) if direction is Direction.PAYOUT else (counterparty, custody_party)
    )
    return Order(p.instruction_id, direction, p.amount, debit, credit, p.currency, memo=p.purpose)


def _route(rt: PaymentsRuntime, p: PaymentInstruction, order: Order, today: date) -> RoutePlan:
    request = RouteRequest(
        direction=order.direction,
        amount=order.amount,
        counterparty_bank=order.counterparty.bank_code,
        custody_bank=order.custody.bank_code,
    )
    return plan(
        request,
        [rt.profiles[name] for name in rt.channels if name in rt.profiles],
        health={name: h.snapshot() for name, h in rt.health.items()},
        breakers={name: b.state for name, b in rt.breakers.items()},
        used_today=rt.usage.on(today),
    )


@dataclass(frozen=True)
class _Ref:
    payment_id: str
    tenant_id: str
    livemode: bool


def _locate(
    rt: PaymentsRuntime, *, payment_id: str | None = None, instruction: str | None = None
) -> _Ref | None:
    with rt.new_uow() as uow:
        stmt = select(PaymentInstruction.id, PaymentInstruction.tenant_id, PaymentInstruction.livemode)
        if payment_id is not None:
            stmt = stmt.where(PaymentInstruction.id == payment_id)
        else:
            stmt = stmt.where(PaymentInstruction.instruction_id == instruction)
        row = uow.session.execute(stmt.execution_options(all_tenants=True)).first()
    return _Ref(row[0], row[1], row[2]) if row else None


class _DbJournal:
    """The engine's write-ahead: commit "channel X may hold it" before X is called.

    `prewritten` is a channel whose record the claim transaction already committed (the
    primary, when its breaker was closed): its first submission needs no extra commit.
    """

    def __init__(self, rt: PaymentsRuntime, ref: _Ref, prewritten: str | None = None) -> None:
        self.rt, self.ref, self.prewritten = rt, ref, prewritten

    def before_submit(self, channel: str, spent: frozenset[str]) -> None:
        if self.prewritten is not None and channel == self.prewritten and not spent:
            self.prewritten = None
            return
        self.prewritten = None
        with tenant_uow(self.rt.new_uow, self.ref.tenant_id, self.ref.livemode) as uow:
            p = uow.get(PaymentInstruction, self.ref.payment_id, for_update=True)
            _note_submission(uow, p, channel, spent)
            uow.commit()


def _note_submission(uow: UnitOfWork, p: PaymentInstruction, channel: str, spent: frozenset[str]) -> None:
    now = uow.now()
    if p.state != InstructionState.PROCESSING.value:
        p.state = transition(p.state, InstructionEvent.SUBMIT).value
    p.channel = channel
    p.spent_channels = sorted(set(p.spent_channels or []) | spent)
    p.submissions += 1
    p.submitted_at = p.submitted_at or now
    p.updated = now
    uow.session.add(_attempt(p, AttemptRecord(channel, Op.SUBMIT, "sent"), now))


def _attempt(p: PaymentInstruction, a: AttemptRecord, now: datetime) -> PaymentAttempt:
    """An attempt row; the caller holds the payment row locked, so `seq` is race-free."""
    p.attempts_logged = (p.attempts_logged or 0) + 1
    return PaymentAttempt(
        id=new_id("patt"),
        tenant_id=p.tenant_id,
        livemode=p.livemode,
        created=now,
        payment_id=p.id,
        seq=p.attempts_logged,
        channel=a.channel,
        operation=a.op.value,
        result=a.result,
        code=a.code,
        channel_ref=a.channel_ref,
        latency_us=int(a.latency_ms * 1000),
    )


def execute_payment(
    payment_id: str, *, rt: PaymentsRuntime, tenant_id: str | None = None, livemode: bool | None = None
) -> str:
    """Run one instruction through routing and the channels; returns its state afterwards.

    Safe to call any number of times, concurrently too: a lease on the row lets one
    execution run at a time, and an instruction that a channel may hold is always
    confirmed with that channel first (see engine.py). The payment's tenant and mode,
    when the caller knows them, save a lookup.
    """
    ref = (
        _Ref(payment_id, tenant_id, livemode)
        if tenant_id is not None and livemode is not None
        else _locate(rt, payment_id=payment_id)
    )
    if ref is None:
        raise NotFound(f"No such payment: '{payment_id}'", param="id")
    with tenant_uow(rt.new_uow, ref.tenant_id, ref.livemode) as uow:
        p = uow.get(PaymentInstruction, payment_id, for_update=True)
        now = uow.now()
        if (
            p.state not in ACTIVE_STATES
            or p.needs_attention
            or (p.lease_until is not None and p.lease_until > now)
        ):
            return p.state
        try:
            order = _order(uow, p, rt.ports)
        except _CannotBuild as exc:
            _apply(uow, p, Outcome(OutcomeKind.FAILED, code=exc.code), rt)
            uow.commit()
            return p.state
        route = _route(rt, p, order, uow.today())
        p.lease_until = now + timedelta(seconds=rt.lease_seconds)
        p.route = list(route.names)
        p.updated = now
        holder = p.channel if p.state in OPEN_STATES else None
        spent = frozenset(p.spent_channels or [])
        job = Job(order, route.names, holder=holder, spent=spent)
        # Write-ahead for the primary in this same commit (one transaction fewer on the
        # common path). Only when nothing holds it yet and the primary's breaker is
        # closed, so it is about to be called; if it is not called after all, the
        # record only makes a later re-check ask it first, which is harmless.
        prewritten = None
        if (
            holder is None
            and not spent
            and route.candidates
            and route.candidates[0].breaker.value == "closed"
        ):
            prewritten = route.candidates[0].name
            _note_submission(uow, p, prewritten, spent)
        uow.commit()
    if not route.candidates and holder is None:
        reason = route.excluded[0][1] if route.excluded else "no_eligible_channel"
        outcome = Outcome(OutcomeKind.FAILED, code=reason)
    else:
        env = Env(rt.channels, rt.breakers, rt.health, _DbJournal(rt, ref, prewritten), rt.engine)
        outcome = execute(job, env)
    with tenant_uow(rt.new_uow, ref.tenant_id, ref.livemode) as uow:
        p = uow.get(PaymentInstruction, payment_id, for_update=True)
        _apply(uow, p, outcome, rt)
        uow.commit()
        return p.state


def _apply(uow: UnitOfWork, p: PaymentInstruction, outcome: Outcome, rt: PaymentsRuntime) -> None:
    """Store what an execution learned and move the instruction on."""
    now = uow.now()
    for a in outcome.attempts:
        uow.session.add(_attempt(p, a, now))
    p.lease_until = None
    p.updated = now
    p.spent_channels = sorted(set(p.spent_channels or []) | outcome.spent)
    if p.state not in ACTIVE_STATES:
        # A callback settled it meanwhile. Two channels executing it would be a double payout.
        if outcome.kind is OutcomeKind.SUCCEEDED and p.state == "succeeded" and outcome.channel != p.channel:
            _attention(uow, p, f"also executed on {outcome.channel}")
        return
    kind = outcome.kind
    if kind is OutcomeKind.SUCCEEDED:
        _succeed(uow, p, outcome.channel or "", outcome.channel_ref, rt)
    elif kind is OutcomeKind.REVERSED:
        _succeed(uow, p, outcome.channel or "", outcome.channel_ref, rt)
        _reverse(uow, p)
    elif kind is OutcomeKind.FAILED:
        _fail(uow, p, outcome.code or "failed", rt)
    else:
        _keep_open(uow, p, outcome, rt)


def _keep_open(uow: UnitOfWork, p: PaymentInstruction, outcome: Outcome, rt: PaymentsRuntime) -> None:
    now = uow.now()
    was = p.state
    if outcome.kind is OutcomeKind.PROCESSING:
        if was != InstructionState.PROCESSING.value:
            p.state = transition(was, InstructionEvent.SUBMIT).value
        p.channel = outcome.channel
        p.channel_ref = outcome.channel_ref or p.channel_ref
    elif outcome.kind is OutcomeKind.UNKNOWN:
        p.state = transition(was, InstructionEvent.LOSE_REPLY).value
        p.channel = outcome.channel
    else:  # DEFERRED: nothing holds it; it may go anywhere later
        p.state = transition(was, InstructionEvent.DEFER).value
        p.channel = None
        p.failure_code = outcome.code
    delay = rt.requery.delay(p.checks)
    p.checks += 1
    p.next_check_at = now + timedelta(seconds=delay)
    if rt.requery.exhausted(p.checks):
        _attention(uow, p, f"{p.state} after {p.checks} checks")
    if p.state == InstructionState.UNKNOWN.value and was != InstructionState.UNKNOWN.value:
        audit.record(uow.session, "payment.unknown", p.id, {"channel": p.channel})
        emit(uow, "payment.unknown", payment_event_body(p))


def _attention(uow: UnitOfWork, p: PaymentInstruction, reason: str) -> None:
    """Put the instruction in the operations queue: a human decides, nothing resends it."""
    if not p.needs_attention:
        p.needs_attention = True
        p.attention_reason = reason[:200]
        audit.record(uow.session, "payment.needs_attention", p.id, {"reason": reason})
        log.warning("payment %s needs attention: %s", p.id, reason)


def _succeed(
    uow: UnitOfWork, p: PaymentInstruction, channel: str, channel_ref: str | None, rt: PaymentsRuntime
) -> None:
    now = uow.now()
    p.state = transition(p.state, InstructionEvent.SUCCEED).value
    p.channel = channel
    p.channel_ref = channel_ref
    p.failure_code = None
    p.completed_at = now
    p.succeeded_on = uow.today()
    p.next_check_at = None
    rt.usage.add(channel, p.succeeded_on, p.amount)
    loans = rt.ports.loans
    try:
        with uow.session.begin_nested():
            if p.purpose == Purpose.DISBURSEMENT.value:
                paid_to = "merchant" if p.counterparty_kind == PartyKind.SETTLEMENT.value else "borrower"
                loans.record_disbursement(
                    uow, p.subject_id, paid_to=paid_to, amount_paid=p.amount, external_ref=p.instruction_id
                )
            elif p.purpose in DEBITS:
                loans.record_repayment(
                    uow, p.subject_id, p.amount, source=p.purpose, external_ref=p.instruction_id
                )
    except LendBridgeError as exc:
        # The money moved; the loan could not take it. Keep the truth, ask a human.
        _attention(uow, p, f"loan engine refused the {p.purpose}: {exc.code}")
    audit.record(uow.session, "payment.succeeded", p.id, {"channel": channel, "amount": p.amount})
    emit(uow, "payment.succeeded", payment_event_body(p))


def _fail(uow: UnitOfWork, p: PaymentInstruction, code: str, rt: PaymentsRuntime) -> None:
    p.state = transition(p.state, InstructionEvent.FAIL).value
    p.failure_code = code
    p.completed_at = uow.now()
    p.next_check_at = None
    if p.purpose == Purpose.DISBURSEMENT.value:
        try:
            with uow.session.begin_nested():
                rt.ports.loans.record_disbursement_failure(uow, p.subject_id, code)
        except LendBridgeError as exc:
            _attention(uow, p, f"loan engine refused the failure: {exc.code}")
    audit.record(uow.session, "payment.failed", p.id, {"code": code})
    body = payment_event_body(p)
    emit(uow, "payment.failed", body)
    if p.purpose in DEBITS:
        emit(uow, "repayment.failed", body)


def _reverse(uow: UnitOfWork, p: PaymentInstruction) -> None:
    p.state = transition(p.state, InstructionEvent.REVERSE).value
    p.completed_at = uow.now()
    _attention(uow, p, "the payment was returned by the payee's bank")
    audit.record(uow.session, "payment.reversed", p.id, {"channel": p.channel})
    emit(uow, "payment.reversed", payment_event_body(p))


# == callbacks and the resolver ================================================================


def handle_callback(rt: PaymentsRuntime, channel_name: str, body: bytes, headers: Any) -> str:
    """A channel told us an outcome. Verified, then applied if it moves the payment on."""
    channel = rt.channels.get(channel_name)
    if channel is None:
        raise NotFound(f"No such channel: '{channel_name}'", param="channel")
    try:
        reply = channel.verify_callback(body, dict(headers))
    except CallbackInvalid:
        raise PermissionDenied("The callback signature does not verify", code="signature_invalid") from None
    ref = _locate(rt, instruction=reply.instruction_id)
    if ref is None:
        log.warning("callback from %s for an unknown instruction", channel_name)
        return "ignored"
    with tenant_uow(rt.new_uow, ref.tenant_id, ref.livemode) as uow:
        p = uow.get(PaymentInstruction, ref.payment_id, for_update=True)
        result = _apply_reply(uow, p, channel_name, reply, rt)
        uow.commit()
    if result == "requeued":
        rt.ports.enqueue("payments.execute", ref.payment_id, ref.tenant_id, ref.livemode)
    return result


def _apply_reply(
    uow: UnitOfWork, p: PaymentInstruction, channel: str, reply: Reply, rt: PaymentsRuntime
) -> str:
    now = uow.now()
    uow.session.add(
        _attempt(
            p, AttemptRecord(channel, Op.CALLBACK, reply.status.value, reply.code, reply.channel_ref), now
        )
    )
    leased = p.lease_until is not None and p.lease_until > now
    if reply.status is ChannelStatus.SUCCEEDED:
        if p.state in ACTIVE_STATES:
            _succeed(uow, p, channel, reply.channel_ref, rt)
            return "applied"
        if p.state == InstructionState.SUCCEEDED.value and p.channel != channel:
            _attention(uow, p, f"callback: also executed on {channel}")
            return "conflict"
        return "noop"
    if reply.status is ChannelStatus.REVERSED:
        if p.state in ACTIVE_STATES:
            _succeed(uow, p, channel, reply.channel_ref, rt)
        if p.state == InstructionState.SUCCEEDED.value:
            _reverse(uow, p)
            return "applied"
        return "noop"
    if (
        reply.status is ChannelStatus.FAILED
        and p.state in OPEN_STATES
        and p.channel == channel
        and not leased
    ):
        p.spent_channels = sorted(set(p.spent_channels or []) | {channel})
        if codes.action(reply.code) is codes.Action.FINAL:
            _fail(uow, p, reply.code or "failed", rt)
            return "applied"
        p.state = transition(p.state, InstructionEvent.DEFER).value
        p.channel = None
        p.next_check_at = now
        p.updated = now
        return "requeued"
    return "noop"


def resolve_open_payments(rt: PaymentsRuntime, *, limit: int = 200) -> int:
    """The periodic re-check: unknown and processing instructions are asked about again
    (backoff per RequeryPolicy), deferred or stranded pending ones are executed."""
    with rt.new_uow() as uow:
        now = uow.now()
        stmt = (
            select(PaymentInstruction.id, PaymentInstruction.tenant_id, PaymentInstruction.livemode)
            .where(
                PaymentInstruction.state.in_([s.value for s in ACTIVE_STATES]),
                PaymentInstruction.needs_attention.is_(False),
                PaymentInstruction.next_check_at <= now,
                or_(PaymentInstruction.lease_until.is_(None), PaymentInstruction.lease_until < now),
            )
            .order_by(PaymentInstruction.next_check_at)
            .limit(limit)
            .execution_options(all_tenants=True)
        )
        rows = [(r[0], r[1], r[2]) for r in uow.session.execute(stmt).all()]
    for payment_id, tenant_id, livemode in rows:
        try:
            execute_payment(payment_id, rt=rt, tenant_id=tenant_id, livemode=livemode)
        except Exception:
            log.exception("re-check of payment %s failed", payment_id)
    return len(rows)


# == the operations queue ======================================================================


def attention_queue(uow: UnitOfWork, request: PageRequest) -> Page[PaymentInstruction]:
    stmt = (
        select(PaymentInstruction)
        .where(PaymentInstruction.needs_attention.is_(True))
        .execution_options(all_tenants=True)
    )
    return uow.page(stmt, PaymentInstruction, request)


def get_payment_any(uow: UnitOfWork, payment_id: str) -> PaymentInstruction:
    return get_any(uow, PaymentInstruction, payment_id)


def resolve_payment(
    uow: UnitOfWork,
    payment_id: str,
    *,
    action: str,
    note: str,
    rt: PaymentsRuntime,
    channel: str | None = None,
    channel_reference: str | None = None,
) -> PaymentInstruction:
    """Staff decide an instruction in the operations queue (audited).

    requery: clear the flag and ask the channel again now. mark_succeeded: staff
    confirmed with the channel that it executed (channel and reference required).
    mark_failed: staff confirmed it did not and never will execute (e.g. the channel
    closed it by hand).
    """
    p = get_any(uow, PaymentInstruction, payment_id, for_update=True)
    if p.state not in ACTIVE_STATES:
        raise IllegalTransition(f"a payment in state '{p.state}' is settled; nothing to resolve")
    with acting_as(uow, TenantContext(p.tenant_id, p.livemode)):
        p.needs_attention = False
        p.attention_reason = None
        p.lease_until = None
        if action == "requery":
            p.checks = 0
            p.next_check_at = uow.now()
        elif action == "mark_succeeded":
            if not channel or channel not in rt.channels or not channel_reference:
                raise InvalidParameter("mark_succeeded needs the channel and its reference", param="channel")
            _succeed(uow, p, channel, channel_reference, rt)
        elif action == "mark_failed":
            _fail(uow, p, "failed_by_operations", rt)
        else:
            raise InvalidParameter(f"unknown action {action!r}", param="action")
    audit.record(uow.session, "payment.resolved", p.id, {"action": action, "note": note})
    return p
