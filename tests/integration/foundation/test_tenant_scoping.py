"""Repository lookups stay inside the caller's tenant and mode, also when the object
is already in the session's identity map from an earlier read."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import event

from lendbridge.core.errors import NotFound
from lendbridge.db import CTX_KEY, SYSTEM, TenantContext
from lendbridge.identity.models import Borrower
from lendbridge.uow import UnitOfWork
from tests.factories.identity import create_borrower
from tests.factories.tenancy import make_tenant


def test_identity_map_hits_save_a_query_but_never_cross_tenants(any_app: Flask) -> None:
    a, b = make_tenant(any_app, name="A"), make_tenant(any_app, name="B")
    borrower_a = create_borrower(any_app.test_client(), a.test_key).id
    svc = any_app.extensions["lendbridge"]
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(svc.db.engine, "before_cursor_execute", listener)
    try:
        with UnitOfWork(svc.db, SYSTEM, clock=svc.clock) as uow:
            uow.session.info[CTX_KEY] = TenantContext(a.tenant_id, False)
            first = uow.get(Borrower, borrower_a)
            count = len(statements)
            assert uow.find(Borrower, borrower_a) is first and uow.get(Borrower, borrower_a) is first
            assert len(statements) == count  # answered from the identity map
            uow.session.info[CTX_KEY] = TenantContext(b.tenant_id, False)
            assert uow.find(Borrower, borrower_a) is None
            with pytest.raises(NotFound):
                uow.get(Borrower, borrower_a)
            uow.session.info[CTX_KEY] = TenantContext(a.tenant_id, True)  # same tenant, live mode
            assert uow.find(Borrower, borrower_a) is None
            uow.session.info[CTX_KEY] = SYSTEM
            assert uow.find(Borrower, borrower_a) is first
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", listener)
