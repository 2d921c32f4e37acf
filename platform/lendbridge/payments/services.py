"""Payments use cases, one import for callers: disbursement, mandates and payment reads
here; custody accounts (custody.py), execution, callbacks, the re-check and the
operations queue (execution.py), auto-debit (auto_debit.py) and the daily reconciliation
(daily_reconciliation.py) are re-exported at the bottom.

These take a UnitOfWork and never commit. Executing an instruction cannot be one
transaction (the write-ahead record must commit before the channel is called), so the
execution, auto-debit and reconciliation runs take the runtime or a unit-of-work factory
and commit their own short transactions, like the other batch jobs.

Tenancy: a payment belongs to the loan's tenant (the partner); its custody account to the
institution. Reading the institution's account while disbursing, and every batch job,
crosses tenants explicitly (`all_tenants=True` plus a filter), each with a negative test.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from lendbridge.audit import service as audit
from lendbridge.core.errors import (
    Conflict,
    IllegalTransition,
    InvalidParameter,
    NotFound,
)
from lendbridge.core.ids import new_id
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.payments.custody import primary_custody_account
from lendbridge.payments.instructions import (
    ACTIVE_STATES,
    InstructionState,
    Purpose,
    disbursement_operation,
)
from lendbridge.payments.models import (
    Mandate,
    PaymentAttempt,
    PaymentInstruction,
)
from lendbridge.payments.ports import (
    Party,
    PartyKind,
)
from lendbridge.payments.runtime import Ports
from lendbridge.payments.scoping import UowFactory, acting_as
from lendbridge.uow import UnitOfWork

M = TypeVar("M")


def _ports(ports: Ports | None) -> Ports:
    """The given ports, or the app's (callers in a request or task need not pass them)."""
    if ports is not None:
        return ports
    from flask import current_app

    from lendbridge.payments.runtime import runtime

    return runtime(current_app._get_current_object()).ports  # type: ignore[attr-defined]


# == disbursement ==============================================================================


def _latest(uow: UnitOfWork, subject_id: str, operation: str) -> PaymentInstruction | None:
    stmt = (
        select(PaymentInstruction)
        .where(PaymentInstruction.subject_id == subject_id, PaymentInstruction.operation == operation)
        .order_by(PaymentInstruction.sequence.desc())
        .limit(1)
    )
    return uow.session.execute(stmt).scalar_one_or_none()


def _payee(
    uow: UnitOfWork, ports: Ports, disburse_to: str, borrower_id: str, merchant: Party | None
) -> Party:
    if disburse_to == "merchant":
        if merchant is None:
            raise Conflict(
                "The loan pays the merchant but has no merchant settlement account",
                param="merchant",
                code="merchant_account_missing",
            )
        return merchant
    return ports.payout_accounts.payout_account(uow, borrower_id)


def disburse_loan(uow: UnitOfWork, loan_id: str, *, ports: Ports | None = None) -> PaymentInstruction:
    """Create the disbursement instruction of a signed loan and start it (after commit).

    Idempotent: while a disbursement of the loan is pending, in flight or done, the same
    instruction is returned. After a failed one, the next call makes attempt n+1 (a new
    instruction id), and the loan moves signed -> disbursing again.
    """
    ports = _ports(ports)
    operation = disbursement_operation()
    loan = ports.loans.payable_loan(uow, loan_id)
    latest = _latest(uow, loan_id, operation)
    if latest is not None and latest.state != InstructionState.FAILED.value:
        return latest
    if loan.state != "signed":
        raise IllegalTransition(f"a loan in state '{loan.state}' cannot be disbursed; it must be signed")
    amount = loan.payout_amount
    if amount <= 0:
        raise Conflict("Nothing to pay out on this loan", param="id", code="nothing_to_disburse")
    custody = primary_custody_account(uow, loan.institution_id)
    payee = _payee(uow, ports, loan.disburse_to, loan.borrower_id, loan.merchant)
    sequence = latest.sequence + 1 if latest is not None else 1
    now = uow.now()
    payment = PaymentInstruction.pending(
        now=now,
        subject_id=loan_id,
        operation=operation,
        sequence=sequence,
        purpose=Purpose.DISBURSEMENT,
        amount=amount,
        institution_id=loan.institution_id,
        custody_account_id=custody.id,
        counterparty=(
            payee.kind.value,
            loan.borrower_id if loan.disburse_to != "merchant" else f"merchant:{loan_id}",
            payee.bank_code,
            payee.last4,
        ),
        test_clock_id=loan.test_clock_id,
        first_check_at=now + timedelta(seconds=30),
    )
    _start(uow, ports, payment)
    ports.loans.start_disbursement(uow, loan_id)
    return payment


