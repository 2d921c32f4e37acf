"""Tables of the risk area: applications, offers, decision records, reviews, rule sets,
the fraud graph, cached bureau reports and the blacklist."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base, TenantScoped

RATE = Numeric(12, 10)


class Application(TenantScoped, Base):
    __tablename__ = "risk_applications"
    __object_name__ = "application"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    borrower_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    term: Mapped[int | None] = mapped_column(Integer)
    credit_line: Mapped[bool] = mapped_column(Boolean, default=False)
    purpose: Mapped[str] = mapped_column(String(40))
    method: Mapped[str | None] = mapped_column(String(30))
    monthly_income: Mapped[int | None] = mapped_column(BigInteger)
    scenario: Mapped[dict[str, Any]] = mapped_column(default=dict)
    device: Mapped[dict[str, Any]] = mapped_column(default=dict)  # masked / keyed, never raw
    consent_ids: Mapped[list[Any]] = mapped_column(default=list)
    # received -> approved | review | declined; approved -> accepted | expired
    status: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str | None] = mapped_column(String(20))
    reason_codes: Mapped[list[Any]] = mapped_column(default=list)
    score: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(2))
    model_version: Mapped[str | None] = mapped_column(String(60))
    decided_at: Mapped[datetime | None]
    offers_expire_at: Mapped[datetime | None]
    loan_id: Mapped[str | None] = mapped_column(String(40))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_risk_applications_status_expiry", "status", "offers_expire_at"),)


class Offer(TenantScoped, Base):
    __tablename__ = "risk_offers"
    __object_name__ = "offer"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    application_id: Mapped[str] = mapped_column(ForeignKey("risk_applications.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[int] = mapped_column(BigInteger)
    term: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(30))
    annual_rate: Mapped[Decimal] = mapped_column(RATE)
    base_rate: Mapped[Decimal] = mapped_column(RATE)
    discount: Mapped[Decimal] = mapped_column(RATE)
    apr_nominal: Mapped[Decimal] = mapped_column(RATE)
    apr_effective: Mapped[Decimal] = mapped_column(RATE)
    upfront_fee: Mapped[int] = mapped_column(BigInteger)
    total_interest: Mapped[int] = mapped_column(BigInteger)
    total_fees: Mapped[int] = mapped_column(BigInteger)
    total_payment: Mapped[int] = mapped_column(BigInteger)
    schedule: Mapped[list[Any]] = mapped_column(default=list)
    counter_offer: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending_review -> open -> accepted | expired | superseded | withdrawn
    status: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime | None]
    loan_id: Mapped[str | None] = mapped_column(String(40), unique=True)


class DecisionRecord(TenantScoped, Base):
    """The immutable record of one decision (append-only: UPDATE/DELETE refused)."""

    __tablename__ = "risk_decisions"
    __object_name__ = "decision"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    application_id: Mapped[str] = mapped_column(ForeignKey("risk_applications.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1: automatic; 2+: after review
    outcome: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[str | None] = mapped_column(String(60))
    bureau_report_id: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(60))
    record: Mapped[dict[str, Any]]

    __table_args__ = (
        UniqueConstraint("application_id", "sequence", name="uq_risk_decisions_application_seq"),
    )


class Review(TenantScoped, Base):
    __tablename__ = "risk_reviews"
    __object_name__ = "review"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    application_id: Mapped[str] = mapped_column(ForeignKey("risk_applications.id"), unique=True)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    reason_codes: Mapped[list[Any]] = mapped_column(default=list)
    # open -> claimed -> awaiting_second_approval -> approved | declined
    status: Mapped[str] = mapped_column(String(30), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    first_approver: Mapped[str | None] = mapped_column(String(40))
    second_approver: Mapped[str | None] = mapped_column(String(40))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    due_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class FraudRuleSet(TenantScoped, Base):
    """A version of a tenant's anti-fraud rules and decision policy (never edited)."""

    __tablename__ = "fraud_rule_sets"
    __object_name__ = "rule set"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        UniqueConstraint("tenant_id", "livemode", "version", name="uq_fraud_rule_sets_version"),
    )


class GraphNode(TenantScoped, Base):
    """A node of the fraud graph's union-find (see risk/graph.py)."""

    __tablename__ = "risk_graph_nodes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    key: Mapped[str] = mapped_column(String(80))
    parent: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    applications: Mapped[int] = mapped_column(Integer)
    fraud: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[float] = mapped_column(Float)
    window_count: Mapped[int] = mapped_column(Integer)
    is_fraud: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (UniqueConstraint("tenant_id", "livemode", "key", name="uq_risk_graph_nodes_key"),)


class BureauReportRow(TenantScoped, Base):
    """A fetched bureau report, reused within the cache window while consent holds."""

    __tablename__ = "risk_bureau_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fetched_at: Mapped[datetime]
    subject: Mapped[str] = mapped_column(String(80))
    borrower_id: Mapped[str] = mapped_column(String(40))
    alt_data: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]]

    __table_args__ = (
        Index("ix_risk_bureau_reports_subject", "tenant_id", "livemode", "subject", "fetched_at"),
    )


class BlacklistEntry(TenantScoped, Base):
    __tablename__ = "risk_blacklist"
    __object_name__ = "blacklist entry"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (UniqueConstraint("tenant_id", "livemode", "key", name="uq_risk_blacklist_key"),)
