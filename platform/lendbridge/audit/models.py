from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base


class AuditRecord(Base):
    """One write: who did what to which object. The change itself is only hashed, so the
    audit log never holds personal data."""

    __tablename__ = "audit_records"
    __object_name__ = "audit record"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    chain: Mapped[str] = mapped_column(String(60))
    seq: Mapped[int] = mapped_column(BigInteger)
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(60), index=True)
    request_id: Mapped[str | None] = mapped_column(String(40))
    change_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime]

    __table_args__ = (Index("uq_audit_records_chain_seq", "chain", "seq", unique=True),)


class AuditChainHead(Base):
    """The last link of each chain; locked briefly at commit to append."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(60), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
