"""The /v1/loans and /v1/credit_lines API: shapes, scopes, idempotency and tenant isolation."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import func, select

from lendbridge.core.errors import NotFound
from lendbridge.core.pagination import PageRequest
from lendbridge.loans import contracts
from lendbridge.loans import services as loans
from lendbridge.loans.models import Repayment
from tests.factories.loans import (
    LINE_PRODUCT,
    Book,
    close_days,
    get_loan,
    make_book,
    make_credit_line,
    make_loan,
    make_product,
    set_day,
    uow_for,
    use_clock,
)
from tests.factories.tenancy import auth

START = date(2026, 1, 15)


def setup(app: Flask) -> tuple[Book, Book, str, str]:
    """Two books (institution + partner each) and a disbursed loan and a line in the first."""
    use_clock(app, START)
    first, second = make_book(app, "First"), make_book(app, "Second")
    loan_id = make_loan(app, first)
    line_product = make_product(app, first.institution, **LINE_PRODUCT)
    line_id = make_credit_line(app, Book(first.institution, first.partner, line_product))
    return first, second, loan_id, line_id


def post(app: Flask, key: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return app.test_client().post(
        path, json=body if body is not None else {}, headers={**auth(key), **headers}
    )


def get(app: Flask, key: str, path: str) -> Any:
    return app.test_client().get(path, headers=auth(key))


def test_a_partner_reads_its_loan_schedule_and_statement(any_app: Flask) -> None:
    first, _, loan_id, _ = setup(any_app)
    key = first.partner.test_key
    loan = get(any_app, key, f"/v1/loans/{loan_id}").get_json()
    assert loan["object"] == "loan" and loan["status"] == "active" and loan["principal"] == 1_200_000
    assert loan["annual_rate"] == "0.1200000000" and Decimal(loan["apr"]["nominal"]) > Decimal("0.12")
    assert loan["balances"] == {
        "principal": 1_200_000,
        "interest": 0,
        "penalty": 0,
        "fees": 0,
        "total": 1_200_000,
        "refund_due": 0,
        "recovered": 0,
    }
    assert loan["partner"] == first.partner.tenant_id and loan["institution"] == first.institution.tenant_id
    schedule = get(any_app, key, f"/v1/loans/{loan_id}/schedule").get_json()
    assert len(schedule["instalments"]) == 12 and schedule["total_principal"] == 1_200_000
    statement = get(any_app, key, f"/v1/loans/{loan_id}/statement").get_json()
    assert statement["matches_loan"] is True and statement["balances"]["loans_receivable"] == 1_200_000
    assert statement["data"][0]["entry_type"] == "disbursement"
    listed = get(any_app, key, "/v1/loans?status=active").get_json()
    assert [x["id"] for x in listed["data"]] == [loan_id]
    assert get(any_app, key, "/v1/loans?status=paid_off").get_json()["data"] == []
    by_borrower = get(any_app, key, f"/v1/loans?borrower={loan['borrower']}").get_json()
    assert [x["id"] for x in by_borrower["data"]] == [loan_id]


def test_repayment_replays_with_the_same_idempotency_key(any_app: Flask) -> None:
    first, _, loan_id, _ = setup(any_app)
    close_days(any_app, START, date(2026, 1, 31))
    key = first.partner.test_key
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    one = post(any_app, key, f"/v1/loans/{loan_id}/repayments", {"amount": 50_000}, **headers)
    two = post(any_app, key, f"/v1/loans/{loan_id}/repayments", {"amount": 50_000}, **headers)
    assert one.status_code == two.status_code == 201
    assert one.get_json()["id"] == two.get_json()["id"] and two.headers["Idempotent-Replayed"] == "true"
    other = post(any_app, key, f"/v1/loans/{loan_id}/repayments", {"amount": 60_000}, **headers)
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_key_reused"
    with any_app.extensions["lendbridge"].db.reader() as session:
        count = session.execute(
            select(func.count()).select_from(Repayment).where(Repayment.loan_id == loan_id)
        )
        assert count.scalar_one() == 1
    body = one.get_json()
    assert body["amount"] == 50_000 and body["prepayment"]["principal"] > 0  # nothing was due yet
    assert get_loan(any_app, loan_id).principal_outstanding == 1_200_000 - body["principal"]


def test_repeating_an_external_ref_returns_the_first_repayment(any_app: Flask) -> None:
    first, _, loan_id, _ = setup(any_app)
    key = first.partner.test_key
    one = post(any_app, key, f"/v1/loans/{loan_id}/repayments", {"amount": 10_000, "external_ref": "pay-1"})
    two = post(any_app, key, f"/v1/loans/{loan_id}/repayments", {"amount": 10_000, "external_ref": "pay-1"})
    assert one.get_json()["id"] == two.get_json()["id"]
    listed = get(any_app, key, f"/v1/loans/{loan_id}/repayments").get_json()
    assert [r["id"] for r in listed["data"]] == [one.get_json()["id"]]


@pytest.mark.parametrize(
    "body,param",
    [
        ({"amount": 100.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 100, "currency": "usd"}, "currency"),
        ({}, "amount"),
    ],
    ids=["float", "string", "zero", "unknown-field", "missing"],
)
def test_bad_repayment_input_is_a_422_naming_the_field(app: Flask, body: dict[str, Any], param: str) -> None:
    first, _, loan_id, _ = setup(app)
    resp = post(app, first.partner.test_key, f"/v1/loans/{loan_id}/repayments", body)
    assert resp.status_code == 422 and resp.get_json()["param"] == param


def test_quote_prepay_sign_and_cancel_through_the_api(any_app: Flask) -> None:
    first, _, loan_id, _ = setup(any_app)
    key = first.partner.test_key
    close_days(any_app, START, date(2026, 1, 31))
    quote = post(any_app, key, f"/v1/loans/{loan_id}/payoff_quote").get_json()
    assert quote["object"] == "payoff_quote" and quote["outstanding_principal"] == 1_200_000
    assert quote["total"] == 1_200_000 + quote["accrued_interest"] + quote["prepayment_fee"]
    partial = post(
        any_app, key, f"/v1/loans/{loan_id}/prepayments", {"mode": "shorten_term", "amount": 300_000}
    )
    assert partial.status_code == 201 and partial.get_json()["prepayment"]["future_rule"] == "shorten_term"
    missing = post(any_app, key, f"/v1/loans/{loan_id}/prepayments", {"mode": "lower_instalment"})
    assert missing.status_code == 422 and missing.get_json()["param"] == "amount"
    short = post(any_app, key, f"/v1/loans/{loan_id}/prepayments", {"mode": "full", "amount": 1000})
    assert short.status_code == 422 and short.get_json()["param"] == "amount"
    full = post(any_app, key, f"/v1/loans/{loan_id}/prepayments", {"mode": "full"})
    assert full.status_code == 201
    assert get(any_app, key, f"/v1/loans/{loan_id}").get_json()["status"] == "paid_off"
    again = post(any_app, key, f"/v1/loans/{loan_id}/repayments", {"amount": 100})
    assert again.status_code == 409 and again.get_json()["code"] == "illegal_transition"
    cancel = post(any_app, key, f"/v1/loans/{loan_id}/cancel")
    assert cancel.status_code == 409 and cancel.get_json()["code"] == "illegal_transition"

    pending = make_loan(any_app, first, sign=False)
    signed = post(
        any_app, key, f"/v1/loans/{pending}/sign", {"signer": "borrower (face + SMS)", "ip": "198.51.100.4"}
    )
    assert signed.status_code == 200 and signed.get_json()["status"] == "signed"
    assert len(signed.get_json()["agreement_hash"]) == 64
    resign = post(any_app, key, f"/v1/loans/{pending}/sign", {"signer": "x"})
    assert resign.status_code == 409
    cancelled = post(any_app, key, f"/v1/loans/{pending}/cancel", {"reason": "changed their mind"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"


def test_the_borrower_signs_exactly_the_agreement_they_were_shown(any_app: Flask) -> None:
    first, _, _, _ = setup(any_app)
    key = first.partner.test_key
    pending = make_loan(any_app, first, sign=False)
    path = f"/v1/loans/{pending}/agreement"
    unnamed = get(any_app, key, path)
    assert unnamed.status_code == 422 and unnamed.get_json()["param"] == "signer"
    signer = "borrower (face + SMS)"
    shown = get(any_app, key, f"{path}?signer={quote(signer)}").get_json()
    assert shown["object"] == "loan_agreement" and shown["signed"] is False and shown["signed_at"] is None
    assert shown["hash"] == contracts.agreement_hash(shown["text"]) and pending in shown["text"]
    assert "借款合同" in shown["text"] and "LOAN AGREEMENT" in shown["text"]

    sign = f"/v1/loans/{pending}/sign"
    malformed = post(any_app, key, sign, {"signer": signer, "agreement_hash": "abc"})
    assert malformed.status_code == 422 and malformed.get_json()["param"] == "agreement_hash"
    for body in (
        {"signer": signer, "agreement_hash": "0" * 64},  # not the text that was shown
        {"signer": "someone else", "agreement_hash": shown["hash"]},  # the text names the signer
    ):
        refused = post(any_app, key, sign, body)
        assert refused.status_code == 409 and refused.get_json()["code"] == "agreement_changed", body
    assert get(any_app, key, f"/v1/loans/{pending}").get_json()["status"] == "pending_signature"

    signed = post(any_app, key, sign, {"signer": signer, "agreement_hash": shown["hash"].upper()})
    assert signed.status_code == 200 and signed.get_json()["agreement_hash"] == shown["hash"]
    kept = get(any_app, key, path).get_json()  # the signed text needs no signer
    assert kept["signed"] is True and kept["signer"] == signer and kept["signed_at"] is not None
    assert (kept["hash"], kept["text"]) == (shown["hash"], shown["text"])
    funder = get(any_app, first.institution.test_key, path).get_json()
    assert funder["hash"] == shown["hash"]

    cancelled = make_loan(any_app, first, sign=False)
    post(any_app, key, f"/v1/loans/{cancelled}/cancel")
    gone = get(any_app, key, f"/v1/loans/{cancelled}/agreement?signer=x")
    assert gone.status_code == 409 and gone.get_json()["code"] == "illegal_transition"


def test_credit_line_draws_and_repayments_through_the_api(any_app: Flask) -> None:
    first, _, _, line_id = setup(any_app)
    key = first.partner.test_key
    line = get(any_app, key, f"/v1/credit_lines/{line_id}").get_json()
    assert line["limit"] == line["available"] == 20_000_000 and line["apr"].startswith("0.0740")
    draw = post(any_app, key, f"/v1/credit_lines/{line_id}/draws", {"amount": 5_000_000})
    assert draw.status_code == 201 and draw.get_json()["amount"] == 5_000_000
    too_much = post(any_app, key, f"/v1/credit_lines/{line_id}/draws", {"amount": 15_000_001})
    assert too_much.status_code == 422 and too_much.get_json()["param"] == "amount"
    close_days(any_app, START, date(2026, 1, 24))  # ten days of interest on 5,000,000 at 7.3 % / 360
    line = get(any_app, key, f"/v1/credit_lines/{line_id}").get_json()
    assert line["balances"]["interest"] == 10_139 and line["available"] == 15_000_000
    set_day(any_app, date(2026, 1, 25))
    repaid = post(any_app, key, f"/v1/credit_lines/{line_id}/repayments", {"amount": 1_010_139})
    assert repaid.status_code == 201 and (repaid.get_json()["interest"], repaid.get_json()["principal"]) == (
        10_139,
        1_000_000,
    )
    line = get(any_app, key, f"/v1/credit_lines/{line_id}").get_json()
    assert line["balances"] == {"principal": 4_000_000, "interest": 0, "total": 4_000_000}
    assert [x["id"] for x in get(any_app, key, "/v1/credit_lines").get_json()["data"]] == [line_id]


def _paths(loan_id: str, line_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/v1/loans/{loan_id}", None),
        ("GET", f"/v1/loans/{loan_id}/schedule", None),
        ("GET", f"/v1/loans/{loan_id}/statement", None),
        ("GET", f"/v1/loans/{loan_id}/repayments", None),
        ("GET", f"/v1/loans/{loan_id}/agreement", None),
        ("POST", f"/v1/loans/{loan_id}/repayments", {"amount": 100}),
        ("POST", f"/v1/loans/{loan_id}/payoff_quote", {}),
        ("POST", f"/v1/loans/{loan_id}/prepayments", {"mode": "full"}),
        ("POST", f"/v1/loans/{loan_id}/sign", {"signer": "x"}),
        ("POST", f"/v1/loans/{loan_id}/cancel", {}),
        ("GET", f"/v1/credit_lines/{line_id}", None),
        ("POST", f"/v1/credit_lines/{line_id}/draws", {"amount": 100}),
        ("POST", f"/v1/credit_lines/{line_id}/repayments", {"amount": 100}),
    ]


def _call(app: Flask, key: str, method: str, path: str, body: dict[str, Any] | None) -> Any:
    client = app.test_client()
    if method == "GET":
        return client.get(path, headers=auth(key))
    return client.post(path, json=body, headers=auth(key))


def test_another_partner_gets_404_on_every_loan_and_line_endpoint(any_app: Flask) -> None:
    _, second, loan_id, line_id = setup(any_app)
    for method, path, body in _paths(loan_id, line_id):
        resp = _call(any_app, second.partner.test_key, method, path, body)
        assert resp.status_code == 404, (method, path, resp.get_json())
        assert resp.get_json()["code"] == "resource_missing"
    assert get(any_app, second.partner.test_key, "/v1/loans").get_json()["data"] == []
    assert get(any_app, second.partner.test_key, "/v1/credit_lines").get_json()["data"] == []
    # The same partner in live mode does not see its test-mode loan either.
    first_live = get(any_app, setup_live_key(any_app, loan_id), f"/v1/loans/{loan_id}")
    assert first_live.status_code == 404


def setup_live_key(app: Flask, loan_id: str) -> str:
    loan = get_loan(app, loan_id)
    from lendbridge.tenancy import services as tenancy
    from lendbridge.uow import UnitOfWork

    svc = app.extensions["lendbridge"]
    with UnitOfWork(svc.db) as uow:
        issued = tenancy.issue_api_key(uow, tenancy.get_tenant(uow, loan.tenant_id), livemode=True)
        uow.commit()
        return issued.secret


def test_the_funding_institution_reads_and_another_institution_gets_404(any_app: Flask) -> None:
    first, second, loan_id, line_id = setup(any_app)
    reads = [
        (m, p, b)
        for m, p, b in _paths(loan_id, line_id)
        if p.startswith("/v1/loans") and (m == "GET" or p.endswith("payoff_quote"))
    ]
    for method, path, body in reads:
        ok = _call(any_app, first.institution.test_key, method, path, body)
        assert ok.status_code == 200, (path, ok.get_json())
        missing = _call(any_app, second.institution.test_key, method, path, body)
        assert missing.status_code == 404, (path, missing.get_json())
    listed = get(any_app, first.institution.test_key, "/v1/loans").get_json()
    assert [x["id"] for x in listed["data"]] == [loan_id]
    assert get(any_app, second.institution.test_key, "/v1/loans").get_json()["data"] == []
    # Credit lines: institution keys do not carry credit_lines:read today; the service's
    # cross-tenant read is still scoped to the funding institution.
    with uow_for(any_app, first.institution.tenant_id) as uow:
        assert loans.get_credit_line(uow, line_id, institution_id=first.institution.tenant_id).id == line_id
        listed_lines = loans.list_credit_lines(uow, PageRequest(), institution_id=first.institution.tenant_id)
        assert [x.id for x in listed_lines.data] == [line_id]
    with uow_for(any_app, second.institution.tenant_id) as uow:
        with pytest.raises(NotFound):
            loans.get_credit_line(uow, line_id, institution_id=second.institution.tenant_id)
        assert (
            loans.list_credit_lines(uow, PageRequest(), institution_id=second.institution.tenant_id).data
            == []
        )
    # Institutions read; they do not repay or sign on the partner's behalf.
    denied = post(any_app, first.institution.test_key, f"/v1/loans/{loan_id}/repayments", {"amount": 100})
    assert denied.status_code == 403 and denied.get_json()["code"] == "scope_insufficient"
