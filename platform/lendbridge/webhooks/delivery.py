"""Sending deliveries: the retry poller and attempts (claim, POST, record), in batches.

At least once, never twice at the same time:

1. Whoever queues deliveries (the relay for new events, `queue_due` for retries, resends,
   replays and expired leases) first leases them: `leased_until = now + lease` and a fresh
   `lease_token`, committed, then queues `webhooks.deliver(ids, token)`, one task per
   endpoint and up to BATCH deliveries.
2. The task confirms the lease (same token, still pending), extends it, counts the attempt
   and logs it as in progress, commits, and only then POSTs, concurrently, with no
   transaction open during the HTTP calls.
3. It records the answers: delivered, retry at `next_attempt_at` (the lease is released),
   or failed. Deliveries whose lease was taken over meanwhile are left alone (their attempt
   is still logged).

A worker that dies after step 2 leaves the leases to expire; `queue_due`, run periodically,
then leases and queues the deliveries again, and the next attempt marks the lost one as
abandoned. Retries wait in the database (`next_attempt_at`), not in sleeping workers, so
inline and Celery modes behave the same and a restart loses nothing. Batching keeps the
database work to two short transactions per batch instead of two per message.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update

import lendbridge_webhooks
from lendbridge.core.clock import Clock, to_unix
from lendbridge.core.ids import new_id
from lendbridge.db import SYSTEM, Database
from lendbridge.events.models import Event
from lendbridge.events.outbox import envelope
from lendbridge.uow import UnitOfWork
from lendbridge.webhooks import retries, ssrf, transport
from lendbridge.webhooks import services as webhooks
from lendbridge.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from lendbridge.webhooks.runtime import WebhookRuntime

log = logging.getLogger("lendbridge.webhooks")

USER_AGENT = "LendBridge-Webhooks/1.0 (+https://docs.lendbridge.example/webhooks)"
QUEUE_LIMIT = 500
# A batch's POSTs run concurrently, all at once, so a batch takes one timeout at worst (a
# dead endpoint) and the lease (30 s) covers it; larger batches would need longer leases.
BATCH = 20
SEND_CONCURRENCY = 20
ABANDONED = "the worker stopped during this attempt (lease expired); it was tried again"
IN_PROGRESS, SUCCEEDED, FAILED = "in_progress", "succeeded", "failed"

D = WebhookDelivery
_ATTEMPTS = cast(Table, DeliveryAttempt.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)


def batches(rows: Iterable[tuple[str, str]], size: int = BATCH) -> list[list[str]]:
    """Delivery ids grouped per endpoint, at most `size` per group: one task each, so a
    slow endpoint holds up only its own deliveries. `rows` are (delivery id, endpoint id)."""
    groups: dict[str, list[str]] = {}
    for delivery_id, endpoint_id in rows:
        groups.setdefault(endpoint_id, []).append(delivery_id)
    return [ids[i : i + size] for ids in groups.values() for i in range(0, len(ids), size)]


def queue_due(
    db: Database, clock: Clock, rt: WebhookRuntime, limit: int = QUEUE_LIMIT
) -> tuple[list[list[str]], str]:
    """Lease deliveries that are due (retries, resends, replays, expired leases).

    Returns the batches to queue as `webhooks.deliver(ids, token)` tasks, and the token.
    """
    with UnitOfWork(db, SYSTEM, clock=clock) as uow:
        now = uow.now()
        due = (
            D.next_attempt_at <= now,
            D.status == webhooks.PENDING,
            or_(D.leased_until.is_(None), D.leased_until < now),
        )
        stmt = select(D.id).where(*due).order_by(D.next_attempt_at).limit(limit)
        if db.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(uow.session.execute(stmt.execution_options(all_tenants=True)).scalars())
        if not ids:
            return [], ""
        token = webhooks.new_lease_token()
        leased = uow.session.execute(
            update(D)
            .where(D.id.in_(ids), *due)
            .values(leased_until=now + rt.lease, lease_token=token)
            .returning(D.id, D.endpoint_id)
            .execution_options(synchronize_session=False, all_tenants=True)
        ).all()
        uow.commit()
    return batches((row.id, row.endpoint_id) for row in leased), token


@dataclass(frozen=True)
class _Claim:
    delivery_id: str
    attempt_id: str
    attempt: int
    endpoint: Any
    event: Event


_ENDPOINT_COLUMNS = (
    WebhookEndpoint.id,
    WebhookEndpoint.tenant_id,
    WebhookEndpoint.livemode,
    WebhookEndpoint.url,
    WebhookEndpoint.status,
    WebhookEndpoint.deleted_at,
    WebhookEndpoint.secret,
    WebhookEndpoint.previous_secret,
    WebhookEndpoint.previous_secret_expires_at,
    WebhookEndpoint.failing_since,
)


def _claim(
    db: Database, clock: Clock, rt: WebhookRuntime, delivery_ids: Sequence[str], token: str
) -> list[_Claim]:
    rounds = -(-len(delivery_ids) // SEND_CONCURRENCY)
    lease = rt.lease + (rounds - 1) * timedelta(seconds=rt.timeout)  # cover every round of POSTs
    with UnitOfWork(db, SYSTEM, clock=clock) as uow:
        now = uow.now()
        rows = uow.session.execute(
            update(D)
            .where(D.id.in_(delivery_ids), D.lease_token == token, D.status == webhooks.PENDING)
            .values(leased_until=now + lease, attempt_count=D.attempt_count + 1)
            .returning(D.id, D.event_id, D.endpoint_id, D.attempt_count, D.tenant_id, D.livemode)
            .execution_options(synchronize_session=False)
        ).all()
        if not rows:
            return []  # finished, cancelled, or leased by a newer queueing: not ours
        endpoints = {
            e.id: e
            for e in uow.session.execute(
                select(*_ENDPOINT_COLUMNS).where(WebhookEndpoint.id.in_({r.endpoint_id for r in rows}))
            )
        }
        live = [r for r in rows if endpoints[r.endpoint_id].status == "enabled"]
        live = [r for r in live if endpoints[r.endpoint_id].deleted_at is None]
        dead = [r.id for r in rows if r not in live]
        if dead:
            _finish(uow, dead, token, webhooks.CANCELLED, now)
        if not live:
            uow.commit()
            return []
        events = {
            e.id: e
            for e in uow.session.execute(
                select(Event).where(Event.id.in_({r.event_id for r in live}))
            ).scalars()
        }
        retried = [r.id for r in live if r.attempt_count > 1]
        if retried:
            uow.session.execute(
                update(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id.in_(retried), DeliveryAttempt.status == IN_PROGRESS)
                .values(status=FAILED, error=ABANDONED)
                .execution_options(synchronize_session=False)
            )
        claims = [
            _Claim(r.id, new_id("wda"), r.attempt_count, endpoints[r.endpoint_id], events[r.event_id])
            for r in live
        ]
        uow.session.execute(
            _ATTEMPTS.insert(),
            [
                {
                    "id": c.attempt_id,
                    "tenant_id": c.endpoint.tenant_id,
                    "livemode": c.endpoint.livemode,
                    "delivery_id": c.delivery_id,
                    "endpoint_id": c.endpoint.id,
                    "event_id": c.event.id,
                    "attempt": c.attempt,
                    "status": IN_PROGRESS,
                    "created": now,
                }
                for c in claims
            ],
        )
        uow.commit()
    return claims


def _finish(uow: UnitOfWork, delivery_ids: Sequence[str], token: str, status: str, now: datetime) -> None:
    uow.session.execute(
        update(D)
        .where(D.id.in_(delivery_ids), D.lease_token == token)
        .values(status=status, next_attempt_at=None, leased_until=None, lease_token=None, completed_at=now)
        .execution_options(synchronize_session=False)
    )


def body_of(event: Event) -> bytes:
    """The exact bytes sent (and signed) for an event: its envelope as compact UTF-8 JSON."""
    return json.dumps(envelope(event), ensure_ascii=False, separators=(",", ":")).encode()


def _send(rt: WebhookRuntime, claim: _Claim, now: datetime) -> tuple[transport.HttpResult, list[str]]:
    """Sign and POST one message. Never raises: anything unexpected becomes a failed
    attempt that is retried on schedule (an exception would leave the delivery to the
    lease, retried every lease period without ever counting towards giving up)."""
    try:
        return _sign_and_post(rt, claim, now)
    except Exception as exc:
        log.exception("delivery %s: attempt failed before an answer", claim.delivery_id)
        return transport.HttpResult(None, 0, b"", f"internal error ({type(exc).__name__})"), []


def _sign_and_post(
    rt: WebhookRuntime, claim: _Claim, now: datetime
) -> tuple[transport.HttpResult, list[str]]:
    endpoint = claim.endpoint
    body = body_of(claim.event)
    secrets = webhooks.signing_secrets(rt, endpoint, now)
    headers = lendbridge_webhooks.signature_headers(secrets, claim.event.id, to_unix(now), body)
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    redact = [*secrets, *(s.removeprefix(lendbridge_webhooks.SECRET_PREFIX) for s in secrets)]
    redact += headers[lendbridge_webhooks.WEBHOOK_SIGNATURE_HEADER].split()
    try:
        target, address = ssrf.check_url(
            endpoint.url, endpoint.livemode, rt.resolver, allow_loopback=rt.test_loopback
        )
    except ssrf.UnsafeUrl as exc:
        return transport.HttpResult(None, 0, b"", f"unsafe URL, not sent: {exc}"), redact
    return transport.post(target, address, body, headers, rt.timeout), redact


def deliver_batch(
    db: Database, clock: Clock, rt: WebhookRuntime, delivery_ids: Sequence[str], token: str
) -> dict[str, str]:
    """Make one attempt of each leased delivery. Returns {delivery id: new status} for the
    deliveries that were (still) ours; the others are skipped."""
    claims = _claim(db, clock, rt, delivery_ids, token)
    if not claims:
        return {}
    if len(claims) == 1:
        results = [_send(rt, claims[0], clock.now())]
    else:
        with ThreadPoolExecutor(
            min(SEND_CONCURRENCY, len(claims)), thread_name_prefix="webhook-send"
        ) as pool:
            results = list(pool.map(lambda c: _send(rt, c, clock.now()), claims))
    return _record(db, clock, token, claims, results)


def deliver(db: Database, clock: Clock, rt: WebhookRuntime, delivery_id: str, token: str) -> str | None:
    """One delivery's attempt; its new status, or None when the lease was not (or no longer) ours."""
    return deliver_batch(db, clock, rt, [delivery_id], token).get(delivery_id)


