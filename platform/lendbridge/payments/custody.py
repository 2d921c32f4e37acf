"""Custody accounts: institutions' accounts at their custody banks (never the platform's)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select

from lendbridge.audit import service as audit
from lendbridge.core.errors import (
    Conflict,
    InvalidParameter,
    NotFound,
)
from lendbridge.core.ids import new_id
from lendbridge.core.pagination import Page, PageRequest
from lendbridge.db import TenantContext
from lendbridge.payments.models import (
    CustodyAccount,
)
from lendbridge.payments.runtime import PaymentsRuntime
from lendbridge.payments.scoping import acting_as, get_any
from lendbridge.tenancy.domain import TenantKind
from lendbridge.tenancy.models import Tenant
from lendbridge.uow import UnitOfWork

M = TypeVar("M")


def register_custody_account(
    uow: UnitOfWork,
    *,
    institution_id: str,
    livemode: bool,
    bank_name: str,
    bank_code: str,
    account_number: str,
    account_holder: str,
    currency: str = "CNY",
    primary: bool = True,
    rt: PaymentsRuntime | None = None,
) -> CustodyAccount:
    """Register an institution's custody account (by the institution or by staff).

    Only institutions hold custody accounts: the platform never holds money, so an
    operator or partner tenant is refused (no pooled platform account).
    """
    tenant = uow.session.get(Tenant, institution_id)
    if tenant is None:
        raise NotFound(f"No such institution: '{institution_id}'", param="institution")
    if tenant.kind != TenantKind.INSTITUTION.value:
        raise InvalidParameter(
            "custody accounts belong to institutions; the platform and partners never hold funds",
            param="institution",
            code="custody_account_not_allowed",
        )
    with acting_as(uow, TenantContext(institution_id, livemode)):
        clash = uow.session.execute(
            select(CustodyAccount.id)
            .where(
                CustodyAccount.livemode == livemode,
                CustodyAccount.bank_code == bank_code,
                CustodyAccount.account_number == account_number,
            )
            .execution_options(all_tenants=True)
        ).first()
        if clash is not None:
            raise Conflict(
                "This custody account is already registered",
                param="account_number",
                code="custody_account_exists",
            )
        current = primary_account(uow, institution_id, livemode)
        if current is None:
            primary = True
        elif primary:
            current.is_primary = False
            uow.session.flush()
        account = CustodyAccount(
            id=new_id("ca"),
            tenant_id=institution_id,
            livemode=livemode,
            created=uow.now(),
            bank_name=bank_name.strip(),
            bank_code=bank_code,
            account_number=account_number,
            account_holder=account_holder.strip(),
            currency=currency,
            is_primary=primary,
            status="active",
        )
        uow.session.add(account)
    audit.record(
        uow.session,
        "custody_account.registered",
        account.id,
        {"bank_code": bank_code, "primary": primary},
        tenant_id=institution_id,
        livemode=livemode,
    )
    if rt is not None:
        uow.after_commit(
            lambda: rt.sandbox_account_opened(account_number, account.account_holder, bank_code, livemode)
        )
    return account


def primary_account(uow: UnitOfWork, institution_id: str, livemode: bool) -> CustodyAccount | None:
    stmt = (
        select(CustodyAccount)
        .where(
            CustodyAccount.tenant_id == institution_id,
            CustodyAccount.livemode == livemode,
            CustodyAccount.is_primary.is_(True),
            CustodyAccount.status == "active",
        )
        .execution_options(all_tenants=True)
    )
    return uow.session.execute(stmt).scalar_one_or_none()


def primary_custody_account(uow: UnitOfWork, institution_id: str) -> CustodyAccount:
    """The institution's primary custody account in the caller's mode (disbursements draw on it)."""
    account = primary_account(uow, institution_id, uow.ctx.livemode)
    if account is None:
        raise Conflict(
            "The loan's institution has no custody account to pay from",
            param="institution",
            code="custody_account_missing",
        )
    return account


def list_custody_accounts(
    uow: UnitOfWork, request: PageRequest, *, institution: str | None = None, staff: bool = False
) -> Page[CustodyAccount]:
    stmt = select(CustodyAccount)
    if staff:
        stmt = stmt.execution_options(all_tenants=True)
        if institution:
            stmt = stmt.where(CustodyAccount.tenant_id == institution)
    return uow.page(stmt, CustodyAccount, request)


def get_custody_account(uow: UnitOfWork, account_id: str, *, staff: bool = False) -> CustodyAccount:
    return get_any(uow, CustodyAccount, account_id) if staff else uow.get(CustodyAccount, account_id)
