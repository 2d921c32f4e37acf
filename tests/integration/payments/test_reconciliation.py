"""Reconciliation against the simulators' statement files, the report API and resolutions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from lendbridge.audit.models import AuditRecord
from lendbridge.core.clock import business_date
from lendbridge.events.models import Event
from lendbridge.payments import services
from lendbridge.tasks import REGISTRY
from tests.factories.payments import CUSTODY_NUMBER, PaymentsWorld, make_world
from tests.factories.tenancy import auth


def today() -> date:
    return business_date(datetime.now(UTC))


def reconcile(w: PaymentsWorld, day: date | None = None) -> dict[str, Any]:
    resp = w.app.test_client().post(
        "/admin/v1/reconciliation/reports",
        json={"business_date": (day or today()).isoformat()},
        headers=auth(w.operator.test_key),
    )
    assert resp.status_code == 201, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body


def paid(w: PaymentsWorld, n: int) -> list[Any]:
    return [w.payment(w.disburse(w.loan(principal=100_000 + i))) for i in range(n)]


def test_a_clean_day_has_no_breaks_and_mirrors_the_custody_balance(any_app: Flask) -> None:
    w = make_world(any_app)
    payments = paid(w, 3)
    report = reconcile(w)
    assert report["status"] == "clean" and report["breaks"] == 0 and report["double_payouts"] == 0
    assert report["items"] == []
    by_source = {s["source"]: s for s in report["sources"]}
    assert by_source["unionpay_sim"]["matched"] == 3 and by_source["unionpay_sim"]["rows"] == 3
    assert by_source[f"custody:{w.custody_id}"]["matched"] == 3
    assert report["matched"] == 6
    account = (
        any_app.test_client()
        .get(f"/v1/custody_accounts/{w.custody_id}", headers=auth(w.institution.test_key))
        .get_json()
    )
    expected = 10_000_000_000 - sum(p.amount for p in payments)
    assert account["balance"] == expected == w.sims.custody_bank.balance(CUSTODY_NUMBER)
    assert account["statement_date"] == today().isoformat()


def test_injected_breaks_are_found_reported_and_resolved(any_app: Flask) -> None:
    w = make_world(any_app)
    a, b, c = paid(w, 3)
    up = w.sims.channel("unionpay_sim")
    up.tamper_amount(a.instruction_id, a.amount + 1)
    up.duplicate_in_statement(b.instruction_id)
    up.add_phantom("LBPHANTOM0000000000000000000001", 777, CUSTODY_NUMBER)
    report = reconcile(w)
    assert report["status"] == "breaks"
    found = sorted((x["kind"], x["instruction_id"]) for x in report["items"])
    assert found == sorted(
        [
            ("amount_mismatch", a.instruction_id),
            ("duplicate", b.instruction_id),
            ("missing_ours", "LBPHANTOM0000000000000000000001"),
        ]
    )
    mismatch = next(x for x in report["items"] if x["kind"] == "amount_mismatch")
    assert mismatch["ours_amount"] == a.amount and mismatch["theirs_amount"] == a.amount + 1
    assert mismatch["institution"] == w.institution.tenant_id and mismatch["payment"] == a.id
    # the institution is told
    with any_app.extensions["lendbridge"].db.reader() as s:
        events = s.execute(select(Event).where(Event.type == "reconciliation.break_found")).scalars().all()
        assert {e.tenant_id for e in events} == {w.institution.tenant_id} and len(events) == 3

    client = any_app.test_client()
    staff = auth(w.operator.test_key)
    no_note = client.post(
        f"/admin/v1/reconciliation/breaks/{mismatch['id']}/resolve",
        json={"action": "adjusted"},
        headers=staff,
    )
    assert no_note.status_code == 422 and no_note.get_json()["param"] == "note"
    bad = client.post(
        f"/admin/v1/reconciliation/breaks/{mismatch['id']}/resolve",
        json={"action": "ignore", "note": "x"},
        headers=staff,
    )
    assert bad.status_code == 422 and bad.get_json()["param"] == "action"
    for item, action in zip(report["items"], ("escalated", "adjusted", "refund_requested"), strict=True):
        resp = client.post(
            f"/admin/v1/reconciliation/breaks/{item['id']}/resolve",
            json={"action": action, "note": "ticket 88"},
            headers=staff,
        )
        assert resp.status_code == 200 and resp.get_json()["resolution"] == action
    again = client.post(
        f"/admin/v1/reconciliation/breaks/{report['items'][1]['id']}/resolve",
        json={"action": "adjusted", "note": "x"},
        headers=staff,
    )
    assert again.status_code == 409
    got = client.get(f"/admin/v1/reconciliation/reports/{report['id']}", headers=staff).get_json()
    assert got["open_breaks"] == 1 and got["status"] == "breaks"  # the escalated one is still open
    esc = next(x for x in got["items"] if x["resolution"] == "escalated")
    client.post(
        f"/admin/v1/reconciliation/breaks/{esc['id']}/resolve",
        json={"action": "written_off", "note": "ok"},
        headers=staff,
    )
    got = client.get(f"/admin/v1/reconciliation/reports/{report['id']}", headers=staff).get_json()
    assert got["open_breaks"] == 0 and got["status"] == "resolved"
    listed = client.get("/admin/v1/reconciliation/reports", headers=staff).get_json()
    assert [r["id"] for r in listed["data"]] == [report["id"]] and "items" not in listed["data"][0]
    with any_app.extensions["lendbridge"].db.reader() as s:
        actions = s.execute(
            select(AuditRecord.action).where(AuditRecord.action == "reconciliation.break_resolved")
        ).all()
        assert len(actions) == 4


def test_a_payment_we_think_unknown_but_the_channel_executed_is_missing_ours(any_app: Flask) -> None:
    w = make_world(any_app)
    up = w.sims.channel("unionpay_sim")
    up.callback = None
    original = up.submit
    up.ambiguous_next(1)

    def then_down(order: dict[str, Any], client_timeout: float | None = None) -> dict[str, Any]:
        try:
            return original(order, client_timeout)
        finally:
            up.kill()

    up.submit = then_down
    p = w.payment(w.disburse(w.loan()))
    assert p.state == "unknown"
    up.restore()  # it is back for the statement, but nobody has re-queried yet
    report = reconcile(w)
    kinds = sorted((x["kind"], x["source"]) for x in report["items"])
    assert kinds == [("missing_ours", f"custody:{w.custody_id}"), ("missing_ours", "unionpay_sim")]
    assert all(x["payment"] == p.id for x in report["items"])


def test_a_double_payout_on_two_channels_is_flagged(any_app: Flask) -> None:
    """We make the second channel execute the same id behind our back (as a buggy
    integration would): reconciliation must see it."""
    w = make_world(any_app)
    (p,) = paid(w, 1)
    from lendbridge.payments.channels import order_body
    from tests.factories.payments import order

    w.sims.channel("netsunion_sim").submit(order_body(order(p.instruction_id, p.amount)), 1.0)
    report = reconcile(w)
    assert report["double_payouts"] == 1
    kinds = sorted((x["kind"], x["source"]) for x in report["items"])
    assert kinds == [("duplicate", f"custody:{w.custody_id}"), ("duplicate", "netsunion_sim")]


def test_the_daily_task_reconciles_yesterday(any_app: Flask) -> None:
    w = make_world(any_app)
    with any_app.app_context():
        REGISTRY["payments.reconcile"]()
        REGISTRY["payments.reconcile"]()  # the schedule firing again: yesterday is done
        REGISTRY["payments.reconcile"](today().isoformat())
    with w.rt.new_uow() as uow:
        page = services.list_reports(
            uow, __import__("lendbridge.core.pagination", fromlist=["PageRequest"]).PageRequest()
        )
        dates = sorted(r.business_date for r in page.data)
    assert dates == [today() - timedelta(days=1), today()]


def test_only_staff_with_the_scope_reconcile(any_app: Flask) -> None:
    w = make_world(any_app)
    client = any_app.test_client()
    body = {"business_date": today().isoformat()}
    assert (
        client.post(
            "/admin/v1/reconciliation/reports", json=body, headers=auth(w.institution.test_key)
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/admin/v1/reconciliation/reports", json=body, headers=auth(w.partner.test_key)
        ).status_code
        == 403
    )
    assert (
        client.get(
            "/admin/v1/reconciliation/reports/rcn_01JD3Q8Z6S0M4W2C7V9E5K1T3P",
            headers=auth(w.operator.test_key),
        ).status_code
        == 404
    )