@dataclass
class _Outcome:
    claim: _Claim
    result: transport.HttpResult
    redact: list[str]
    outcome: retries.Outcome
    status: str
    next_at: datetime | None


def _record(
    db: Database,
    clock: Clock,
    token: str,
    claims: list[_Claim],
    results: list[tuple[transport.HttpResult, list[str]]],
) -> dict[str, str]:
    with UnitOfWork(db, SYSTEM, clock=clock) as uow:
        now = uow.now()
        outcomes = []
        for claim, (result, redact) in zip(claims, results, strict=True):
            outcome = retries.classify(result.status)
            next_at = None
            if outcome is retries.Outcome.DELIVERED:
                status = webhooks.DELIVERED
            elif outcome is retries.Outcome.GONE:
                status = webhooks.FAILED
            else:
                delay = retries.retry_delay(claim.attempt, random.random())
                status = webhooks.FAILED if delay is None else webhooks.PENDING
                next_at = None if delay is None else now + delay
            outcomes.append(_Outcome(claim, result, redact, outcome, status, next_at))
        lock = select(D.id).where(D.id.in_([c.delivery_id for c in claims]), D.lease_token == token)
        if db.dialect == "postgresql":
            lock = lock.with_for_update()
        mine = set(uow.session.execute(lock).scalars())
        _update_deliveries(uow, [o for o in outcomes if o.claim.delivery_id in mine], now)
        uow.session.execute(
            _ATTEMPTS.update()
            .where(_ATTEMPTS.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                response_status=bindparam("b_code"),
                latency_ms=bindparam("b_ms"),
                response_excerpt=bindparam("b_excerpt"),
                error=bindparam("b_error"),
                next_retry_at=bindparam("b_next"),
            ),
            [
                {
                    "b_id": o.claim.attempt_id,
                    "b_status": SUCCEEDED if o.outcome is retries.Outcome.DELIVERED else FAILED,
                    "b_code": o.result.status,
                    "b_ms": o.result.latency_ms,
                    "b_excerpt": transport.excerpt(o.result.body, o.redact),
                    "b_error": o.result.error,
                    "b_next": o.next_at if o.claim.delivery_id in mine else None,
                }
                for o in outcomes
            ],
        )
        _track_health(uow, outcomes, now)
        uow.commit()
    lost = [o.claim.delivery_id for o in outcomes if o.claim.delivery_id not in mine]
    if lost:
        log.info("%d deliveries were taken over while their attempt ran", len(lost))
    return {o.claim.delivery_id: o.status for o in outcomes if o.claim.delivery_id in mine}


