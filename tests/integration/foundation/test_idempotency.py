"""Idempotency-Key: replay, conflict, and one effect under concurrency, on both databases."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from lendbridge.tenancy.domain import TenantKind
from lendbridge.tenancy.models import Tenant
from tests.factories.tenancy import auth, make_tenant


def _count(app: Flask, name: str) -> int:
    with app.extensions["lendbridge"].db.reader() as session:
        return int(
            session.execute(select(func.count()).select_from(Tenant).where(Tenant.name == name)).scalar_one()
        )


def test_replay_returns_the_stored_response(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    client = any_app.test_client()
    headers = {**auth(op.test_key), "Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/admin/v1/partners", json={"name": "Replay Co"}, headers=headers)
    second = client.post("/admin/v1/partners", json={"name": "Replay Co"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert _count(any_app, "Replay Co") == 1


def test_replay_never_stores_or_returns_secrets(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    client = any_app.test_client()
    headers = {**auth(op.test_key), "Idempotency-Key": "secret-check"}
    first = client.post("/admin/v1/partners", json={"name": "S"}, headers=headers).get_json()
    assert first["keys"][0]["secret"].startswith("sk_test_")
    second = client.post("/admin/v1/partners", json={"name": "S"}, headers=headers).get_json()
    assert second["keys"][0]["secret"] is None
    assert second["keys"][0]["redacted"] == first["keys"][0]["redacted"]


def test_same_key_with_other_parameters_is_409(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    client = any_app.test_client()
    headers = {**auth(op.test_key), "Idempotency-Key": "k-1"}
    assert client.post("/admin/v1/partners", json={"name": "One"}, headers=headers).status_code == 201
    resp = client.post("/admin/v1/partners", json={"name": "Two"}, headers=headers)
    assert resp.status_code == 409
    assert resp.get_json()["code"] == "idempotency_key_reused"
    assert _count(any_app, "Two") == 0


def test_key_order_and_whitespace_do_not_change_the_fingerprint(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    client = any_app.test_client()
    headers = {**auth(op.test_key), "Idempotency-Key": "k-ws", "Content-Type": "application/json"}
    a = client.post("/admin/v1/partners", data='{"name": "W", "settings": {}}', headers=headers)
    b = client.post("/admin/v1/partners", data='{"settings":{},"name":"W"}', headers=headers)
    assert a.get_json()["id"] == b.get_json()["id"]


def test_keys_are_scoped_per_tenant_and_mode(any_app: Flask) -> None:
    op1 = make_tenant(any_app, TenantKind.OPERATOR, "Op1")
    op2 = make_tenant(any_app, TenantKind.OPERATOR, "Op2")
    client = any_app.test_client()
    ids = set()
    for key in (op1.test_key, op1.live_key, op2.test_key):
        resp = client.post(
            "/admin/v1/partners", json={"name": "Scoped"}, headers={**auth(key), "Idempotency-Key": "shared"}
        )
        ids.add(resp.get_json()["id"])
    assert len(ids) == 3


def test_failed_request_does_not_burn_the_key(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    client = any_app.test_client()
    headers = {**auth(op.test_key), "Idempotency-Key": "k-fail"}
    assert client.post("/admin/v1/partners", json={"name": ""}, headers=headers).status_code == 422
    assert client.post("/admin/v1/partners", json={"name": ""}, headers=headers).status_code == 422


def test_twenty_concurrent_identical_requests_have_one_effect(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    headers = {**auth(op.test_key), "Idempotency-Key": str(uuid.uuid4())}
    results: list[Any] = []
    barrier = threading.Barrier(20)

    def call() -> None:
        client = any_app.test_client()
        barrier.wait()
        resp = client.post("/admin/v1/partners", json={"name": "Race Co"}, headers=headers)
        results.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [201] * 20
    assert len({body["id"] for _, body in results}) == 1
    assert _count(any_app, "Race Co") == 1


def test_overlong_key_is_refused(app: Flask) -> None:
    op = make_tenant(app, TenantKind.OPERATOR)
    resp = app.test_client().post(
        "/admin/v1/partners", json={"name": "x"}, headers={**auth(op.test_key), "Idempotency-Key": "k" * 300}
    )
    assert resp.status_code == 422 and resp.get_json()["param"] == "Idempotency-Key"
