from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base, TenantScoped


class WidgetSession(TenantScoped, Base):
    """One borrower's pass through the widget on a partner's page.

    Only the SHA-256 of the client secret is stored. `hint_sealed`, `otp_*_digest` and
    `phone_verified_digest` are sealed or keyed with a key derived from the client secret
    (see widget/domain.py), so no personal data sits here in a readable form.
    """

    __tablename__ = "widget_sessions"
    __object_name__ = "widget session"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    scenario: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hint_sealed: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(8))
    return_url: Mapped[str | None] = mapped_column(String(2000))
    client_reference_id: Mapped[str | None] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created: Mapped[datetime]
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # Progress of the borrower through the flow.
    borrower_id: Mapped[str | None] = mapped_column(String(40))
    application_id: Mapped[str | None] = mapped_column(String(40), index=True)
    outcome: Mapped[str | None] = mapped_column(String(12))
    loan_id: Mapped[str | None] = mapped_column(String(40), index=True)
    signed_at: Mapped[datetime | None]
    # One-time code for the phone number (digests keyed by the client secret).
    otp_phone_digest: Mapped[str | None] = mapped_column(String(64))
    otp_code_digest: Mapped[str | None] = mapped_column(String(64))
    otp_expires_at: Mapped[datetime | None]
    otp_sent_at: Mapped[datetime | None]
    otp_sends: Mapped[int] = mapped_column(Integer, default=0)
    otp_attempts: Mapped[int] = mapped_column(Integer, default=0)
    phone_verified_digest: Mapped[str | None] = mapped_column(String(64))
    phone_verified_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status IN ('open', 'completed', 'expired')", name="status"),
        CheckConstraint("mode IN ('apply', 'repay')", name="mode"),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
    )
