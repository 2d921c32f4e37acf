"""Wire shapes of loans, schedules, statements, repayments, quotes and credit lines.

Money is integer fen; rates are decimal strings with at least 4 places; business dates
are ISO dates; timestamps are unix seconds. `loan_body` is THE representation: the API
returns it and events carry it unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

from lendbridge.core.clock import to_unix
from lendbridge.core.money import format_rate
from lendbridge.http.schemas import FenAmount, ListArgsSchema, ObjectSchema, StrictSchema, UnixTime
from lendbridge.loans.delinquency import Classification
from lendbridge.loans.models import CreditLine, Draw, Loan, LoanInstalment, Repayment
from lendbridge.loans.states import LoanState
from lendbridge.loans.terms import FutureRule

RATE_PLACES = 10


def fixed_rate(value: Decimal, places: int = RATE_PLACES) -> str:
    """`format_rate`, always in fixed point (Decimal prints a zero with 7+ places as 0E-10)."""
    return format(Decimal(format_rate(Decimal(value), places)), "f")


def rate(value: Decimal | None) -> str | None:
    return None if value is None else fixed_rate(value)


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def unix(value: datetime | None) -> int | None:
    return None if value is None else to_unix(value)


class RateString(fields.String):
    """A rate as a decimal string on the wire ("0.0600"), validated as a finite Decimal."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = Decimal(text)
        except ArithmeticError:
            raise ValidationError("must be a decimal rate such as 0.0600") from None
        if not parsed.is_finite() or parsed < 0 or parsed > 2:
            raise ValidationError("must be a decimal rate between 0 and 2")
        return parsed


# -- output --------------------------------------------------------------------------------


class AprSchema(StrictSchema):
    nominal = fields.String(metadata={"description": "12 x the monthly IRR of all cash flows, fees included"})
    effective = fields.String(metadata={"description": "(1 + monthly IRR)^12 - 1"})


class LoanFeesSchema(StrictSchema):
    upfront_fee = fields.Integer(metadata={"description": "Withheld from the payout, fen"})
    monthly_fee_rate = fields.String()
    prepayment_fee_rate = fields.String()


class MerchantSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    settlement_account = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Reference of the merchant's settlement account (never a card number)"},
    )


class BalancesSchema(StrictSchema):
    principal = fields.Integer(metadata={"description": "Principal outstanding, fen"})
    interest = fields.Integer(metadata={"description": "Interest accrued and unpaid, fen"})
    penalty = fields.Integer(metadata={"description": "Penalty interest accrued and unpaid, fen"})
    fees = fields.Integer(metadata={"description": "Fees billed and unpaid, fen"})
    total = fields.Integer(metadata={"description": "Everything above"})
    refund_due = fields.Integer(metadata={"description": "Overpayment owed back to the borrower, fen"})
    recovered = fields.Integer(metadata={"description": "Collected after a charge-off, fen"})


class LoanSchema(ObjectSchema):
    status = fields.String(metadata={"description": "One of " + ", ".join(s.value for s in LoanState)})
    kind = fields.String()
    partner = fields.String(metadata={"description": "The partner that originated the loan"})
    institution = fields.String(metadata={"description": "The licensed institution that funds and books it"})
    borrower = fields.String()
    product = fields.String()
    application = fields.String(allow_none=True)
    offer = fields.String(allow_none=True)
    test_clock = fields.String(allow_none=True)
    currency = fields.String()
    principal = fields.Integer()
    annual_rate = fields.String()
    term = fields.Integer()
    method = fields.String()
    start_date = fields.String(metadata={"description": "Interest start (the payout date once disbursed)"})
    fees = fields.Nested(LoanFeesSchema)
    penalty_rate = fields.String()
    apr = fields.Nested(AprSchema)
    disburse_to = fields.String()
    merchant = fields.Nested(MerchantSchema, allow_none=True)
    subsidy = fields.Integer(metadata={"description": "Merchant subsidy withheld from the merchant's payout"})
    disbursement_amount = fields.Integer(
        metadata={"description": "What is paid out: principal - fees - subsidy"}
    )
    balances = fields.Nested(BalancesSchema)
    accrued_through = fields.String(allow_none=True)
    days_past_due = fields.Integer()
    bucket = fields.String()
    classification = fields.String(metadata={"description": "Five-category classification (五级分类)"})
    classification_zh = fields.String()
    on_time_instalments = fields.Integer()
    rate_reward_earned = fields.Boolean()
    agreement_hash = fields.String(
        allow_none=True, metadata={"description": "SM3 of the signed agreement text"}
    )
    signed_at = UnixTime(allow_none=True)
    disbursed_at = UnixTime(allow_none=True)
    disbursement_failure = fields.String(allow_none=True)
    paid_off_at = UnixTime(allow_none=True)
    charged_off_at = UnixTime(allow_none=True)
    cancelled_at = UnixTime(allow_none=True)


