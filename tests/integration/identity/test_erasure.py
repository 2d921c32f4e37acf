"""Erasure (PIPL): the data key is destroyed, the anonymous borrower stays, twice is once."""

from __future__ import annotations

import base64
import io

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from lendbridge.audit.models import AuditRecord
from lendbridge.db import TenantContext
from lendbridge.events.models import Event
from lendbridge.identity import services as identity
from lendbridge.identity.keys import key_service
from lendbridge.identity.models import Borrower, BorrowerDocument, BorrowerKey, Consent
from lendbridge.uow import UnitOfWork
from tests.factories.identity import company, create_borrower, person
from tests.factories.tenancy import auth, make_tenant


def _uow(app: Flask, tenant_id: str, *, write: bool = False) -> UnitOfWork:
    svc = app.extensions["lendbridge"]
    return UnitOfWork(svc.db, TenantContext(tenant_id, False), write=write, clock=svc.clock)


def test_erase_shreds_the_key_and_keeps_an_anonymous_borrower(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    h = auth(keys.test_key)
    created = create_borrower(client, keys.test_key)
    consent = client.post(
        f"/v1/borrowers/{created.id}/consents",
        json={"kind": "data_processing", "version": "2026-01", "ip": "198.51.100.7", "device": "iPhone-ABC"},
        headers=h,
    )
    assert consent.status_code == 201
    db = any_app.extensions["lendbridge"].db
    with db.reader() as s:
        before = s.get(Borrower, created.id)
        assert before is not None
        old_token = before.pii["id_number"]
    with _uow(any_app, keys.tenant_id) as uow:
        row, key_row = identity._load(uow, created.id)
        dek = key_service(uow).borrower_dek(uow, row, key_row)
        assert dek is not None

    resp = client.post(f"/v1/borrowers/{created.id}/erase", headers=h)
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["erased"] is True and data["id"] == created.id
    assert all(data[f] is None for f in ("name", "id_number", "phone", "bank_card", "address", "employer"))
    assert data["kyc_status"] == "pending"

    with db.reader() as s:
        row = s.get(Borrower, created.id)
        assert row is not None and row.pii == {} and row.erased_at is not None
        assert (row.id_number_bidx, row.phone_bidx, row.bank_card_bidx, row.uscc_bidx) == (None,) * 4
        assert s.get(BorrowerKey, created.id) is None
        kept = s.execute(select(Consent).where(Consent.borrower_id == created.id)).scalar_one()
        assert kept.ip_token is None and kept.device_token is None and kept.kind == "data_processing"
    # Nothing the system holds can open an old copy of a token (a backup) any more: the
    # wrapped DEK row is gone and this process's cache had already dropped the key.
    with _uow(any_app, keys.tenant_id) as uow:
        row, key_row = identity._load(uow, created.id)
        assert key_row is None and key_service(uow).borrower_dek(uow, row, key_row) is None
        assert key_service(uow).deks.forget(dek.key_id) == 0
    assert old_token.split(".")[1] == dek.key_id

    assert client.get(f"/v1/borrowers/{created.id}", headers=h).get_json()["erased"] is True
    found = client.get(f"/v1/borrowers?id_number={created.body['id_number']}", headers=h).get_json()
    assert found["data"] == []


def test_erasing_twice_is_idempotent_with_one_event_and_one_audit_record(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    created = create_borrower(client, keys.test_key)
    first = client.post(f"/v1/borrowers/{created.id}/erase", headers=auth(keys.test_key))
    second = client.post(f"/v1/borrowers/{created.id}/erase", headers=auth(keys.test_key))
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    with any_app.extensions["lendbridge"].db.reader() as s:
        events = s.execute(
            select(func.count())
            .select_from(Event)
            .where(Event.object_id == created.id, Event.type == "borrower.erased")
        ).scalar_one()
        audits = s.execute(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.object_id == created.id, AuditRecord.action == "borrower.erased")
        ).scalar_one()
    assert (events, audits) == (1, 1)


def test_the_same_person_can_be_created_again_after_erasure(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    created = create_borrower(client, keys.test_key)
    client.post(f"/v1/borrowers/{created.id}/erase", headers=auth(keys.test_key))
    again = create_borrower(client, keys.test_key, created.body)
    assert again.id != created.id


def test_erased_borrower_refuses_new_personal_data_and_payouts(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    h = auth(keys.test_key)
    created = create_borrower(client, keys.test_key)
    client.post(f"/v1/borrowers/{created.id}/erase", headers=h)
    resp = client.post(
        f"/v1/borrowers/{created.id}/consents",
        json={"kind": "data_processing", "version": "2026-01"},
        headers=h,
    )
    assert resp.status_code == 409 and resp.get_json()["code"] == "borrower_erased"
    resp = client.post(f"/v1/borrowers/{created.id}/liveness_checks", json={}, headers=h)
    assert resp.status_code == 409 and resp.get_json()["code"] == "borrower_erased"
    with _uow(any_app, keys.tenant_id, write=True) as uow:
        facts = identity.borrower_facts(uow, created.id)
        assert facts.erased is True and facts.age is None and facts.masked == {} and facts.blind_indexes == {}
        with pytest.raises(identity.BorrowerErased):
            identity.payout_account(uow, created.id)
        assert identity.has_valid_consent(uow, created.id, "data_processing", uow.now()) is False


def test_erasure_deletes_documents(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (255, 255, 255)).save(png, format="PNG")
    body = company(licence_image=base64.b64encode(png.getvalue()).decode())
    created = create_borrower(client, keys.test_key, body)
    db = app.extensions["lendbridge"].db
    with db.reader() as s:
        assert s.execute(select(func.count()).select_from(BorrowerDocument)).scalar_one() == 1
    client.post(f"/v1/borrowers/{created.id}/erase", headers=auth(keys.test_key))
    with db.reader() as s:
        assert s.execute(select(func.count()).select_from(BorrowerDocument)).scalar_one() == 0


def test_loans_referencing_an_erased_borrower_keep_their_reference(app: Flask) -> None:
    """Other areas keep `borrower_id` columns; the row they point at survives erasure."""
    keys = make_tenant(app)
    client = app.test_client()
    created = create_borrower(client, keys.test_key, person())
    client.post(f"/v1/borrowers/{created.id}/erase", headers=auth(keys.test_key))
    with _uow(app, keys.tenant_id) as uow:
        facts = identity.borrower_facts(uow, created.id)
    assert facts.borrower_id == created.id and facts.type == "individual"
