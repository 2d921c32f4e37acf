"""Webhook endpoints, deliveries (one per event and endpoint), attempts and partner notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base, TenantScoped


class WebhookEndpoint(TenantScoped, Base):
    """Where a tenant's events of one mode are POSTed. Deleted endpoints are kept (with
    `deleted_at`) so their attempt history stays readable for support."""

    __tablename__ = "webhook_endpoints"
    __object_name__ = "webhook endpoint"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    enabled_events: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(20), default="enabled")
    disabled_reason: Mapped[str | None] = mapped_column(String(20))
    # SM4-GCM field tokens (see webhooks/secrets.py); the plaintext is shown once.
    secret: Mapped[str] = mapped_column(String(300))
    previous_secret: Mapped[str | None] = mapped_column(String(300))
    previous_secret_expires_at: Mapped[datetime | None]
    # Start of the current run of failed attempts; cleared by any success.
    failing_since: Mapped[datetime | None]
    created: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class WebhookDelivery(TenantScoped, Base):
    """One event to send to one endpoint, with its retry state.

    Scheduling: `next_attempt_at` is when the next attempt is due (NULL once finished).
    Whoever queues a delivery takes a lease (`leased_until`, `lease_token`); the worker
    that runs it must present the token. A worker that dies leaves the lease to expire,
    after which the retry poller queues the delivery again.
    """

    __tablename__ = "webhook_deliveries"
    __object_name__ = "webhook delivery"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    reason: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    leased_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(32))
    created: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class DeliveryAttempt(TenantScoped, Base):
    """One POST (or a failure to make one), as `GET /v1/webhook_endpoints/{id}/attempts` shows it."""

    __tablename__ = "webhook_delivery_attempts"
    __object_name__ = "delivery attempt"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    created: Mapped[datetime]
    response_status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(200))
    next_retry_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_webhook_delivery_attempts_endpoint_id_id", "endpoint_id", "id"),)


class PartnerNotification(TenantScoped, Base):
    """An email-like notice to the tenant (e.g. an endpoint was disabled), zh-CN and English."""

    __tablename__ = "partner_notifications"
    __object_name__ = "notification"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    related_object: Mapped[str | None] = mapped_column(String(60))
    created: Mapped[datetime]
