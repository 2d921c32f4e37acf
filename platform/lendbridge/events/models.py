from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base, TenantScoped


class Event(TenantScoped, Base):
    """An event, written in the same transaction as the change it describes (the outbox)."""

    __tablename__ = "events"
    __object_name__ = "event"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    created: Mapped[datetime]
    api_version: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str | None] = mapped_column(String(60), index=True)
    data: Mapped[dict[str, Any]]
    request_id: Mapped[str | None] = mapped_column(String(40))
    # Set by the relay once the event has been handed to delivery (fan-out to endpoints).
    dispatched_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_events_tenant_type_id", "tenant_id", "livemode", "type", "id"),
        # GET /v1/events without a type filter: newest first within a tenant and mode.
        Index("ix_events_tenant_mode_id", "tenant_id", "livemode", "id"),
        Index("ix_events_undispatched", "dispatched_at", "id"),
    )
