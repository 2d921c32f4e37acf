"""The audit log is append-only and hash-chained; tampering is detected."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lendbridge.audit.service import ONE_STATEMENT_MAX, record, verify
from lendbridge.tenancy.domain import TenantKind
from tests.factories.tenancy import auth, make_tenant


def _records(app: Flask) -> list[dict[str, object]]:
    with app.extensions["lendbridge"].db.reader() as s:
        return [dict(r._mapping) for r in s.execute(text("SELECT * FROM audit_records ORDER BY chain, seq"))]


def test_writes_are_audited_with_actor_and_request_id(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR)
    resp = any_app.test_client().post(
        "/admin/v1/partners", json={"name": "Audited"}, headers=auth(op.test_key)
    )
    created = resp.get_json()["id"]
    rows = [r for r in _records(any_app) if r["object_id"] == created]
    assert len(rows) == 1
    row = rows[0]
    assert row["action"] == "tenant.created" and row["request_id"] == resp.headers["X-Request-Id"]
    assert str(row["actor"]).startswith("usr_")
    with any_app.extensions["lendbridge"].db.snapshot() as s:
        assert all(r.ok for r in verify(s))


def test_audit_records_refuse_update_and_delete(any_app: Flask) -> None:
    make_tenant(any_app)
    db = any_app.extensions["lendbridge"].db
    for stmt in ("UPDATE audit_records SET actor = 'mallory'", "DELETE FROM audit_records"):
        with pytest.raises(DBAPIError, match="append-only"), db.writer() as s:
            s.execute(text(stmt))
            s.commit()


def test_tampering_is_detected(app: Flask) -> None:
    make_tenant(app)
    make_tenant(app, name="Second")
    db = app.extensions["lendbridge"].db
    with db.writer() as s:
        # A privileged attacker bypasses the trigger; the chain still tells.
        s.execute(text("DROP TRIGGER audit_records_no_update"))
        s.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE seq = 1"))
        s.commit()
    with db.snapshot() as s:
        reports = verify(s)
    assert any(not r.ok and "altered" in (r.problem or "") for r in reports)


def test_removing_the_last_record_is_detected(app: Flask) -> None:
    make_tenant(app)
    db = app.extensions["lendbridge"].db
    with db.writer() as s:
        s.execute(text("DROP TRIGGER audit_records_no_delete"))
        s.execute(
            text(
                "DELETE FROM audit_records WHERE id = (SELECT id FROM audit_records ORDER BY created DESC, "
                "seq DESC LIMIT 1)"
            )
        )
        s.commit()
    with db.snapshot() as s:
        assert any(not r.ok for r in verify(s))


@pytest.mark.parametrize("count", [1, 3, ONE_STATEMENT_MAX, ONE_STATEMENT_MAX + 1])
def test_one_commit_chains_any_number_of_records(any_app: Flask, count: int) -> None:
    # Up to ONE_STATEMENT_MAX records go in one statement with the head move; more go
    # as executemany. Both must leave an unbroken chain with every record in order.
    tenant = make_tenant(any_app)
    db = any_app.extensions["lendbridge"].db
    with db.writer() as s:
        for n in range(count):
            record(s, "test.recorded", "obj_same", {"n": n}, tenant_id=tenant.tenant_id, livemode=False)
        s.commit()
    rows = [r for r in _records(any_app) if r["object_id"] == "obj_same"]
    assert len(rows) == count
    assert [r["seq"] for r in rows] == list(range(rows[0]["seq"], rows[0]["seq"] + count))
    with db.snapshot() as s:
        assert all(r.ok for r in verify(s))
