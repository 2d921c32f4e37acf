"""Tenancy helpers for payments: acting for a tenant inside a staff or system unit of work,
reading any tenant's row, and opening a unit of work for a payment's own tenant."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import Select, select

from lendbridge.core.errors import NotFound
from lendbridge.db import CTX_KEY, TenantContext
from lendbridge.events.outbox import emit
from lendbridge.uow import UnitOfWork

M = TypeVar("M")
UowFactory = Callable[[], UnitOfWork]
"""Returns a system (all-tenants) unit of work; `tenant_uow` derives a tenant's from it."""


@contextmanager
def acting_as(uow: UnitOfWork, ctx: TenantContext) -> Iterator[UnitOfWork]:
    """Run part of a unit of work as another tenant (staff acting on a tenant's object).

    Staff requests carry the operator's context, which scopes every query to the
    operator. Resolving a payment or registering an institution's account must read and
    write that tenant's rows (and call other areas' services that rely on the context), in
    the same transaction as the idempotency and audit records. Pending writes are flushed
    before the context is restored.
    """
    previous_ctx, previous_info = uow.ctx, uow.session.info.get(CTX_KEY)
    uow.ctx = ctx
    uow.session.info[CTX_KEY] = ctx
    try:
        yield uow
        uow.session.flush()
    finally:
        uow.ctx = previous_ctx
        uow.session.info[CTX_KEY] = previous_info


def get_any(uow: UnitOfWork, model: type[M], object_id: str, *, for_update: bool = False) -> M:
    """An object by id in any tenant (batch jobs and staff only)."""
    stmt: Select[Any] = select(model).where(model.id == object_id)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    obj = uow.session.execute(stmt.execution_options(all_tenants=True)).scalar_one_or_none()
    if obj is None:
        raise NotFound(
            f"No such {getattr(model, '__object_name__', model.__name__)}: '{object_id}'", param="id"
        )
    return cast(M, obj)


def tenant_uow(factory: UowFactory, tenant_id: str, livemode: bool) -> UnitOfWork:
    base = factory()
    try:
        db, clock, actor = base.db, base.clock, base.actor
    finally:
        base.close()
    return UnitOfWork(db, TenantContext(tenant_id, livemode), clock=clock, actor=actor)


def emit_for(uow: UnitOfWork, tenant_id: str, livemode: bool, event_type: str, body: dict[str, Any]) -> None:
    """Emit an event to `tenant_id` from a staff or system unit of work."""
    with acting_as(uow, TenantContext(tenant_id, livemode)):
        emit(uow, event_type, body)
