"""Tenant and mode isolation across the whole public API, path by path.

One world of test-mode objects (the demo seed with borrower histories, plus a credit line,
a webhook endpoint and a widget session) belongs to other tenants. Every `/v1` path that
names an object is then called with the ids of that world by a fresh partner and a fresh
institution, and by the world's own partner with its live key: none of them may read,
change or even learn the existence of an object (404, or 403 where the key may not use
the endpoint at all). Every list endpoint is read the same way and must not contain one id
of the world. The OpenAPI document is the source of the paths, so a new endpoint is
covered the day it is added.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from lendbridge.tenancy import services as tenancy
from lendbridge.tenancy.domain import TenantKind
from lendbridge.tenancy.models import Tenant
from lendbridge.uow import UnitOfWork
from lendbridge_sandbox import demo
from tests.factories.loans import LINE_PRODUCT, make_book, make_credit_line, make_product
from tests.factories.tenancy import auth, make_tenant
from tests.factories.widget import session_args

# Path parameter -> the table its objects live in.
PARAM_TABLES = {
    "borrower_id": "borrowers",
    "application_id": "risk_applications",
    "consent_id": "consents",
    "check_id": "kyc_checks",
    "line_id": "credit_lines",
    "account_id": "custody_accounts",
    "event_id": "events",
    "loan_id": "loans",
    "payment_id": "payment_instructions",
    "clock_id": "test_clocks",
    "endpoint_id": "webhook_endpoints",
    "session_id": "widget_sessions",
}
# Not tenant-owned: the product catalogue is shared with partners by design, payment
# callbacks are authenticated by the channel's signature, and the channel simulators are
# one per sandbox server.
SHARED = re.compile(r"^/v1/(products|payment_callbacks|sandbox/channels)(/|$)")
# Bodies that pass validation, so that the answer is about the object, not the body.
BODIES: dict[str, dict[str, Any]] = {
    "/accept": {"offer_id": "off_01JD3Q8Z6S0M4W2C7V9E5K1T3P"},
    "/consents": {"kind": "alt_data", "version": "2026-01"},
    "/repayments": {"amount": 100},
    "/prepayments": {"amount": 100, "mode": "shorten_term"},
    "/draws": {"amount": 100},
    "/sign": {"signer": "someone"},
    "/advance": {"frozen_time": 4_102_444_800},
    "/replay": {"since": 0},
    "/payoff_quote": {},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any) -> Any:
    """The app, the ids of every object of the world by table, and the outsiders' keys."""
    import shutil

    from lendbridge.app import create_app
    from lendbridge.config import Settings

    data_dir = tmp_path_factory.mktemp("isolation")
    shutil.copy(sqlite_template, data_dir / "lendbridge.sqlite3")
    app = create_app(Settings.for_tests(data_dir))
    with app.app_context():
        keys = demo.seed(app, borrowers=2)
    partner_key = keys["partner"]["secret_key"]
    client = app.test_client()
    made = [
        client.post(
            "/v1/webhook_endpoints",
            json={"url": "http://127.0.0.1:9/hooks", "enabled_events": ["*"]},
            headers=auth(partner_key),
        ),
        client.post("/v1/widget_sessions", json=session_args(), headers=auth(partner_key)),
    ]
    assert all(r.status_code in (200, 201) for r in made), [r.get_json() for r in made]
    line_book = make_book(app, "Lines")
    line_book = replace(line_book, product_id=make_product(app, line_book.institution, **LINE_PRODUCT))
    make_credit_line(app, line_book)

    svc = app.extensions["lendbridge"]
    ids: dict[str, list[str]] = {}
    with svc.db.engine.connect() as conn:
        for table in PARAM_TABLES.values():
            rows = conn.execute(text(f"SELECT id FROM {table} WHERE livemode = false"))  # noqa: S608
            ids[table] = [r[0] for r in rows]
    missing = [t for t, found in ids.items() if not found]
    assert not missing, f"the world has no rows in {missing}"

    with UnitOfWork(svc.db, clock=svc.clock) as uow:
        tenant = uow.session.get(Tenant, keys["partner"]["tenant_id"])
        assert tenant is not None
        own_live_key = tenancy.issue_api_key(uow, tenant, livemode=True, name="isolation").secret
        uow.commit()
    outsiders = {
        "other partner (test)": make_tenant(app, TenantKind.PARTNER, "Outsider School").test_key,
        "other institution (test)": make_tenant(app, TenantKind.INSTITUTION, "Outsider Bank").test_key,
        "same partner, live key": own_live_key,
    }
    yield app, ids, outsiders
    svc.tasks.shutdown()
    svc.db.engine.dispose()


def _paths(client: FlaskClient) -> dict[str, list[str]]:
    spec = client.get("/v1/openapi.json").get_json()
    return {
        path: [m for m in ops if m in ("get", "post", "delete")]
        for path, ops in spec["paths"].items()
        if path.startswith("/v1/") and not SHARED.match(path)
    }


def _fill(path: str, ids: dict[str, list[str]]) -> str:
    def one(match: re.Match[str]) -> str:
        param = match.group(1)
        assert param in PARAM_TABLES, f"{path}: no table known for {{{param}}}; add it to PARAM_TABLES"
        return ids[PARAM_TABLES[param]][0]

    return re.sub(r"\{(\w+)\}", one, path)


def test_no_outsider_can_reach_an_object_by_its_id(world: Any) -> None:
    app, ids, outsiders = world
    client = app.test_client()
    checked = 0
    leaks: list[str] = []
    for template, methods in sorted(_paths(client).items()):
        if "{" not in template:
            continue
        url = _fill(template, ids)
        for method in methods:
            body = next((b for suffix, b in BODIES.items() if template.endswith(suffix)), {})
            for who, key in outsiders.items():
                resp = client.open(
                    url, method=method.upper(), json=body if method == "post" else None, headers=auth(key)
                )
                allowed = (
                    {403, 404} if method != "post" or template.endswith(tuple(BODIES)) else {403, 404, 422}
                )
                checked += 1
                if resp.status_code not in allowed:
                    leaks.append(
                        f"{who}: {method.upper()} {template} -> {resp.status_code} "
                        f"{(resp.get_json(silent=True) or {}).get('code')}"
                    )
    assert checked > 100
    assert not leaks, "\n".join(leaks)


def test_no_list_shows_an_outsider_an_object_of_the_world(world: Any) -> None:
    app, ids, outsiders = world
    client = app.test_client()
    every_id = {i for found in ids.values() for i in found}
    lists = [p for p, methods in _paths(client).items() if "{" not in p and "get" in methods]
    assert "/v1/loans" in lists and "/v1/events" in lists
    shown: list[str] = []
    for path in sorted(lists):
        for who, key in outsiders.items():
            resp = client.get(f"{path}?limit=100", headers=auth(key))
            assert resp.status_code < 500, (who, path, resp.get_json())
            found = every_id & set(
                re.findall(r"\b[a-z]+_[0-9A-HJKMNP-TV-Z]{26}\b", resp.get_data(as_text=True))
            )
            if found:
                shown.append(f"{who}: GET {path} shows {sorted(found)[:3]}")
    assert not shown, "\n".join(shown)
