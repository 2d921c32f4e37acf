"""Delivery over real HTTP to a local receiver that verifies every message with
lendbridge_webhooks AND the independent standardwebhooks package: signatures, retries,
410, the five-day rule, rotation, timeouts, SSRF at delivery time, leases, resend, replay."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import lendbridge_webhooks
from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.core.clock import FrozenClock, to_unix
from lendbridge.webhooks import delivery
from lendbridge.webhooks.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from lendbridge.webhooks.retries import SCHEDULE
from lendbridge.webhooks.runtime import runtime
from tests.factories.tenancy import TenantKeys, auth, make_tenant
from tests.factories.webhooks import (
    Receiver,
    create_endpoint,
    deliver,
    emit,
    event_row,
    queue_due,
    relay,
    step,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def clock() -> FrozenClock:
    # Close to real time so the standardwebhooks verifier (which reads the wall clock, with
    # 5 minutes of tolerance) accepts the first minutes of frozen-clock attempts too.
    return FrozenClock(datetime.now(UTC) - timedelta(seconds=100))


@pytest.fixture(params=["sqlite", "postgresql"])
def clock_app(request: pytest.FixtureRequest, settings: Settings, clock: FrozenClock) -> Iterator[Flask]:
    """An app on a frozen clock, on both databases."""
    if request.param == "postgresql":
        from tests.conftest import truncate_all

        url = request.getfixturevalue("pg_url")
        truncate_all(url)
        settings = Settings.for_tests(settings.data_dir, database_url=url)
    app = create_app(settings, clock=clock)
    yield app
    app.extensions["lendbridge"].tasks.shutdown()
    app.extensions["lendbridge"].db.engine.dispose()


def attempts(app: Flask, key: str, endpoint_id: str, query: str = "") -> list[dict[str, Any]]:
    resp = app.test_client().get(f"/v1/webhook_endpoints/{endpoint_id}/attempts{query}", headers=auth(key))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data: list[dict[str, Any]] = resp.get_json()["data"]
    return data


def delivery_of(app: Flask, event_id: str) -> WebhookDelivery:
    with app.extensions["lendbridge"].db.reader() as session:
        rows = list(
            session.execute(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).scalars()
        )
    assert len(rows) == 1
    return rows[0]


def endpoint_row(app: Flask, endpoint_id: str) -> WebhookEndpoint:
    with app.extensions["lendbridge"].db.reader() as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        return row


def setup(
    app: Flask, receiver: Receiver, events: list[str] | None = None
) -> tuple[TenantKeys, dict[str, Any]]:
    t = make_tenant(app)
    ep = create_endpoint(app, t.test_key, receiver.url(), events or ["*"])
    receiver.secrets = [ep["secret"]]
    return t, ep


# -- the message --------------------------------------------------------------------------
def test_delivery_is_signed_and_verifies_with_both_libraries(any_app: Flask, receiver: Receiver) -> None:
    t, ep = setup(any_app, receiver)
    obj = {"object": "loan", "id": "loan_1", "amount": 1_200_000, "rate": "0.0600", "school": "明德职业学校"}
    event_id = emit(any_app, t.tenant_id, "loan.disbursed", obj)
    assert step(any_app) == ["delivered"]
    [got] = receiver.requests
    assert got.ours is True and got.standard is True
    assert got.webhook_id == event_id
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"].startswith("LendBridge-Webhooks/")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert got.body == delivery.body_of(event_row(any_app, event_id))  # bytes signed = bytes sent
    event = lendbridge_webhooks.parse_event(got.body)
    assert (event.id, event.type, event.livemode) == (event_id, "loan.disbursed", False)
    assert event.data_object == obj
    assert delivery_of(any_app, event_id).status == "delivered"
    [attempt] = attempts(any_app, t.test_key, ep["id"])
    assert attempt["status"] == "succeeded" and attempt["response_status"] == 200
    assert attempt["attempt"] == 1 and attempt["latency_ms"] >= 0 and attempt["next_retry"] is None


def test_only_subscribed_types_are_sent(app: Flask, receiver: Receiver) -> None:
    t, _ = setup(app, receiver, ["loan.disbursed"])
    emit(app, t.tenant_id, "repayment.succeeded")
    wanted = emit(app, t.tenant_id, "loan.disbursed")
    step(app)
    assert [r.webhook_id for r in receiver.requests] == [wanted]


def test_connects_to_the_checked_address_and_sends_the_host_name(app: Flask, receiver: Receiver) -> None:
    """The name does not resolve through real DNS: the delivery can only have used the
    address the guard checked (the stub's), while Host still names the partner's host."""
    runtime(app).resolver = lambda host, port: {"hooks.partner.test": ["127.0.0.1"]}[host]
    t = make_tenant(app)
    ep = create_endpoint(app, t.test_key, receiver.url(host="hooks.partner.test"))
    receiver.secrets = [ep["secret"]]
    emit(app, t.tenant_id)
    assert step(app) == ["delivered"]
    assert receiver.requests[0].headers["host"] == f"hooks.partner.test:{receiver.port}"


# -- retries ------------------------------------------------------------------------------
def test_500_twice_then_200_is_delivered_by_the_retry_poller(
    clock_app: Flask, clock: FrozenClock, receiver: Receiver
) -> None:
    app = clock_app
    t, ep = setup(app, receiver)
    receiver.verify_now = lambda: to_unix(clock.now())
    receiver.answer = lambda n, _r: (500, b"boom", 0.0) if n <= 2 else (200, b"ok", 0.0)
    event_id = emit(app, t.tenant_id)

    assert step(app) == ["pending"]  # attempt 1: 500
    first_retry = delivery_of(app, event_id).next_attempt_at
    assert first_retry is not None
    assert timedelta(seconds=4.5) <= first_retry - clock.now() <= timedelta(seconds=5.5)
    assert queue_due(app) == []  # nothing is due before its time

    clock.set(first_retry)
    assert deliver(app, queue_due(app)) == ["pending"]  # attempt 2: 500
    second_retry = delivery_of(app, event_id).next_attempt_at
    assert second_retry is not None
    assert timedelta(minutes=4.5) <= second_retry - clock.now() <= timedelta(minutes=5.5)

    clock.set(second_retry)
    assert deliver(app, queue_due(app)) == ["delivered"]  # attempt 3: 200
    assert delivery_of(app, event_id).next_attempt_at is None
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert {r.webhook_id for r in receiver.requests} == {event_id}
    assert len({r.headers["webhook-timestamp"] for r in receiver.requests}) == 3
    assert all(r.ours and r.standard for r in receiver.requests)

    log = attempts(app, t.test_key, ep["id"])
    assert [(a["attempt"], a["status"], a["response_status"]) for a in log] == [
        (3, "succeeded", 200),
        (2, "failed", 500),
        (1, "failed", 500),
    ]
    assert log[1]["next_retry"] == to_unix(second_retry) and log[2]["next_retry"] == to_unix(first_retry)
    assert log[2]["response_excerpt"] == "boom"
    assert endpoint_row(app, ep["id"]).failing_since is None  # the success cleared it


def test_delivery_gives_up_after_ten_attempts(app: Flask, clock: FrozenClock, receiver: Receiver) -> None:
    app = create_app(app.extensions["lendbridge"].settings, clock=clock)
    t = make_tenant(app)
    ep = create_endpoint(app, t.test_key, receiver.url())
    receiver.answer = lambda n, _r: (503, b"", 0.0)
    event_id = emit(app, t.tenant_id)
    outcomes = step(app)
    while delivery_of(app, event_id).next_attempt_at is not None:
        clock.set(delivery_of(app, event_id).next_attempt_at)  # type: ignore[arg-type]
        outcomes += deliver(app, queue_due(app))
    assert outcomes == ["pending"] * 9 + ["failed"]
    # The schedule spans about three days; each delay carries up to -10 % jitter.
    assert clock.now() - event_row(app, event_id).created >= sum(SCHEDULE, timedelta()) * 0.9
    assert delivery_of(app, event_id).status == "failed"
    log = attempts(app, t.test_key, ep["id"], "?limit=20")
    assert [a["attempt"] for a in log] == list(range(10, 0, -1))
    assert log[0]["next_retry"] is None and all(a["next_retry"] for a in log[1:])
    assert endpoint_row(app, ep["id"]).status == "enabled"  # failing for 3 days, not 5
    app.extensions["lendbridge"].tasks.shutdown()


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        ((302, b"", 0.0), 302, None),
        ((404, b"not here", 0.0), 404, None),
        ((429, b"slow down", 0.0), 429, None),
    ],
)
def test_non_2xx_answers_are_retried(
    app: Flask, receiver: Receiver, answer: tuple[int, bytes, float], status: int, error: str | None
) -> None:
    t, ep = setup(app, receiver)
    receiver.answer = lambda n, _r: answer
    event_id = emit(app, t.tenant_id)
    assert step(app) == ["pending"]
    [attempt] = attempts(app, t.test_key, ep["id"])
    assert (attempt["response_status"], attempt["error"]) == (status, error)
    assert attempt["next_retry"] is not None
    assert delivery_of(app, event_id).status == "pending"


def test_timeout_is_an_error_and_retried(app: Flask, receiver: Receiver) -> None:
    t, ep = setup(app, receiver)
    runtime(app).timeout = 0.3
    receiver.answer = lambda n, _r: (200, b"too late", 3.0)
    emit(app, t.tenant_id)
    started = time.monotonic()
    assert step(app) == ["pending"]
    assert time.monotonic() - started < 2.5
    [attempt] = attempts(app, t.test_key, ep["id"])
    assert attempt["response_status"] is None and attempt["error"] == "timeout: no answer within 0.3 s"
    assert attempt["latency_ms"] >= 250


def _tarpit(first: bytes, drip: bytes) -> tuple[socket.socket, threading.Event]:
    """A raw TCP server that answers with `first` at once, then one byte of `drip` every 0.1 s."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(first)
        for byte in drip:
            if stop.wait(0.1):
                break
            try:
                conn.send(bytes([byte]))
            except OSError:
                break
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, stop


@pytest.mark.parametrize(
    ("first", "drip", "status", "error"),
    [
        (b"", b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"y" * 200, None, "timeout: no answer within 0.5 s"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", b"z" * 200, 200, None),
    ],
    ids=["slow-headers", "slow-body"],
)
def test_a_receiver_answering_byte_by_byte_is_cut_off_at_the_timeout(
    app: Flask, first: bytes, drip: bytes, status: int | None, error: str | None
) -> None:
    server, stop = _tarpit(first, drip)
    try:
        t = make_tenant(app)
        ep = create_endpoint(app, t.test_key, f"http://127.0.0.1:{server.getsockname()[1]}/hooks")
        runtime(app).timeout = 0.5
        emit(app, t.tenant_id)
        started = time.monotonic()
        step(app)
        assert time.monotonic() - started < 2.5  # not 200 drips x 0.1 s
        [attempt] = attempts(app, t.test_key, ep["id"])
        assert (attempt["response_status"], attempt["error"]) == (status, error)
    finally:
        stop.set()
        server.close()


def test_an_unexpected_error_is_a_failed_attempt_retried_on_schedule(app: Flask, receiver: Receiver) -> None:
    """E.g. the deployment's secret key changed and the endpoint secret cannot be opened."""
    from lendbridge.webhooks.secrets import make_keyring

    t, ep = setup(app, receiver)
    runtime(app).keyring = make_keyring("a different deployment key")
    event_id = emit(app, t.tenant_id)
    assert step(app) == ["pending"]
    assert receiver.requests == []
    [attempt] = attempts(app, t.test_key, ep["id"])
    assert attempt["error"] == "internal error (DecryptionError)" and attempt["next_retry"] is not None
    assert delivery_of(app, event_id).leased_until is None


def test_connection_refused_is_an_error_and_retried(app: Flask) -> None:
    t = make_tenant(app)
    closed = Receiver().start()
    url = closed.url()
    closed.stop()
    ep = create_endpoint(app, t.test_key, url)
    emit(app, t.tenant_id)
    assert step(app) == ["pending"]
    [attempt] = attempts(app, t.test_key, ep["id"])
    assert attempt["error"] == "connection refused" and attempt["status"] == "failed"


def test_answer_excerpt_is_cut_to_500_bytes_without_our_secret(app: Flask, receiver: Receiver) -> None:
    t, ep = setup(app, receiver)
    secret = ep["secret"]

    def echo(n: int, r: Any) -> tuple[int, bytes, float]:
        return 500, (f"sig={r.headers['webhook-signature']} secret={secret} " + "x" * 3000).encode(), 0.0

    receiver.answer = echo
    emit(app, t.tenant_id)
    step(app)
    [attempt] = attempts(app, t.test_key, ep["id"])
    text = attempt["response_excerpt"]
    assert len(text.encode()) == 500
    assert secret not in text and secret.removeprefix("whsec_") not in text and "v1," not in text
    assert text.startswith("sig=[redacted] secret=[redacted] xxx")


# -- giving up on an endpoint --------------------------------------------------------------
def test_410_disables_the_endpoint_cancels_its_deliveries_and_notifies(
    any_app: Flask, receiver: Receiver
) -> None:
    t, ep = setup(any_app, receiver)
    other = make_tenant(any_app, name="Other")
    receiver.answer = lambda n, _r: (410, b"gone", 0.0)
    first = emit(any_app, t.tenant_id)
    second = emit(any_app, t.tenant_id)
    queued = relay(any_app)
    assert deliver(any_app, queued[:1]) == ["failed"]
    assert deliver(any_app, queued[1:]) == [None]  # cancelled with the endpoint
    assert len(receiver.requests) == 1
    body = any_app.test_client().get(f"/v1/webhook_endpoints/{ep['id']}", headers=auth(t.test_key)).get_json()
    assert (body["status"], body["disabled_reason"]) == ("disabled", "gone")
    statuses = {delivery_of(any_app, first).status, delivery_of(any_app, second).status}
    assert statuses == {"failed", "cancelled"}
    emit(any_app, t.tenant_id)
    assert relay(any_app) == []  # a disabled endpoint gets nothing new
    notes = any_app.test_client().get("/v1/notifications", headers=auth(t.test_key)).get_json()["data"]
    assert len(notes) == 1 and notes[0]["kind"] == "webhook_endpoint.disabled"
    assert notes[0]["related_object"] == ep["id"] and "410" in notes[0]["body"]
    assert "已停用" in notes[0]["subject"] and "disabled" in notes[0]["subject"]
    assert (
        any_app.test_client().get("/v1/notifications", headers=auth(other.test_key)).get_json()["data"] == []
    )
    assert any_app.test_client().get("/v1/notifications", headers=auth(t.live_key)).get_json()["data"] == []


def test_re_enabled_endpoint_gets_new_events_again(app: Flask, receiver: Receiver) -> None:
    t, ep = setup(app, receiver)
    receiver.answer = lambda n, r: (
        (410, b"", 0.0) if r.event["data"]["object"]["id"] == "th_1" else (200, b"", 0.0)
    )
    emit(app, t.tenant_id)
    step(app)
    app.test_client().post(
        f"/v1/webhook_endpoints/{ep['id']}", json={"disabled": False}, headers=auth(t.test_key)
    )
    later = emit(app, t.tenant_id, obj={"object": "test_helper", "id": "th_2"})
    assert step(app) == ["delivered"]
    assert receiver.requests[-1].webhook_id == later


def test_five_days_of_failures_disable_the_endpoint(clock_app: Flask, clock: FrozenClock) -> None:
    app = clock_app
    down = Receiver().start()
    down.answer = lambda n, _r: (500, b"", 0.0)
    t = make_tenant(app, scopes=["webhooks:read", "webhooks:write", "events:read", "account:read"])
    ep = create_endpoint(app, t.test_key, down.url())
    start = clock.now()
    emit(app, t.tenant_id)
    step(app)
    assert endpoint_row(app, ep["id"]).failing_since == start
    clock.advance(timedelta(days=4, hours=23))
    emit(app, t.tenant_id)
    step(app)
    assert endpoint_row(app, ep["id"]).status == "enabled"
    clock.advance(timedelta(hours=1))
    emit(app, t.tenant_id)
    step(app)
    row = endpoint_row(app, ep["id"])
    assert (row.status, row.disabled_reason) == ("disabled", "failing")
    [note] = app.test_client().get("/v1/notifications", headers=auth(t.test_key)).get_json()["data"]
    assert "连续失败 5 天" in note["body"] and "five days in a row" in note["body"]
    down.stop()


def test_a_success_resets_the_five_day_count(app: Flask, clock: FrozenClock, receiver: Receiver) -> None:
    app = create_app(app.extensions["lendbridge"].settings, clock=clock)
    t = make_tenant(app)
    ep = create_endpoint(app, t.test_key, receiver.url())
    healthy = {"ok": False}
    receiver.answer = lambda n, _r: (200, b"", 0.0) if healthy["ok"] else (500, b"", 0.0)
    emit(app, t.tenant_id)
    step(app)
    clock.advance(timedelta(days=3))
    healthy["ok"] = True
    emit(app, t.tenant_id)
    step(app)
    assert endpoint_row(app, ep["id"]).failing_since is None
    healthy["ok"] = False
    clock.advance(timedelta(days=2, hours=1))
    emit(app, t.tenant_id)
    step(app)
    row = endpoint_row(app, ep["id"])
    assert row.status == "enabled" and row.failing_since == clock.now()
    app.extensions["lendbridge"].tasks.shutdown()


def test_deleted_endpoint_gets_no_more_attempts(app: Flask, receiver: Receiver) -> None:
    t, ep = setup(app, receiver)
    event_id = emit(app, t.tenant_id)
    queued = relay(app)
    app.test_client().delete(f"/v1/webhook_endpoints/{ep['id']}", headers=auth(t.test_key))
    assert deliver(app, queued) == [None]
    assert receiver.requests == [] and delivery_of(app, event_id).status == "cancelled"


# -- rotation -----------------------------------------------------------------------------
def test_rotation_overlap_sends_two_signatures_each_verifying_alone(
    clock_app: Flask, clock: FrozenClock, receiver: Receiver
) -> None:
    from standardwebhooks.webhooks import Webhook

    app = clock_app
    t, ep = setup(app, receiver)
    old = ep["secret"]
    new = (
        app.test_client()
        .post(
            f"/v1/webhook_endpoints/{ep['id']}/rotate_secret",
            json={"expires_in": 3600},
            headers=auth(t.test_key),
        )
        .get_json()["secret"]
    )
    emit(app, t.tenant_id)
    step(app)
    got = receiver.requests[-1]
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    now = to_unix(clock.now())
    for secret in (old, new):
        lendbridge_webhooks.verify(got.body, got.headers, secret, now=now)
        Webhook(secret).verify(got.body, got.headers)
    clock.advance(timedelta(seconds=3601))  # the overlap is over: only the new secret signs
    emit(app, t.tenant_id)
    step(app)
    after = receiver.requests[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    now = to_unix(clock.now())
    lendbridge_webhooks.verify(after.body, after.headers, new, now=now)
    with pytest.raises(lendbridge_webhooks.WebhookVerificationError):
        lendbridge_webhooks.verify(after.body, after.headers, old, now=now)


# -- SSRF at delivery time ------------------------------------------------------------------
def test_address_change_after_creation_is_caught_before_sending(app: Flask, receiver: Receiver) -> None:
    dns = {"hooks.partner.test": ["127.0.0.1"]}
    runtime(app).resolver = lambda host, port: dns[host]
    t = make_tenant(app)
    ep = create_endpoint(app, t.test_key, receiver.url(host="hooks.partner.test"))
    dns["hooks.partner.test"] = ["127.0.0.1", "169.254.169.254"]  # rebinding to the metadata service
    event_id = emit(app, t.tenant_id)
    assert step(app) == ["pending"]
    assert receiver.requests == []
    [attempt] = attempts(app, t.test_key, ep["id"])
    assert attempt["error"].startswith("unsafe URL, not sent") and attempt["response_status"] is None
    dns["hooks.partner.test"] = ["127.0.0.1"]  # fixed: the retry goes out
    svc = app.extensions["lendbridge"]
    with svc.db.writer() as session:
        d = session.get(WebhookDelivery, delivery_of(app, event_id).id)
        assert d is not None
        d.next_attempt_at = svc.clock.now()
        session.commit()
    assert deliver(app, queue_due(app)) == ["delivered"]


def test_live_endpoint_is_rechecked_at_delivery(app: Flask) -> None:
    dns = {"hooks.partner.example": ["93.184.216.34"]}
    runtime(app).resolver = lambda host, port: dns[host]
    t = make_tenant(app)
    ep = create_endpoint(app, t.live_key, "https://hooks.partner.example/lb")
    dns["hooks.partner.example"] = ["10.0.0.5"]
    emit(app, t.tenant_id, livemode=True)
    assert step(app) == ["pending"]
    [attempt] = attempts(app, t.live_key, ep["id"])
    assert "private" in attempt["error"] and attempt["latency_ms"] == 0


# -- leases: a worker that dies mid-attempt -------------------------------------------------
def test_expired_lease_is_retried_and_the_lost_attempt_marked(
    clock_app: Flask, clock: FrozenClock, receiver: Receiver
) -> None:
    app = clock_app
    t, ep = setup(app, receiver)
    receiver.verify_now = lambda: to_unix(clock.now())
    event_id = emit(app, t.tenant_id)
    [(delivery_id, token)] = relay(app)
    svc = app.extensions["lendbridge"]
    rt = runtime(app)
    claimed = delivery._claim(svc.db, svc.clock, rt, [delivery_id], token)  # the worker dies after this
    assert len(claimed) == 1
    assert queue_due(app) == []  # still leased
    clock.advance(rt.lease + timedelta(seconds=1))
    [(again, new_token)] = queue_due(app)
    assert again == delivery_id and new_token != token
    assert deliver(app, [(delivery_id, token)]) == [None]  # the dead worker's task is stale
    assert deliver(app, [(again, new_token)]) == ["delivered"]
    assert [r.webhook_id for r in receiver.requests] == [event_id]
    log = attempts(app, t.test_key, ep["id"])
    assert [(a["attempt"], a["status"]) for a in log] == [(2, "succeeded"), (1, "failed")]
    assert "worker stopped" in log[1]["error"]


def test_queued_twice_is_attempted_once(app: Flask, receiver: Receiver) -> None:
    t, _ = setup(app, receiver)
    emit(app, t.tenant_id)
    queued = relay(app)
    assert deliver(app, queued + queued) == ["delivered", None]
    assert len(receiver.requests) == 1


# -- resend and replay ----------------------------------------------------------------------
def test_resend_goes_out_again_with_the_same_webhook_id(app: Flask, receiver: Receiver) -> None:
    t, ep = setup(app, receiver)
    event_id = emit(app, t.tenant_id)
    step(app)
    resp = app.test_client().post(
        f"/v1/events/{event_id}/resend", json={"endpoint": ep["id"]}, headers=auth(t.test_key)
    )
    assert resp.status_code == 200
    receiver.wait_for(lambda: len(receiver.requests) == 2)  # the inline poller sends it
    first, again = receiver.requests
    assert first.webhook_id == again.webhook_id == event_id and first.body == again.body
    assert again.ours and again.standard


def test_replay_since_a_timestamp(clock_app: Flask, clock: FrozenClock, receiver: Receiver) -> None:
    app = clock_app
    t, ep = setup(app, receiver, ["loan.*"])
    receiver.verify_now = lambda: to_unix(clock.now())
    emit(app, t.tenant_id, "loan.created")
    clock.advance(timedelta(seconds=10))
    since = to_unix(clock.now())
    wanted = [emit(app, t.tenant_id, "loan.disbursed"), emit(app, t.tenant_id, "loan.paid_off")]
    emit(app, t.tenant_id, "repayment.succeeded")  # not the endpoint's type
    clock.advance(timedelta(seconds=10))
    late = emit(app, t.tenant_id, "loan.overdue")
    step(app)
    assert len(receiver.requests) == 4
    client = app.test_client()
    path = f"/v1/webhook_endpoints/{ep['id']}/replay"
    resp = client.post(path, json={"since": since, "until": since + 5}, headers=auth(t.test_key))
    assert resp.status_code == 200
    assert resp.get_json() == {
        "object": "webhook_replay",
        "endpoint": ep["id"],
        "livemode": False,
        "since": since,
        "until": since + 5,
        "count": 2,
    }
    receiver.wait_for(lambda: len(receiver.requests) == 6)
    assert sorted(r.webhook_id for r in receiver.requests[4:]) == sorted(wanted)
    everything = client.post(path, json={"since": since}, headers=auth(t.test_key)).get_json()
    assert everything["count"] == 3 and everything["until"] is None
    receiver.wait_for(lambda: len(receiver.requests) == 9)
    assert late in {r.webhook_id for r in receiver.requests[6:]}


def test_replay_limits(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from lendbridge.webhooks import services

    t = make_tenant(app)
    ep = create_endpoint(app, t.test_key, "http://localhost:9/")
    client = app.test_client()
    path = f"/v1/webhook_endpoints/{ep['id']}/replay"
    now = int(time.time())
    old = client.post(path, json={"since": now - 31 * 86400}, headers=auth(t.test_key))
    assert old.status_code == 422 and old.get_json()["param"] == "since"
    backwards = client.post(path, json={"since": now, "until": now - 10}, headers=auth(t.test_key))
    assert backwards.status_code == 422 and backwards.get_json()["param"] == "until"
    monkeypatch.setattr(services, "MAX_REPLAY", 2)
    for _ in range(3):
        emit(app, t.tenant_id)
    many = client.post(path, json={"since": now - 60}, headers=auth(t.test_key))
    assert many.status_code == 422 and many.get_json()["param"] == "until"
    client.post(f"/v1/webhook_endpoints/{ep['id']}", json={"disabled": True}, headers=auth(t.test_key))
    off = client.post(path, json={"since": now - 60}, headers=auth(t.test_key))
    assert off.status_code == 409 and off.get_json()["code"] == "endpoint_disabled"


# -- embedded mode end to end -----------------------------------------------------------------
def test_embedded_mode_delivers_on_its_own(app: Flask, receiver: Receiver) -> None:
    """A commit inside the app wakes the inline relay, which queues the delivery task."""
    t, _ = setup(app, receiver)
    event_id = emit(app, t.tenant_id, wake=True)
    receiver.wait_for(lambda: len(receiver.requests) == 1)
    assert receiver.requests[0].webhook_id == event_id and receiver.requests[0].ours
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with app.extensions["lendbridge"].db.reader() as session:  # a fresh snapshot each time
            status = session.execute(
                select(DeliveryAttempt.status).where(DeliveryAttempt.event_id == event_id)
            ).scalar_one()
        if status == "succeeded":
            break
        time.sleep(0.05)
    assert status == "succeeded"


# -- a shared server -----------------------------------------------------------------------
def test_a_server_that_refuses_loopback_sends_nothing_to_an_older_loopback_endpoint(
    app: Flask, receiver: Receiver
) -> None:
    # Registered while loopback was allowed; the server has since been configured as a
    # shared sandbox. The check before each delivery applies the setting in force.
    t, ep = setup(app, receiver)
    runtime(app).test_loopback = False
    emit(app, t.tenant_id)
    step(app)
    assert receiver.requests == []
    [attempt] = attempts(app, t.test_key, ep["id"])
    assert attempt["error"].startswith("unsafe URL, not sent") and "loopback" in attempt["error"]


def test_the_setting_reaches_the_webhook_runtime(tmp_path: Any) -> None:
    app = create_app(Settings.for_tests(tmp_path, webhook_test_loopback=False))
    assert runtime(app).test_loopback is False
    app.extensions["lendbridge"].tasks.shutdown()
