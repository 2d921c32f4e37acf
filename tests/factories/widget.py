"""Widget helpers: sessions in one line, widget headers, and an in-memory Lending fake."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from lendbridge.core.errors import Conflict, NotFound
from lendbridge.core.ids import new_id
from lendbridge.db import SYSTEM
from lendbridge.tenancy.domain import TenantKind
from lendbridge.tenancy.models import Tenant
from lendbridge.uow import UnitOfWork
from lendbridge.widget.api import EXTENSION, WidgetDeps
from lendbridge.widget.ports import (
    Agreement,
    ApplicantRequest,
    ApplicationRequest,
    ApplicationResult,
    Identified,
    IdentityCheck,
    Signer,
)
from tests.factories.tenancy import TenantKeys, auth, make_tenant

EDUCATION = {
    "type": "education",
    "course_id": "py-fullstack",
    "course_name": "Python 全栈开发",
    "merchant_id": "school_demo",
    "tuition": 1_000_000,
    "disburse_to_merchant": True,
}
VALID_ID = "11010519491231002X"
PHONE = "13812345678"


SCHOOL = {
    "id": "school_demo",
    "name": "Mingde Vocational School",
    "settlement_account": "CMB:6214830000000099",
}


def make_partner(app: Flask, name: str = "Acme", **kwargs: Any) -> TenantKeys:
    """A partner with the demo school registered as its merchant (enrol = disburse)."""
    keys = make_tenant(app, TenantKind.PARTNER, name, **kwargs)
    svc = app.extensions["lendbridge"]
    with UnitOfWork(svc.db, SYSTEM, clock=svc.clock) as uow:
        tenant = uow.session.get(Tenant, keys.tenant_id)
        assert tenant is not None
        tenant.settings = {**(tenant.settings or {}), "merchants": [dict(SCHOOL)]}
        uow.commit()
    return keys


def session_args(**overrides: Any) -> dict[str, Any]:
    """A valid apply-mode session body; an override of None leaves that field out."""
    body: dict[str, Any] = {"amount": 1_000_000, "currency": "CNY", "scenario": dict(EDUCATION)}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create_session(client: FlaskClient, key: str, **overrides: Any) -> tuple[dict[str, Any], str]:
    resp = client.post("/v1/widget_sessions", json=session_args(**overrides), headers=auth(key))
    assert resp.status_code == 201, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body, str(body["client_secret"])


def widget_headers(publishable_key: str, secret: str, origin: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {publishable_key}", "LendBridge-Widget-Session": secret}
    if origin:
        headers["Origin"] = origin
    return headers


def verify_phone(client: FlaskClient, headers: dict[str, str], phone: str = PHONE) -> None:
    """Send a code and verify with the test-mode magic code."""
    assert client.post("/widget/v1/otp", json={"phone": phone}, headers=headers).status_code == 200
    resp = client.post("/widget/v1/otp/verify", json={"code": "000000"}, headers=headers)
    assert resp.get_json()["verified"] is True


def applicant_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "李明",
        "id_number": VALID_ID,
        "phone": PHONE,
        "consents": {"credit_bureau_query": True, "data_processing": True},
        "device": {"fingerprint": "fp-0123456789abcdef"},
    }
    body.update(overrides)
    return body


def apply_in_widget(client: FlaskClient, headers: dict[str, str], **applicant: Any) -> Any:
    """Phone verified -> details -> identity check (waited for) -> application: the response."""
    resp = client.post("/widget/v1/applicant", json=applicant_body(**applicant), headers=headers)
    assert resp.status_code == 200, resp.get_json()
    if resp.get_json()["required"]:
        assert client.post("/widget/v1/identity_check", headers=headers).status_code == 200
        for _ in range(200):
            check = client.get("/widget/v1/identity_check", headers=headers).get_json()
            if check["status"] != "processing":
                break
            time.sleep(0.05)
    return client.post(
        "/widget/v1/applications", json={"device": {"fingerprint": "fp-0123456789abcdef"}}, headers=headers
    )


@dataclass
class FakeLoan:
    id: str
    status: str = "pending_signature"
    signed_hash: str | None = None
    agreement_version: int = 1


@dataclass
class FakeLending:
    """Stands in for identity + risk + loans + payments: records what the widget asked."""

    outcome: str = "approved"
    applicants: list[ApplicantRequest] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    requests: list[ApplicationRequest] = field(default_factory=list)
    loans: dict[str, FakeLoan] = field(default_factory=dict)
    applications: dict[str, ApplicationResult] = field(default_factory=dict)
    paid_now: list[str] = field(default_factory=list)

    def offer_preview(self, uow: UnitOfWork, *, amount: int, scenario: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "object": "offer_preview",
            "indicative": True,
            "amount": amount,
            "term": 12,
            "method": "equal_instalment",
            "instalment_amount": 86066,
            "annual_rate": "0.0600000000",
            "apr": "0.0600000000",
            "total_interest": 32794,
            "total_fees": 0,
            "total_cost": 32794,
            "total_payment": amount + 32794,
            "lender_name": "Huaxia Consumer Finance (demo)",
            "custody_bank_name": "China Merchants Bank (simulated)",
            "complaint_channel": {"phone": "95555", "regulator_hotline": "12378"},
            "product_id": "prod_fake",
        }

    def register_applicant(self, uow: UnitOfWork, request: ApplicantRequest) -> Identified:
        self.applicants.append(request)
        return Identified(new_id("brw"), "pending")

    def start_identity_check(self, uow: UnitOfWork, borrower_id: str) -> IdentityCheck:
        self.checks[borrower_id] = "passed"  # the fake provider answers at once
        return IdentityCheck("processing", "pending")

    def identity_check(self, uow: UnitOfWork, borrower_id: str) -> IdentityCheck:
        status = self.checks.get(borrower_id, "none")
        return IdentityCheck(status, "verified" if status == "passed" else "pending")

    def submit_application(self, uow: UnitOfWork, request: ApplicationRequest) -> ApplicationResult:
        self.requests.append(request)
        app_id = new_id("app")
        offers = (
            (
                {
                    "id": new_id("ofr"),
                    "term": 12,
                    "amount": request.amount,
                    "instalment_amount": 86066,
                    "apr": "0.06",
                },
            )
            if self.outcome == "approved"
            else ()
        )
        result = ApplicationResult(
            borrower_id=request.borrower_id,
            application_id=app_id,
            status=self.outcome,
            reason_codes=() if self.outcome == "approved" else ("score_below_min",),
            offers=offers,
        )
        self.applications[app_id] = result
        return result

    def decision(self, uow: UnitOfWork, application_id: str) -> ApplicationResult:
        return self.applications[application_id]

    def accept_offer(self, uow: UnitOfWork, application_id: str, offer_id: str) -> str:
        offers = {str(o["id"]) for o in self.applications[application_id].offers}
        if offer_id not in offers:
            raise NotFound("No such offer on this application", param="offer_id")
        loan = FakeLoan(new_id("loan"))
        self.loans[loan.id] = loan
        return loan.id

    def agreement(self, uow: UnitOfWork, loan_id: str, signer: Signer) -> Agreement:
        loan = self.loans[loan_id]
        text = f"借款合同 v{loan.agreement_version} / LOAN AGREEMENT for {loan_id}; signed by {signer.label}"
        return Agreement(loan_id, f"hash-{loan.agreement_version}-{len(text)}", text, "fake")

    def sign(self, uow: UnitOfWork, loan_id: str, agreement_hash: str, signer: Signer) -> None:
        loan = self.loans[loan_id]
        if loan.signed_hash is not None:
            raise Conflict("already signed")
        loan.signed_hash = agreement_hash
        loan.status = "disbursing"

    def loan_status(self, uow: UnitOfWork, loan_id: str) -> dict[str, Any]:
        if loan_id not in self.loans:
            raise NotFound(f"No such loan: '{loan_id}'", param="id")
        loan = self.loans[loan_id]
        return {"id": loan.id, "status": loan.status, "disbursement": {"status": "processing", "amount": 1}}

    def repayment_view(self, uow: UnitOfWork, loan_id: str) -> dict[str, Any]:
        due = {
            "number": 1,
            "due_date": "2026-04-15",
            "principal": 80000,
            "interest": 6066,
            "amount_due": 86066,
        }
        return {
            "loan_id": loan_id,
            "status": self.loans[loan_id].status,
            "currency": "CNY",
            "principal": 1_000_000,
            "outstanding": 1_000_000,
            "next_due": {**due, "status": "pending"},
            "instalments": [{**due, "status": "pending"}],
            "lender_name": "Huaxia Consumer Finance (demo)",
            "autodebit": {"bank": "ICBC", "card_last4": "0128"},
            "due_now": 86066,
            "payment": {"amount": 86066, "status": "pending", "failure_code": None}
            if loan_id in self.paid_now
            else None,
        }

    def pay_now(self, uow: UnitOfWork, loan_id: str) -> None:
        self.paid_now.append(loan_id)


def use_fake_lending(app: Flask, fake: FakeLending | None = None) -> FakeLending:
    """Swap the widget's Lending port for a fake (the SMS simulator stays real)."""
    fake = fake or FakeLending()
    deps: WidgetDeps = app.extensions[EXTENSION]
    deps.lending = fake
    return fake
