"""The transactional outbox: `emit` writes the event row inside the caller's transaction.

No event without its change, no change without its event: both commit or neither does.
A relay (see relay.py) hands committed events to webhook delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lendbridge.core.ids import new_id
from lendbridge.events.catalogue import EVENT_TYPES
from lendbridge.events.models import Event
from lendbridge.uow import UnitOfWork

API_VERSION = "2026-11-01"

# Called once per committed unit of work that emitted events (the relay's wake-up).
_on_commit: list[Callable[[], None]] = []


def on_commit(callback: Callable[[], None]) -> None:
    """Register a wake-up run after any transaction that emitted events commits."""
    if callback not in _on_commit:
        _on_commit.append(callback)


def emit(uow: UnitOfWork, event_type: str, obj: Mapping[str, Any]) -> Event:
    """Record `event_type` about `obj` (the object exactly as the API returns it)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}: add it to events/catalogue.py")
    ctx = uow.ctx
    tenant_id = obj.get("tenant_id") if ctx.is_system else ctx.tenant_id
    livemode = bool(obj.get("livemode")) if ctx.is_system else ctx.livemode
    if tenant_id is None:
        raise ValueError("an event needs a tenant: emit it inside a tenant context")
    event = Event(
        id=new_id("evt"),
        tenant_id=tenant_id,
        livemode=livemode,
        type=event_type,
        created=uow.event_clock.now(),
        api_version=API_VERSION,
        object_id=obj.get("id"),
        data={"object": dict(obj)},
        request_id=uow.request_id,
    )
    uow.session.add(event)
    if not uow.session.info.get("events_wake_registered"):
        uow.session.info["events_wake_registered"] = True
        for callback in _on_commit:
            uow.after_commit(callback)
    return event


def envelope(event: Event) -> dict[str, Any]:
    """The event as the API and webhooks show it."""
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created": int(event.created.timestamp()),
        "livemode": event.livemode,
        "api_version": event.api_version,
        "data": event.data,
        "request": {"id": event.request_id},
    }
