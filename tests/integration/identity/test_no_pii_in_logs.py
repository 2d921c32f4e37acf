"""No personal data in logs or error messages, whatever path a request takes."""

from __future__ import annotations

import logging
import threading
import traceback
import urllib.request

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.factories.identity import company, create_borrower, person, phone, plaintexts, wait_for_check
from tests.factories.tenancy import auth, make_tenant

SCOPES = ["account:read", "borrowers:read", "borrowers:write", "pii:read"]


def _all_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            parts.append(record.stack_info)
    return "\n".join(parts)


def test_no_personal_data_in_any_log_record(any_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm", "lendbridge", "werkzeug"):
        caplog.set_level(logging.DEBUG, logger=name)
    keys = make_tenant(any_app, scopes=SCOPES)
    client = any_app.test_client()
    h = auth(keys.test_key)
    individual = person(phone=phone("9999"))  # the liveness provider times out: an error path
    business = company()
    a = create_borrower(client, keys.test_key, individual)
    create_borrower(client, keys.test_key, business)
    bodies = [individual, business]
    # Duplicates, bad check digits, bad types, unknown fields, wrong borrower type.
    client.post("/v1/borrowers", json=individual, headers=h)
    for change in (
        {"id_number": individual["id_number"][:-1] + ("0" if individual["id_number"][-1] != "0" else "1")},
        {"bank_card": individual["bank_card"][:-1] + str((int(individual["bank_card"][-1]) + 1) % 10)},
        {"phone": "2" + individual["phone"][1:]},
        {"nickname": individual["name"]},
        {"uscc": business["uscc"]},
    ):
        bad = {**individual, **change}
        bodies.append(bad)
        resp = client.post("/v1/borrowers", json=bad, headers=h)
        assert resp.status_code in (409, 422)
    # Reads: masked and revealed, searches by every blind index.
    client.get(f"/v1/borrowers/{a.id}", headers=h)
    for field in ("id_number", "phone", "bank_card"):
        client.get(f"/v1/borrowers?{field}={individual[field]}", headers=h)
    client.get(f"/v1/borrowers?uscc={business['uscc']}", headers=h)
    client.post(
        f"/v1/borrowers/{a.id}/consents",
        json={
            "kind": "credit_bureau_query",
            "version": "2026-01",
            "ip": "198.51.100.23",
            "device": individual["name"],
        },
        headers=h,
    )
    client.get(f"/v1/borrowers/{a.id}/consents", headers=h)
    started = client.post(f"/v1/borrowers/{a.id}/liveness_checks", json={}, headers=h).get_json()
    assert (
        wait_for_check(client, keys.test_key, f"/v1/borrowers/{a.id}/liveness_checks/{started['id']}")[
            "status"
        ]
        == "error"
    )
    client.post(f"/v1/borrowers/{a.id}/erase", headers=h)
    client.get(f"/v1/borrowers/{a.id}", headers=h)

    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL logging was not captured"
    text = _all_text(caplog)
    for body in bodies:
        for value in plaintexts(body):
            assert value not in text, f"a personal value of field {_field_of(body, value)} was logged"
    assert "198.51.100.23" not in text


def _field_of(body: dict[str, object], value: str) -> str:
    return next(k for k, v in body.items() if v == value)


def test_access_log_redacts_search_parameters(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="werkzeug")
    keys = make_tenant(app)
    created = create_borrower(app.test_client(), keys.test_key)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.port}/v1/borrowers?id_number={created.body['id_number']}&limit=3"
        request = urllib.request.Request(url, headers=auth(keys.test_key))
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/v1/borrowers?id_number=[redacted]&limit=3" in line for line in lines), lines
    assert not any(created.body["id_number"] in line for line in lines)
