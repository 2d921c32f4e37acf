"""The production wiring: identity, products and loans services behind the risk ports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select

from lendbridge.events.models import Event
from lendbridge.loans.models import Loan
from lendbridge.risk.adapters import AreaIntegrations
from lendbridge.risk.runtime import runtime
from lendbridge.tenancy.domain import TenantKind
from tests.factories.loans import make_product
from tests.factories.risk import Keys, application, magic_uscc, ready_borrower
from tests.factories.tenancy import auth, make_tenant

TEACHER_PRODUCT: dict[str, Any] = {
    "name": "Provident-fund teacher loan",
    "kind": "instalment",
    "borrower_type": "individual",
    "methods": ["equal_instalment", "equal_principal"],
    "amount": {"min": 500_000, "max": 20_000_000},
    "term": {"min": 3, "max": 24},
    "rate": {"min": Decimal("0.06"), "max": Decimal("0.20")},
    "penalty_rate": Decimal("0.27"),
    "rate_grid": {
        "A": Decimal("0.07"),
        "B": Decimal("0.09"),
        "C": Decimal("0.11"),
        "D": Decimal("0.14"),
        "E": Decimal("0.18"),
    },
    "eligibility": {
        "occupations": ["teacher", "civil_servant"],
        "regions": ["31"],
        "min_age": 22,
        "max_age": 55,
    },
}


def test_an_application_is_decided_and_accepted_through_the_real_services(
    risk_app: Flask, keys: Keys
) -> None:
    assert isinstance(runtime(risk_app).integrations, AreaIntegrations)
    bank = make_tenant(risk_app, TenantKind.INSTITUTION, "Huaxia CF")
    fund = make_product(risk_app, bank, **TEACHER_PRODUCT)
    south = make_product(
        risk_app, bank, **{**TEACHER_PRODUCT, "name": "South only", "eligibility": {"regions": ["44"]}}
    )
    client = risk_app.test_client()
    borrower, consents = ready_borrower(risk_app, client, keys.partner)
    body = application(
        borrower,
        consents,
        scenario={
            "merchant_id": "school_demo",
            "disburse_to_merchant": True,
            "tuition": 3_000_000,
            "enrolment_confirmed": True,
        },
    )
    data = client.post("/v1/applications", json=body, headers=auth(keys.partner)).get_json()
    assert data["status"] == "approved", data["reason_codes"]
    assert [o["product"] for o in data["offers"]] == [fund]
    assert data["offers"][0]["institution"] == bank.tenant_id
    record = client.get(f"/v1/applications/{data['id']}/decision", headers=auth(keys.partner)).get_json()[
        "record"
    ]
    verdicts = {c["product"]: c for c in record["matching"]["candidates"]}
    assert verdicts[fund]["matched"] and verdicts[south]["reasons"] == ["region_not_served"]

    offer = data["offers"][0]
    resp = client.post(
        f"/v1/applications/{data['id']}/accept", json={"offer_id": offer["id"]}, headers=auth(keys.partner)
    )
    assert resp.status_code == 200, resp.get_json()
    loan_id = resp.get_json()["loan"]
    with risk_app.extensions["lendbridge"].db.reader() as session:
        loan = session.get(Loan, loan_id)
        assert loan is not None
        assert (loan.status, loan.principal, loan.term, loan.method) == (
            "pending_signature",
            offer["amount"],
            offer["term"],
            offer["method"],
        )
        assert loan.annual_rate == Decimal(offer["annual_rate"])
        assert loan.apr_nominal == offer["apr"]["nominal"]
        assert (loan.application_id, loan.offer_id, loan.disburse_to) == (data["id"], offer["id"], "merchant")
        assert loan.merchant is not None and loan.merchant["settlement_account"] == "110060149018000123"
        created = session.execute(select(Event.type).where(Event.object_id == loan_id)).scalars().all()
    assert created == ["loan.created"]
    again = client.post(
        f"/v1/applications/{data['id']}/accept", json={"offer_id": offer["id"]}, headers=auth(keys.partner)
    )
    assert again.get_json()["loan"] == loan_id
    loans = client.get("/v1/loans", headers=auth(keys.partner)).get_json()["data"]
    assert [item["id"] for item in loans] == [loan_id]


def test_a_partner_outside_a_products_allow_list_gets_no_offer(risk_app: Flask, keys: Keys) -> None:
    bank = make_tenant(risk_app, TenantKind.INSTITUTION, "Xinhe Bank")
    make_product(risk_app, bank, **{**TEACHER_PRODUCT, "partner_ids": ["ten_someone_else"]})
    client = risk_app.test_client()
    borrower, consents = ready_borrower(risk_app, client, keys.partner)
    data = client.post(
        "/v1/applications", json=application(borrower, consents), headers=auth(keys.partner)
    ).get_json()
    assert data["status"] == "declined" and data["reason_codes"] == ["no_eligible_product"]


def test_a_business_credit_line_is_opened_on_acceptance(risk_app: Flask, keys: Keys) -> None:
    from tests.factories.identity import company

    bank = make_tenant(risk_app, TenantKind.INSTITUTION, "POS Bank")
    line = make_product(
        risk_app,
        bank,
        name="POS-flow line",
        kind="credit_line",
        borrower_type="business",
        methods=[],
        amount={"min": 10_000_000, "max": 100_000_000},
        term={"min": 12, "max": 12},
        rate={"min": Decimal("0.06"), "max": Decimal("0.15")},
        rate_grid={g: Decimal("0.10") for g in "ABCDE"},
        day_count="act/365",
    )
    client = risk_app.test_client()
    # The German scorecard knows nothing of companies (no age, no job); this test is about the line.
    resp = client.post(
        f"/admin/v1/risk/tenants/{keys.partner_id}/rule_sets",
        json={"document": {"policy": {"min_score": 0}}},
        headers=auth(keys.admin),
    )
    assert resp.status_code == 201
    borrower, consents = ready_borrower(risk_app, client, keys.partner, **company(uscc=magic_uscc("995")))
    body = application(
        borrower,
        consents,
        amount=30_000_000,
        credit_line=True,
        purpose="working_capital",
        monthly_income=60_000_000,
    )
    del body["term"]
    data = client.post("/v1/applications", json=body, headers=auth(keys.partner)).get_json()
    assert data["status"] == "approved", data["reason_codes"]
    [offer] = data["offers"]
    assert (offer["product"], offer["kind"], offer["amount"]) == (line, "credit_line", 30_000_000)
    assert offer["apr"]["nominal"] == "0.1000000000"
    resp = client.post(
        f"/v1/applications/{data['id']}/accept", json={"offer_id": offer["id"]}, headers=auth(keys.partner)
    )
    assert resp.status_code == 200, resp.get_json()
    accepted = resp.get_json()
    assert accepted["opened_credit_line"].startswith("cl_") and accepted["loan"] is None


def test_six_on_time_instalments_on_a_loan_lower_the_next_offer(risk_app: Flask, keys: Keys) -> None:
    from sqlalchemy import update

    bank = make_tenant(risk_app, TenantKind.INSTITUTION, "Reward Bank")
    make_product(risk_app, bank, **{**TEACHER_PRODUCT, "eligibility": {}})
    client = risk_app.test_client()
    borrower, consents = ready_borrower(risk_app, client, keys.partner)
    first = client.post("/v1/applications", json=application(borrower, consents), headers=auth(keys.partner))
    data = first.get_json()
    assert data["offers"][0]["discount"] == "0.0000000000"
    accepted = client.post(
        f"/v1/applications/{data['id']}/accept",
        json={"offer_id": data["offers"][0]["id"]},
        headers=auth(keys.partner),
    ).get_json()
    db = risk_app.extensions["lendbridge"].db
    with db.writer() as session, session.begin():  # the loan engine's counter after six paid instalments
        session.execute(update(Loan).where(Loan.id == accepted["loan"]).values(on_time_instalments=6))
    second = client.post("/v1/applications", json=application(borrower, consents), headers=auth(keys.partner))
    offer = second.get_json()["offers"][0]
    assert offer["discount"] == "0.0050000000"
    assert Decimal(offer["annual_rate"]) == Decimal(offer["base_rate"]) - Decimal("0.005")
