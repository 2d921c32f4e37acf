"""Webhook use cases: endpoints, secrets, fan-out of events, resend and replay, notices."""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update

import lendbridge_webhooks
from lendbridge.audit import service as audit
from lendbridge.core.errors import Conflict, InvalidParameter, NotFound
from lendbridge.core.ids import new_id
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.events.catalogue import EVENT_TYPES
from lendbridge.events.models import Event
from lendbridge.tenancy.models import Tenant
from lendbridge.uow import UnitOfWork
from lendbridge.webhooks import messages, patterns, retries, ssrf
from lendbridge.webhooks import secrets as sealing
from lendbridge.webhooks.models import DeliveryAttempt, PartnerNotification, WebhookDelivery, WebhookEndpoint
from lendbridge.webhooks.runtime import WebhookRuntime, wake_poller

MAX_ENDPOINTS = 16
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
EVENT_RETENTION = timedelta(days=30)
MAX_REPLAY = 10_000

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


@dataclass(frozen=True)
class IssuedSecret:
    """An endpoint and its new plaintext secret: the only moment the secret is visible."""

    endpoint: WebhookEndpoint
    secret: str


# -- endpoints ---------------------------------------------------------------------------
def _enabled_events(values: Iterable[str]) -> list[str]:
    checked: list[str] = []
    for value in values:
        try:
            pattern = patterns.validate(value, EVENT_TYPES)
        except ValueError as exc:
            raise InvalidParameter(str(exc), param="enabled_events") from None
        if pattern not in checked:
            checked.append(pattern)
    if not checked:
        raise InvalidParameter("enable at least one event type (or '*')", param="enabled_events")
    return checked


def _check_url(uow: UnitOfWork, rt: WebhookRuntime, url: str) -> str:
    try:
        ssrf.check_url(url, uow.ctx.livemode, rt.resolver, allow_loopback=rt.test_loopback)
    except ssrf.UnsafeUrl as exc:
        raise InvalidParameter(str(exc), param="url") from None
    return url


def create_endpoint(
    uow: UnitOfWork,
    rt: WebhookRuntime,
    url: str,
    enabled_events: Sequence[str],
    description: str | None = None,
) -> IssuedSecret:
    events = _enabled_events(enabled_events)
    _check_url(uow, rt, url)
    live = select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    if uow.session.execute(live).scalar_one() >= MAX_ENDPOINTS:
        raise Conflict(
            f"A mode of an account can have at most {MAX_ENDPOINTS} webhook endpoints",
            code="endpoint_limit_reached",
        )
    endpoint_id = new_id("we")
    secret = lendbridge_webhooks.generate_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        url=url,
        description=description,
        enabled_events=events,
        status="enabled",
        secret=sealing.seal(rt.keyring, _caller_tenant(uow), endpoint_id, secret),
        created=uow.now(),
    )
    uow.session.add(endpoint)
    uow.session.flush()
    audit.record(uow.session, "webhook_endpoint.created", endpoint.id, {"url": url, "events": events})
    return IssuedSecret(endpoint, secret)


def _caller_tenant(uow: UnitOfWork) -> str:
    if uow.ctx.tenant_id is None:
        raise InvalidParameter("webhook endpoints belong to a tenant: call with a tenant's key")
    return uow.ctx.tenant_id


