"""Auto-debit: debit instalments due from the borrower's card under a mandate, with retries."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lendbridge.audit import service as audit
from lendbridge.payments.custody import primary_account
from lendbridge.payments.execution import execute_payment
from lendbridge.payments.instructions import (
    ACTIVE_STATES,
    InstructionState,
    Purpose,
    auto_debit_operation,
)
from lendbridge.payments.models import (
    Mandate,
    PaymentInstruction,
)
from lendbridge.payments.ports import (
    PartyKind,
)
from lendbridge.payments.runtime import PaymentsRuntime
from lendbridge.payments.schedules import RETRY_OFFSETS, attempt_due_on
from lendbridge.payments.scoping import UowFactory, tenant_uow
from lendbridge.uow import UnitOfWork

log = logging.getLogger("lendbridge.payments")
M = TypeVar("M")


@dataclass
class AutoDebitReport:
    business_date: date
    created: int = 0
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0
    payments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _DebitPlan:
    loan_id: str
    tenant_id: str
    livemode: bool
    institution_id: str
    borrower_id: str
    due_date: date
    attempt: int
    amount: int | None  # None: ask the loan engine what is due on the day of the debit
    test_clock_id: str | None


def _retry_plans(uow: UnitOfWork, business_date: date, test_clock_id: str | None) -> list[_DebitPlan]:
    """Auto-debits that failed for lack of funds and whose next retry falls on this date."""
    due_dates = [business_date - timedelta(days=d) for d in RETRY_OFFSETS[1:]]
    if not due_dates:
        return []
    stmt = (
        select(PaymentInstruction)
        .where(
            PaymentInstruction.purpose == Purpose.AUTO_DEBIT.value,
            PaymentInstruction.due_date.in_(due_dates),
            PaymentInstruction.test_clock_id.is_(None)
            if test_clock_id is None
            else PaymentInstruction.test_clock_id == test_clock_id,
        )
        .order_by(PaymentInstruction.subject_id, PaymentInstruction.due_date, PaymentInstruction.sequence)
        .execution_options(all_tenants=True)
    )
    latest: dict[tuple[str, date], PaymentInstruction] = {}
    for p in uow.session.execute(stmt).scalars():
        assert p.due_date is not None
        latest[(p.subject_id, p.due_date)] = p  # ordered by sequence: the last one wins
    plans = []
    for (loan_id, due), p in latest.items():
        if p.state != InstructionState.FAILED.value or p.failure_code != "insufficient_funds":
            continue
        attempt = attempt_due_on(due, business_date)
        if attempt is None or attempt != p.sequence + 1:
            continue
        plans.append(
            _DebitPlan(
                loan_id, p.tenant_id, p.livemode, p.institution_id, "", due, attempt, None, p.test_clock_id
            )
        )
    return plans


def run_auto_debits(
    uow_factory: UowFactory,
    business_date: date,
    *,
    test_clock_id: str | None = None,
    rt: PaymentsRuntime | None = None,
) -> AutoDebitReport:
    """Debit every instalment due on `business_date` (and the retries due that day) from
    the borrower's card under its mandate, and execute the debits.

    `test_clock_id`: only loans on that sandbox test clock (None: only loans on no test
    clock). Idempotent per (loan, due date, attempt): running it twice debits once.
    """
    if rt is None:
        from flask import current_app

        from lendbridge.payments.runtime import runtime

        rt = runtime(current_app._get_current_object())  # type: ignore[attr-defined]
    report = AutoDebitReport(business_date)
    with uow_factory() as uow:
        dues = rt.ports.loans.dues(uow, business_date, test_clock_id=test_clock_id)
        plans = [
            _DebitPlan(
                d.loan_id,
                d.tenant_id,
                d.livemode,
                d.institution_id,
                d.borrower_id,
                d.due_date,
                1,
                None,  # sized by the loan engine when the debit is made
                d.test_clock_id,
            )
            for d in dues
            if d.due_date == business_date and d.amount > 0
        ]
        plans += _retry_plans(uow, business_date, test_clock_id)
    to_run: list[tuple[str, str, bool]] = []
    for item in plans:
        payment_id = _create_debit(uow_factory, rt, item, report)
        if payment_id is not None:
            to_run.append((payment_id, item.tenant_id, item.livemode))
    for payment_id, tenant_id, livemode in to_run:
        state = execute_payment(payment_id, rt=rt, tenant_id=tenant_id, livemode=livemode)
        report.payments.append(payment_id)
        if state == InstructionState.SUCCEEDED.value:
            report.succeeded += 1
        elif state == InstructionState.FAILED.value:
            report.failed += 1
        else:
            report.pending += 1
    return report


def _create_debit(
    uow_factory: UowFactory, rt: PaymentsRuntime, item: _DebitPlan, report: AutoDebitReport
) -> str | None:
    operation = auto_debit_operation(item.due_date.isoformat())
    with tenant_uow(uow_factory, item.tenant_id, item.livemode) as uow:
        existing = uow.session.execute(
            select(PaymentInstruction).where(
                PaymentInstruction.subject_id == item.loan_id,
                PaymentInstruction.operation == operation,
                PaymentInstruction.sequence == item.attempt,
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing.id if existing.state in ACTIVE_STATES else None
        mandate = uow.session.execute(
            select(Mandate).where(Mandate.loan_id == item.loan_id, Mandate.status == "active")
        ).scalar_one_or_none()
        if mandate is None:
            report.skipped += 1
            return None
        amount = item.amount
        if amount is None:
            amount = rt.ports.loans.amount_due(uow, item.loan_id, item.due_date)
        if amount <= 0:
            report.skipped += 1
            return None
        institution = item.institution_id or rt.ports.loans.payable_loan(uow, item.loan_id).institution_id
        custody = primary_account(uow, institution, item.livemode)
        if custody is None:
            report.skipped += 1
            log.warning("auto-debit of loan %s skipped: institution has no custody account", item.loan_id)
            return None
        now = uow.now()
        payment = PaymentInstruction.pending(
            now=now,
            subject_id=item.loan_id,
            operation=operation,
            sequence=item.attempt,
            purpose=Purpose.AUTO_DEBIT,
            amount=amount,
            institution_id=institution,
            custody_account_id=custody.id,
            counterparty=(PartyKind.CARD.value, mandate.borrower_id, mandate.card_bank, mandate.card_last4),
            mandate_id=mandate.id,
            due_date=item.due_date,
            test_clock_id=item.test_clock_id,
            first_check_at=now + timedelta(seconds=rt.pending_grace_seconds),
        )
        uow.session.add(payment)
        audit.record(
            uow.session, "payment.created", payment.id, {"loan": item.loan_id, "attempt": item.attempt}
        )
        try:
            uow.commit()
        except IntegrityError:
            # A concurrent run made this very debit (same loan, due date and attempt).
            uow.rollback()
            report.skipped += 1
            return None
        report.created += 1
        return payment.id