def _start(uow: UnitOfWork, ports: Ports, payment: PaymentInstruction) -> None:
    """Store a new instruction, audit it, and execute it once the transaction has committed."""
    uow.session.add(payment)
    uow.session.flush()
    audit.record(
        uow.session,
        "payment.created",
        payment.id,
        {"loan": payment.subject_id, "amount": payment.amount, "sequence": payment.sequence},
    )
    payment_id, tenant_id, livemode = payment.id, payment.tenant_id, payment.livemode
    uow.after_commit(lambda: ports.enqueue("payments.execute", payment_id, tenant_id, livemode))


def disbursement_of(uow: UnitOfWork, loan_id: str, *, ports: Ports | None = None) -> PaymentInstruction:
    """The loan's latest disbursement instruction (404 if the loan is not the caller's)."""
    ports = _ports(ports)
    ports.loans.payable_loan(uow, loan_id)
    latest = _latest(uow, loan_id, disbursement_operation())
    if latest is None:
        raise NotFound(f"Loan {loan_id} has no disbursement yet", param="id", code="disbursement_missing")
    return latest


def list_payments(uow: UnitOfWork, request: PageRequest, filters: dict[str, Any]) -> Page[PaymentInstruction]:
    stmt = select(PaymentInstruction)
    if filters.get("loan"):
        stmt = stmt.where(PaymentInstruction.subject_id == filters["loan"])
    if filters.get("purpose"):
        stmt = stmt.where(PaymentInstruction.purpose == filters["purpose"])
    if filters.get("status"):
        stmt = stmt.where(PaymentInstruction.state == filters["status"])
    return uow.page(stmt, PaymentInstruction, request)


def attempts_of(uow: UnitOfWork, payment_id: str, *, all_tenants: bool = False) -> list[PaymentAttempt]:
    stmt = select(PaymentAttempt).where(PaymentAttempt.payment_id == payment_id).order_by(PaymentAttempt.seq)
    if all_tenants:
        stmt = stmt.execution_options(all_tenants=True)
    return list(uow.session.execute(stmt).scalars())


# == mandates =====================================================================================


