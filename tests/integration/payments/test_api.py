"""Endpoints: custody accounts, disbursement, mandates, payments; tenancy on every path."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lendbridge.ledger import postings
from lendbridge.payments.models import CustodyAccount
from lendbridge.tenancy.domain import TenantKind
from lendbridge.tenancy.models import Tenant
from tests.factories.payments import PaymentsWorld, make_world
from tests.factories.tenancy import auth, make_tenant

ACCOUNT = {
    "bank_name": "Bank of Shanghai",
    "bank_code": "BOSC",
    "account_number": "31658800000000077",
    "account_holder": "Xinhe City Commercial Bank",
}


def register(client: Any, key: str, **extra: Any) -> Any:
    return client.post("/v1/custody_accounts", json={**ACCOUNT, **extra}, headers=auth(key))


# -- custody accounts ---------------------------------------------------------------------------


def test_an_institution_registers_and_reads_its_custody_account_masked(any_app: Flask) -> None:
    inst = make_tenant(any_app, TenantKind.INSTITUTION, "Xinhe")
    client = any_app.test_client()
    resp = register(client, inst.test_key)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["object"] == "custody_account" and body["id"].startswith("ca_")
    assert (
        body["account_number"] == "****0077"
        and body["primary"] is True
        and body["institution"] == inst.tenant_id
    )
    assert "31658800000000077" not in resp.get_data(as_text=True)
    listed = client.get("/v1/custody_accounts", headers=auth(inst.test_key)).get_json()
    assert [a["id"] for a in listed["data"]] == [body["id"]]
    one = client.get(f"/v1/custody_accounts/{body['id']}", headers=auth(inst.test_key)).get_json()
    assert one["balance"] is None  # until the bank's first statement is reconciled
    # live mode sees none of the test accounts
    assert client.get("/v1/custody_accounts", headers=auth(inst.live_key)).get_json()["data"] == []


def test_one_primary_per_institution_and_mode(any_app: Flask) -> None:
    inst = make_tenant(any_app, TenantKind.INSTITUTION, "Xinhe")
    client = any_app.test_client()
    first = register(client, inst.test_key).get_json()
    second = register(client, inst.test_key, account_number="31658800000000078").get_json()
    third = register(client, inst.test_key, account_number="31658800000000079", primary=False).get_json()
    assert second["primary"] is True and third["primary"] is False
    assert (
        client.get(f"/v1/custody_accounts/{first['id']}", headers=auth(inst.test_key)).get_json()["primary"]
        is False
    )
    dup = register(client, inst.test_key)
    assert dup.status_code == 409 and dup.get_json()["code"] == "custody_account_exists"


def test_staff_register_for_an_institution_but_never_for_the_platform_or_a_partner(any_app: Flask) -> None:
    op = make_tenant(any_app, TenantKind.OPERATOR, "Ops")
    inst = make_tenant(any_app, TenantKind.INSTITUTION, "Xinhe")
    partner = make_tenant(any_app, TenantKind.PARTNER, "EduLink")
    client = any_app.test_client()
    ok = client.post(
        "/admin/v1/custody_accounts",
        json={**ACCOUNT, "institution": inst.tenant_id},
        headers=auth(op.test_key),
    )
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["institution"] == inst.tenant_id and ok.get_json()["livemode"] is False
    for tenant in (op, partner):
        bad = client.post(
            "/admin/v1/custody_accounts",
            json={**ACCOUNT, "account_number": "31658800000000099", "institution": tenant.tenant_id},
            headers=auth(op.test_key),
        )
        assert bad.status_code == 422 and bad.get_json()["code"] == "custody_account_not_allowed"
    listed = client.get(
        f"/admin/v1/custody_accounts?institution={inst.tenant_id}", headers=auth(op.test_key)
    ).get_json()
    assert len(listed["data"]) == 1
    got = client.get(f"/admin/v1/custody_accounts/{ok.get_json()['id']}", headers=auth(op.test_key))
    assert got.status_code == 200
    # The institution sees the account staff registered for it.
    assert len(client.get("/v1/custody_accounts", headers=auth(inst.test_key)).get_json()["data"]) == 1


def test_no_pooled_platform_account_exists(any_app: Flask) -> None:
    """The platform never holds money: no custody account and no ledger cash account is the operator's."""
    w = make_world(any_app)
    w.disburse(w.loan())
    with any_app.extensions["lendbridge"].db.reader() as s:
        owners = (
            s.execute(select(Tenant.kind).join(CustodyAccount, CustodyAccount.tenant_id == Tenant.id))
            .scalars()
            .all()
        )
        assert owners and set(owners) == {"institution"}
        from lendbridge.ledger.models import JournalEntry

        books = {row for row in s.execute(select(JournalEntry.institution_id)).scalars()}
        operator_ids = set(s.execute(select(Tenant.id).where(Tenant.kind != "institution")).scalars())
        assert not books & operator_ids
    assert not [a for a in postings.Account if "platform" in a.value or "pool" in a.value]


