"""Unit of work: one transaction per use case, rolled back unless committed.

Services receive a UnitOfWork and never commit themselves; the caller (the HTTP request
lifecycle, a task, the CLI) commits once, so an idempotency record, an audit record and
an outbox event commit together with the change they describe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Select, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from lendbridge.core.clock import Clock, SystemClock, business_date
from lendbridge.core.errors import NotFound
from lendbridge.core.pagination import Page, PageRequest, make_page
from lendbridge.db import CTX_KEY, SYSTEM, Database, TenantContext, TenantScoped, tenant_context

M = TypeVar("M")


class UnitOfWork:
    def __init__(
        self,
        db: Database,
        ctx: TenantContext = SYSTEM,
        *,
        write: bool = True,
        clock: Clock | None = None,
        actor: str = "system",
        request_id: str | None = None,
        event_clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.ctx = ctx
        self.clock: Clock = clock or SystemClock()
        # When events are recorded: the same clock, except while a test clock's days run
        # (objects live at the test clock's time; events are stamped when they happened).
        self.event_clock: Clock = event_clock or self.clock
        self.actor = actor
        self.request_id = request_id
        self.session: Session = (db.writer if write else db.reader)()
        self.session.info[CTX_KEY] = ctx
        self.session.info["uow"] = self
        self._after_commit: list[Callable[[], None]] = []
        self.committed = False

    # -- transaction -------------------------------------------------------------------
    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def commit(self) -> None:
        self.session.commit()
        self.committed = True
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self.session.rollback()
        self._after_commit.clear()

    def close(self) -> None:
        if not self.committed:
            self.session.rollback()
        self.session.close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this unit of work has committed (never on rollback)."""
        self._after_commit.append(callback)

    # -- time ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return business_date(self.clock.now())

    # -- repository helpers (already scoped to ctx by lendbridge.db) ---------------------
    def get(self, model: type[M], object_id: str, *, for_update: bool = False) -> M:
        """The object with this id in the caller's tenant and mode, else NotFound (404)."""
        obj = None if for_update else self._loaded(model, object_id)
        if obj is None:
            stmt = select(model).where(model.id == object_id)  # type: ignore[attr-defined]
            if for_update:
                stmt = stmt.with_for_update()
            obj = self.session.execute(stmt).scalar_one_or_none()
        if obj is None:
            raise NotFound(f"No such {_label(model)}: '{object_id}'", param="id")
        return obj

    def find(self, model: type[M], object_id: str) -> M | None:
        obj = self._loaded(model, object_id)
        if obj is not None:
            return obj
        stmt = select(model).where(model.id == object_id)  # type: ignore[attr-defined]
        return self.session.execute(stmt).scalar_one_or_none()

    def _loaded(self, model: type[M], object_id: str) -> M | None:
        """The object if this transaction already loaded it and it belongs to the current
        tenant and mode: a second SELECT would return the same identity-mapped object."""
        obj = self.session.identity_map.get(identity_key(model, object_id))
        if not isinstance(obj, model) or inspect(obj).expired:
            return None
        ctx = tenant_context(self.session)
        if isinstance(obj, TenantScoped) and ctx is not None and not ctx.is_system:
            if obj.tenant_id != ctx.tenant_id or obj.livemode != ctx.livemode:
                return None
        return obj

    def page(self, stmt: Select[Any], model: type[Any], request: PageRequest) -> Page[Any]:
        """Newest-first cursor pagination over `stmt` by the model's time-ordered id."""
        id_col = model.id
        if request.starting_after:
            stmt = stmt.where(id_col < request.starting_after).order_by(id_col.desc())
        elif request.ending_before:
            stmt = stmt.where(id_col > request.ending_before).order_by(id_col.asc())
        else:
            stmt = stmt.order_by(id_col.desc())
        rows = list(self.session.execute(stmt.limit(request.fetch)).scalars())
        return make_page(rows, request)


def _label(model: type[Any]) -> str:
    return str(getattr(model, "__object_name__", model.__name__.lower()))