def get_endpoint(uow: UnitOfWork, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint:
    endpoint = uow.get(WebhookEndpoint, endpoint_id, for_update=for_update)
    if endpoint.deleted_at is not None:
        raise NotFound(f"No such webhook endpoint: '{endpoint_id}'", param="id")
    return endpoint


def list_endpoints(uow: UnitOfWork, request: PageRequest) -> Page[Any]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    return uow.page(stmt, WebhookEndpoint, request)


def update_endpoint(
    uow: UnitOfWork,
    rt: WebhookRuntime,
    endpoint_id: str,
    *,
    url: str | None = None,
    enabled_events: Sequence[str] | None = None,
    description: str | None = None,
    disabled: bool | None = None,
) -> WebhookEndpoint:
    endpoint = get_endpoint(uow, endpoint_id, for_update=True)
    change: dict[str, Any] = {}
    if url is not None and url != endpoint.url:
        endpoint.url = _check_url(uow, rt, url)
        endpoint.failing_since = None  # a new URL starts with a clean record
        change["url"] = url
    if enabled_events is not None:
        endpoint.enabled_events = _enabled_events(enabled_events)
        change["enabled_events"] = endpoint.enabled_events
    if description is not None:
        endpoint.description = description
        change["description"] = True
    if disabled is True and endpoint.status == "enabled":
        _disable(uow, endpoint, "manual")
        change["status"] = "disabled"
    elif disabled is False and endpoint.status == "disabled":
        endpoint.status = "enabled"
        endpoint.disabled_reason = None
        endpoint.failing_since = None
        change["status"] = "enabled"
    audit.record(uow.session, "webhook_endpoint.updated", endpoint.id, change)
    return endpoint


def delete_endpoint(uow: UnitOfWork, endpoint_id: str) -> WebhookEndpoint:
    endpoint = get_endpoint(uow, endpoint_id, for_update=True)
    endpoint.deleted_at = uow.now()
    endpoint.status = "disabled"
    endpoint.disabled_reason = "deleted"
    _cancel_pending(uow, endpoint.id)
    audit.record(uow.session, "webhook_endpoint.deleted", endpoint.id, {})
    return endpoint


def rotate_secret(
    uow: UnitOfWork, rt: WebhookRuntime, endpoint_id: str, expires_in: int | None = None
) -> IssuedSecret:
    """A new secret; the current one keeps signing (a second signature) for `expires_in` s."""
    overlap = DEFAULT_OVERLAP if expires_in is None else timedelta(seconds=expires_in)
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidParameter(
            f"expires_in must be between 0 and {int(MAX_OVERLAP.total_seconds())} seconds", param="expires_in"
        )
    endpoint = get_endpoint(uow, endpoint_id, for_update=True)
    secret = lendbridge_webhooks.generate_secret()
    if overlap > timedelta(0):
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = uow.now() + overlap
    else:
        endpoint.previous_secret = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret = sealing.seal(rt.keyring, endpoint.tenant_id, endpoint.id, secret)
    audit.record(
        uow.session, "webhook_endpoint.secret_rotated", endpoint.id, {"overlap": int(overlap.total_seconds())}
    )
    return IssuedSecret(endpoint, secret)


def signing_secrets(rt: WebhookRuntime, endpoint: Any, now: datetime) -> list[str]:
    """The plaintext secrets to sign with now: the current one, plus the previous one
    while its overlap period lasts. `endpoint` is a model or a row with the same fields."""
    found = [sealing.unseal(rt.keyring, endpoint.tenant_id, endpoint.id, endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(sealing.unseal(rt.keyring, endpoint.tenant_id, endpoint.id, endpoint.previous_secret))
    return found


def list_attempts(
    uow: UnitOfWork, endpoint_id: str, request: PageRequest, event_id: str | None = None
) -> Page[Any]:
    uow.get(WebhookEndpoint, endpoint_id)  # 404 for another tenant's endpoint; history outlives deletion
    stmt = select(DeliveryAttempt).where(DeliveryAttempt.endpoint_id == endpoint_id)
    if event_id is not None:
        stmt = stmt.where(DeliveryAttempt.event_id == event_id)
    return uow.page(stmt, DeliveryAttempt, request)


# -- deliveries --------------------------------------------------------------------------
def fan_out(uow: UnitOfWork, events: Sequence[Any], *, lease: timedelta, token: str) -> list[tuple[str, str]]:
    """Create one delivery per event and matching enabled endpoint of the event's tenant
    and mode, leased to the caller (who queues them after commit). Returns their
    (delivery id, endpoint id).

    `events` are rows with id, tenant_id, livemode and type. Runs in a system unit of work
    (the relay): the endpoint query crosses tenants on purpose and filters explicitly.
    """
    tenants = {e.tenant_id for e in events}
    rows = uow.session.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.tenant_id,
            WebhookEndpoint.livemode,
            WebhookEndpoint.enabled_events,
        )
        .where(
            WebhookEndpoint.tenant_id.in_(tenants),
            WebhookEndpoint.status == "enabled",
            WebhookEndpoint.deleted_at.is_(None),
        )
        .execution_options(all_tenants=True)
    ).all()
    by_owner: dict[tuple[str, bool], list[Any]] = {}
    for row in rows:
        by_owner.setdefault((row.tenant_id, row.livemode), []).append(row)
    now = uow.now()
    deliveries: list[dict[str, Any]] = []
    for event in events:
        for endpoint in by_owner.get((event.tenant_id, event.livemode), ()):
            if patterns.any_matches(endpoint.enabled_events, event.type):
                deliveries.append(
                    _delivery_row(event, endpoint.id, "event", now, leased_until=now + lease, token=token)
                )
    if deliveries:
        uow.session.execute(insert(WebhookDelivery), deliveries)
    return [(d["id"], d["endpoint_id"]) for d in deliveries]


def _delivery_row(
    event: Any,
    endpoint_id: str,
    reason: str,
    now: datetime,
    *,
    leased_until: datetime | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id("wdl"),
        "tenant_id": event.tenant_id,
        "livemode": event.livemode,
        "event_id": event.id,
        "endpoint_id": endpoint_id,
        "reason": reason,
        "status": PENDING,
        "attempt_count": 0,
        "next_attempt_at": now,
        "leased_until": leased_until,
        "lease_token": token,
        "created": now,
        "completed_at": None,
    }


def new_lease_token() -> str:
    return pysecrets.token_hex(8)


def get_event(uow: UnitOfWork, event_id: str) -> Event:
    """An event of the caller's tenant and mode from the last 30 days, else NotFound."""
    event = uow.get(Event, event_id)
    if event.created < uow.now() - EVENT_RETENTION:
        raise NotFound(f"No such event: '{event_id}' (events are kept for 30 days)", param="id")
    return event


def resend(uow: UnitOfWork, event_id: str, endpoint_id: str | None = None) -> list[WebhookDelivery]:
    """Deliver an event again: to one endpoint, or to every enabled endpoint it matches.

    The message keeps its `webhook-id` (the event id), so receivers deduplicate it.
    """
    event = get_event(uow, event_id)
    if endpoint_id is not None:
        endpoint = get_endpoint(uow, endpoint_id)
        if endpoint.status != "enabled":
            raise Conflict("This webhook endpoint is disabled; enable it first", code="endpoint_disabled")
        targets = [endpoint]
    else:
        stmt = select(WebhookEndpoint).where(
            WebhookEndpoint.status == "enabled", WebhookEndpoint.deleted_at.is_(None)
        )
        targets = [
            e
            for e in uow.session.execute(stmt).scalars()
            if patterns.any_matches(e.enabled_events, event.type)
        ]
    now = uow.now()
    deliveries = [WebhookDelivery(**_delivery_row(event, t.id, "resend", now)) for t in targets]
    uow.session.add_all(deliveries)
    uow.session.flush()
    audit.record(uow.session, "event.resent", event.id, {"endpoints": [t.id for t in targets]})
    if deliveries:
        uow.after_commit(wake_poller)
    return deliveries


@dataclass(frozen=True)
class Replay:
    endpoint: WebhookEndpoint
    since: datetime
    until: datetime | None
    count: int


def replay(uow: UnitOfWork, endpoint_id: str, since: datetime, until: datetime | None = None) -> Replay:
    """Deliver again every event of the endpoint's types created in [since, until].

    The deliveries are queued by the delivery poller in batches, so a large replay does
    not flood the task queue.
    """
    endpoint = get_endpoint(uow, endpoint_id)
    if endpoint.status != "enabled":
        raise Conflict("This webhook endpoint is disabled; enable it first", code="endpoint_disabled")
    now = uow.now()
    if since < now - EVENT_RETENTION:
        raise InvalidParameter(
            "since must lie within the last 30 days (events are kept 30 days)", param="since"
        )
    if until is not None and until < since:
        raise InvalidParameter("until must not be before since", param="until")
    stmt = select(Event.id, Event.tenant_id, Event.livemode, Event.type).where(Event.created >= since)
    if until is not None:
        stmt = stmt.where(Event.created <= until)
    prefixes = [patterns.prefix(p) for p in endpoint.enabled_events]
    exact = [p for p, pre in zip(endpoint.enabled_events, prefixes, strict=True) if pre is None]
    if "" not in prefixes:
        conditions: list[Any] = [Event.type.in_(exact)] if exact else []
        conditions += [Event.type.startswith(pre, autoescape=True) for pre in prefixes if pre]
        stmt = stmt.where(or_(*conditions))
    events = uow.session.execute(stmt.order_by(Event.id).limit(MAX_REPLAY + 1)).all()
    if len(events) > MAX_REPLAY:
        raise InvalidParameter(
            f"more than {MAX_REPLAY} events match; replay a shorter period (set until)", param="until"
        )
    rows = [_delivery_row(e, endpoint.id, "replay", now) for e in events]
    if rows:
        uow.session.execute(insert(WebhookDelivery), rows)
        uow.after_commit(wake_poller)
    audit.record(
        uow.session,
        "webhook_endpoint.replayed",
        endpoint.id,
        {"since": since.isoformat(), "until": until.isoformat() if until else None, "count": len(rows)},
    )
    return Replay(endpoint, since, until, len(rows))


def _cancel_pending(uow: UnitOfWork, endpoint_id: str) -> None:
    uow.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .values(
            status=CANCELLED,
            next_attempt_at=None,
            leased_until=None,
            lease_token=None,
            completed_at=uow.now(),
        )
        .execution_options(synchronize_session=False)
    )


