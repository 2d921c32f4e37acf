"""Key rotation runs online: readers and writers keep working, everything decrypts after."""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from lendbridge.app import create_app
from lendbridge.cli import main
from lendbridge.identity.models import Borrower, BorrowerKey, Consent, TenantKey
from lendbridge.identity.services import RotationReport, rotate_keys
from tests.factories.identity import Created, create_borrower, person
from tests.factories.tenancy import auth, make_tenant

SCOPES = ["account:read", "borrowers:read", "borrowers:write", "pii:read"]


def _tenant_keys(app: Flask, tenant_id: str) -> list[TenantKey]:
    with app.extensions["lendbridge"].db.reader() as s:
        return list(s.execute(select(TenantKey).where(TenantKey.tenant_id == tenant_id)).scalars())


def _borrower_keys(app: Flask) -> dict[str, BorrowerKey]:
    with app.extensions["lendbridge"].db.reader() as s:
        return {k.borrower_id: k for k in s.execute(select(BorrowerKey)).scalars()}


def _assert_all_decrypt(app: Flask, key: str, made: list[Created]) -> None:
    client = app.test_client()
    for created in made:
        data = client.get(f"/v1/borrowers/{created.id}", headers=auth(key)).get_json()
        for field in ("name", "id_number", "phone", "bank_card", "address"):
            assert data[field] == created.body[field], (created.id, field)


def _rotate_under_load(app: Flask, *, reencrypt: bool) -> None:
    keys = make_tenant(app, scopes=SCOPES)
    client = app.test_client()
    made = [create_borrower(client, keys.test_key) for _ in range(24)]
    consent = client.post(
        f"/v1/borrowers/{made[0].id}/consents",
        json={"kind": "data_processing", "version": "2026-01", "ip": "203.0.113.50"},
        headers=auth(keys.test_key),
    )
    assert consent.status_code == 201
    old_active = {k.id for k in _tenant_keys(app, keys.tenant_id) if k.kind == "data"}
    old_deks = {b: k.dek_id for b, k in _borrower_keys(app).items()}
    # The rotation runs in another app object, with its own caches - as `lendbridge keys
    # rotate` does in its own process - while this one serves requests.
    rotator = create_app(app.extensions["lendbridge"].settings)
    errors: list[str] = []
    created_during: list[Created] = []
    stop = threading.Event()

    def reader() -> None:
        c = app.test_client()
        i = 0
        while not stop.is_set():
            target = made[i % len(made)]
            i += 1
            for url in (f"/v1/borrowers/{target.id}", f"/v1/borrowers?phone={target.body['phone']}"):
                resp = c.get(url, headers=auth(keys.test_key))
                if resp.status_code != 200:
                    errors.append(f"GET {resp.status_code} {resp.get_json()}")
            consents = c.get(f"/v1/borrowers/{made[0].id}/consents", headers=auth(keys.test_key))
            if consents.status_code != 200 or consents.get_json()["data"][0]["ip"] != "203.0.113.50":
                errors.append(f"consents {consents.status_code}")

    def writer() -> None:
        c = app.test_client()
        while not stop.is_set():
            body = person()
            resp = c.post("/v1/borrowers", json=body, headers=auth(keys.test_key))
            if resp.status_code != 201:
                errors.append(f"POST {resp.status_code} {resp.get_json()}")
            else:
                created_during.append(Created(resp.get_json()["id"], body, resp.get_json()))
            time.sleep(0.01)

    def slow_down(report: RotationReport) -> None:
        time.sleep(0.05)  # let the other threads interleave with every batch

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        svc = rotator.extensions["lendbridge"]
        reports = rotate_keys(svc.db, svc.clock, batch_size=4, reencrypt_fields=reencrypt, on_batch=slow_down)
        time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        rotator.extensions["lendbridge"].tasks.shutdown()
        rotator.extensions["lendbridge"].db.engine.dispose()
    assert errors == []
    assert created_during, "the writer made no borrowers during the rotation"
    [report] = [r for r in reports if r.tenant_id == keys.tenant_id]
    assert report.retired and report.batches >= 5
    assert (report.reencrypted if reencrypt else report.rewrapped) >= len(made)
    tenant_keys = _tenant_keys(app, keys.tenant_id)
    active = [k for k in tenant_keys if k.kind == "data" and k.status == "active"]
    assert len(active) == 1 and active[0].id not in old_active
    retired = [k for k in tenant_keys if k.id in old_active]
    assert all(k.status == "retired" and k.wrapped is None and k.retired_at for k in retired)
    borrower_keys = _borrower_keys(app)
    assert {k.kek_id for k in borrower_keys.values()} == {active[0].id}
    if reencrypt:
        assert all(borrower_keys[b].dek_id != dek for b, dek in old_deks.items())
        with app.extensions["lendbridge"].db.reader() as s:
            row = s.get(Borrower, made[0].id)
            consent_row = s.execute(select(Consent)).scalar_one()
        assert row is not None and all(
            t.split(".")[1] == borrower_keys[made[0].id].dek_id for t in row.pii.values()
        )
        assert consent_row.ip_token is not None and borrower_keys[made[0].id].dek_id in consent_row.ip_token
    else:
        assert all(borrower_keys[b].dek_id == dek for b, dek in old_deks.items())
    _assert_all_decrypt(app, keys.test_key, made + created_during)
    # A fresh process (no cached keys) reads everything with the new key alone.
    fresh = create_app(app.extensions["lendbridge"].settings)
    try:
        _assert_all_decrypt(fresh, keys.test_key, made[:3] + created_during[:3])
    finally:
        fresh.extensions["lendbridge"].db.engine.dispose()


