"""Demo data: an operator, two institutions and an education partner, with test keys.

Secrets are stored hashed, so the test keys printed at seeding time are also written to
`<data dir>/demo-keys.json` (test mode only); re-running the seed prints the same keys.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Flask
from sqlalchemy import delete, select

from lendbridge.db import SYSTEM
from lendbridge.tenancy import services as tenancy
from lendbridge.tenancy.domain import StaffRole, TenantKind, hash_secret
from lendbridge.tenancy.models import ApiKey
from lendbridge.uow import UnitOfWork

KEYS_FILE = "demo-keys.json"


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


def seed(app: Flask, *, borrowers: int = 0) -> dict[str, Any]:
    """Create the demo tenants once; return their test keys."""
    existing = _stored_keys(app)
    if existing is not None:
        return existing
    svc = app.extensions["lendbridge"]
    with UnitOfWork(svc.db, SYSTEM, clock=svc.clock, actor="demo-seed") as uow:
        operator = tenancy.create_tenant(uow, TenantKind.OPERATOR, "LendBridge Operations")
        admin = tenancy.create_staff_user(
            uow, operator, "admin@lendbridge.example", "Platform Admin", StaffRole.ADMIN
        )
        op_key = tenancy.issue_api_key(uow, operator, livemode=False, staff_user=admin, name="demo admin")
        bank = tenancy.create_tenant(
            uow,
            TenantKind.INSTITUTION,
            "Huaxia Consumer Finance (demo)",
            {"licence": "demo-CF-0001", "custody_bank": "China Merchants Bank (simulated)"},
        )
        bank_key = tenancy.issue_api_key(uow, bank, livemode=False, name="demo institution")
        city_bank = tenancy.create_tenant(
            uow,
            TenantKind.INSTITUTION,
            "Xinhe City Commercial Bank (demo)",
            {"licence": "demo-CB-0002", "custody_bank": "Bank of Shanghai (simulated)"},
        )
        city_key = tenancy.issue_api_key(uow, city_bank, livemode=False, name="demo institution")
        partner = tenancy.create_tenant(
            uow,
            TenantKind.PARTNER,
            "EduLink Course Platform (demo)",
            {
                "scenario": "education",
                "merchants": [{"name": "Mingde Vocational School", "id": "school_demo"}],
            },
        )
        partner_sk = tenancy.issue_api_key(uow, partner, livemode=False, name="demo partner")
        partner_pk = tenancy.issue_api_key(uow, partner, livemode=False, kind="publishable")
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
    path = svc.settings.data_dir / KEYS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keys, f, indent=2)
    return keys


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
        uow.commit()
    return counts
