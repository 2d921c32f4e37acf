from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask

from lendbridge.tenancy.domain import TenantKind
from tests.factories.identity import company, phone
from tests.factories.risk import application, fast_bureau, partner_and_operator, ready_borrower, magic_uscc
from tests.factories.tenancy import auth, make_tenant
from tests.factories.widget import make_partner, create_session, widget_headers, verify_phone

PRODUCT = {
    "name": "Course instalments",
    "kind": "instalment",
    "borrower_type": "individual",
    "methods": ["equal_instalment"],
    "amount": {"min": 500_000, "max": 20_000_000},
    "term": {"min": 3, "max": 12},
    "rate": {"min": "0.06", "max": "0.18"},
    "penalty_rate": "0.27",
    "rate_grid": {"A": "0.06", "B": "0.09", "C": "0.12", "D": "0.15", "E": "0.18"},
}
LINE = {
    "name": "POS line",
    "kind": "credit_line",
    "borrower_type": "business",
    "methods": [],
    "amount": {"min": 10_000_000, "max": 100_000_000},
    "term": {"min": 12, "max": 12},
    "rate": {"min": "0.06", "max": "0.15"},
    "penalty_rate": "0.20",
    "rate_grid": {"A": "0.06", "B": "0.08", "C": "0.10", "D": "0.12", "E": "0.15"},
}

def test_explore(app: Flask) -> None:
    fast_bureau(app)
    keys = partner_and_operator(app)
    bank = make_tenant(app, TenantKind.INSTITUTION, "Bank")
    client = app.test_client()
    for p in (PRODUCT, LINE):
        r = client.post("/v1/products", json=p, headers=auth(bank.test_key)); assert r.status_code == 201, r.get_json()
    h = auth(keys.partner)
    for seq in ("995", "996", "997"):
        b, c = ready_borrower(app, client, keys.partner, **company(uscc=magic_uscc(seq)))
        body = application(b, c, amount=30_000_000, credit_line=True, purpose="working_capital", monthly_income=60_000_000)
        del body["term"]
        data = client.post("/v1/applications", json=body, headers=h).get_json()
        rec = client.get(f"/v1/applications/{data['id']}/decision", headers=h).get_json()["record"]
        print(seq, data["status"], data["reason_codes"], data["score"], data["grade"], [o["annual_rate"] for o in data["offers"]], json.dumps(rec.get("features"))[:400], rec["timings_ms"])
    for tail in ("0000", "5555", "9999"):
        b, c = ready_borrower(app, client, keys.partner, kyc="pending", phone=phone(tail))
        r = client.post(f"/v1/borrowers/{b}/liveness_checks", json={"kind": "liveness"}, headers=h).get_json()
        while (chk := client.get(f"/v1/borrowers/{b}/liveness_checks/{r['id']}", headers=h).get_json())["status"] == "processing":
            time.sleep(0.02)
        bor = client.get(f"/v1/borrowers/{b}", headers=h).get_json()
        data = client.post("/v1/applications", json=application(b, c), headers=h).get_json()
        print(tail, chk["status"], chk["reasons"], bor["kyc_status"], bor["kyc_reasons"], data["status"], data["reason_codes"])
    w = make_partner(app)
    session, secret = create_session(client, w.test_key)
    hh = widget_headers(w.publishable_key, secret, "https://edulink.example")
    r = client.post("/widget/v1/otp/verify", json={"code": "000000"}, headers=hh)
    print(r.status_code, r.get_json())
    verify_phone(client, hh, phone("0000"))
    print(client.get("/widget/v1/session", headers=hh).get_json())
