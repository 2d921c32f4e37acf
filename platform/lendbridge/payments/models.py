"""Custody accounts, payment instructions and their attempts, mandates, reconciliation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.core.ids import new_id
from lendbridge.db import Base, TenantScoped
from lendbridge.payments.instructions import PURPOSE_DIRECTION, InstructionState, Purpose, instruction_id


class CustodyAccount(TenantScoped, Base):
    """An institution's account at its custody bank. Its tenant is the institution.

    The account number is the institution's (not a person's), stored as given and masked
    in every response. `balance` mirrors the bank's last statement; it is never computed
    by us, because the bank's books are the truth about the money.
    """

    __tablename__ = "custody_accounts"
    __object_name__ = "custody account"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    bank_name: Mapped[str] = mapped_column(String(100))
    bank_code: Mapped[str] = mapped_column(String(20))
    account_number: Mapped[str] = mapped_column(String(40))
    account_holder: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="active")
    balance: Mapped[int | None] = mapped_column(BigInteger)
    balance_as_of: Mapped[datetime | None]
    statement_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("livemode", "bank_code", "account_number", name="uq_custody_accounts_number"),
        # One primary account per institution and mode.
        Index(
            "uq_custody_accounts_primary",
            "tenant_id",
            "livemode",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )


class PaymentInstruction(TenantScoped, Base):
    """One logical payment: a disbursement, an auto-debit attempt or a refund.

    Its tenant is the loan's (the partner). `instruction_id` is what the channel dedupes
    on, derived from (subject, operation, sequence). `channel` is the channel that
    executed it or may hold it; `spent_channels` are channels where the id can never run
    again (they failed or closed it).
    """

    __tablename__ = "payment_instructions"
    __object_name__ = "payment"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    updated: Mapped[datetime]
    instruction_id: Mapped[str] = mapped_column(String(32), unique=True)
    subject_id: Mapped[str] = mapped_column(String(40))
    operation: Mapped[str] = mapped_column(String(40))
    sequence: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    institution_id: Mapped[str] = mapped_column(String(40))
    custody_account_id: Mapped[str] = mapped_column(ForeignKey("custody_accounts.id"))
    counterparty_kind: Mapped[str] = mapped_column(String(20))
    counterparty_ref: Mapped[str] = mapped_column(String(60))
    counterparty_bank: Mapped[str] = mapped_column(String(20))
    counterparty_last4: Mapped[str] = mapped_column(String(4))
    mandate_id: Mapped[str | None] = mapped_column(String(40))
    due_date: Mapped[date | None] = mapped_column(Date)
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(40))
    channel_ref: Mapped[str | None] = mapped_column(String(64))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    spent_channels: Mapped[list[Any]] = mapped_column(default=list)
    route: Mapped[list[Any]] = mapped_column(default=list)
    submissions: Mapped[int] = mapped_column(Integer, default=0)
    attempts_logged: Mapped[int] = mapped_column(Integer, default=0)  # the last attempt's `seq`
    checks: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    succeeded_on: Mapped[date | None] = mapped_column(Date)

    @classmethod
    def pending(
        cls,
        *,
        now: datetime,
        subject_id: str,
        operation: str,
        sequence: int,
        purpose: Purpose,
        amount: int,
        institution_id: str,
        custody_account_id: str,
        counterparty: tuple[str, str, str, str],
        first_check_at: datetime,
        mandate_id: str | None = None,
        due_date: date | None = None,
        test_clock_id: str | None = None,
    ) -> PaymentInstruction:
        """A new instruction, not yet sent; `counterparty` is (kind, ref, bank code, last 4)."""
        kind, ref, bank, last4 = counterparty
        return cls(
            id=new_id("pay"),
            created=now,
            updated=now,
            instruction_id=instruction_id(subject_id, operation, sequence),
            subject_id=subject_id,
            operation=operation,
            sequence=sequence,
            direction=PURPOSE_DIRECTION[purpose].value,
            purpose=purpose.value,
            amount=amount,
            currency="CNY",
            institution_id=institution_id,
            custody_account_id=custody_account_id,
            counterparty_kind=kind,
            counterparty_ref=ref,
            counterparty_bank=bank,
            counterparty_last4=last4,
            mandate_id=mandate_id,
            due_date=due_date,
            test_clock_id=test_clock_id,
            state=InstructionState.PENDING.value,
            spent_channels=[],
            route=[],
            submissions=0,
            checks=0,
            attempts_logged=0,
            next_check_at=first_check_at,
        )

    __table_args__ = (
        UniqueConstraint("subject_id", "operation", "sequence", name="uq_payment_instructions_identity"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "state IN ('pending', 'processing', 'unknown', 'succeeded', 'failed', 'reversed')",
            name="state_known",
        ),
        Index("ix_payment_instructions_subject", "tenant_id", "livemode", "subject_id", "id"),
        Index("ix_payment_instructions_open", "state", "next_check_at"),
        Index("ix_payment_instructions_settled", "succeeded_on", "channel"),
    )


class PaymentAttempt(TenantScoped, Base):
    """One call to a channel about an instruction: submit, query or close, and its result.

    A `submit` row with result `sent` is written (committed) before the request goes out,
    so after a crash we know which channel may hold the instruction.
    """

    __tablename__ = "payment_attempts"
    __object_name__ = "payment attempt"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment_instructions.id"))
    seq: Mapped[int] = mapped_column(Integer)  # order of the calls (ids made in one ms do not sort)
    channel: Mapped[str] = mapped_column(String(40))
    operation: Mapped[str] = mapped_column(String(12))
    result: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(60))
    channel_ref: Mapped[str | None] = mapped_column(String(64))
    latency_us: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (UniqueConstraint("payment_id", "seq", name="uq_payment_attempts_seq"),)


class Mandate(TenantScoped, Base):
    """A borrower's authorisation to debit their card for a loan's instalments.

    The card itself stays with the identity area (encrypted); the mandate keeps only its
    bank and last four digits, and a debit checks the card on file still matches them.
    """

    __tablename__ = "mandates"
    __object_name__ = "mandate"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    loan_id: Mapped[str] = mapped_column(String(40))
    borrower_id: Mapped[str] = mapped_column(String(40))
    card_bank: Mapped[str] = mapped_column(String(20))
    card_last4: Mapped[str] = mapped_column(String(4))
    signed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="active")
    revoked_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("tenant_id", "livemode", "loan_id", name="uq_mandates_loan"),)


class ReconciliationReport(Base):
    """One reconciliation run of one business date over every statement (platform-wide)."""

    __tablename__ = "reconciliation_reports"
    __object_name__ = "reconciliation report"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    business_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20))
    matched: Mapped[int] = mapped_column(Integer, default=0)
    breaks: Mapped[int] = mapped_column(Integer, default=0)
    open_breaks: Mapped[int] = mapped_column(Integer, default=0)
    double_payouts: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[list[Any]] = mapped_column(default=list)


class ReconciliationBreak(Base):
    __tablename__ = "reconciliation_breaks"
    __object_name__ = "reconciliation break"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    report_id: Mapped[str] = mapped_column(ForeignKey("reconciliation_reports.id"))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    instruction_id: Mapped[str | None] = mapped_column(String(32))
    payment_id: Mapped[str | None] = mapped_column(String(40))
    tenant_id: Mapped[str | None] = mapped_column(String(40))
    livemode: Mapped[bool | None] = mapped_column(Boolean)
    ours_amount: Mapped[int | None] = mapped_column(BigInteger)
    theirs_amount: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolution: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(60))
    resolved_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_reconciliation_breaks_report", "report_id", "id"),)