_LOAN_SCHEMA = LoanSchema()


def loan_view(loan: Loan) -> dict[str, Any]:
    outstanding = (
        loan.principal_outstanding + loan.interest_receivable + loan.penalty_receivable + loan.fee_receivable
    )
    return {
        "object": "loan",
        "id": loan.id,
        "created": unix(loan.created),
        "livemode": loan.livemode,
        "status": loan.status,
        "kind": loan.kind,
        "partner": loan.tenant_id,
        "institution": loan.institution_id,
        "borrower": loan.borrower_id,
        "product": loan.product_id,
        "application": loan.application_id,
        "offer": loan.offer_id,
        "test_clock": loan.test_clock_id,
        "currency": "cny",
        "principal": loan.principal,
        "annual_rate": rate(loan.annual_rate),
        "term": loan.term,
        "method": loan.method,
        "start_date": iso(loan.start_date),
        "fees": {
            "upfront_fee": loan.upfront_fee,
            "monthly_fee_rate": rate(loan.monthly_fee_rate),
            "prepayment_fee_rate": rate(loan.prepayment_fee_rate),
        },
        "penalty_rate": rate(loan.penalty_rate),
        "apr": {"nominal": loan.apr_nominal, "effective": loan.apr_effective},
        "disburse_to": loan.disburse_to,
        "merchant": loan.merchant,
        "subsidy": loan.subsidy,
        "disbursement_amount": loan.principal - loan.upfront_fee - loan.subsidy,
        "balances": {
            "principal": loan.principal_outstanding,
            "interest": loan.interest_receivable,
            "penalty": loan.penalty_receivable,
            "fees": loan.fee_receivable,
            "total": outstanding,
            "refund_due": loan.refund_due,
            "recovered": loan.recovered,
        },
        "accrued_through": iso(loan.accrued_through),
        "days_past_due": loan.days_past_due,
        "bucket": loan.bucket,
        "classification": loan.classification,
        "classification_zh": Classification(loan.classification).label_zh,
        "on_time_instalments": loan.on_time_instalments,
        "rate_reward_earned": loan.reward_earned,
        "agreement_hash": loan.agreement_hash,
        "signed_at": unix(loan.signed_at),
        "disbursed_at": unix(loan.disbursed_at),
        "disbursement_failure": loan.disbursement_failure,
        "paid_off_at": unix(loan.paid_off_at),
        "charged_off_at": unix(loan.charged_off_at),
        "cancelled_at": unix(loan.cancelled_at),
    }


def loan_body(loan: Loan) -> dict[str, Any]:
    """The loan exactly as the API returns it (and as events carry it)."""
    body: dict[str, Any] = _LOAN_SCHEMA.dump(loan_view(loan))
    return body


class InstalmentSchema(StrictSchema):
    number = fields.Integer()
    period_start = fields.String()
    due_date = fields.String()
    principal = fields.Integer()
    interest = fields.Integer()
    fee = fields.Integer()
    payment = fields.Integer()
    interest_accrued = fields.Integer()
    penalty = fields.Integer(metadata={"description": "Penalty interest assessed on this instalment"})
    paid = fields.Dict(keys=fields.String(), values=fields.Integer())
    outstanding = fields.Integer(
        metadata={"description": "Still owed on this instalment (scheduled + penalty - paid)"}
    )
    status = fields.String(metadata={"description": "pending, overdue, paid or charged_off"})
    paid_on = fields.String(allow_none=True)


class ScheduleSchema(StrictSchema):
    object = fields.String()
    loan = fields.String()
    method = fields.String()
    instalments = fields.List(fields.Nested(InstalmentSchema))
    total_principal = fields.Integer()
    total_interest = fields.Integer()
    total_fees = fields.Integer()
    total_payment = fields.Integer()


