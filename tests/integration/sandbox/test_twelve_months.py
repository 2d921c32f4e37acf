"""A partner's whole integration in the sandbox: a 12-month loan on a test clock.

Everything goes through the public API, as a partner's test suite would: the institution
registers its custody account and product, the partner creates a borrower on a test clock,
runs KYC (liveness simulator), grants consents, applies, accepts, signs, sets up auto-debit
and disburses; then the clock advances month by month. Month 3's auto-debit fails once
(empty card) and the retry a day later pays it late; month 7's card stays empty through the
auto-debit and its retries, and the partner repays through the API five days late.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lendbridge.core.clock import start_of_business_day
from lendbridge.identity.validators import cn_id_check_char
from lendbridge.tenancy.domain import TenantKind
from tests.factories.identity import person
from tests.factories.tenancy import TenantKeys, auth, make_tenant

pytestmark = pytest.mark.integration

CARD = "6222021234567890128"


def noon(day: date) -> int:
    return int((start_of_business_day(day) + timedelta(hours=12)).timestamp())


class Partner:
    def __init__(self, client: FlaskClient, keys: TenantKeys) -> None:
        self.client, self.keys = client, keys

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        resp = getattr(self.client, method)(path, json=body, headers=auth(self.keys.test_key))
        assert resp.status_code in (status, 201), (path, resp.status_code, resp.get_json())
        return resp.get_json()

    def wait(self, path: str, done: Any, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            body = self.call("get", path)
            if done(body) or time.monotonic() > deadline:
                return body
            time.sleep(0.02)


def _setup(app: Flask) -> tuple[Partner, TenantKeys, TenantKeys]:
    client = app.test_client()
    institution = make_tenant(app, TenantKind.INSTITUTION, "Huaxia Consumer Finance")
    operator = make_tenant(app, TenantKind.OPERATOR, "Ops")
    bank = Partner(client, institution)
    bank.call(
        "post",
        "/v1/custody_accounts",
        {
            "bank_name": "China Merchants Bank",
            "bank_code": "CMB",
            "account_number": "6214830000001234",
            "account_holder": "Huaxia custody",
        },
    )
    bank.call(
        "post",
        "/v1/products",
        {
            "name": "Course instalments",
            "kind": "instalment",
            "borrower_type": "individual",
            "methods": ["equal_instalment"],
            "amount": {"min": 500_000, "max": 20_000_000},
            "term": {"min": 3, "max": 12},
            "rate": {"min": "0.06", "max": "0.18"},
            "penalty_rate": "0.27",
            "rate_grid": {"A": "0.06", "B": "0.09", "C": "0.12", "D": "0.15", "E": "0.18"},
        },
    )
    return Partner(client, make_tenant(app, TenantKind.PARTNER, "EduLink")), institution, operator


def test_a_twelve_month_loan_with_two_late_payments(any_app: Flask) -> None:
    partner, institution, operator = _setup(any_app)
    clock = partner.call(
        "post", "/v1/test_clocks", {"frozen_time": noon(date(2026, 1, 5)), "name": "12 months"}
    )

    def advance(day: date) -> None:
        partner.call("post", f"/v1/test_clocks/{clock['id']}/advance", {"frozen_time": noon(day)})
        ready = partner.wait(f"/v1/test_clocks/{clock['id']}", lambda c: c["status"] != "advancing", 300)
        assert ready["status"] == "ready" and ready["frozen_time"] == noon(day)

    id_number = "11010519900307995" + cn_id_check_char("11010519900307995")  # a prime bureau file
    borrower = partner.call(
        "post", "/v1/borrowers", {**person(id_number=id_number, bank_card=CARD), "test_clock": clock["id"]}
    )
    check = partner.call("post", f"/v1/borrowers/{borrower['id']}/liveness_checks", {})
    check = partner.wait(
        f"/v1/borrowers/{borrower['id']}/liveness_checks/{check['id']}", lambda c: c["status"] != "processing"
    )
    assert check["status"] == "passed"
    consents = [
        partner.call("post", f"/v1/borrowers/{borrower['id']}/consents", {"kind": k, "version": "2026-01"})[
            "id"
        ]
        for k in ("credit_bureau_query", "alt_data")
    ]
    application = partner.call(
        "post",
        "/v1/applications",
        {
            "borrower": borrower["id"],
            "amount": 1_200_000,
            "term": 12,
            "purpose": "education",
            "consent_ids": consents,
            "device": {"fingerprint": "fp-twelve-months", "ip": "203.0.113.7"},
        },
    )
    assert application["status"] == "approved", application
    offer = application["offers"][0]
    loan_id = partner.call("post", f"/v1/applications/{application['id']}/accept", {"offer_id": offer["id"]})[
        "loan"
    ]
    partner.call("post", f"/v1/loans/{loan_id}/sign", {"signer": borrower["id"], "ip": "203.0.113.7"})
    partner.call("post", f"/v1/loans/{loan_id}/mandate", {})
    partner.call("post", f"/v1/loans/{loan_id}/disburse", {})
    loan = partner.wait(
        f"/v1/loans/{loan_id}", lambda x: x["status"] != "signed" and x["status"] != "disbursing"
    )
    assert loan["status"] == "active" and loan["start_date"] == "2026-01-05"
    # Timestamps follow the loan's clock, not the wall clock.
    assert loan["created"] == loan["signed_at"] == loan["disbursed_at"] == noon(date(2026, 1, 5))
    assert loan["apr"]["nominal"] == offer["apr"]["nominal"]

    advance(date(2026, 4, 4))
    partner.call("post", "/v1/sandbox/cards/balance", {"bank_card": CARD, "amount": 0})
    advance(date(2026, 4, 5))  # the auto-debit on the due date fails: the loan is overdue tonight
    assert partner.call("get", f"/v1/loans/{loan_id}")["status"] == "overdue"
    partner.call("post", "/v1/sandbox/cards/balance", {"bank_card": CARD, "amount": None})
    advance(date(2026, 8, 4))  # the retry on the 6th pays it; May, June, July on time
    partner.call("post", "/v1/sandbox/cards/balance", {"bank_card": CARD, "amount": 0})
    advance(date(2026, 8, 10))
    late = partner.call("get", f"/v1/loans/{loan_id}")
    # Close of business has run for the 10th: six days past due, counting the due date.
    assert late["status"] == "overdue" and late["days_past_due"] == 6 and late["bucket"] == "4-7"
    owed = next(
        i for i in partner.call("get", f"/v1/loans/{loan_id}/schedule")["instalments"] if i["number"] == 7
    )
    assert owed["status"] == "overdue" and owed["penalty"] > 0
    partner.call("post", f"/v1/loans/{loan_id}/repayments", {"amount": owed["outstanding"]})
    partner.call("post", "/v1/sandbox/cards/balance", {"bank_card": CARD, "amount": None})
    advance(date(2027, 1, 10))

    loan = partner.call("get", f"/v1/loans/{loan_id}")
    assert loan["status"] == "paid_off" and loan["days_past_due"] == 0
    assert noon(date(2027, 1, 4)) < loan["paid_off_at"] <= noon(date(2027, 1, 10))
    schedule = partner.call("get", f"/v1/loans/{loan_id}/schedule")["instalments"]
    assert len(schedule) == 12 and sum(i["principal"] for i in schedule) == 1_200_000
    assert all(i["status"] == "paid" for i in schedule)
    paid_on = {i["number"]: i["paid_on"] for i in schedule}
    assert paid_on[3] == "2026-04-06" and paid_on[7] == "2026-08-10"
    assert all(paid_on[n] == i["due_date"] for n, i in enumerate(schedule, 1) if n not in (3, 7))
    assert {i["number"] for i in schedule if i["paid"]["penalty"] > 0} == {3, 7}

    repayments = partner.call("get", f"/v1/loans/{loan_id}/repayments?limit=100")["data"]
    assert len(repayments) == 12
    assert sum(r["amount"] for r in repayments) == sum(
        i["paid"]["principal"] + i["paid"]["interest"] + i["paid"]["penalty"] for i in schedule
    )
    events = Counter(e["type"] for e in partner.call("get", "/v1/events?limit=100")["data"])
    assert events["repayment.succeeded"] == 12 and events["loan.paid_off"] == 1
    assert events["loan.overdue"] == 2 and events["loan.cured"] == 2
    assert events["repayment.failed"] >= 2 and events["loan.disbursed"] == 1

    statement = partner.call("get", f"/v1/loans/{loan_id}/statement")
    assert statement["matches_loan"] is True
    receivables = ("loans_receivable", "interest_receivable", "penalty_receivable", "fee_receivable")
    assert all(statement["balances"][a] == 0 for a in receivables)
    trial = (
        any_app.test_client()
        .get(
            f"/admin/v1/ledger/trial_balance?institution={institution.tenant_id}&livemode=false",
            headers=auth(operator.test_key),
        )
        .get_json()
    )
    assert trial["total_debit"] == trial["total_credit"], trial
