"""KYC (liveness / face match / video signing via the simulator) and KYB (licence OCR)."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.db import TenantContext
from lendbridge.events.models import Event
from lendbridge.identity import services as identity
from lendbridge.identity.ocr import LicenceReading
from lendbridge.tenancy.domain import TenantKind
from lendbridge.uow import UnitOfWork
from tests.factories.identity import (
    company,
    create_borrower,
    licence_png,
    person,
    phone,
    require_ocr,
    wait_for_check,
)
from tests.factories.tenancy import TenantKeys, auth, make_tenant
from tests.services import REDIS_URL, require


def _liveness(app: Flask, keys: TenantKeys, borrower_id: str, **body: Any) -> dict[str, Any]:
    client = app.test_client()
    resp = client.post(f"/v1/borrowers/{borrower_id}/liveness_checks", json=body, headers=auth(keys.test_key))
    assert resp.status_code == 201, resp.get_json()
    started = resp.get_json()
    assert started["status"] == "processing" and started["id"].startswith("lvc_")
    return wait_for_check(
        client, keys.test_key, f"/v1/borrowers/{borrower_id}/liveness_checks/{started['id']}"
    )


def _borrower(app: Flask, keys: TenantKeys, borrower_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (
        app.test_client().get(f"/v1/borrowers/{borrower_id}", headers=auth(keys.test_key)).get_json()
    )
    return data


def _events(app: Flask, borrower_id: str) -> list[str]:
    with app.extensions["lendbridge"].db.reader() as s:
        return list(
            s.execute(select(Event.type).where(Event.object_id == borrower_id).order_by(Event.id)).scalars()
        )


@pytest.mark.parametrize(
    ("tail", "kind", "check_status", "kyc_status", "reason", "event"),
    [
        (None, "liveness", "passed", "verified", "liveness_passed", "borrower.kyc_verified"),
        ("0000", "liveness", "failed", "rejected", "liveness_spoof_detected", "borrower.kyc_rejected"),
        ("1111", "liveness", "failed", "rejected", "face_mismatch", "borrower.kyc_rejected"),
        ("5555", "liveness", "review", "review", "liveness_score_low", "borrower.updated"),
        ("9999", "liveness", "error", "pending", "provider_timeout", None),
        (None, "video_sign", "passed", "verified", "video_sign_passed", "borrower.kyc_verified"),
        ("8888", "video_sign", "failed", "rejected", "video_sign_speech_mismatch", "borrower.kyc_rejected"),
    ],
)
def test_liveness_outcomes_move_the_kyc_status(
    any_app: Flask,
    tail: str | None,
    kind: str,
    check_status: str,
    kyc_status: str,
    reason: str,
    event: str | None,
) -> None:
    keys = make_tenant(any_app)
    borrower = create_borrower(any_app.test_client(), keys.test_key, person(phone=phone(tail)))
    check = _liveness(any_app, keys, borrower.id, kind=kind)
    assert check["status"] == check_status and check["kind"] == kind
    assert [r["code"] for r in check["reasons"]] == [reason]
    assert check["reasons"][0]["message_zh"] and check["reasons"][0]["message"]
    assert check["completed"] is not None
    data = _borrower(any_app, keys, borrower.id)
    assert data["kyc_status"] == kyc_status
    expected = ["borrower.created"] + ([event] if event else [])
    assert _events(any_app, borrower.id) == expected
    if check_status in ("passed", "failed", "review"):
        assert 0 <= check["score"] <= 1


def test_a_timed_out_check_can_be_retried_and_a_rejected_borrower_cannot(app: Flask) -> None:
    keys = make_tenant(app)
    timeout = create_borrower(app.test_client(), keys.test_key, person(phone=phone("9999")))
    assert _liveness(app, keys, timeout.id)["status"] == "error"
    assert _liveness(app, keys, timeout.id)["status"] == "error"
    listed = app.test_client().get(f"/v1/borrowers/{timeout.id}/liveness_checks", headers=auth(keys.test_key))
    assert len(listed.get_json()["data"]) == 2
    spoof = create_borrower(app.test_client(), keys.test_key, person(phone=phone("0000")))
    _liveness(app, keys, spoof.id)
    resp = app.test_client().post(
        f"/v1/borrowers/{spoof.id}/liveness_checks", json={}, headers=auth(keys.test_key)
    )
    assert resp.status_code == 409 and resp.get_json()["code"] == "illegal_transition"


def test_liveness_is_for_individuals_and_needs_a_provider_in_live_mode(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    biz = create_borrower(client, keys.test_key, company())
    resp = client.post(f"/v1/borrowers/{biz.id}/liveness_checks", json={}, headers=auth(keys.test_key))
    assert resp.status_code == 422 and resp.get_json()["code"] == "borrower_type_invalid"
    live = client.post("/v1/borrowers", json=person(), headers=auth(keys.live_key)).get_json()
    resp = client.post(f"/v1/borrowers/{live['id']}/liveness_checks", json={}, headers=auth(keys.live_key))
    assert resp.status_code == 503 and resp.get_json()["code"] == "provider_unavailable"


def test_the_simulator_keeps_a_statement_without_personal_data(app: Flask) -> None:
    keys = make_tenant(app)
    body = person()
    borrower = create_borrower(app.test_client(), keys.test_key, body)
    check = _liveness(app, keys, borrower.id)
    lines = app.extensions["identity"].test_liveness.statement()
    assert [line.reference for line in lines] == [check["id"]]
    assert not any(v in repr(lines) for v in (body["name"], body["id_number"], body["phone"]))


def _licence_check(app: Flask, keys: TenantKeys, borrower_id: str, image: str) -> dict[str, Any]:
    client = app.test_client()
    resp = client.post(
        f"/v1/borrowers/{borrower_id}/licence", json={"image": image}, headers=auth(keys.test_key)
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["object"] == "licence_check" and resp.get_json()["status"] == "processing"
    return wait_for_check(client, keys.test_key, f"/v1/borrowers/{borrower_id}/licence", timeout=120)


@pytest.mark.slow
def test_licence_ocr_verifies_a_matching_business(app: Flask) -> None:
    font = require_ocr()
    keys = make_tenant(app)
    body = company(company_name="北京云上畅游科技有限公司", uscc="91350100M000100Y43")
    borrower = create_borrower(app.test_client(), keys.test_key, body)
    check = _licence_check(app, keys, borrower.id, licence_png(font, body["company_name"], body["uscc"]))
    assert check["status"] == "passed", check
    assert check["details"]["name"] == "match" and check["details"]["uscc"] == "match"
    assert _borrower(app, keys, borrower.id)["kyc_status"] == "verified"
    assert _events(app, borrower.id) == ["borrower.created", "borrower.kyc_verified"]


@pytest.mark.slow
def test_licence_at_creation_for_another_company_is_rejected(app: Flask) -> None:
    font = require_ocr()
    keys = make_tenant(app)
    body = company(
        company_name="上海明德教育科技有限公司",
        uscc="91350100M000100Y43",
        licence_image=licence_png(font, "北京云上畅游科技有限公司", "91310110666007217T"),
    )
    borrower = create_borrower(app.test_client(), keys.test_key, body)
    check = wait_for_check(
        app.test_client(), keys.test_key, f"/v1/borrowers/{borrower.id}/licence", timeout=120
    )
    assert check["status"] == "failed"
    assert {r["code"] for r in check["reasons"]} == {"licence_name_mismatch", "licence_uscc_mismatch"}
    assert _borrower(app, keys, borrower.id)["kyc_status"] == "rejected"


@pytest.mark.parametrize(
    ("reading", "status", "kyc_status", "reasons"),
    [
        (
            LicenceReading("北京云上畅游科技有限公司", "91350100M000100Y43", "", 0.9),
            "passed",
            "verified",
            ["licence_matched"],
        ),
        (
            LicenceReading("北京云上畅游科技有限公", "91350100M000100Y43", "", 0.7),
            "review",
            "review",
            ["licence_name_similar"],
        ),
        (
            LicenceReading(None, None, "", 0.1, uscc_candidate=None),
            "review",
            "review",
            ["licence_name_unreadable", "licence_uscc_unreadable"],
        ),
    ],
)
def test_licence_comparison_outcomes(
    any_app: Flask, reading: LicenceReading, status: str, kyc_status: str, reasons: list[str]
) -> None:
    keys = make_tenant(any_app)
    body = company(company_name="北京云上畅游科技有限公司", uscc="91350100M000100Y43")
    borrower = create_borrower(any_app.test_client(), keys.test_key, body)
    svc = any_app.extensions["lendbridge"]

    class _NoRunner:
        def enqueue(self, name: str, *args: Any) -> None:
            self.args = (name, *args)

        def start_scheduler(self) -> None: ...

        def shutdown(self) -> None: ...

    runner = _NoRunner()
    with UnitOfWork(svc.db, TenantContext(keys.tenant_id, False), clock=svc.clock) as uow:
        png = io.BytesIO()
        Image.new("RGB", (60, 40), (250, 250, 250)).save(png, format="PNG")
        check = identity.submit_licence(
            uow, borrower.id, base64.b64encode(png.getvalue()).decode(), tasks=runner
        )
        uow.commit()
    assert runner.args == ("identity.kyb_ocr", check.id, keys.tenant_id, False)
    seen: list[bytes] = []

    def ocr(image: bytes) -> LicenceReading:
        seen.append(image)
        return reading

    final = identity.run_licence_ocr(svc.db, svc.clock, check.id, keys.tenant_id, False, ocr=ocr)
    assert final == status
    assert seen and seen[0] == png.getvalue()  # the stored document decrypts to the upload
    data = _borrower(any_app, keys, borrower.id)
    assert data["kyc_status"] == kyc_status
    assert [r["code"] for r in data["kyc_reasons"]] == reasons
    # Running the task again (a redelivered message) changes nothing.
    assert identity.run_licence_ocr(svc.db, svc.clock, check.id, keys.tenant_id, False, ocr=ocr) == status
    assert len(seen) == 1


def test_licence_is_for_businesses_and_must_be_an_image(app: Flask) -> None:
    keys = make_tenant(app)
    client = app.test_client()
    individual = create_borrower(client, keys.test_key)
    resp = client.post(
        f"/v1/borrowers/{individual.id}/licence", json={"image": "aGVsbG8="}, headers=auth(keys.test_key)
    )
    assert resp.status_code == 422 and resp.get_json()["code"] == "borrower_type_invalid"
    biz = create_borrower(client, keys.test_key, company())
    resp = client.post(
        f"/v1/borrowers/{biz.id}/licence", json={"image": "aGVsbG8="}, headers=auth(keys.test_key)
    )
    assert resp.status_code == 422 and resp.get_json()["code"] == "image_unreadable"
    assert client.get(f"/v1/borrowers/{biz.id}/licence", headers=auth(keys.test_key)).status_code == 404
    inst = make_tenant(app, TenantKind.INSTITUTION, "Bank")
    assert client.get(f"/v1/borrowers/{biz.id}/licence", headers=auth(inst.test_key)).status_code == 403


def test_identity_tasks_are_registered_with_celery(tmp_path: Path, sqlite_template: Path) -> None:
    require("redis")
    shutil.copy(sqlite_template, tmp_path / "lendbridge.sqlite3")
    app = create_app(Settings.for_tests(tmp_path, tasks="celery", redis_url=REDIS_URL))
    try:
        celery = app.extensions["lendbridge"].tasks.celery
        assert {"identity.liveness_check", "identity.kyb_ocr"} <= set(celery.tasks)
    finally:
        app.extensions["lendbridge"].db.engine.dispose()