def instalment_view(row: LoanInstalment) -> dict[str, Any]:
    paid = {
        "principal": row.paid_principal,
        "interest": row.paid_interest,
        "fee": row.paid_fee,
        "penalty": row.paid_penalty,
    }
    owed = row.principal + row.interest + row.fee + row.penalty_accrued
    return {
        "number": row.number,
        "period_start": iso(row.period_start),
        "due_date": iso(row.due_date),
        "principal": row.principal,
        "interest": row.interest,
        "fee": row.fee,
        "payment": row.principal + row.interest + row.fee,
        "interest_accrued": row.interest_accrued,
        "penalty": row.penalty_accrued,
        "paid": paid,
        "outstanding": owed - sum(paid.values()),
        "status": row.status,
        "paid_on": iso(row.paid_on),
    }


class AllocationLineSchema(StrictSchema):
    instalment = fields.Integer()
    dueness = fields.String()
    component = fields.String()
    amount = fields.Integer()


class RepaymentSchema(ObjectSchema):
    loan = fields.String(allow_none=True)
    credit_line = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "repayment, prepayment, recovery or credit_line"})
    status = fields.String()
    amount = fields.Integer()
    source = fields.String()
    external_ref = fields.String(allow_none=True)
    business_date = fields.String()
    principal = fields.Integer()
    interest = fields.Integer()
    fee = fields.Integer()
    penalty = fields.Integer()
    prepayment = fields.Dict(keys=fields.String(), values=fields.Raw())
    refund_due = fields.Integer()
    recovery = fields.Integer()
    allocation = fields.List(fields.Nested(AllocationLineSchema))
    journal_entry = fields.String(allow_none=True)


_REPAYMENT_SCHEMA = RepaymentSchema()


def repayment_body(rpy: Repayment) -> dict[str, Any]:
    view = {
        "object": "repayment",
        "id": rpy.id,
        "created": unix(rpy.created),
        "livemode": rpy.livemode,
        "loan": rpy.loan_id,
        "credit_line": rpy.credit_line_id,
        "kind": rpy.kind,
        "status": rpy.status,
        "amount": rpy.amount,
        "source": rpy.source,
        "external_ref": rpy.external_ref,
        "business_date": iso(rpy.business_date),
        "principal": rpy.principal,
        "interest": rpy.interest,
        "fee": rpy.fee,
        "penalty": rpy.penalty,
        "prepayment": {
            "principal": rpy.prepaid_principal,
            "interest": rpy.prepayment_interest,
            "fee": rpy.prepayment_fee,
            "future_rule": rpy.future_rule,
        },
        "refund_due": rpy.refund_due,
        "recovery": rpy.recovery,
        "allocation": rpy.allocation,
        "journal_entry": rpy.journal_entry_id,
    }
    body: dict[str, Any] = _REPAYMENT_SCHEMA.dump(view)
    return body


class PayoffQuoteSchema(StrictSchema):
    object = fields.String()
    loan = fields.String()
    as_of = fields.String()
    outstanding_principal = fields.Integer()
    accrued_interest = fields.Integer()
    billed_principal = fields.Integer()
    billed_interest = fields.Integer()
    billed_fees = fields.Integer()
    penalty = fields.Integer()
    prepayment_fee = fields.Integer()
    total = fields.Integer()


class StatementLineSchema(StrictSchema):
    account = fields.String()
    debit = fields.Integer()
    credit = fields.Integer()


class StatementEntrySchema(StrictSchema):
    journal_entry = fields.String()
    entry_type = fields.String()
    business_date = fields.String()
    created = fields.Integer()
    memo = fields.String()
    lines = fields.List(fields.Nested(StatementLineSchema))


class StatementSchema(StrictSchema):
    object = fields.String()
    loan = fields.String()
    institution = fields.String()
    balances = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "Ledger balance of each of the loan's accounts"},
    )
    matches_loan = fields.Boolean(metadata={"description": "The loan's running balances equal the ledger's"})
    data = fields.List(fields.Nested(StatementEntrySchema))
    has_more = fields.Boolean()
    url = fields.String()


class CreditLineSchema(ObjectSchema):
    status = fields.String()
    partner = fields.String()
    institution = fields.String()
    borrower = fields.String()
    product = fields.String()
    application = fields.String(allow_none=True)
    test_clock = fields.String(allow_none=True)
    currency = fields.String()
    limit = fields.Integer()
    available = fields.Integer(metadata={"description": "limit - principal outstanding"})
    annual_rate = fields.String()
    day_count = fields.String()
    apr = fields.String(metadata={"description": "Annual cost of daily interest over 365 days"})
    opened_on = fields.String()
    expires_on = fields.String()
    balances = fields.Dict(keys=fields.String(), values=fields.Integer())
    accrued_through = fields.String()


