"""The widget over the real areas: identity, products, risk, loans and payments together."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from lendbridge.identity.validators import cn_id_check_char
from lendbridge.payments import services as payments
from lendbridge.payments.runtime import runtime as payments_runtime
from lendbridge.tenancy.models import Tenant
from tests.factories.loans import Book, make_book, set_day, uow_for, use_clock
from tests.factories.tenancy import auth
from tests.factories.widget import (
    applicant_body,
    apply_in_widget,
    create_session,
    verify_phone,
    widget_headers,
)

pytestmark = pytest.mark.integration

SCHOOL = {
    "id": "school_demo",
    "name": "Mingde Vocational School",
    "settlement_account": "CMB:6214830000000099",
}


def magic_id(sequence: str, birth: str = "19900307") -> str:
    """An ID number whose sequence code steers the bureau simulator (995 prime, 997 delinquent)."""
    body = "110105" + birth + sequence
    return body + cn_id_check_char(body)


@dataclass
class World:
    app: Flask
    book: Book
    client: FlaskClient


GRID = {g: Decimal(r) for g, r in zip("ABCDE", ("0.06", "0.09", "0.12", "0.15", "0.18"), strict=True)}


def _world(app: Flask) -> World:
    book = make_book(app, "Mingde", rate_grid=GRID)
    with uow_for(app, None) as uow:
        uow.session.execute(
            update(Tenant)
            .where(Tenant.id == book.partner.tenant_id)
            .values(settings={"scenario": "education", "merchants": [SCHOOL]})
        )
        uow.session.execute(
            update(Tenant)
            .where(Tenant.id == book.institution.tenant_id)
            .values(settings={"complaint_channel": {"phone": "95555", "email": "care@bank.example"}})
        )
        payments.register_custody_account(
            uow,
            institution_id=book.institution.tenant_id,
            livemode=False,
            bank_name="China Merchants Bank (simulated)",
            bank_code="CMB",
            account_number="6214830000001234",
            account_holder="Mingde Bank custody",
            rt=payments_runtime(app),  # the simulated custody bank opens it (with a balance)
        )
        uow.commit()
    return World(app, book, app.test_client())


def _apply(w: World, id_number: str, **details: Any) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    session, secret = create_session(w.client, w.book.partner.test_key, client_reference_id="enr_1")
    headers = widget_headers(w.book.partner.publishable_key, secret)
    verify_phone(w.client, headers)
    resp = apply_in_widget(w.client, headers, id_number=id_number, **details)
    assert resp.status_code == 200, resp.get_json()
    return headers, session, resp.get_json()


def test_the_preview_quotes_the_partners_product_with_its_lender(app: Flask) -> None:
    w = _world(app)
    _, secret = create_session(w.client, w.book.partner.test_key)
    preview = w.client.get(
        "/widget/v1/offer_preview", headers=widget_headers(w.book.partner.publishable_key, secret)
    ).get_json()
    # ¥10,000 over 12 months at the product's best rate, 6 %: 12 x ¥860.66.
    assert preview["term"] == 12 and preview["instalment_amount"] == 86066
    assert Decimal(preview["apr"]).quantize(Decimal("0.0001")) == Decimal("0.0600")
    assert preview["total_interest"] == preview["total_cost"]
    assert preview["lender_name"] == "Mingde Bank"
    assert preview["custody_bank_name"] == "China Merchants Bank (simulated)"
    assert preview["complaint_channel"] == {
        "phone": "95555",
        "email": "care@bank.example",
        "url": None,
        "regulator_hotline": "12378",
    }


def test_approved_signed_and_paid_to_the_school(any_app: Flask) -> None:
    w = _world(any_app)
    headers, session, decision = _apply(w, magic_id("995"), bank_card="6222 0212 3456 7890 128")
    assert decision["status"] == "approved", decision
    offer = decision["offers"][0]
    assert offer["term"] == 12 and offer["lender_name"] == "Mingde Bank" and offer["instalment_amount"] > 0
    agreement = w.client.post("/widget/v1/accept", json={"offer_id": offer["id"]}, headers=headers).get_json()
    assert "借款合同" in agreement["text"] and "LOAN AGREEMENT" in agreement["text"]
    assert "Mingde Vocational School" in agreement["text"] and len(agreement["hash"]) == 64
    signed = w.client.post(
        "/widget/v1/sign", json={"agreement_hash": agreement["hash"], "agree": True}, headers=headers
    )
    assert signed.status_code == 200, signed.get_json()
    loan = signed.get_json()["loan"]
    assert loan["id"] == agreement["loan_id"] and loan["disbursement"]["payee"] == "merchant"
    assert loan["disbursement"]["payee_name"] == "Mingde Vocational School"
    partner_loan = w.client.get(f"/v1/loans/{loan['id']}", headers=auth(w.book.partner.test_key)).get_json()
    assert partner_loan["agreement_hash"] == agreement["hash"]
    for _ in range(600):  # the payout runs on the task runner after the commit (up to 30 s on a busy machine)
        result = w.client.get("/widget/v1/result", headers=headers).get_json()
        if result["loan"]["disbursement"]["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert result["loan"]["disbursement"]["status"] == "succeeded", result
    assert result["loan"]["status"] == "active"
    partner = w.client.get(
        f"/v1/widget_sessions/{session['id']}", headers=auth(w.book.partner.test_key)
    ).get_json()
    assert partner["status"] == "completed" and partner["loan_id"] == loan["id"]


def test_a_delinquent_bureau_file_is_declined(any_app: Flask) -> None:
    w = _world(any_app)
    headers, session, decision = _apply(w, magic_id("997"))
    assert decision["status"] == "declined" and decision["offers"] == [] and decision["reason_codes"]
    partner = w.client.get(
        f"/v1/widget_sessions/{session['id']}", headers=auth(w.book.partner.test_key)
    ).get_json()
    assert partner["status"] == "completed" and partner["outcome"] == "declined"


def test_a_returning_borrower_is_found_by_id_number_but_must_give_the_same_name(app: Flask) -> None:
    w = _world(app)
    id_number = magic_id("995", birth="19880512")
    _, _, first = _apply(w, id_number)
    _, secret = create_session(w.client, w.book.partner.test_key)
    headers = widget_headers(w.book.partner.publishable_key, secret)
    verify_phone(w.client, headers)
    stranger = w.client.post(
        "/widget/v1/applicant", json=applicant_body(id_number=id_number, name="王小明"), headers=headers
    )
    assert stranger.status_code == 422 and stranger.get_json()["param"] == "name"
    assert stranger.get_json()["code"] == "identity_mismatch"
    again = w.client.post("/widget/v1/applicant", json=applicant_body(id_number=id_number), headers=headers)
    # The returning borrower passed the identity check last time: no second check needed.
    assert again.status_code == 200 and again.get_json()["required"] is False
    decision = w.client.post("/widget/v1/applications", json={}, headers=headers).get_json()
    assert decision["application_id"] != first["application_id"]


def test_a_late_borrower_pays_what_is_due_from_the_repayment_view(any_app: Flask) -> None:
    use_clock(any_app, date(2026, 11, 20))
    w = _world(any_app)
    card = "6222 0212 3456 7890 128"
    headers, _, decision = _apply(w, magic_id("995"), bank_card=card)
    offer = decision["offers"][0]
    agreement = w.client.post("/widget/v1/accept", json={"offer_id": offer["id"]}, headers=headers).get_json()
    sign = {"agreement_hash": agreement["hash"], "agree": True}
    assert w.client.post("/widget/v1/sign", json=sign, headers=headers).status_code == 200
    loan_id = agreement["loan_id"]
    key = w.book.partner.test_key
    for _ in range(600):
        if w.client.get(f"/v1/loans/{loan_id}", headers=auth(key)).get_json()["status"] == "active":
            break
        time.sleep(0.05)
    schedule = w.client.get(f"/v1/loans/{loan_id}/schedule", headers=auth(key)).get_json()
    first_due = date.fromisoformat(schedule["instalments"][0]["due_date"])
    set_day(any_app, first_due + timedelta(days=3))  # no auto-debit ran: the instalment is late

    _, secret = create_session(w.client, key, mode="repay", loan_id=loan_id, amount=None, scenario=None)
    repay = widget_headers(w.book.partner.publishable_key, secret)
    view = w.client.get("/widget/v1/loan", headers=repay).get_json()
    instalment = schedule["instalments"][0]["payment"]
    assert view["due_now"] > instalment and view["payment"] is None  # the instalment plus its penalty
    assert view["autodebit"]["card_last4"] == "0128"
    paying = w.client.post("/widget/v1/pay", json={}, headers=repay)
    assert paying.status_code == 200, paying.get_json()
    assert paying.get_json()["payment"]["amount"] == view["due_now"]
    for _ in range(600):
        view = w.client.get("/widget/v1/loan", headers=repay).get_json()
        if view["payment"]["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert view["payment"]["status"] == "succeeded", view
    [repayment] = w.client.get(f"/v1/loans/{loan_id}/repayments", headers=auth(key)).get_json()["data"]
    assert repayment["source"] == "debit_now", repayment
    assert repayment["business_date"] == (first_due + timedelta(days=3)).isoformat(), (repayment, view)
    assert view["due_now"] == 0 and view["instalments"][0]["status"] == "paid", view
    nothing = w.client.post("/widget/v1/pay", json={}, headers=repay)
    assert nothing.status_code == 409 and nothing.get_json()["code"] == "nothing_due"
