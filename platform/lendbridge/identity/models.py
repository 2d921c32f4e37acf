"""Borrowers, their keys, consents, KYC checks and documents.

Personal data lives only as SM4-GCM field tokens (`Borrower.pii`, `BorrowerDocument.token`,
`Consent.ip_token`/`device_token`), each bound to (tenant, borrower, field) and encrypted
under the borrower's own data key (`BorrowerKey`). Besides the tokens, only the four blind
indexes are derived from plaintext; there is no birth date, region, last-4 or unkeyed hash
anywhere. Erasure deletes the `BorrowerKey` row (crypto-shredding) and clears the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lendbridge.db import Base, TenantScoped


class TenantKey(Base):
    """A tenant key wrapped by the master key (KMS): `data` keys wrap borrower DEKs, the
    `index` key derives blind indexes. One active key per tenant and kind; `decrypt_only`
    keys are being rotated away; `retired` keys have had their material destroyed."""

    __tablename__ = "tenant_keys"
    __object_name__ = "tenant key"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16))
    wrapped: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime]
    retired_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "uq_tenant_keys_active",
            "tenant_id",
            "kind",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        CheckConstraint("kind IN ('data', 'index')", name="kind"),
        CheckConstraint("status IN ('active', 'decrypt_only', 'retired')", name="status"),
        # Retired keys have had their material destroyed; live ones must have it.
        CheckConstraint("(status = 'retired') = (wrapped IS NULL)", name="material"),
    )


class Borrower(TenantScoped, Base):
    __tablename__ = "borrowers"
    __object_name__ = "borrower"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(12))
    kyc_status: Mapped[str] = mapped_column(String(12), default="pending")
    kyc_reasons: Mapped[list[Any]] = mapped_column(default=list)
    pii: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """field name -> SM4-GCM token under the borrower's DEK."""
    id_number_bidx: Mapped[str | None] = mapped_column(String(24))
    phone_bidx: Mapped[str | None] = mapped_column(String(24))
    bank_card_bidx: Mapped[str | None] = mapped_column(String(24))
    uscc_bidx: Mapped[str | None] = mapped_column(String(24))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created: Mapped[datetime]
    updated: Mapped[datetime]
    erased_at: Mapped[datetime | None]

    # Loaded explicitly (joinedload) where needed: a default joined load would put an
    # outer join under every `FOR UPDATE` other areas issue on borrowers.
    key: Mapped[BorrowerKey | None] = relationship(back_populates="borrower", uselist=False)

    __table_args__ = (
        # Duplicates are found (and refused) by blind index within a tenant and mode.
        Index("uq_borrowers_id_number_bidx", "tenant_id", "livemode", "id_number_bidx", unique=True),
        Index("uq_borrowers_uscc_bidx", "tenant_id", "livemode", "uscc_bidx", unique=True),
        Index("ix_borrowers_phone_bidx", "tenant_id", "livemode", "phone_bidx"),
        Index("ix_borrowers_bank_card_bidx", "tenant_id", "livemode", "bank_card_bidx"),
        CheckConstraint("type IN ('individual', 'business')", name="type"),
        CheckConstraint("kyc_status IN ('pending', 'verified', 'rejected', 'review')", name="kyc_status"),
    )

    @property
    def erased(self) -> bool:
        return self.erased_at is not None


class BorrowerKey(TenantScoped, Base):
    """One borrower's data key, wrapped by a tenant data key (`kek_id`). Deleting the row
    is crypto-shredding: every token of that borrower becomes unreadable everywhere."""

    __tablename__ = "borrower_keys"

    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.id"), primary_key=True)
    kek_id: Mapped[str] = mapped_column(String(64))
    dek_id: Mapped[str] = mapped_column(String(64))
    wrapped: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]
    rotated_at: Mapped[datetime | None]

    borrower: Mapped[Borrower] = relationship(back_populates="key")

    __table_args__ = (Index("ix_borrower_keys_kek", "tenant_id", "kek_id"),)


class BorrowerDocument(TenantScoped, Base):
    """An uploaded document (business licence image), encrypted under the borrower's DEK."""

    __tablename__ = "borrower_documents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]


class KycCheck(TenantScoped, Base):
    """One piece of KYC/KYB evidence: a liveness/video-signing check or a licence OCR run.
    Holds verdicts, scores and reason codes only, never what the provider saw."""

    __tablename__ = "kyc_checks"
    __object_name__ = "KYC check"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.id"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    """processing -> passed | failed | review | error"""
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provider: Mapped[str | None] = mapped_column(String(60))
    provider_reference: Mapped[str | None] = mapped_column(String(80))
    document_id: Mapped[str | None] = mapped_column(String(40))
    created: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_kyc_checks_borrower", "borrower_id", "kind", "id"),)


class Consent(TenantScoped, Base):
    """A borrower's consent to a catalogued text (kind, version, SM3 of the text shown).
    The IP address and device are personal data, hence tokens under the borrower's DEK."""

    __tablename__ = "consents"
    __object_name__ = "consent"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.id"))
    kind: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    text_hash: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    ip_token: Mapped[str | None] = mapped_column(Text)
    device_token: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime]

    __table_args__ = (Index("ix_consents_borrower_kind", "borrower_id", "kind"),)
