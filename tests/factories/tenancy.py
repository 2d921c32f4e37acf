from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from lendbridge.db import SYSTEM
from lendbridge.tenancy import services as tenancy
from lendbridge.tenancy.domain import StaffRole, TenantKind
from lendbridge.uow import UnitOfWork


@dataclass(frozen=True)
class TenantKeys:
    tenant_id: str
    test_key: str
    live_key: str
    publishable_key: str


def make_tenant(
    app: Flask, kind: TenantKind = TenantKind.PARTNER, name: str = "Acme", *, scopes: list[str] | None = None
) -> TenantKeys:
    svc = app.extensions["lendbridge"]
    with UnitOfWork(svc.db, SYSTEM, clock=svc.clock) as uow:
        tenant = tenancy.create_tenant(uow, kind, name)
        role = StaffRole.ADMIN if kind is TenantKind.OPERATOR else None
        staff = (
            tenancy.create_staff_user(uow, tenant, f"{tenant.id}@example.test", name, role) if role else None
        )
        test = tenancy.issue_api_key(uow, tenant, livemode=False, scopes=scopes, staff_user=staff)
        live = tenancy.issue_api_key(uow, tenant, livemode=True, scopes=scopes, staff_user=staff)
        pub = tenancy.issue_api_key(uow, tenant, livemode=False, kind="publishable")
        uow.commit()
    return TenantKeys(tenant.id, test.secret, live.secret, pub.secret)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
