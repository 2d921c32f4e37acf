"""/v1/products: institutions publish under the APR cap; partners see what they may offer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.tenancy.domain import TenantKind
from tests.factories.tenancy import auth, make_tenant

PRODUCT: dict[str, Any] = {
    "name": "Course instalments",
    "kind": "instalment",
    "borrower_type": "individual",
    "methods": ["equal_instalment", "equal_principal"],
    "amount": {"min": 500_000, "max": 5_000_000},
    "term": {"min": 3, "max": 24},
    "rate": {"min": "0.0600", "max": "0.1500"},
    "penalty_rate": "0.2400",
    "fees": {"upfront_fee": 0, "monthly_fee_rate": "0.0010", "prepayment_fee_rate": "0.0100"},
    "eligibility": {
        "regions": ["11", "3101", "440300"],
        "occupations": ["teacher"],
        "min_age": 18,
        "max_age": 60,
        "min_grade": "C",
    },
    "rate_grid": {"A": "0.0600", "B": "0.0800", "C": "0.1000", "D": "0.1200", "E": "0.1500"},
    "pricing_reward": {"after_on_time_instalments": 6, "rate_reduction": "0.0050"},
    "custody_account": "ca_demo",
}


def create(app: Flask, key: str, **changes: Any) -> Any:
    return app.test_client().post("/v1/products", json={**PRODUCT, **changes}, headers=auth(key))


def test_an_institution_publishes_and_reads_its_product(any_app: Flask) -> None:
    bank = make_tenant(any_app, TenantKind.INSTITUTION, "Bank")
    resp = create(any_app, bank.test_key)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["object"] == "product" and body["institution"] == bank.tenant_id and body["livemode"] is False
    assert body["rate"] == {"min": "0.0600000000", "max": "0.1500000000"}
    assert body["allocation_order"]["steps"][0] == "past_due.penalty"
    assert "0.15" < body["max_apr"] < "0.24"  # rate plus the monthly fee, by IRR
    got = any_app.test_client().get(f"/v1/products/{body['id']}", headers=auth(bank.test_key))
    assert got.status_code == 200 and got.get_json() == body
    listed = any_app.test_client().get("/v1/products", headers=auth(bank.test_key)).get_json()
    assert [p["id"] for p in listed["data"]] == [body["id"]]


@pytest.mark.parametrize(
    "changes,param",
    [
        ({"rate": {"min": "0.0600", "max": "0.2500"}}, "rate.max"),
        ({"fees": {"monthly_fee_rate": "0.0100"}}, "fees.monthly_fee_rate"),
        ({"fees": {"upfront_fee": 100_000}, "term": {"min": 3, "max": 6}}, "fees.upfront_fee"),
    ],
    ids=["rate", "add-on-fee", "upfront-fee-short-term"],
)
def test_a_product_above_the_apr_cap_is_refused_naming_the_field(
    any_app: Flask, changes: dict[str, Any], param: str
) -> None:
    bank = make_tenant(any_app, TenantKind.INSTITUTION, "Bank")
    resp = create(any_app, bank.test_key, **changes)
    assert resp.status_code == 422
    problem = resp.get_json()
    assert problem["code"] == "apr_cap_exceeded" and problem["param"] == param
    assert "24.00 %" in problem["detail"] and param in problem["detail"]


def test_a_judicial_cap_below_the_platform_cap_wins(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "lendbridge.sqlite3")
    from decimal import Decimal

    app = create_app(Settings.for_tests(tmp_path, judicial_apr_cap=Decimal("0.15")))
    bank = make_tenant(app, TenantKind.INSTITUTION, "Bank")
    resp = create(app, bank.test_key)
    assert resp.status_code == 422 and "15.00 %" in resp.get_json()["detail"]
    ok = create(app, bank.test_key, rate={"min": "0.0600", "max": "0.1200"}, fees={}, rate_grid={})
    assert ok.status_code == 201, ok.get_json()
    app.extensions["lendbridge"].db.engine.dispose()


@pytest.mark.parametrize(
    "changes,param",
    [
        ({"amount": {"min": 100_000, "max": 5_000_000}}, "amount.min"),
        ({"allocation_order": {"steps": ["future.principal", "past_due.penalty"]}}, "allocation_order.steps"),
        ({"methods": ["bullet"], "term": {"min": 3, "max": 24}}, "methods"),
        ({"rate_grid": {"A": "0.2000"}}, "rate_grid.A"),
        ({"rate_grid": {"A": "0.1200", "B": "0.0800"}}, "rate_grid.B"),
        ({"eligibility": {"regions": ["1"]}}, "eligibility.regions.0"),
        ({"colour": "blue"}, "colour"),
        ({"rate": {"min": 0.06, "max": "0.1"}}, "rate.min"),
        ({"kind": "merchant_subsidized"}, "subsidy.target_rate"),
    ],
)
def test_inconsistent_products_are_a_422_naming_the_field(
    any_app: Flask, changes: dict[str, Any], param: str
) -> None:
    bank = make_tenant(any_app, TenantKind.INSTITUTION, "Bank")
    resp = create(any_app, bank.test_key, **changes)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["param"] == param, resp.get_json()


def test_partners_see_active_products_of_every_institution_in_their_mode(any_app: Flask) -> None:
    bank_a = make_tenant(any_app, TenantKind.INSTITUTION, "Bank A")
    bank_b = make_tenant(any_app, TenantKind.INSTITUTION, "Bank B")
    school = make_tenant(any_app, TenantKind.PARTNER, "School")
    shop = make_tenant(any_app, TenantKind.PARTNER, "Shop")
    open_a = create(any_app, bank_a.test_key).get_json()["id"]
    only_shop = create(any_app, bank_b.test_key, partner_ids=[shop.tenant_id]).get_json()["id"]
    live = create(any_app, bank_b.live_key).get_json()["id"]
    client = any_app.test_client()
    school_sees = [
        p["id"] for p in client.get("/v1/products", headers=auth(school.test_key)).get_json()["data"]
    ]
    shop_sees = [p["id"] for p in client.get("/v1/products", headers=auth(shop.test_key)).get_json()["data"]]
    assert school_sees == [open_a]
    assert set(shop_sees) == {open_a, only_shop}
    assert client.get(f"/v1/products/{only_shop}", headers=auth(school.test_key)).status_code == 404
    assert client.get(f"/v1/products/{live}", headers=auth(shop.test_key)).status_code == 404
    assert [p["id"] for p in client.get("/v1/products", headers=auth(shop.live_key)).get_json()["data"]] == [
        live
    ]
    # One institution never sees another's product through its own endpoints.
    assert client.get(f"/v1/products/{open_a}", headers=auth(bank_b.test_key)).status_code == 404
    assert client.get("/v1/products", headers=auth(bank_b.test_key)).get_json()["data"][0]["id"] == only_shop
    # Partners cannot publish.
    denied = create(any_app, school.test_key)
    assert denied.status_code == 403 and denied.get_json()["code"] == "scope_insufficient"


def test_available_products_paginate_past_allow_listed_ones(app: Flask) -> None:
    bank = make_tenant(app, TenantKind.INSTITUTION, "Bank")
    school = make_tenant(app, TenantKind.PARTNER, "School")
    mine = [create(app, bank.test_key).get_json()["id"] for _ in range(3)]
    for _ in range(4):
        create(app, bank.test_key, partner_ids=["ten_someone_else"])
    mine.append(create(app, bank.test_key).get_json()["id"])
    client = app.test_client()
    first = client.get("/v1/products?limit=2", headers=auth(school.test_key)).get_json()
    assert [p["id"] for p in first["data"]] == mine[::-1][:2] and first["has_more"] is True
    second = client.get(
        f"/v1/products?limit=2&starting_after={first['data'][-1]['id']}", headers=auth(school.test_key)
    ).get_json()
    assert [p["id"] for p in second["data"]] == mine[::-1][2:] and second["has_more"] is False