def create_mandate(
    uow: UnitOfWork, loan_id: str, *, ports: Ports | None = None, signed_at: datetime | None = None
) -> Mandate:
    """The borrower authorises debits of the card on file for this loan (idempotent)."""
    ports = _ports(ports)
    loan = ports.loans.payable_loan(uow, loan_id)
    existing = uow.session.execute(
        select(Mandate).where(Mandate.loan_id == loan_id, Mandate.status == "active")
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    if loan.state in ("paid_off", "charged_off", "cancelled"):
        raise IllegalTransition(f"a loan in state '{loan.state}' takes no debit mandate")
    card = ports.payout_accounts.payout_account(uow, loan.borrower_id)
    now = uow.now()
    mandate = Mandate(
        id=new_id("mdt"),
        created=now,
        loan_id=loan_id,
        borrower_id=loan.borrower_id,
        card_bank=card.bank_code,
        card_last4=card.last4,
        signed_at=signed_at or now,
        status="active",
    )
    uow.session.add(mandate)
    uow.session.flush()
    audit.record(uow.session, "mandate.created", mandate.id, {"loan": loan_id})
    return mandate


def mandate_of(uow: UnitOfWork, loan_id: str, *, ports: Ports | None = None) -> Mandate:
    ports = _ports(ports)
    ports.loans.payable_loan(uow, loan_id)
    mandate = uow.session.execute(
        select(Mandate).where(Mandate.loan_id == loan_id).order_by(Mandate.id.desc()).limit(1)
    ).scalar_one_or_none()
    if mandate is None:
        raise NotFound(f"Loan {loan_id} has no mandate", param="id", code="mandate_missing")
    return mandate


def debit_now(
    uow: UnitOfWork, loan_id: str, *, amount: int | None = None, ports: Ports | None = None
) -> PaymentInstruction:
    """A one-off debit of the borrower's card under the loan's mandate, started after commit.

    For a borrower who asks to pay now: an overdue instalment once the card is topped up,
    rather than at the next auto-debit retry, or today's instalment early in the day. The
    default amount is everything due by today, penalty included (what the waterfall takes);
    a larger `amount` prepays by the waterfall's rules. While one is pending or in flight
    the same payment comes back, so a second tap does not debit twice.
    """
    ports = _ports(ports)
    loan = ports.loans.payable_loan(uow, loan_id)
    if loan.state not in ("active", "overdue"):
        raise IllegalTransition(f"a loan in state '{loan.state}' takes no repayment")
    operation = Purpose.DEBIT_NOW.value
    latest = _latest(uow, loan_id, operation)
    if latest is not None and InstructionState(latest.state) in ACTIVE_STATES:
        return latest
    mandate = uow.session.execute(
        select(Mandate).where(Mandate.loan_id == loan_id, Mandate.status == "active")
    ).scalar_one_or_none()
    if mandate is None:
        raise Conflict(
            "The borrower has not authorised debits of a card for this loan",
            param="id",
            code="mandate_missing",
        )
    if amount is None:
        amount = ports.loans.amount_due(uow, loan_id, None)
        if amount <= 0:
            raise Conflict("Nothing is due on this loan today", param="amount", code="nothing_due")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidParameter("amount is a positive whole number of fen", param="amount")
    custody = primary_custody_account(uow, loan.institution_id)
    sequence = latest.sequence + 1 if latest is not None else 1
    now = uow.now()
    payment = PaymentInstruction.pending(
        now=now,
        subject_id=loan_id,
        operation=operation,
        sequence=sequence,
        purpose=Purpose.DEBIT_NOW,
        amount=amount,
        institution_id=loan.institution_id,
        custody_account_id=custody.id,
        counterparty=(PartyKind.CARD.value, mandate.borrower_id, mandate.card_bank, mandate.card_last4),
        mandate_id=mandate.id,
        test_clock_id=loan.test_clock_id,
        first_check_at=now + timedelta(seconds=30),
    )
    _start(uow, ports, payment)
    return payment


def latest_debit_now(uow: UnitOfWork, loan_id: str) -> PaymentInstruction | None:
    """The loan's most recent pay-now debit, if any (for showing its outcome)."""
    return _latest(uow, loan_id, Purpose.DEBIT_NOW.value)


# The use cases that live in their own modules, re-exported: callers use `services.X`.
from lendbridge.payments.auto_debit import AutoDebitReport, run_auto_debits  # noqa: E402
from lendbridge.payments.custody import (  # noqa: E402
    get_custody_account,
    list_custody_accounts,
    register_custody_account,
)
from lendbridge.payments.daily_reconciliation import (  # noqa: E402
    channel_statuses,
    get_report,
    has_report,
    list_reports,
    resolve_break,
    run_reconciliation,
)
from lendbridge.payments.execution import (  # noqa: E402
    attention_queue,
    execute_payment,
    get_payment_any,
    handle_callback,
    resolve_open_payments,
    resolve_payment,
)

__all__ = [
    "AutoDebitReport",
    "UowFactory",
    "acting_as",
    "attempts_of",
    "attention_queue",
    "channel_statuses",
    "create_mandate",
    "disburse_loan",
    "disbursement_of",
    "execute_payment",
    "get_custody_account",
    "get_payment_any",
    "get_report",
    "handle_callback",
    "has_report",
    "list_custody_accounts",
    "list_payments",
    "list_reports",
    "mandate_of",
    "primary_custody_account",
    "register_custody_account",
    "resolve_break",
    "resolve_open_payments",
    "resolve_payment",
    "run_auto_debits",
    "run_reconciliation",
]