def _update_deliveries(uow: UnitOfWork, outcomes: list[_Outcome], now: datetime) -> None:
    finished: dict[str, list[str]] = {}
    retrying = []
    for o in outcomes:
        if o.status == webhooks.PENDING:
            retrying.append({"b_id": o.claim.delivery_id, "b_next": o.next_at})
        else:
            finished.setdefault(o.status, []).append(o.claim.delivery_id)
    for status, ids in finished.items():
        uow.session.execute(
            update(D)
            .where(D.id.in_(ids))
            .values(
                status=status, next_attempt_at=None, leased_until=None, lease_token=None, completed_at=now
            )
            .execution_options(synchronize_session=False)
        )
    if retrying:
        uow.session.execute(
            _DELIVERIES.update()
            .where(_DELIVERIES.c.id == bindparam("b_id"))
            .values(next_attempt_at=bindparam("b_next"), leased_until=None, lease_token=None),
            retrying,
        )


def _track_health(uow: UnitOfWork, outcomes: list[_Outcome], now: datetime) -> None:
    """Per endpoint: any success ends a failing streak; 410 disables it; failures start a
    streak or, five days into one, disable it."""
    ep = WebhookEndpoint
    by_endpoint: dict[str, list[_Outcome]] = {}
    for o in outcomes:
        by_endpoint.setdefault(o.claim.endpoint.id, []).append(o)
    for endpoint_id, items in by_endpoint.items():
        endpoint = items[0].claim.endpoint
        kinds = {o.outcome for o in items}
        if retries.Outcome.GONE in kinds:
            webhooks.disable_for_failures(uow, endpoint_id, "gone")
        elif retries.Outcome.DELIVERED in kinds:
            if endpoint.failing_since is not None:
                uow.session.execute(
                    update(ep)
                    .where(ep.id == endpoint_id, ep.failing_since.is_not(None))
                    .values(failing_since=None)
                    .execution_options(synchronize_session=False)
                )
        elif endpoint.failing_since is None:
            uow.session.execute(
                update(ep)
                .where(ep.id == endpoint_id, ep.failing_since.is_(None))
                .values(failing_since=now)
                .execution_options(synchronize_session=False)
            )
        elif retries.should_disable(endpoint.failing_since, now):
            webhooks.disable_for_failures(uow, endpoint_id, "failing")
