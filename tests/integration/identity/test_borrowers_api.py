"""Borrowers over HTTP: create, validate, mask, reveal (audited), search, isolate, 409 duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lendbridge.audit.models import AuditRecord
from lendbridge.audit.service import verify
from lendbridge.events.models import Event
from lendbridge.tenancy.domain import TenantKind
from tests.factories.identity import company, create_borrower, person, plaintexts
from tests.factories.tenancy import auth, make_tenant

PARTNER_SCOPES = sorted(
    {"account:read", "borrowers:read", "borrowers:write", "applications:read", "test_clocks:write"}
)


def _audit(app: Flask, action: str) -> list[AuditRecord]:
    with app.extensions["lendbridge"].db.reader() as s:
        return list(s.execute(select(AuditRecord).where(AuditRecord.action == action)).scalars())


def test_individual_is_created_with_masked_fields(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    body = person(
        name="张晓雯", id_number="11010519491231002X", phone="13812345678", bank_card="6222021234567890128"
    )
    body["address"] = "北京市朝阳区建国路88号"
    created = create_borrower(any_app.test_client(), keys.test_key, body)
    data = created.response
    assert created.id.startswith("brw_") and data["object"] == "borrower"
    assert data["type"] == "individual" and data["kyc_status"] == "pending" and data["livemode"] is False
    assert data["erased"] is False and data["pii_masked"] is True
    assert data["id_number"] == "110105********002X"
    assert data["phone"] == "138****5678"
    assert data["bank_card"] == "6222 **** **** 0128"
    assert data["name"] == "张*雯"
    assert data["address"] == "北京市******"
    assert data["occupation"] == "teacher"
    assert isinstance(data["created"], int)
    assert "uscc" not in data


def test_business_is_created_with_masked_fields(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    body = company(uscc="91350100M000100Y43", settlement_account="110060149018000123456")
    data = create_borrower(any_app.test_client(), keys.test_key, body).response
    assert data["type"] == "business"
    assert data["uscc"] == "91************0Y43"
    assert data["settlement_account"] == "1100 **** **** 3456"
    assert body["company_name"] not in str(data) and body["legal_representative"] not in str(data)
    assert "id_number" not in data


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"id_number": "110105194912310021"}, "id_number", "id_number_check_digit"),
        ({"id_number": "11010519491331002X"}, "id_number", "id_number_birth_date"),
        ({"id_number": "1101051949123100"}, "id_number", "id_number_length"),
        ({"bank_card": "6222021234567890123"}, "bank_card", "bank_card_check_digit"),
        ({"bank_card": "62220212"}, "bank_card", "bank_card_length"),
        ({"phone": "12812345678"}, "phone", "phone_format"),
        ({"name": "   "}, "name", "name_empty"),
        ({"uscc": "91350100M000100Y43"}, "uscc", "parameter_unknown"),
        ({"phone": None}, "phone", "parameter_missing"),
        ({"surname": "王"}, "surname", "parameter_invalid"),
        ({"type": "robot"}, "type", "parameter_invalid"),
        ({"id_number": 110105194912310021}, "id_number", "parameter_invalid"),
    ],
)
def test_invalid_individual_input_names_the_field(
    app: Flask, change: dict[str, Any], param: str, code: str
) -> None:
    keys = make_tenant(app)
    body = {k: v for k, v in {**person(), **change}.items() if v is not None}
    resp = app.test_client().post("/v1/borrowers", json=body, headers=auth(keys.test_key))
    assert resp.status_code == 422
    problem = resp.get_json()
    assert problem["param"] == param and problem["code"] == code
    for value in plaintexts(body):
        assert value not in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "param", "code"),
    [
        ({"uscc": "91350100M000100Y44"}, "uscc", "uscc_check_digit"),
        ({"settlement_account": "12ab"}, "settlement_account", "settlement_account_format"),
        ({"contact_phone": "1381234"}, "contact_phone", "phone_length"),
        ({"licence_image": "not base64!"}, "licence_image", "image_unreadable"),
        ({"id_number": "11010519491231002X"}, "id_number", "parameter_unknown"),
    ],
)
def test_invalid_business_input_names_the_field(
    app: Flask, change: dict[str, Any], param: str, code: str
) -> None:
    keys = make_tenant(app)
    resp = app.test_client().post("/v1/borrowers", json=company(**change), headers=auth(keys.test_key))
    assert resp.status_code == 422
    assert (resp.get_json()["param"], resp.get_json()["code"]) == (param, code)


def test_full_width_and_spaced_input_is_normalised(app: Flask) -> None:
    keys = make_tenant(app)
    body = person(id_number="１１０１０５１９４９１２３１００２ｘ", phone="+86 138-1234-5678")
    created = create_borrower(app.test_client(), keys.test_key, body)
    assert created.response["id_number"] == "110105********002X"
    found = app.test_client().get("/v1/borrowers?id_number=11010519491231002X", headers=auth(keys.test_key))
    assert [b["id"] for b in found.get_json()["data"]] == [created.id]


def test_duplicate_id_number_is_409_with_the_existing_id_only(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    first = create_borrower(client, keys.test_key)
    again = dict(first.body, phone="13900001111", name="李四")
    resp = client.post("/v1/borrowers", json=again, headers=auth(keys.test_key))
    assert resp.status_code == 409
    problem = resp.get_json()
    assert problem["code"] == "borrower_exists" and problem["param"] == "id_number"
    assert first.id in problem["detail"]
    assert first.body["id_number"] not in resp.get_data(as_text=True)
    # Same person in live mode, or for another tenant, is a different borrower.
    assert client.post("/v1/borrowers", json=first.body, headers=auth(keys.live_key)).status_code == 201
    other = make_tenant(any_app, name="Other")
    assert client.post("/v1/borrowers", json=first.body, headers=auth(other.test_key)).status_code == 201


def test_duplicate_uscc_is_409(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    first = create_borrower(client, keys.test_key, company())
    resp = client.post("/v1/borrowers", json=company(uscc=first.body["uscc"]), headers=auth(keys.test_key))
    assert resp.status_code == 409 and resp.get_json()["param"] == "uscc"


def test_search_by_blind_index(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    a = create_borrower(client, keys.test_key)
    b = create_borrower(client, keys.test_key, person(phone=a.body["phone"]))
    biz = create_borrower(client, keys.test_key, company(contact_phone="13700007777"))
    h = auth(keys.test_key)

    def ids(query: str) -> list[str]:
        resp = client.get(f"/v1/borrowers?{query}", headers=h)
        assert resp.status_code == 200, resp.get_json()
        return [x["id"] for x in resp.get_json()["data"]]

    assert ids(f"id_number={a.body['id_number']}") == [a.id]
    assert ids(f"id_number={a.body['id_number'].lower()}") == [a.id]
    assert ids(f"phone={a.body['phone']}") == [b.id, a.id]
    assert ids(f"bank_card={b.body['bank_card']}") == [b.id]
    assert ids(f"uscc={biz.body['uscc']}") == [biz.id]
    assert ids("phone=13700007777") == [biz.id]
    assert ids(f"phone={a.body['phone']}&id_number={b.body['id_number']}") == [b.id]
    assert ids("id_number=11010519491231002X") == []
    assert ids("type=business") == [biz.id]
    assert ids("kyc_status=pending&limit=2") == [biz.id, b.id]
    # Another tenant, or live mode, finds nothing.
    other = make_tenant(any_app, name="Other")
    assert (
        client.get(f"/v1/borrowers?id_number={a.body['id_number']}", headers=auth(other.test_key)).get_json()[
            "data"
        ]
        == []
    )
    assert (
        client.get(f"/v1/borrowers?phone={a.body['phone']}", headers=auth(keys.live_key)).get_json()["data"]
        == []
    )


def test_list_paginates_newest_first(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    made = [create_borrower(client, keys.test_key).id for _ in range(5)]
    h = auth(keys.test_key)
    first = client.get("/v1/borrowers?limit=2", headers=h).get_json()
    assert [b["id"] for b in first["data"]] == made[::-1][:2] and first["has_more"] is True
    rest = client.get(f"/v1/borrowers?limit=10&starting_after={made[3]}", headers=h).get_json()
    assert [b["id"] for b in rest["data"]] == made[::-1][2:] and rest["has_more"] is False


def test_another_tenants_borrower_is_404(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    other = make_tenant(any_app, name="Other")
    client = any_app.test_client()
    created = create_borrower(client, keys.test_key)
    for path in ("", "/consents", "/liveness_checks"):
        resp = client.get(f"/v1/borrowers/{created.id}{path}", headers=auth(other.test_key))
        assert resp.status_code == 404, path
    assert client.post(f"/v1/borrowers/{created.id}/erase", headers=auth(other.test_key)).status_code == 404
    assert client.get(f"/v1/borrowers/{created.id}", headers=auth(keys.live_key)).status_code == 404
    assert client.get(f"/v1/borrowers/{created.id}", headers=auth(keys.test_key)).status_code == 200


def test_pii_read_reveals_in_full_and_audits_each_reveal(any_app: Flask) -> None:
    keys = make_tenant(any_app, scopes=[*PARTNER_SCOPES, "pii:read"])
    client = any_app.test_client()
    created = create_borrower(client, keys.test_key)
    # Writes answer masked even for pii:read, so stored idempotent responses hold no PII.
    assert created.response["pii_masked"] is True
    assert created.body["id_number"] not in str(created.response)
    resp = client.get(f"/v1/borrowers/{created.id}", headers=auth(keys.test_key))
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["pii_masked"] is False
    assert data["id_number"] == created.body["id_number"] and data["name"] == created.body["name"]
    listed = client.get(
        f"/v1/borrowers?phone={created.body['phone']}", headers=auth(keys.test_key)
    ).get_json()
    assert listed["data"][0]["bank_card"] == created.body["bank_card"]
    reveals = _audit(any_app, "pii.revealed")
    assert [r.object_id for r in reveals] == [created.id, created.id]
    assert resp.headers["X-Request-Id"] in {r.request_id for r in reveals}
    with any_app.extensions["lendbridge"].db.snapshot() as s:
        assert all(r.ok for r in verify(s))


def test_masked_reads_write_nothing(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    created = create_borrower(client, keys.test_key)
    client.get(f"/v1/borrowers/{created.id}", headers=auth(keys.test_key))
    client.get("/v1/borrowers", headers=auth(keys.test_key))
    assert _audit(app, "pii.revealed") == []


def test_scopes_are_enforced(app: Flask) -> None:
    keys = make_tenant(app, scopes=["account:read", "borrowers:read"])
    client = app.test_client()
    resp = client.post("/v1/borrowers", json=person(), headers=auth(keys.test_key))
    assert resp.status_code == 403
    inst = make_tenant(app, TenantKind.INSTITUTION, "Bank")
    assert client.get("/v1/borrowers", headers=auth(inst.test_key)).status_code == 403


def test_created_event_carries_no_personal_data(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    created = create_borrower(any_app.test_client(), keys.test_key)
    with any_app.extensions["lendbridge"].db.reader() as s:
        events = list(s.execute(select(Event).where(Event.object_id == created.id)).scalars())
    assert [e.type for e in events] == ["borrower.created"]
    obj = events[0].data["object"]
    assert obj["id"] == created.id and obj["kyc_status"] == "pending" and obj["type"] == "individual"
    assert "phone" not in obj and "id_number" not in obj and "name" not in obj


def test_test_clock_is_refused_in_live_mode(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    resp = client.post("/v1/borrowers", json=person(test_clock="clock_x"), headers=auth(keys.live_key))
    assert resp.status_code == 422 and resp.get_json()["param"] == "test_clock"
    resp = client.post("/v1/borrowers", json=person(test_clock="clock_x"), headers=auth(keys.test_key))
    assert resp.status_code == 404 and resp.get_json()["param"] == "test_clock"


def test_idempotent_create_replays_the_masked_response(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    body = person()
    h = {**auth(keys.test_key), "Idempotency-Key": "brw-1"}
    first = client.post("/v1/borrowers", json=body, headers=h)
    second = client.post("/v1/borrowers", json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
