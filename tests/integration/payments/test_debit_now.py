"""A one-off debit the borrower asks for (POST /v1/loans/{id}/debits), under the mandate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from lendbridge.payments import services
from lendbridge.tenancy.domain import TenantKind
from tests.factories.payments import CARD, PaymentsWorld, make_world
from tests.factories.tenancy import auth, make_tenant
from tests.integration.payments.test_auto_debit import event_types, mandate


def debit(w: PaymentsWorld, loan_id: str, body: dict[str, Any] | None = None) -> Any:
    return w.app.test_client().post(
        f"/v1/loans/{loan_id}/debits", json=body or {}, headers=auth(w.partner.test_key)
    )


def test_an_overdue_borrower_pays_now_after_topping_up_the_card(any_app: Flask) -> None:
    w = make_world(any_app)
    today = any_app.extensions["lendbridge"].clock.now().date()
    overdue, upcoming = today - timedelta(days=5), today + timedelta(days=26)
    loan = w.loan(state="overdue", dues=[(overdue, 105_000), (upcoming, 105_000)])

    no_mandate = debit(w, loan.loan_id)
    assert no_mandate.status_code == 409 and no_mandate.get_json()["code"] == "mandate_missing"
    mandate(w, loan.loan_id)
    w.sims.set_card_balance(CARD, 50_000)

    first = debit(w, loan.loan_id)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    # Everything due by today (not the instalment due next month), from the card on file.
    assert (body["amount"], body["purpose"], body["direction"]) == (105_000, "debit_now", "collection")
    assert body["status"] == "pending" and w.enqueued[-1] == (
        "payments.execute",
        (body["id"], w.partner.tenant_id, False),
    )
    again = debit(w, loan.loan_id)  # a second tap while the first is pending
    assert again.status_code == 201 and again.get_json()["id"] == body["id"]

    assert services.execute_payment(body["id"], rt=w.rt) == "failed"
    failed = w.payment(body["id"])
    assert failed.failure_code == "insufficient_funds"
    assert sorted(event_types(any_app, body["id"])) == ["payment.failed", "repayment.failed"]
    assert w.loans.loans[loan.loan_id].repayments == []

    w.sims.set_card_balance(CARD, 500_000)
    custody_before = w.sims.custody_bank.balance("6214830000000001")
    retry = debit(w, loan.loan_id).get_json()
    assert retry["id"] != body["id"]
    assert services.execute_payment(retry["id"], rt=w.rt) == "succeeded"
    paid = w.payment(retry["id"])
    assert w.loans.loans[loan.loan_id].repayments == [(105_000, paid.instruction_id)]
    assert w.sims.custody_bank.balance("6214830000000001") == custody_before + 105_000

    nothing = debit(w, loan.loan_id)
    assert nothing.status_code == 409 and nothing.get_json()["code"] == "nothing_due"
    early = debit(w, loan.loan_id, {"amount": 20_000})  # an explicit amount prepays
    assert early.status_code == 201 and early.get_json()["amount"] == 20_000


def test_bad_amounts_and_loans_that_take_no_repayment(any_app: Flask) -> None:
    w = make_world(any_app)
    loan = w.loan(state="active")
    mandate(w, loan.loan_id)
    for amount in (0, -5, 1.5, "100", True):
        resp = debit(w, loan.loan_id, {"amount": amount})
        assert resp.status_code == 422 and resp.get_json()["param"] == "amount", amount
    signed = w.loan(state="signed")
    refused = debit(w, signed.loan_id, {"amount": 100})
    assert refused.status_code == 409 and refused.get_json()["code"] == "illegal_transition"
    other = make_tenant(any_app, TenantKind.PARTNER, "Another partner")
    hidden = w.app.test_client().post(
        f"/v1/loans/{loan.loan_id}/debits", json={"amount": 100}, headers=auth(other.test_key)
    )
    assert hidden.status_code == 404
