"""Loans, their instalments, agreements, repayments, credit lines, draws and COB runs.

A loan row carries its running balances (principal, receivables, days past due...) so
that reads never rebuild a loan from its history; the ledger holds the same balances per
loan account, and a property test keeps the two equal.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base, TenantScoped

Rate = Numeric(12, 10)


class Loan(TenantScoped, Base):
    """A loan. Its tenant is the PARTNER that originated it; `institution_id` funds it."""

    __tablename__ = "loans"
    __object_name__ = "loan"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    institution_id: Mapped[str] = mapped_column(String(40))
    borrower_id: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[str] = mapped_column(String(40), index=True)
    application_id: Mapped[str | None] = mapped_column(String(40))
    offer_id: Mapped[str | None] = mapped_column(String(40))
    test_clock_id: Mapped[str | None] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    # Terms, fixed at creation (a product edited later does not change a signed loan).
    principal: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    term: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    upfront_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    monthly_fee_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    prepayment_fee_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    penalty_rate: Mapped[Decimal] = mapped_column(Rate)
    day_count: Mapped[str] = mapped_column(String(10))
    allocation_order: Mapped[dict[str, Any]]
    future_rule: Mapped[str] = mapped_column(String(20))
    classification_thresholds: Mapped[dict[str, Any] | None]
    reward_after: Mapped[int] = mapped_column(Integer)
    reward_rate_reduction: Mapped[Decimal] = mapped_column(Rate)
    apr_nominal: Mapped[str] = mapped_column(String(24))
    apr_effective: Mapped[str] = mapped_column(String(24))
    disburse_to: Mapped[str] = mapped_column(String(10))
    merchant: Mapped[dict[str, Any] | None]
    subsidy: Mapped[int] = mapped_column(BigInteger, default=0)
    subsidy_target_rate: Mapped[Decimal | None] = mapped_column(Rate)
    # Running balances: equal to the ledger's balances of this loan's accounts.
    principal_outstanding: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_receivable: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_receivable: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_receivable: Mapped[int] = mapped_column(BigInteger, default=0)
    deferred_subsidy: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_due: Mapped[int] = mapped_column(BigInteger, default=0)
    recovered: Mapped[int] = mapped_column(BigInteger, default=0)
    accrued_through: Mapped[date | None] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(8), default="current")
    classification: Mapped[str] = mapped_column(String(20), default="normal")
    on_time_instalments: Mapped[int] = mapped_column(Integer, default=0)
    reward_earned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lifecycle facts.
    agreement_hash: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None]
    disbursed_at: Mapped[datetime | None]
    disbursed_on: Mapped[date | None] = mapped_column(Date)
    disbursement_ref: Mapped[str | None] = mapped_column(String(100))
    disbursement_failure: Mapped[str | None] = mapped_column(String(200))
    paid_off_at: Mapped[datetime | None]
    charged_off_at: Mapped[datetime | None]
    charge_off_reason: Mapped[str | None] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_loans_tenant_status", "tenant_id", "livemode", "status", "id"),
        Index("ix_loans_tenant_borrower", "tenant_id", "livemode", "borrower_id", "id"),
        Index("ix_loans_institution", "institution_id", "livemode", "id"),
        # Balances change every day: free space per page lets PostgreSQL update in place
        # (HOT), without touching the indexes, which is most of the COB's write cost.
        {"postgresql_with": {"fillfactor": 70}},
    )


class LoanInstalment(Base):
    """One row of a loan's schedule with what has been booked and paid on it.

    Reached only through its loan (which is tenant-scoped). Rows due after a prepayment
    date are rebuilt when the loan is re-amortised.
    """

    __tablename__ = "loan_instalments"

    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer, default=1)
    principal: Mapped[int] = mapped_column(BigInteger)
    interest: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_accrued: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_charged: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_accrued: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_base: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_since: Mapped[date | None] = mapped_column(Date)
    subsidy_income: Mapped[int] = mapped_column(BigInteger, default=0)
    subsidy_recognised: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_principal: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_interest: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_penalty: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    paid_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_loan_instalments_status_due", "status", "due_date"),
        {"postgresql_with": {"fillfactor": 80}},
    )


class LoanAgreement(Base):
    """The signed agreement text, its SM3 hash and the platform's SM2 signature over it."""

    __tablename__ = "loan_agreements"

    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.id"), primary_key=True)
    template_version: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(130))
    signer: Mapped[str] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(45))
    signed_at: Mapped[datetime]


class Repayment(TenantScoped, Base):
    """Money received on a loan or a credit line, and how it was allocated."""

    __tablename__ = "repayments"
    __object_name__ = "repayment"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    loan_id: Mapped[str | None] = mapped_column(ForeignKey("loans.id"))
    credit_line_id: Mapped[str | None] = mapped_column(ForeignKey("credit_lines.id"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="succeeded")
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    business_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[int] = mapped_column(BigInteger, default=0)
    interest: Mapped[int] = mapped_column(BigInteger, default=0)
    fee: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty: Mapped[int] = mapped_column(BigInteger, default=0)
    prepaid_principal: Mapped[int] = mapped_column(BigInteger, default=0)
    prepayment_interest: Mapped[int] = mapped_column(BigInteger, default=0)
    prepayment_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_due: Mapped[int] = mapped_column(BigInteger, default=0)
    recovery: Mapped[int] = mapped_column(BigInteger, default=0)
    future_rule: Mapped[str | None] = mapped_column(String(20))
    allocation: Mapped[list[Any]]
    journal_entry_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        UniqueConstraint("loan_id", "external_ref", name="uq_repayments_loan_ref"),
        UniqueConstraint("credit_line_id", "external_ref", name="uq_repayments_line_ref"),
        Index("ix_repayments_loan", "loan_id", "id"),
        Index("ix_repayments_line", "credit_line_id", "id"),
    )


class CreditLine(TenantScoped, Base):
    """A revolving line: draw and repay any time, interest daily on what is drawn."""

    __tablename__ = "credit_lines"
    __object_name__ = "credit line"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    institution_id: Mapped[str] = mapped_column(String(40))
    borrower_id: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[str] = mapped_column(String(40))
    application_id: Mapped[str | None] = mapped_column(String(40))
    test_clock_id: Mapped[str | None] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20))
    limit_amount: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    day_count: Mapped[str] = mapped_column(String(10))
    apr_nominal: Mapped[str] = mapped_column(String(24))
    opened_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    principal_outstanding: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_receivable: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_days: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_accrued_total: Mapped[int] = mapped_column(BigInteger, default=0)
    accrued_through: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        Index("ix_credit_lines_tenant", "tenant_id", "livemode", "id"),
        Index("ix_credit_lines_institution", "institution_id", "livemode", "id"),
    )


class Draw(TenantScoped, Base):
    __tablename__ = "draws"
    __object_name__ = "draw"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    credit_line_id: Mapped[str] = mapped_column(ForeignKey("credit_lines.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    business_date: Mapped[date] = mapped_column(Date)
    journal_entry_id: Mapped[str] = mapped_column(String(40))

    __table_args__ = (Index("ix_draws_line", "credit_line_id", "id"),)


class CobRun(Base):
    """One close of business: a business date for the regular book ('') or one test clock."""

    __tablename__ = "cob_runs"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    started: Mapped[datetime]
    finished: Mapped[datetime | None]
    loans: Mapped[int] = mapped_column(Integer, default=0)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    batches: Mapped[int] = mapped_column(Integer, default=0)
