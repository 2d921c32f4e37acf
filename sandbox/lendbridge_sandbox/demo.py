"""Demo data: an operator, two institutions with products and custody accounts, the
education partner EduLink with its school, and optionally borrowers with real histories.

Secrets are stored hashed, so the test keys printed at seeding time are also written to
`<data dir>/demo-keys.json` (test mode only); re-running the seed prints the same keys.
Borrower histories are not invented: each demo borrower applies, signs and is disbursed
through the API, on a shared test clock that then advances six months with the real
engine (auto-debits, close of business, penalties), some with empty or magic cards.
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from lendbridge.core.clock import start_of_business_day, to_unix
from lendbridge.db import SYSTEM
from lendbridge.identity.kyc import CONSENT_TEXTS
from lendbridge.identity.validators import cn_id_check_char
from lendbridge.payments.custody import register_custody_account
from lendbridge.payments.runtime import runtime as payments_runtime
from lendbridge.products import services as products
from lendbridge.sandbox.services import run_advance
from lendbridge.tenancy import services as tenancy
from lendbridge.tenancy.domain import StaffRole, TenantKind, hash_secret
from lendbridge.tenancy.models import ApiKey
from lendbridge.uow import UnitOfWork

KEYS_FILE = "demo-keys.json"
SCHOOL = {
    "id": "school_demo",
    "name": "Mingde Vocational School",
    "settlement_account": "CMB:6214830000000099",
}
GRID = {
    grade: Decimal(rate)
    for grade, rate in zip("ABCDE", ("0.072", "0.096", "0.12", "0.15", "0.18"), strict=True)
}
COURSE_LOAN: dict[str, Any] = {
    "name": "Course instalments / 课程分期",
    "kind": "instalment",
    "borrower_type": "individual",
    "methods": ["equal_instalment", "equal_principal"],
    "amount": {"min": 500_000, "max": 5_000_000},
    "term": {"min": 3, "max": 24},
    "rate": {"min": Decimal("0.072"), "max": Decimal("0.18")},
    "penalty_rate": Decimal("0.27"),
    "fees": {"prepayment_fee_rate": Decimal("0.01")},
    "rate_grid": GRID,
}
SHOP_LINE: dict[str, Any] = {
    "name": "Shop owner business line / 小微经营贷",
    "kind": "credit_line",
    "borrower_type": "business",
    "methods": ["interest_first"],
    "amount": {"min": 10_000_000, "max": 500_000_000},
    "term": {"min": 1, "max": 12},
    "rate": {"min": Decimal("0.0365"), "max": Decimal("0.1825")},
    "penalty_rate": Decimal("0.27"),
    "rate_grid": {
        grade: Decimal(r)
        for grade, r in zip("ABCDE", ("0.0365", "0.06", "0.09", "0.12", "0.1825"), strict=True)
    },
}
HISTORY_MONTHS = 6


def _stored_keys(app: Flask) -> dict[str, Any] | None:
    svc = app.extensions["lendbridge"]
    path = svc.settings.data_dir / KEYS_FILE
    if not path.exists():
        return None
    keys: dict[str, Any] = json.loads(path.read_text())
    with svc.db.reader() as session:
        wanted = hash_secret(keys["partner"]["secret_key"])
        if session.execute(select(ApiKey.id).where(ApiKey.secret_hash == wanted)).first() is None:
            return None
    return keys


def _save_keys(app: Flask, keys: dict[str, Any]) -> None:
    path = app.extensions["lendbridge"].settings.data_dir / KEYS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keys, f, indent=2)


def seed(app: Flask, *, borrowers: int = 0) -> dict[str, Any]:
    """Create the demo tenants once (and `borrowers` more demo borrowers); return the keys."""
    keys = _stored_keys(app) or _seed_tenants(app)
    if borrowers:
        seed_borrowers(app, keys, borrowers)
    return keys


def _seed_tenants(app: Flask) -> dict[str, Any]:
    svc = app.extensions["lendbridge"]
    rt = payments_runtime(app)
    with UnitOfWork(svc.db, SYSTEM, clock=svc.clock, actor="demo-seed") as uow:
        operator = tenancy.create_tenant(uow, TenantKind.OPERATOR, "LendBridge Operations")
        admin = tenancy.create_staff_user(
            uow, operator, "admin@lendbridge.example", "Platform Admin", StaffRole.ADMIN
        )
        op_key = tenancy.issue_api_key(uow, operator, livemode=False, staff_user=admin, name="demo admin")
        care = {"phone": "400-820-0000", "email": "care@huaxia-cf.example", "url": None}
        bank = tenancy.create_tenant(
            uow,
            TenantKind.INSTITUTION,
            "Huaxia Consumer Finance (demo)",
            {"licence": "demo-CF-0001", "complaint_channel": care},
        )
        bank_key = tenancy.issue_api_key(uow, bank, livemode=False, name="demo institution")
        city_bank = tenancy.create_tenant(
            uow,
            TenantKind.INSTITUTION,
            "Xinhe City Commercial Bank (demo)",
            {"licence": "demo-CB-0002", "complaint_channel": {"phone": "95594", "email": None, "url": None}},
        )
        city_key = tenancy.issue_api_key(uow, city_bank, livemode=False, name="demo institution")
        partner = tenancy.create_tenant(
            uow,
            TenantKind.PARTNER,
            "EduLink Course Platform (demo)",
            {"scenario": "education", "merchants": [SCHOOL]},
        )
        partner_sk = tenancy.issue_api_key(uow, partner, livemode=False, name="demo partner")
        partner_pk = tenancy.issue_api_key(uow, partner, livemode=False, kind="publishable")
        register_custody_account(
            uow,
            institution_id=bank.id,
            livemode=False,
            bank_name="China Merchants Bank (simulated)",
            bank_code="CMB",
            account_number="6214830000001234",
            account_holder="Huaxia Consumer Finance custody",
            rt=rt,
        )
        register_custody_account(
            uow,
            institution_id=city_bank.id,
            livemode=False,
            bank_name="Bank of Shanghai (simulated)",
            bank_code="BOSC",
            account_number="31658800000000077",
            account_holder="Xinhe City Commercial Bank custody",
            rt=rt,
        )
        uow.commit()
    for institution, product in ((bank, COURSE_LOAN), (city_bank, SHOP_LINE)):
        with UnitOfWork(svc.db, _ctx(institution.id), clock=svc.clock, actor="demo-seed") as uow:
            products.create_product(uow, dict(product))
            uow.commit()
    keys: dict[str, Any] = {
        "operator": {"tenant_id": operator.id, "secret_key": op_key.secret},
        "institution": {"tenant_id": bank.id, "secret_key": bank_key.secret},
        "institution_2": {"tenant_id": city_bank.id, "secret_key": city_key.secret},
        "partner": {
            "tenant_id": partner.id,
            "secret_key": partner_sk.secret,
            "publishable_key": partner_pk.secret,
        },
    }
    _save_keys(app, keys)
    return keys


def _ctx(tenant_id: str) -> Any:
    from lendbridge.db import TenantContext

    return TenantContext(tenant_id, False)


# -- borrowers with histories ----------------------------------------------------------------
def _luhn_card(rng: random.Random, prefix: str = "622202") -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(18 - len(prefix)))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _person(rng: random.Random, n: int) -> dict[str, Any]:
    surname = rng.choice("王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高")
    given = rng.choice(["晓雯", "子涵", "浩然", "雨桐", "俊杰", "思远", "欣怡", "嘉豪", "梓萱", "宇航"])
    birth = date(1988 + rng.randrange(14), 1 + rng.randrange(12), 1 + rng.randrange(28)).strftime("%Y%m%d")
    region = rng.choice(["110105", "310104", "440305", "330106", "510107"])
    body = f"{region}{birth}995"  # the bureau simulator's prime file: demo decisions approve
    return {
        "type": "individual",
        "name": surname + given,
        "id_number": body + cn_id_check_char(body),
        "phone": f"13{rng.randrange(5, 10)}{rng.randrange(10**8):08d}",
        "bank_card": _luhn_card(rng),
        "address": "北京市朝阳区建国路88号",
        "occupation": rng.choice(["teacher", "engineer", "nurse", "designer", "accountant"]),
        "employer": "Demo Employer Co.",
    }


def _call(client: FlaskClient, key: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    resp = getattr(client, method)(path, json=body, headers={"Authorization": f"Bearer {key}"})
    if resp.status_code >= 400:
        raise RuntimeError(
            f"demo seed: {method.upper()} {path} answered {resp.status_code}: {resp.get_json()}"
        )
    return resp.get_json()


def _wait(client: FlaskClient, key: str, path: str, done: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        body = _call(client, key, "get", path)
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def seed_borrowers(app: Flask, keys: dict[str, Any], count: int) -> list[str]:
    """`count` demo borrowers with loans taken six months ago on one test clock, then six
    months of real servicing: most pay on time, every fifth was late once, every seventh
    has a card that never has money (overdue, then 90+ days past due)."""
    svc = app.extensions["lendbridge"]
    key = keys["partner"]["secret_key"]
    client = app.test_client()
    rng = random.Random(len(keys["partner"]["tenant_id"]) * 7919 + count)
    today = svc.clock.now().date()
    start = today - timedelta(days=HISTORY_MONTHS * 31)
    clock = _call(
        client,
        key,
        "post",
        "/v1/test_clocks",
        {
            "frozen_time": to_unix(start_of_business_day(start) + timedelta(hours=10)),
            "name": f"demo histories ({count})",
        },
    )
    versions = {
        kind: max(v for k, v in CONSENT_TEXTS if k == kind) for kind in ("credit_bureau_query", "alt_data")
    }
    loans: list[str] = []
    late_cards: list[str] = []
    for n in range(count):
        person = _person(rng, n)
        defaulter = n % 7 == 6
        if defaulter:
            person["bank_card"] = "6222020000000056"  # the simulator's card that never has money
        elif n % 5 == 4:
            late_cards.append(person["bank_card"])
        borrower = _call(client, key, "post", "/v1/borrowers", {**person, "test_clock": clock["id"]})
        check = _call(client, key, "post", f"/v1/borrowers/{borrower['id']}/liveness_checks", {})
        _wait(
            client,
            key,
            f"/v1/borrowers/{borrower['id']}/liveness_checks/{check['id']}",
            lambda c: c["status"] != "processing",
        )
        consents = [
            _call(client, key, "post", f"/v1/borrowers/{borrower['id']}/consents", {"kind": k, "version": v})[
                "id"
            ]
            for k, v in versions.items()
        ]
        application = _call(
            client,
            key,
            "post",
            "/v1/applications",
            {
                "borrower": borrower["id"],
                "amount": rng.choice([600_000, 1_200_000, 1_980_000, 2_400_000]),
                "term": rng.choice([6, 12, 12, 24]),
                "purpose": "education",
                "consent_ids": consents,
                "scenario": {
                    "course_id": "course_ui_design",
                    "merchant_id": SCHOOL["id"],
                    "disburse_to_merchant": True,
                    "enrolment_confirmed": True,
                },
                "device": {"fingerprint": f"demo-device-{n:05d}", "ip": f"203.0.{n // 250}.{n % 250 + 1}"},
            },
        )
        if application["status"] != "approved":
            continue
        loan_id = _call(
            client,
            key,
            "post",
            f"/v1/applications/{application['id']}/accept",
            {"offer_id": application["offers"][0]["id"]},
        )["loan"]
        _call(client, key, "post", f"/v1/loans/{loan_id}/sign", {"signer": borrower["id"]})
        _call(client, key, "post", f"/v1/loans/{loan_id}/mandate", {})
        _call(client, key, "post", f"/v1/loans/{loan_id}/disburse", {})
        loans.append(loan_id)
    for loan_id in loans:
        _wait(client, key, f"/v1/loans/{loan_id}", lambda x: x["status"] not in ("signed", "disbursing"))
    sims = payments_runtime(app).simulators
    tenant = keys["partner"]["tenant_id"]
    late_from = start + timedelta(days=85)  # the third due date falls in this window
    with app.app_context():
        run_advance(svc.db, tenant, clock["id"], start_of_business_day(late_from), svc.clock)
        for card in late_cards:
            sims.set_card_balance(card, 0)
        run_advance(
            svc.db, tenant, clock["id"], start_of_business_day(late_from + timedelta(days=8)), svc.clock
        )
        for card in late_cards:
            sims.set_card_balance(card, None)
        run_advance(svc.db, tenant, clock["id"], start_of_business_day(today) + timedelta(hours=9), svc.clock)
    return loans


def reset_test_data(app: Flask) -> dict[str, int]:
    """Delete every test-mode row of every tenant-scoped table; live rows stay."""
    from lendbridge.db import Base, TenantScoped
    from lendbridge.http.idempotency import IdempotencyKey

    svc = app.extensions["lendbridge"]
    counts: dict[str, int] = {}
    with UnitOfWork(svc.db, SYSTEM, clock=svc.clock, actor="sandbox-reset") as uow:
        for table in reversed(Base.metadata.sorted_tables):
            mapper_cls = next((m.class_ for m in Base.registry.mappers if m.local_table is table), None)
            if mapper_cls is None:
                continue
            if issubclass(mapper_cls, TenantScoped) or mapper_cls is IdempotencyKey:
                result = uow.session.execute(delete(mapper_cls).where(mapper_cls.livemode.is_(False)))
                counts[table.name] = int(getattr(result, "rowcount", 0) or 0)
        uow.after_commit(products.catalogue_changed)
        uow.commit()
    return counts


def start_partner_site(app: Flask, keys: dict[str, Any], api_base: str, host: str, port: int) -> str:
    """Run the EduLink demo site in a background thread once the API answers; its webhook
    endpoint is registered once and remembered in the keys file. Returns its URL."""
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    from lendbridge_sandbox.partner_site.app import create_partner_app, register_webhook

    public = f"http://{host}:{port}"
    server = make_server(host, port, _placeholder, threaded=True)  # bind now: a busy port fails fast

    def run() -> None:
        for _ in range(600):
            try:
                urllib.request.urlopen(api_base + "/healthz", timeout=1)  # noqa: S310 - our own local API
                break
            except OSError:
                time.sleep(0.1)
        stored = keys.get("partner_site") or {}
        secret = stored.get("webhook_secret") if stored.get("url") == public else None
        site = create_partner_app(
            api_base, keys["partner"]["secret_key"], keys["partner"]["publishable_key"], secret
        )
        if secret is None:
            endpoint_id = register_webhook(site, public)
            keys["partner_site"] = {
                "url": public,
                "webhook_endpoint": endpoint_id,
                "webhook_secret": site.extensions["edulink"].webhook_secret,
            }
            _save_keys(app, keys)
        server.app = site
        server.serve_forever()

    threading.Thread(target=run, name="edulink-demo-site", daemon=True).start()
    return public


def _placeholder(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1")])
    return [b"EduLink demo site is starting"]