def test_partners_cannot_touch_custody_accounts(any_app: Flask) -> None:
    partner = make_tenant(any_app, TenantKind.PARTNER, "EduLink")
    client = any_app.test_client()
    assert client.get("/v1/custody_accounts", headers=auth(partner.test_key)).status_code == 403
    assert register(client, partner.test_key).status_code == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [("account_number", "12ab"), ("bank_code", "cmb"), ("currency", "USD"), ("surprise", 1)],
)
def test_bad_custody_input_is_a_422_naming_the_field(any_app: Flask, field: str, value: Any) -> None:
    inst = make_tenant(any_app, TenantKind.INSTITUTION, "Xinhe")
    resp = register(any_app.test_client(), inst.test_key, **{field: value})
    assert resp.status_code == 422 and resp.get_json()["param"] == field


# -- disbursement, mandates, payments -----------------------------------------------------------------


def test_disburse_endpoint_returns_the_payment_and_is_idempotent(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(principal=500_000)
    client = any_app.test_client()
    first = client.post(f"/v1/loans/{loan.loan_id}/disburse", headers=auth(w.partner.test_key))
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["object"] == "payment" and body["status"] == "pending" and body["amount"] == 500_000
    assert body["purpose"] == "disbursement" and body["counterparty"] == {
        "kind": "card",
        "bank_code": "ICBC",
        "last4": "7894",
    }
    assert len(body["instruction_id"]) == 32
    again = client.post(f"/v1/loans/{loan.loan_id}/disburse", headers=auth(w.partner.test_key)).get_json()
    assert again["id"] == body["id"] and again["instruction_id"] == body["instruction_id"]
    assert len(w.enqueued) == 1
    # the task runs it
    from lendbridge.payments import services

    services.execute_payment(body["id"], rt=w.rt)
    got = client.get(f"/v1/loans/{loan.loan_id}/disbursement", headers=auth(w.partner.test_key)).get_json()
    assert got["status"] == "succeeded" and got["channel"] == "unionpay_sim"
    assert [a["operation"] for a in got["attempts"] if a["operation"] != "callback"] == ["submit", "submit"]
    assert (
        client.get(f"/v1/payments/{body['id']}", headers=auth(w.partner.test_key)).get_json()["status"]
        == "succeeded"
    )
    listed = client.get(f"/v1/payments?loan={loan.loan_id}", headers=auth(w.partner.test_key)).get_json()
    assert [p["id"] for p in listed["data"]] == [body["id"]]


def test_disbursing_with_an_idempotency_key_replays(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan()
    client = any_app.test_client()
    headers = {**auth(w.partner.test_key), "Idempotency-Key": "dsb-1"}
    a = client.post(f"/v1/loans/{loan.loan_id}/disburse", headers=headers)
    b = client.post(f"/v1/loans/{loan.loan_id}/disburse", headers=headers)
    assert a.status_code == b.status_code == 201 and a.get_json() == b.get_json()
    assert b.headers.get("Idempotent-Replayed") == "true"


def test_merchant_payout_pays_the_settlement_account_less_the_subsidy(any_app: Flask) -> None:
    from lendbridge.payments.ports import Party, PartyKind

    w = make_world(any_app)
    school = Party(PartyKind.SETTLEMENT, "ICBC", "1202020000000011", "Mingde Vocational School")
    loan = w.loan(principal=1_200_000, disburse_to="merchant", merchant=school, subsidy=40_000)
    p = w.payment(w.disburse(loan))
    assert p.state == "succeeded" and p.amount == 1_160_000 and p.counterparty_kind == "settlement"
    assert p.counterparty_last4 == "0011"


def test_a_loan_that_is_not_signed_cannot_be_disbursed(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="pending_signature")
    resp = any_app.test_client().post(f"/v1/loans/{loan.loan_id}/disburse", headers=auth(w.partner.test_key))
    assert resp.status_code == 409 and resp.get_json()["code"] == "illegal_transition"


def test_no_custody_account_is_a_conflict(any_app: Flask) -> None:
    w = make_world(any_app)
    from lendbridge.payments.ports import PayableLoan

    other_inst = make_tenant(any_app, TenantKind.INSTITUTION, "No account bank")
    loan = w.loans.add(
        PayableLoan(
            "loan_01JD3Q8Z6S0M4W2C7V9E5K1T3P",
            w.partner.tenant_id,
            False,
            other_inst.tenant_id,
            "brw_x",
            "signed",
            "borrower",
            100_000,
        )
    )
    w.accounts.cards["brw_x"] = "6222021234567894"
    resp = any_app.test_client().post(f"/v1/loans/{loan.loan_id}/disburse", headers=auth(w.partner.test_key))
    assert resp.status_code == 409 and resp.get_json()["code"] == "custody_account_missing"


def test_a_failed_disbursement_can_be_retried_with_the_next_sequence(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(card="6222020000000056")  # insufficient funds
    first = w.payment(w.disburse(loan))
    assert first.state == "failed" and first.sequence == 1
    w.accounts.cards[loan.borrower_id] = "6222021234567894"
    second = w.payment(w.disburse(loan))
    assert (
        second.state == "succeeded" and second.sequence == 2 and second.instruction_id != first.instruction_id
    )


def test_mandate_endpoint_keeps_only_bank_and_last4(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="active")
    client = any_app.test_client()
    resp = client.post(f"/v1/loans/{loan.loan_id}/mandate", json={}, headers=auth(w.partner.test_key))
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["object"] == "mandate" and body["card"] == {
        "kind": "card",
        "bank_code": "ICBC",
        "last4": "7894",
    }
    assert "6222021234567894" not in resp.get_data(as_text=True)
    again = client.post(
        f"/v1/loans/{loan.loan_id}/mandate", json={}, headers=auth(w.partner.test_key)
    ).get_json()
    assert again["id"] == body["id"]
    assert (
        client.get(f"/v1/loans/{loan.loan_id}/mandate", headers=auth(w.partner.test_key)).get_json()["id"]
        == body["id"]
    )


# -- tenancy on every path -----------------------------------------------------------------------------


def _other_partner_paths(
    w: PaymentsWorld, loan_id: str, payment_id: str, mandate: bool
) -> list[tuple[str, str, Any]]:
    return [
        ("POST", f"/v1/loans/{loan_id}/disburse", None),
        ("GET", f"/v1/loans/{loan_id}/disbursement", None),
        ("POST", f"/v1/loans/{loan_id}/mandate", {}),
        ("GET", f"/v1/loans/{loan_id}/mandate", None),
        ("GET", f"/v1/payments/{payment_id}", None),
    ]


def test_another_tenant_gets_404_on_every_path(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="signed")
    payment_id = w.disburse(loan)
    client = any_app.test_client()
    client.post(f"/v1/loans/{loan.loan_id}/mandate", json={}, headers=auth(w.partner.test_key))
    other = make_tenant(any_app, TenantKind.PARTNER, "Intruder")
    for method, path, body in _other_partner_paths(w, loan.loan_id, payment_id, True):
        resp = client.open(path, method=method, json=body, headers=auth(other.test_key))
        assert resp.status_code == 404, (path, resp.get_json())
        # the owner in the other mode does not see it either
        resp = client.open(path, method=method, json=body, headers=auth(w.partner.live_key))
        assert resp.status_code == 404, (path, resp.get_json())
    assert client.get("/v1/payments", headers=auth(other.test_key)).get_json()["data"] == []
    assert (
        client.get(f"/v1/payments?loan={loan.loan_id}", headers=auth(other.test_key)).get_json()["data"] == []
    )
    other_inst = make_tenant(any_app, TenantKind.INSTITUTION, "Other bank")
    resp = client.get(f"/v1/custody_accounts/{w.custody_id}", headers=auth(other_inst.test_key))
    assert resp.status_code == 404
    assert client.get("/v1/custody_accounts", headers=auth(other_inst.test_key)).get_json()["data"] == []
    # staff endpoints are for staff only
    for path in (
        "/admin/v1/custody_accounts",
        f"/admin/v1/custody_accounts/{w.custody_id}",
        f"/admin/v1/payments/{payment_id}",
        "/admin/v1/payments/attention",
        "/admin/v1/reconciliation/reports",
        "/admin/v1/payment_channels",
    ):
        assert client.get(path, headers=auth(w.partner.test_key)).status_code == 403, path
        assert client.get(path, headers=auth(w.institution.test_key)).status_code == 403, path
