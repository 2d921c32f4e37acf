"""Event use cases: list and retrieve the last 30 days of events, resend one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from lendbridge.core.clock import from_unix
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.events.models import Event
from lendbridge.uow import UnitOfWork
from lendbridge.webhooks import patterns
from lendbridge.webhooks import services as webhooks
from lendbridge.webhooks.models import WebhookDelivery

RETENTION = webhooks.EVENT_RETENTION


def filters(args: dict[str, Any]) -> dict[str, Any]:
    """The list filters of validated query arguments, as keyword arguments of list_events."""
    found: dict[str, Any] = {"type_pattern": args.get("type")}
    for op in ("gte", "gt", "lte", "lt"):
        value = args.get(f"created_{op}")
        found[f"created_{op}"] = from_unix(value) if value is not None else None
    return found


def list_events(
    uow: UnitOfWork,
    request: PageRequest,
    *,
    type_pattern: str | None = None,
    created_gte: datetime | None = None,
    created_gt: datetime | None = None,
    created_lte: datetime | None = None,
    created_lt: datetime | None = None,
) -> Page[Any]:
    """Events of the caller's tenant and mode from the last 30 days, newest first."""
    stmt = select(Event).where(Event.created >= uow.now() - RETENTION)
    if type_pattern is not None:
        prefix = patterns.prefix(type_pattern)
        if prefix is None:
            stmt = stmt.where(Event.type == type_pattern)
        elif prefix:
            stmt = stmt.where(Event.type.startswith(prefix, autoescape=True))
    if created_gte is not None:
        stmt = stmt.where(Event.created >= created_gte)
    if created_gt is not None:
        stmt = stmt.where(Event.created > created_gt)
    if created_lte is not None:
        stmt = stmt.where(Event.created <= created_lte)
    if created_lt is not None:
        stmt = stmt.where(Event.created < created_lt)
    return uow.page(stmt, Event, request)


def get_event(uow: UnitOfWork, event_id: str) -> Event:
    return webhooks.get_event(uow, event_id)


def resend(uow: UnitOfWork, event_id: str, endpoint_id: str | None = None) -> list[WebhookDelivery]:
    return webhooks.resend(uow, event_id, endpoint_id)
