"""Per-app wiring of events and webhooks: blueprints, wake-ups, the resolver, the secrets key.

`init_app` is called once from `lendbridge.app._register_areas`. It keeps a
`WebhookRuntime` in `app.extensions["webhooks"]`, which tests adjust (a stub DNS resolver,
a shorter lease) instead of patching modules.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context

from lendbridge.crypto.envelope import Keyring, MasterKey
from lendbridge.tasks import PERIODIC, REGISTRY
from lendbridge.webhooks import secrets
from lendbridge.webhooks.ssrf import Resolver, system_resolver
from lendbridge.webhooks.transport import TIMEOUT_SECONDS

log = logging.getLogger("lendbridge.webhooks")

# A queued delivery belongs to whoever queued it for this long. It must outlast the HTTP
# timeout plus recording the result, or a slow attempt would be duplicated while running.
LEASE = timedelta(seconds=30)
RELAY_TASK = "events.relay"
QUEUE_DUE_TASK = "webhooks.queue_due"
DELIVER_TASK = "webhooks.deliver"


class Waker(Protocol):
    """Coalesces wake-ups: `arm` is true for the first call since the last `disarm`."""

    def arm(self) -> bool: ...

    def disarm(self) -> None: ...


class LocalWaker:
    """In-process coalescing (inline task runner: producer and relay share the process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed = False

    def arm(self) -> bool:
        with self._lock:
            if self._armed:
                return False
            self._armed = True
            return True

    def disarm(self) -> None:
        with self._lock:
            self._armed = False


class RedisWaker:
    """Cross-process coalescing through one Redis key (Celery: producers and relays differ).

    The relay disarms before it reads, so an event committed after the read re-arms and
    queues another run; an event committed before it is seen by that read. The key expires
    so a lost relay task cannot silence wake-ups for long (the periodic relay covers it).
    """

    def __init__(self, url: str, namespace: str, ttl_ms: int = 2000) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # One key per database, so deployments sharing a Redis do not silence each other.
        self.key = "lendbridge:events:relay-armed:" + hashlib.sha256(namespace.encode()).hexdigest()[:16]
        self._ttl_ms = ttl_ms

    def arm(self) -> bool:
        return bool(self._redis.set(self.key, b"1", nx=True, px=self._ttl_ms))

    def disarm(self) -> None:
        self._redis.delete(self.key)


@dataclass
class WebhookRuntime:
    keyring: Keyring
    waker: Waker
    resolver: Resolver = system_resolver
    test_loopback: bool = True  # test-mode endpoints may point at localhost (Settings)
    timeout: float = TIMEOUT_SECONDS
    lease: timedelta = LEASE
    extra: dict[str, Any] = field(default_factory=dict)


def runtime(app: Flask | None = None) -> WebhookRuntime:
    target = app if app is not None else current_app
    rt: WebhookRuntime = target.extensions["webhooks"]
    return rt


def _master_key(settings: Any) -> bytes | None:
    if settings.master_key:
        return MasterKey.from_base64(settings.master_key).material
    if settings.master_key_file:
        return MasterKey.from_file(settings.master_key_file).material
    return None


def wake_relay() -> None:
    """After a commit that emitted events: queue a relay run (coalesced). Never raises: the
    commit already happened, and the periodic relay picks up anything a lost wake-up missed."""
    if not has_app_context():
        return
    waker = runtime().waker
    try:
        if waker.arm():
            try:
                current_app.extensions["lendbridge"].tasks.enqueue(RELAY_TASK)
            except Exception:
                waker.disarm()
                raise
    except Exception:
        log.warning("could not wake the event relay; the periodic relay will pick the events up")


def wake_poller() -> None:
    """After a commit that created due deliveries (resend, replay): queue them now."""
    if not has_app_context():
        return
    try:
        current_app.extensions["lendbridge"].tasks.enqueue(QUEUE_DUE_TASK)
    except Exception:
        log.warning("could not wake the delivery poller; its next periodic run will queue them")


def _sync_celery(app: Flask) -> None:
    # The Celery runner is built before the areas register, so tasks imported since are
    # unknown to it (and to beat) in a fresh worker process; add them now.
    celery = getattr(app.extensions["lendbridge"].tasks, "celery", None)
    if celery is None:
        return
    for name, fn in REGISTRY.items():
        if name not in celery.tasks:
            celery.task(name=name)(fn)
    schedule = dict(celery.conf.beat_schedule or {})
    for p in PERIODIC:
        schedule.setdefault(p.name, {"task": p.name, "schedule": p.every_seconds})
    celery.conf.beat_schedule = schedule


def init_app(app: Flask, api: Any) -> None:
    from lendbridge.events import api as events_api
    from lendbridge.events import outbox
    from lendbridge.events import tasks as _events_tasks  # noqa: F401 - registers the tasks
    from lendbridge.webhooks import api as webhooks_api
    from lendbridge.webhooks import tasks as _webhooks_tasks  # noqa: F401 - registers the tasks

    svc = app.extensions["lendbridge"]
    settings = svc.settings
    waker: Waker = (
        RedisWaker(settings.redis_url, settings.database_url)
        if settings.tasks == "celery" and settings.redis_url
        else LocalWaker()
    )
    app.extensions["webhooks"] = WebhookRuntime(
        keyring=secrets.make_keyring(app.config["SECRET_KEY"], _master_key(settings)),
        waker=waker,
        test_loopback=settings.allows_test_loopback_webhooks,
    )
    api.register_blueprint(events_api.blp)
    api.register_blueprint(webhooks_api.blp)
    outbox.on_commit(wake_relay)
    _sync_celery(app)
