from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base, TenantScoped

Rate = Numeric(12, 10)


class Product(TenantScoped, Base):
    """A loan product. Its tenant is the institution that publishes and funds it."""

    __tablename__ = "products"
    __object_name__ = "product"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[datetime]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="active")
    kind: Mapped[str] = mapped_column(String(30))
    borrower_type: Mapped[str] = mapped_column(String(20))
    methods: Mapped[list[Any]]
    amount_min: Mapped[int] = mapped_column(BigInteger)
    amount_max: Mapped[int] = mapped_column(BigInteger)
    term_min: Mapped[int] = mapped_column(Integer)
    term_max: Mapped[int] = mapped_column(Integer)
    rate_min: Mapped[Decimal] = mapped_column(Rate)
    rate_max: Mapped[Decimal] = mapped_column(Rate)
    penalty_rate: Mapped[Decimal] = mapped_column(Rate)
    day_count: Mapped[str] = mapped_column(String(10), default="act/360")
    upfront_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    upfront_fee_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    monthly_fee_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    prepayment_fee_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal(0))
    eligibility: Mapped[dict[str, Any]]
    allocation_order: Mapped[dict[str, Any]]
    future_rule: Mapped[str] = mapped_column(String(20))
    rate_grid: Mapped[dict[str, Any]]
    pricing_reward: Mapped[dict[str, Any]]
    subsidy: Mapped[dict[str, Any] | None]
    classification_thresholds: Mapped[dict[str, Any] | None]
    custody_account: Mapped[str | None] = mapped_column(String(60))
    partner_ids: Mapped[list[Any] | None]
    # APR of the worst case the product allows, as checked against the cap on creation.
    max_apr: Mapped[str] = mapped_column(String(24))

    __table_args__ = (Index("ix_products_status_mode", "status", "livemode", "id"),)