def _disable(uow: UnitOfWork, endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.status = "disabled"
    endpoint.disabled_reason = reason
    _cancel_pending(uow, endpoint.id)


def disable_for_failures(uow: UnitOfWork, endpoint_id: str, reason: str) -> bool:
    """Disable an endpoint the delivery worker gave up on (410, or five days of failures),
    cancel its pending deliveries and notify the partner. Runs in a system unit of work.
    Returns False when the endpoint was already disabled."""
    endpoint = uow.session.execute(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .with_for_update()
        .execution_options(all_tenants=True)
    ).scalar_one()
    if endpoint.status != "enabled":
        return False
    failing_since = endpoint.failing_since
    if reason == "failing" and not retries.should_disable(failing_since, uow.now()):
        return False  # a success since the caller looked: the endpoint recovered
    _disable(uow, endpoint, reason)
    tenant = uow.session.get(Tenant, endpoint.tenant_id)
    settings = tenant.settings if tenant is not None else {}
    message = messages.endpoint_disabled(endpoint.id, endpoint.url, reason, failing_since)
    uow.session.add(
        PartnerNotification(
            id=new_id("ntf"),
            tenant_id=endpoint.tenant_id,
            livemode=endpoint.livemode,
            kind="webhook_endpoint.disabled",
            to=settings.get("contact_email") or settings.get("email"),
            subject=message.subject,
            body=message.body,
            related_object=endpoint.id,
            created=uow.now(),
        )
    )
    audit.record(
        uow.session,
        "webhook_endpoint.disabled",
        endpoint.id,
        {"reason": reason},
        tenant_id=endpoint.tenant_id,
        livemode=endpoint.livemode,
    )
    return True


def list_notifications(uow: UnitOfWork, request: PageRequest) -> Page[Any]:
    return uow.page(select(PartnerNotification), PartnerNotification, request)
