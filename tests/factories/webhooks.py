"""Webhook test helpers: a real local receiver, endpoints through the API, emitting events,
and stepping the relay and the delivery worker by hand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flask import Flask
from standardwebhooks.webhooks import Webhook

import lendbridge_webhooks
from lendbridge.db import TenantContext
from lendbridge.events import outbox
from lendbridge.events import relay as outbox_relay
from lendbridge.events.models import Event
from lendbridge.uow import UnitOfWork
from lendbridge.webhooks import delivery
from lendbridge.webhooks.runtime import runtime
from tests.factories.tenancy import auth


@dataclass
class Received:
    """One request the receiver got, with what each verifier made of it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    ours: bool | None = None
    standard: bool | None = None
    status: int = 0

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


Answer = tuple[int, bytes, float]
"""(status, body, seconds to wait before answering)"""


@dataclass
class Receiver:
    """A tiny threaded HTTP server standing in for a partner's webhook endpoint.

    Every request is verified with `lendbridge_webhooks.verify` and with the independent
    `standardwebhooks` package against `secrets` (any one may match). `answer` decides the
    response from (request number for this webhook-id, the request); default 200.
    """

    secrets: list[str] = field(default_factory=list)
    answer: Callable[[int, Received], Answer] | None = None
    verify_now: Callable[[], int] | None = None
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str = "/hooks", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                receiver._verify(got)
                with receiver._lock:
                    n = sum(1 for r in receiver.requests if r.webhook_id == got.webhook_id) + 1
                    receiver.requests.append(got)
                status, answer, wait = receiver.answer(n, got) if receiver.answer else (200, b"ok", 0.0)
                if wait:
                    receiver.release.wait(wait)
                got.status = status
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender went away (timeout, or a killed worker)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default backlog of 5 drops connections under bursts
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _verify(self, got: Received) -> None:
        if not self.secrets:
            return
        now = self.verify_now() if self.verify_now else None
        try:
            lendbridge_webhooks.verify(got.body, got.headers, self.secrets, now=now)
            got.ours = True
        except lendbridge_webhooks.WebhookVerificationError:
            got.ours = False
        got.standard = False
        for secret in self.secrets:
            try:
                Webhook(secret).verify(got.body, got.headers)
                got.standard = True
            except Exception:  # noqa: S112 - try the next secret
                continue

    def for_event(self, event_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.event.get("id") == event_id]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(
            f"receiver: condition not met within {timeout} s ({len(self.requests)} requests)"
        )


def create_endpoint(
    app: Flask, key: str, url: str, events: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    resp = app.test_client().post(
        "/v1/webhook_endpoints",
        json={"url": url, "enabled_events": events or ["*"], **extra},
        headers=auth(key),
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body: dict[str, Any] = resp.get_json()
    return body


def emit(
    app: Flask,
    tenant_id: str,
    event_type: str = "test_helper.triggered",
    obj: Mapping[str, Any] | None = None,
    *,
    livemode: bool = False,
    wake: bool = False,
) -> str:
    """Commit one event (as a service would) and return its id.

    With wake=False it is emitted outside the app context, so no relay is woken and the
    test steps the relay itself; wake=True behaves like a request (the relay runs in the
    background)."""
    svc = app.extensions["lendbridge"]
    body = dict(obj or {"object": "test_helper", "id": "th_1", "note": "借款已放款 disbursed"})

    def run() -> str:
        with UnitOfWork(svc.db, TenantContext(tenant_id, livemode), clock=svc.clock) as uow:
            event = outbox.emit(uow, event_type, body)
            uow.commit()
            return event.id

    if wake:
        with app.app_context():
            return run()
    return run()


def relay(app: Flask) -> list[tuple[str, str]]:
    """Run the relay until no event is left; returns the (delivery, lease token) pairs it queued."""
    svc = app.extensions["lendbridge"]
    queued: list[tuple[str, str]] = []
    outbox_relay.drain(svc.db, svc.clock, runtime(app), lambda ids, t: queued.extend((d, t) for d in ids))
    return queued


def deliver(app: Flask, pairs: list[tuple[str, str]]) -> list[str | None]:
    svc = app.extensions["lendbridge"]
    return [delivery.deliver(svc.db, svc.clock, runtime(app), d, t) for d, t in pairs]


def queue_due(app: Flask) -> list[tuple[str, str]]:
    svc = app.extensions["lendbridge"]
    due, token = delivery.queue_due(svc.db, svc.clock, runtime(app))
    return [(d, token) for ids in due for d in ids]


def step(app: Flask) -> list[str | None]:
    """Relay new events and make every attempt that is due now, synchronously."""
    return deliver(app, relay(app)) + deliver(app, queue_due(app))


def event_row(app: Flask, event_id: str) -> Event:
    svc = app.extensions["lendbridge"]
    with svc.db.reader() as session:
        event = session.get(Event, event_id)
        assert event is not None
        return event


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
