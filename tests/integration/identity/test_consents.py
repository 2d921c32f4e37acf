"""Consents: catalogued texts with SM3 hashes, grant / revoke / expiry, has_valid_consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from lendbridge.core.clock import from_unix
from lendbridge.core.hashchain import sm3_hex
from lendbridge.db import TenantContext
from lendbridge.identity import services as identity
from lendbridge.identity.kyc import CONSENT_TEXTS
from lendbridge.identity.models import Consent
from lendbridge.uow import UnitOfWork
from tests.factories.identity import create_borrower
from tests.factories.tenancy import auth, make_tenant

PARTNER_PII = ["account:read", "borrowers:read", "borrowers:write", "pii:read"]


def _valid(app: Flask, tenant_id: str, borrower_id: str, kind: str, at: datetime) -> bool:
    with UnitOfWork(app.extensions["lendbridge"].db, TenantContext(tenant_id, False), write=False) as uow:
        return identity.has_valid_consent(uow, borrower_id, kind, at)


def test_consent_texts_are_bilingual_with_their_sm3_hashes(app: Flask) -> None:
    keys = make_tenant(app)
    data = app.test_client().get("/v1/consent_texts", headers=auth(keys.test_key)).get_json()["data"]
    assert {d["kind"] for d in data} == {"credit_bureau_query", "data_processing", "alt_data"}
    for entry in data:
        assert set(entry["texts"]) == {"zh-CN", "en"}
        for lang, text in entry["texts"].items():
            assert entry["text_hashes"][lang] == sm3_hex(text.encode())


def test_grant_records_the_text_hash_and_default_expiry(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    borrower = create_borrower(client, keys.test_key)
    resp = client.post(
        f"/v1/borrowers/{borrower.id}/consents",
        json={"kind": "credit_bureau_query", "version": "2026-01", "language": "en", "ip": "203.0.113.9"},
        headers=auth(keys.test_key),
    )
    assert resp.status_code == 201
    consent = resp.get_json()
    assert consent["object"] == "consent" and consent["id"].startswith("cns_")
    assert consent["text_hash"] == CONSENT_TEXTS[("credit_bureau_query", "2026-01")].text_hash("en")
    assert consent["status"] == "active" and consent["revoked_at"] is None
    assert consent["expires_at"] - consent["granted_at"] == 365 * 86400
    assert consent["ip"] == "203.0.113.*"
    with any_app.extensions["lendbridge"].db.reader() as s:
        row = s.execute(select(Consent)).scalar_one()
    assert row.ip_token is not None and "203.0.113" not in row.ip_token


def test_pii_read_sees_the_ip_and_device(app: Flask) -> None:
    keys = make_tenant(app, scopes=PARTNER_PII)
    client = app.test_client()
    borrower = create_borrower(client, keys.test_key)
    client.post(
        f"/v1/borrowers/{borrower.id}/consents",
        json={
            "kind": "data_processing",
            "version": "2026-01",
            "ip": "2001:db8::1",
            "device": "HUAWEI-P60-123",
        },
        headers=auth(keys.test_key),
    )
    listed = client.get(f"/v1/borrowers/{borrower.id}/consents", headers=auth(keys.test_key)).get_json()
    assert listed["data"][0]["ip"] == "2001:db8::1" and listed["data"][0]["device"] == "HUAWEI-P60-123"
    assert listed["data"][0]["expires_at"] is None


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"kind": "credit_bureau_query", "version": "2019-01"}, "version", "consent_version_unknown"),
        ({"kind": "marketing", "version": "2026-01"}, "kind", "parameter_invalid"),
        ({"kind": "alt_data", "version": "2026-01", "language": "fr"}, "language", "parameter_invalid"),
        ({"kind": "alt_data", "version": "2026-01", "ip": "999.1.1.1"}, "ip", "parameter_invalid"),
        (
            {"kind": "alt_data", "version": "2026-01", "granted_at": 4102444800},
            "granted_at",
            "parameter_invalid",
        ),
        ({"kind": "alt_data", "version": "2026-01", "expires_at": 1000}, "expires_at", "parameter_invalid"),
    ],
)
def test_bad_consents_are_refused_naming_the_field(
    app: Flask, body: dict[str, object], param: str, code: str
) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    borrower = create_borrower(client, keys.test_key)
    resp = client.post(f"/v1/borrowers/{borrower.id}/consents", json=body, headers=auth(keys.test_key))
    assert resp.status_code == 422
    assert (resp.get_json()["param"], resp.get_json()["code"]) == (param, code)


def test_has_valid_consent_follows_grant_expiry_and_revocation(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    h = auth(keys.test_key)
    borrower = create_borrower(client, keys.test_key)
    other = create_borrower(client, keys.test_key)
    granted = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    expires = granted + timedelta(days=30)
    resp = client.post(
        f"/v1/borrowers/{borrower.id}/consents",
        json={
            "kind": "credit_bureau_query",
            "version": "2026-01",
            "granted_at": int(granted.timestamp()),
            "expires_at": int(expires.timestamp()),
        },
        headers=h,
    )
    consent = resp.get_json()
    now = datetime.now(UTC)
    t = keys.tenant_id
    assert _valid(any_app, t, borrower.id, "credit_bureau_query", now)
    assert not _valid(any_app, t, borrower.id, "credit_bureau_query", granted - timedelta(seconds=1))
    assert not _valid(any_app, t, borrower.id, "credit_bureau_query", expires)
    assert not _valid(any_app, t, borrower.id, "alt_data", now)
    assert not _valid(any_app, t, other.id, "credit_bureau_query", now)
    assert not _valid(any_app, t, "brw_01JD3Q8Z6S0M4W2C7V9E5K1T3P", "credit_bureau_query", now)

    revoked = client.post(f"/v1/borrowers/{borrower.id}/consents/{consent['id']}/revoke", headers=h)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    again = client.post(f"/v1/borrowers/{borrower.id}/consents/{consent['id']}/revoke", headers=h)
    assert again.get_json()["revoked_at"] == revoked.get_json()["revoked_at"]
    revoked_at = from_unix(revoked.get_json()["revoked_at"])
    assert not _valid(any_app, t, borrower.id, "credit_bureau_query", revoked_at + timedelta(seconds=1))
    # Revocation is not retroactive: a bureau query made before it was authorised.
    assert _valid(any_app, t, borrower.id, "credit_bureau_query", revoked_at - timedelta(seconds=1))


def test_consents_in_force_answers_several_kinds_at_once(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    client = any_app.test_client()
    borrower = create_borrower(client, keys.test_key)
    for kind in ("credit_bureau_query", "alt_data"):
        body = {"kind": kind, "version": "2026-01"}
        resp = client.post(f"/v1/borrowers/{borrower.id}/consents", json=body, headers=auth(keys.test_key))
        assert resp.status_code == 201, resp.get_json()
    ctx = TenantContext(keys.tenant_id, False)
    with UnitOfWork(any_app.extensions["lendbridge"].db, ctx, write=False) as uow:
        now = datetime.now(UTC)
        kinds = ("credit_bureau_query", "alt_data", "data_processing")
        assert identity.consents_in_force(uow, borrower.id, kinds, now) == {"credit_bureau_query", "alt_data"}
        assert identity.consents_in_force(uow, borrower.id, (), now) == frozenset()
        assert identity.consents_in_force(uow, borrower.id, kinds, now - timedelta(days=1)) == frozenset()
        with pytest.raises(ValueError, match="no_such_kind"):
            identity.consents_in_force(uow, borrower.id, ("no_such_kind",), now)


def test_another_tenant_cannot_see_or_use_a_consent(any_app: Flask) -> None:
    keys = make_tenant(any_app)
    other = make_tenant(any_app, name="Other")
    client = any_app.test_client()
    borrower = create_borrower(client, keys.test_key)
    consent = client.post(
        f"/v1/borrowers/{borrower.id}/consents",
        json={"kind": "alt_data", "version": "2026-01"},
        headers=auth(keys.test_key),
    ).get_json()
    resp = client.post(
        f"/v1/borrowers/{borrower.id}/consents/{consent['id']}/revoke", headers=auth(other.test_key)
    )
    assert resp.status_code == 404
    assert not _valid(any_app, other.tenant_id, borrower.id, "alt_data", datetime.now(UTC))
