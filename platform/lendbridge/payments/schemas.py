"""Payments on the wire: custody accounts, payments (instructions), mandates, reconciliation."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from lendbridge.http.schemas import ListArgsSchema, ObjectSchema, StrictSchema, UnixTime
from lendbridge.payments.instructions import InstructionState, Purpose
from lendbridge.payments.models import (
    CustodyAccount,
    Mandate,
    PaymentAttempt,
    PaymentInstruction,
    ReconciliationBreak,
    ReconciliationReport,
)

ACCOUNT_NUMBER = validate.Regexp(r"^\d{8,32}$", error="must be 8 to 32 digits")
BANK_CODE = validate.Regexp(r"^[A-Z0-9]{2,20}$", error="must be 2 to 20 upper-case letters or digits")
BREAK_ACTIONS = ("confirmed_no_action", "adjusted", "refund_requested", "written_off", "escalated")
PAYMENT_ACTIONS = ("requery", "mark_succeeded", "mark_failed")


def mask_account(number: str) -> str:
    return f"****{number[-4:]}" if len(number) > 4 else "****"


# -- custody accounts -------------------------------------------------------------------------


class CustodyAccountCreateSchema(StrictSchema):
    bank_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    bank_code = fields.String(required=True, validate=BANK_CODE)
    account_number = fields.String(required=True, validate=ACCOUNT_NUMBER)
    account_holder = fields.String(required=True, validate=validate.Length(min=1, max=200))
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))
    primary = fields.Boolean(load_default=True)


class AdminCustodyAccountCreateSchema(CustodyAccountCreateSchema):
    institution = fields.String(required=True, validate=validate.Length(min=1, max=40))
    livemode = fields.Boolean(load_default=False)


class CustodyAccountListArgsSchema(ListArgsSchema):
    institution = fields.String(validate=validate.Length(max=40))


class CustodyAccountSchema(ObjectSchema):
    institution = fields.String()
    bank_name = fields.String()
    bank_code = fields.String()
    account_number = fields.String(metadata={"description": "Masked: only the last four digits are shown"})
    account_holder = fields.String()
    currency = fields.String()
    primary = fields.Boolean()
    status = fields.String()
    balance = fields.Integer(
        allow_none=True, metadata={"description": "Balance in fen from the bank's last statement"}
    )
    balance_as_of = UnixTime(allow_none=True)
    statement_date = fields.String(allow_none=True)


def custody_body(a: CustodyAccount) -> dict[str, Any]:
    return {
        "object": "custody_account",
        "id": a.id,
        "created": a.created,
        "livemode": a.livemode,
        "institution": a.tenant_id,
        "bank_name": a.bank_name,
        "bank_code": a.bank_code,
        "account_number": mask_account(a.account_number),
        "account_holder": a.account_holder,
        "currency": a.currency,
        "primary": a.is_primary,
        "status": a.status,
        "balance": a.balance,
        "balance_as_of": a.balance_as_of,
        "statement_date": a.statement_date.isoformat() if a.statement_date else None,
    }


# -- payments ------------------------------------------------------------------------------------


class CounterpartySchema(StrictSchema):
    kind = fields.String(metadata={"description": "card (a borrower's bank card) or settlement (a merchant)"})
    bank_code = fields.String()
    last4 = fields.String()


class AttemptSchema(StrictSchema):
    id = fields.String()
    created = UnixTime()
    channel = fields.String()
    operation = fields.String(metadata={"description": "submit, query, close, skip or callback"})
    result = fields.String()
    code = fields.String(allow_none=True)
    channel_reference = fields.String(allow_none=True)
    latency_ms = fields.Float()


class PaymentSchema(ObjectSchema):
    instruction_id = fields.String(metadata={"description": "The id the channels dedupe on"})
    loan = fields.String()
    purpose = fields.String(metadata={"description": "disbursement, auto_debit, debit_now or refund"})
    direction = fields.String(metadata={"description": "payout or collection"})
    amount = fields.Integer(metadata={"description": "Amount in fen"})
    currency = fields.String()
    status = fields.String(
        metadata={
            "description": "pending, processing, unknown (being confirmed), succeeded, failed, reversed"
        }
    )
    failure_code = fields.String(allow_none=True)
    attempt_number = fields.Integer()
    due_date = fields.String(allow_none=True)
    custody_account = fields.String()
    counterparty = fields.Nested(CounterpartySchema)
    channel = fields.String(allow_none=True)
    channel_reference = fields.String(allow_none=True)
    submitted = UnixTime(allow_none=True)
    completed = UnixTime(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=False)


class PaymentListArgsSchema(ListArgsSchema):
    loan = fields.String(validate=validate.Length(max=40))
    purpose = fields.String(validate=validate.OneOf([p.value for p in Purpose]))
    status = fields.String(validate=validate.OneOf([s.value for s in InstructionState]))


def attempt_body(a: PaymentAttempt) -> dict[str, Any]:
    return {
        "id": a.id,
        "created": a.created,
        "channel": a.channel,
        "operation": a.operation,
        "result": a.result,
        "code": a.code,
        "channel_reference": a.channel_ref,
        "latency_ms": round(a.latency_us / 1000, 3),
    }


def payment_body(p: PaymentInstruction, attempts: list[PaymentAttempt] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "payment",
        "id": p.id,
        "created": p.created,
        "livemode": p.livemode,
        "instruction_id": p.instruction_id,
        "loan": p.subject_id,
        "purpose": p.purpose,
        "direction": p.direction,
        "amount": p.amount,
        "currency": p.currency,
        "status": p.state,
        "failure_code": p.failure_code,
        "attempt_number": p.sequence,
        "due_date": p.due_date.isoformat() if p.due_date else None,
        "custody_account": p.custody_account_id,
        "counterparty": {
            "kind": p.counterparty_kind,
            "bank_code": p.counterparty_bank,
            "last4": p.counterparty_last4,
        },
        "channel": p.channel,
        "channel_reference": p.channel_ref,
        "submitted": p.submitted_at,
        "completed": p.completed_at,
    }
    if attempts is not None:
        body["attempts"] = [attempt_body(a) for a in attempts]
    return body


def payment_event_body(p: PaymentInstruction) -> dict[str, Any]:
    """The payment as events carry it: the API object, serialised (unix times)."""
    data: dict[str, Any] = _PAYMENT_SCHEMA.dump(payment_body(p))
    return data


_PAYMENT_SCHEMA = PaymentSchema()


class AdminPaymentSchema(PaymentSchema):
    tenant = fields.String()
    needs_attention = fields.Boolean()
    attention_reason = fields.String(allow_none=True)
    checks = fields.Integer()
    next_check = UnixTime(allow_none=True)
    spent_channels = fields.List(fields.String())


def admin_payment_body(p: PaymentInstruction, attempts: list[PaymentAttempt] | None = None) -> dict[str, Any]:
    return payment_body(p, attempts) | {
        "tenant": p.tenant_id,
        "needs_attention": p.needs_attention,
        "attention_reason": p.attention_reason,
        "checks": p.checks,
        "next_check": p.next_check_at,
        "spent_channels": list(p.spent_channels or []),
    }


class ResolvePaymentSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(PAYMENT_ACTIONS))
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    channel = fields.String(validate=validate.Length(max=40))
    channel_reference = fields.String(validate=validate.Length(max=64))


# -- mandates ------------------------------------------------------------------------------------


class DebitNowSchema(StrictSchema):
    amount = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=10_000_000_000),
        metadata={"description": "Fen to debit; default: everything due by today, penalty included"},
    )


class MandateCreateSchema(StrictSchema):
    signed_at = UnixTime(
        metadata={"description": "When the borrower signed the debit authorisation (default now)"}
    )


class MandateSchema(ObjectSchema):
    loan = fields.String()
    borrower = fields.String()
    card = fields.Nested(CounterpartySchema)
    status = fields.String()
    signed_at = UnixTime()


def mandate_body(m: Mandate) -> dict[str, Any]:
    return {
        "object": "mandate",
        "id": m.id,
        "created": m.created,
        "livemode": m.livemode,
        "loan": m.loan_id,
        "borrower": m.borrower_id,
        "card": {"kind": "card", "bank_code": m.card_bank, "last4": m.card_last4},
        "status": m.status,
        "signed_at": m.signed_at,
    }


# -- reconciliation ---------------------------------------------------------------------------


class BreakSchema(ObjectSchema):
    report = fields.String()
    kind = fields.String(
        metadata={"description": "missing_ours, missing_theirs, amount_mismatch, duplicate, balance_mismatch"}
    )
    source = fields.String(metadata={"description": "A channel name or custody:<last 4 digits>"})
    instruction_id = fields.String(allow_none=True)
    payment = fields.String(allow_none=True)
    institution = fields.String(allow_none=True)
    ours_amount = fields.Integer(allow_none=True)
    theirs_amount = fields.Integer(allow_none=True)
    detail = fields.String()
    status = fields.String(metadata={"description": "open, escalated or resolved"})
    resolution = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = UnixTime(allow_none=True)


class SourceSchema(StrictSchema):
    source = fields.String()
    rows = fields.Integer()
    matched = fields.Integer()
    breaks = fields.Integer()
    error = fields.String(allow_none=True)


class ReportSchema(ObjectSchema):
    business_date = fields.String()
    status = fields.String(metadata={"description": "clean, breaks or resolved"})
    matched = fields.Integer()
    breaks = fields.Integer()
    open_breaks = fields.Integer()
    double_payouts = fields.Integer()
    sources = fields.List(fields.Nested(SourceSchema))
    items = fields.List(
        fields.Nested(BreakSchema),
        attribute="break_list",
        required=False,
        metadata={"description": "The breaks (on the single-report read only)"},
    )


class ReportCreateSchema(StrictSchema):
    business_date = fields.Date(required=True)


class ResolveBreakSchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(BREAK_ACTIONS))
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


def break_body(b: ReconciliationBreak) -> dict[str, Any]:
    return {
        "object": "reconciliation_break",
        "id": b.id,
        "created": b.created,
        "livemode": bool(b.livemode),
        "report": b.report_id,
        "kind": b.kind,
        "source": b.source,
        "instruction_id": b.instruction_id,
        "payment": b.payment_id,
        "institution": b.tenant_id,
        "ours_amount": b.ours_amount,
        "theirs_amount": b.theirs_amount,
        "detail": b.detail,
        "status": b.status,
        "resolution": b.resolution,
        "note": b.note,
        "resolved_by": b.resolved_by,
        "resolved_at": b.resolved_at,
    }


def report_body(r: ReconciliationReport, breaks: list[ReconciliationBreak] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "reconciliation_report",
        "id": r.id,
        "created": r.created,
        "livemode": False,
        "business_date": r.business_date.isoformat(),
        "status": r.status,
        "matched": r.matched,
        "breaks": r.breaks,
        "open_breaks": r.open_breaks,
        "double_payouts": r.double_payouts,
        "sources": r.sources,
    }
    if breaks is not None:
        body["break_list"] = [break_body(b) for b in breaks]
    return body


class ChannelStatusSchema(StrictSchema):
    object = fields.String()
    name = fields.String()
    kind = fields.String()
    breaker = fields.String(metadata={"description": "closed, open or half_open"})
    retry_in = fields.Float()
    success_rate = fields.Float()
    latency_ms = fields.Float()
    calls = fields.Integer()
    fee_fixed = fields.Integer()
    fee_rate = fields.String()
    per_transaction_max = fields.Integer()
    daily_max = fields.Integer()


class ChannelListSchema(StrictSchema):
    object = fields.String()
    data = fields.List(fields.Nested(ChannelStatusSchema))
    has_more = fields.Boolean()
    url = fields.String()