def test_rotation_rewraps_while_reads_and_writes_continue(any_app: Flask) -> None:
    _rotate_under_load(any_app, reencrypt=False)


def test_rotation_with_reencryption_while_reads_and_writes_continue(any_app: Flask) -> None:
    _rotate_under_load(any_app, reencrypt=True)


def test_rotation_of_one_tenant_leaves_the_others_alone(app: Flask) -> None:
    a = make_tenant(app, scopes=SCOPES)
    b = make_tenant(app, name="Other", scopes=SCOPES)
    client = app.test_client()
    made_a = [create_borrower(client, a.test_key) for _ in range(3)]
    made_b = [create_borrower(client, b.test_key) for _ in range(3)]
    b_keys = {k.id: k.status for k in _tenant_keys(app, b.tenant_id)}
    svc = app.extensions["lendbridge"]
    [report] = rotate_keys(svc.db, svc.clock, tenant_ids=[a.tenant_id], batch_size=2)
    assert report.rewrapped == 3 and report.batches == 2 and report.retired
    assert {k.id: k.status for k in _tenant_keys(app, b.tenant_id)} == b_keys
    _assert_all_decrypt(app, a.test_key, made_a)
    _assert_all_decrypt(app, b.test_key, made_b)


def test_keys_rotate_cli(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = make_tenant(app, scopes=SCOPES)
    client = app.test_client()
    made = [create_borrower(client, keys.test_key) for _ in range(5)]
    data_dir = app.extensions["lendbridge"].settings.data_dir
    for name in ("LENDBRIDGE_DATABASE_URL", "LENDBRIDGE_MASTER_KEY", "LENDBRIDGE_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    env = {"LENDBRIDGE_DATA_DIR": str(data_dir), "LENDBRIDGE_SCHEDULER": "off"}
    runner = CliRunner()
    result = runner.invoke(main, ["keys", "rotate", "--batch-size", "2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output.strip().splitlines()[-1])
    assert report["tenant_id"] == keys.tenant_id and report["rewrapped"] == 5 and report["retired"] is True
    result = runner.invoke(main, ["keys", "rotate", "--reencrypt", "--tenant", keys.tenant_id], env=env)
    assert result.exit_code == 0, result.output
    assert "re-encrypted 5 borrower keys" in result.output
    _assert_all_decrypt(app, keys.test_key, made)
    result = runner.invoke(main, ["keys", "rotate", "--tenant", "ten_unknown"], env=env)
    assert result.exit_code == 0 and "nothing to rotate" in result.output