_LINE_SCHEMA = CreditLineSchema()


def credit_line_body(line: CreditLine) -> dict[str, Any]:
    view = {
        "object": "credit_line",
        "id": line.id,
        "created": unix(line.created),
        "livemode": line.livemode,
        "status": line.status,
        "partner": line.tenant_id,
        "institution": line.institution_id,
        "borrower": line.borrower_id,
        "product": line.product_id,
        "application": line.application_id,
        "test_clock": line.test_clock_id,
        "currency": "cny",
        "limit": line.limit_amount,
        "available": max(line.limit_amount - line.principal_outstanding, 0),
        "annual_rate": rate(line.annual_rate),
        "day_count": line.day_count,
        "apr": line.apr_nominal,
        "opened_on": iso(line.opened_on),
        "expires_on": iso(line.expires_on),
        "balances": {
            "principal": line.principal_outstanding,
            "interest": line.interest_receivable,
            "total": line.principal_outstanding + line.interest_receivable,
        },
        "accrued_through": iso(line.accrued_through),
    }
    body: dict[str, Any] = _LINE_SCHEMA.dump(view)
    return body


class DrawSchema(ObjectSchema):
    credit_line = fields.String()
    amount = fields.Integer()
    business_date = fields.String()
    journal_entry = fields.String()


_DRAW_SCHEMA = DrawSchema()


def draw_body(draw: Draw) -> dict[str, Any]:
    body: dict[str, Any] = _DRAW_SCHEMA.dump(
        {
            "object": "draw",
            "id": draw.id,
            "created": unix(draw.created),
            "livemode": draw.livemode,
            "credit_line": draw.credit_line_id,
            "amount": draw.amount,
            "business_date": iso(draw.business_date),
            "journal_entry": draw.journal_entry_id,
        }
    )
    return body


# -- input ---------------------------------------------------------------------------------


class LoanListArgsSchema(ListArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in LoanState]))
    borrower = fields.String(validate=validate.Length(max=40))


class StatementArgsSchema(ListArgsSchema):
    pass


class RepaymentCreateSchema(StrictSchema):
    amount = FenAmount(required=True, minimum=1)
    external_ref = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={
            "description": "Your reference for the collected payment; repeating it returns the same repayment"
        },
    )


class PrepaymentCreateSchema(StrictSchema):
    mode = fields.String(
        required=True,
        validate=validate.OneOf(["full", FutureRule.SHORTEN_TERM.value, FutureRule.LOWER_INSTALMENT.value]),
        metadata={
            "description": "full payoff, or a partial prepayment that shortens the term or lowers "
            "the instalment"
        },
    )
    amount = FenAmount(
        minimum=1, metadata={"description": "Required for partial modes; defaults to the payoff for full"}
    )


class PayoffQuoteArgsSchema(StrictSchema):
    as_of = fields.Date(metadata={"description": "Business date of the payoff (default: today)"})


class SignSchema(StrictSchema):
    signer = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Who signed (e.g. the borrower id and signing method), recorded with the agreement"
        },
    )
    ip = fields.String(validate=validate.Length(max=45))
    agreement_hash = fields.String(
        validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="agreement_hash is a 64-character hex SM3 hash"),
        metadata={
            "description": "The hash of the agreement text the borrower was shown (GET .../agreement); "
            "when given, the loan is signed only if the agreement is still exactly that text, "
            "else 409 agreement_changed"
        },
    )


class AgreementArgsSchema(StrictSchema):
    signer = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Who will sign, exactly as it will be sent to sign (the text names them)"},
    )


class AgreementSchema(StrictSchema):
    object = fields.Constant("loan_agreement")
    loan = fields.String()
    hash = fields.String(metadata={"description": "SM3 of the text, hex; send it back when signing"})
    template_version = fields.String()
    signed = fields.Boolean()
    signed_at = UnixTime(allow_none=True)
    signer = fields.String(allow_none=True)
    text = fields.String(metadata={"description": "The agreement, zh-CN first, then English"})


class CancelSchema(StrictSchema):
    reason = fields.String(validate=validate.Length(max=200))


class DrawCreateSchema(StrictSchema):
    amount = FenAmount(required=True, minimum=1)


class CreditLineRepaymentSchema(RepaymentCreateSchema):
    pass
