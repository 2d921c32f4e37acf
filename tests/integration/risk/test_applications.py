"""Applications through the API on both databases: decisions, offers, records, acceptance."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from lendbridge.events.models import Event
from lendbridge.risk import services
from lendbridge.risk.models import Application, DecisionRecord, Offer
from lendbridge.uow import UnitOfWork
from tests.factories.identity import person
from tests.factories.risk import Keys, TestIntegrations, application, magic_id, ready_borrower
from tests.factories.tenancy import auth


def apply(app: Flask, key: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    resp = app.test_client().post("/v1/applications", json=body, headers=auth(key))
    assert resp.status_code == status, resp.get_json()
    data: dict[str, Any] = resp.get_json()
    return data


def approved(app: Flask, keys: Keys, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    client = app.test_client()
    person_fields = overrides.pop("person", {})
    borrower, consents = ready_borrower(app, client, keys.partner, **person_fields)
    sent = application(borrower, consents, **overrides)
    data = apply(app, keys.partner, sent)
    assert data["status"] == "approved", data["reason_codes"]
    return data, sent


def events(app: Flask, object_id: str) -> list[str]:
    with app.extensions["lendbridge"].db.reader() as session:
        rows = session.execute(select(Event.type).where(Event.object_id == object_id).order_by(Event.id))
        return list(rows.scalars())


def test_an_application_is_approved_with_ranked_offers_and_events(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    data, _ = approved(risk_app, keys)
    assert data["object"] == "application" and data["id"].startswith("app_")
    assert data["decision"] == "approved" and data["grade"] in "ABCD"
    offers = data["offers"]
    assert 1 <= len(offers) <= 3 and [o["rank"] for o in offers] == list(range(1, len(offers) + 1))
    first = offers[0]
    assert Decimal(first["apr"]["nominal"]) <= Decimal("0.24")
    assert first["total_cost"] == first["total_interest"] + first["total_fees"]
    assert len(first["schedule"]) == first["term"]
    assert sum(i["principal"] for i in first["schedule"]) == first["amount"]
    assert first["expires_at"] - data["decided"] == 7 * 86400
    assert sorted(events(risk_app, data["id"])) == ["application.created", "application.decided"]
    got = risk_app.test_client().get(f"/v1/applications/{data['id']}", headers=auth(keys.partner)).get_json()
    assert got == data
    listed = risk_app.test_client().get("/v1/applications?limit=5", headers=auth(keys.partner)).get_json()
    assert [a["id"] for a in listed["data"]] == [data["id"]]


def test_the_decision_record_is_complete_and_holds_no_personal_data(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    fields = person(id_number=magic_id("995"))
    data, sent = approved(risk_app, keys, person=fields, contacts=["13912345678"])
    resp = risk_app.test_client().get(f"/v1/applications/{data['id']}/decision", headers=auth(keys.partner))
    assert resp.status_code == 200
    decision = resp.get_json()
    record = decision["record"]
    assert decision["outcome"] == "approved" and decision["model_version"] == "sc-german-1.0.0"
    assert decision["bureau_report"] == record["bureau"]["report_id"]
    for section in (
        "inputs",
        "kyc",
        "consent",
        "fraud",
        "bureau",
        "features",
        "scorecard",
        "challenger",
        "matching",
        "pricing",
        "timings_ms",
        "offers",
        "rule_set_version",
    ):
        assert section in record, section
    assert record["offers"] == [o["id"] for o in data["offers"]]
    assert record["inputs"]["borrower"]["id_index"]
    text = str(record) + str(data)
    for value in (
        fields["name"],
        fields["id_number"],
        fields["phone"],
        fields["bank_card"],
        "13912345678",
        sent["device"]["fingerprint"],
        sent["device"]["ip"],
    ):
        assert value not in text


def test_decision_records_cannot_be_changed(risk_app: Flask, keys: Keys, integ: TestIntegrations) -> None:
    data, _ = approved(risk_app, keys)
    db = risk_app.extensions["lendbridge"].db
    with pytest.raises(Exception, match="append-only"):
        with db.writer() as session, session.begin():
            session.execute(
                update(DecisionRecord)
                .where(DecisionRecord.application_id == data["id"])
                .values(outcome="declined")
            )


def test_accepting_an_offer_creates_the_loan_once(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    data, _ = approved(
        risk_app,
        keys,
        scenario={
            "merchant_id": "school_demo",
            "disburse_to_merchant": True,
            "tuition": 3_000_000,
            "enrolment_confirmed": True,
        },
    )
    client = risk_app.test_client()
    offer = data["offers"][0]
    url = f"/v1/applications/{data['id']}/accept"
    first = client.post(url, json={"offer_id": offer["id"]}, headers=auth(keys.partner))
    assert first.status_code == 200, first.get_json()
    accepted = first.get_json()
    assert accepted["status"] == "accepted" and accepted["loan"].startswith("loan_")
    assert accepted["offers"][0]["status"] == "accepted"
    again = client.post(url, json={"offer_id": offer["id"]}, headers=auth(keys.partner))
    assert again.status_code == 200 and again.get_json()["loan"] == accepted["loan"]
    [request] = integ.originator_.requests
    assert request.disburse_to == "merchant" and request.merchant is not None
    assert request.merchant["settlement_account"] == "110060149018000123"
    assert (request.principal, request.annual_rate) == (offer["amount"], Decimal(offer["annual_rate"]))
    assert "loan.created" in events(risk_app, accepted["loan"])
    if len(data["offers"]) > 1:
        other = client.post(url, json={"offer_id": data["offers"][1]["id"]}, headers=auth(keys.partner))
        assert other.status_code == 409 and other.get_json()["code"] == "application_accepted"


def test_an_expired_offer_cannot_be_accepted_and_the_job_expires_it(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    data, _ = approved(risk_app, keys)
    clock = risk_app.extensions["lendbridge"].clock
    clock.set(clock.now() + timedelta(days=7, seconds=1))
    resp = risk_app.test_client().post(
        f"/v1/applications/{data['id']}/accept",
        json={"offer_id": data["offers"][0]["id"]},
        headers=auth(keys.partner),
    )
    assert resp.status_code == 409 and resp.get_json()["code"] == "offer_expired"
    svc = risk_app.extensions["lendbridge"]
    with UnitOfWork(svc.db, clock=svc.clock) as uow:
        assert services.expire_offers(uow) == 1
        uow.commit()
    got = risk_app.test_client().get(f"/v1/applications/{data['id']}", headers=auth(keys.partner)).get_json()
    assert got["status"] == "expired" and {o["status"] for o in got["offers"]} == {"expired"}
    assert events(risk_app, data["id"])[-1] == "application.expired"
    assert integ.originator_.requests == []


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"credit_line": True}, "term"),
        ({"term": None}, "term"),
        ({"amount": None}, "amount"),
        ({"scenario": {"disburse_to_merchant": True}}, "scenario.merchant_id"),
        ({"scenario": {"disburse_to_merchant": True, "merchant_id": "s1", "tuition": 100}}, "amount"),
        ({"device": {"ip": "300.1.1.1"}}, "device.ip"),
        ({"device": {"lbs_city": "Shanghai"}}, "device.lbs_city"),
        ({"amount": 12.5}, "amount"),
        ({"purpose": "yacht"}, "purpose"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_contradictory_or_malformed_input_is_a_422_naming_the_field(
    risk_app: Flask, keys: Keys, integ: TestIntegrations, change: dict[str, Any], param: str
) -> None:
    client = risk_app.test_client()
    borrower, consents = ready_borrower(risk_app, client, keys.partner)
    body = application(borrower, consents, **change)
    body = {k: v for k, v in body.items() if v is not None}
    problem = apply(risk_app, keys.partner, body, 422)
    assert problem["param"] == param
    with risk_app.extensions["lendbridge"].db.reader() as session:
        assert session.execute(select(Application.id)).first() is None


def test_a_credit_line_for_an_individual_is_a_422(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    borrower, consents = ready_borrower(risk_app, risk_app.test_client(), keys.partner)
    body = application(borrower, consents, credit_line=True)
    del body["term"]
    assert apply(risk_app, keys.partner, body, 422)["param"] == "credit_line"


def test_an_unknown_borrower_is_a_404(risk_app: Flask, keys: Keys, integ: TestIntegrations) -> None:
    problem = apply(risk_app, keys.partner, application("brw_01M89AE6TV1Z6Y3EDX36ZSAX7R"), 404)
    assert problem["param"] == "borrower"


def test_another_tenants_applications_are_404_on_every_endpoint(
    risk_app: Flask, keys: Keys, integ: TestIntegrations
) -> None:
    data, _ = approved(risk_app, keys)
    client = risk_app.test_client()
    offer = data["offers"][0]["id"]
    for key in (keys.other_partner,):
        h = auth(key)
        assert client.get(f"/v1/applications/{data['id']}", headers=h).status_code == 404
        assert client.get(f"/v1/applications/{data['id']}/decision", headers=h).status_code == 404
        resp = client.post(f"/v1/applications/{data['id']}/accept", json={"offer_id": offer}, headers=h)
        assert resp.status_code == 404
        assert client.get("/v1/applications", headers=h).get_json()["data"] == []
    # nor can a partner apply for another tenant's borrower
    borrower = data["borrower"]
    assert apply(risk_app, keys.other_partner, application(borrower), 404)["param"] == "borrower"
    assert integ.originator_.requests == []


def test_partner_keys_cannot_reach_the_risk_admin_endpoints(risk_app: Flask, keys: Keys) -> None:
    client = risk_app.test_client()
    h = auth(keys.partner)
    assert client.get("/admin/v1/reviews", headers=h).status_code == 403
    assert client.get(f"/admin/v1/risk/tenants/{keys.partner_id}/rule_set", headers=h).status_code == 403
    assert (
        client.post("/admin/v1/risk/fraud_reports", json={"application": "app_x1234"}, headers=h).status_code
        == 403
    )


def test_offers_stored_match_the_response(risk_app: Flask, keys: Keys, integ: TestIntegrations) -> None:
    data, _ = approved(risk_app, keys)
    with risk_app.extensions["lendbridge"].db.reader() as session:
        rows = session.execute(select(Offer).where(Offer.application_id == data["id"]).order_by(Offer.rank))
        stored = list(rows.scalars())
    assert [o.id for o in stored] == [o["id"] for o in data["offers"]]
    assert all(o.apr_nominal <= Decimal("0.24") for o in stored)


def test_the_offer_expiry_job_is_registered(risk_app: Flask) -> None:
    from lendbridge.tasks import PERIODIC, REGISTRY

    assert "risk.expire_offers" in REGISTRY
    assert any(p.name == "risk.expire_offers" for p in PERIODIC)
