"""Database plumbing: declarative base, engines for SQLite and PostgreSQL, tenant scoping.

Tenant isolation lives here, in one place: every ORM SELECT/UPDATE/DELETE issued through
a session that carries a TenantContext gets `tenant_id = :tenant AND livemode = :mode`
added for every TenantScoped entity, and every new TenantScoped row is stamped (or checked)
before flush. Endpoints never filter by tenant themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JsonType, list[Any]: JsonType}


class TenantScoped:
    """Mixin for rows owned by one tenant in one mode (test or live)."""

    tenant_id: Mapped[str] = mapped_column(String(40), index=True)
    livemode: Mapped[bool] = mapped_column(Boolean)


@dataclass(frozen=True)
class TenantContext:
    """Who a session works for. `tenant_id=None` is the system (batch jobs, admin)."""

    tenant_id: str | None
    livemode: bool

    @property
    def is_system(self) -> bool:
        return self.tenant_id is None


SYSTEM = TenantContext(None, False)
CTX_KEY = "tenant_context"


def tenant_context(session: Session) -> TenantContext | None:
    ctx = session.info.get(CTX_KEY)
    return ctx if isinstance(ctx, TenantContext) else None


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_tenants"):
        return
    ctx = tenant_context(state.session)
    if ctx is None or ctx.is_system:
        return
    tenant_id, livemode = ctx.tenant_id, ctx.livemode
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: (cls.tenant_id == tenant_id) & (cls.livemode == livemode),
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context: Any, instances: Any) -> None:
    ctx = tenant_context(session)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if ctx is None or ctx.is_system:
            if getattr(obj, "tenant_id", None) is None or getattr(obj, "livemode", None) is None:
                raise RuntimeError(
                    f"{type(obj).__name__} needs tenant_id and livemode outside a tenant context"
                )
            continue
        if getattr(obj, "tenant_id", None) is None:
            obj.tenant_id = ctx.tenant_id  # type: ignore[assignment]
        if getattr(obj, "livemode", None) is None:
            obj.livemode = ctx.livemode
        if obj.tenant_id != ctx.tenant_id or obj.livemode != ctx.livemode:
            raise RuntimeError("refusing to write a row for another tenant or mode")


def make_engine(url: str, *, pool_size: int = 10, autocommit: bool = False) -> Engine:
    """An engine for SQLite (embedded) or PostgreSQL (psycopg 3)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            hide_parameters=True,
            # A file database keeps its connections pooled: SQLite checkpoints and deletes
            # the WAL whenever the last connection closes, which would cost a checkpoint per
            # request and make the files under the data dir come and go under a backup.
            **({"pool_size": pool_size, "max_overflow": pool_size} if ":memory:" not in url else {}),
        )
        _configure_sqlite(engine)
        return engine
    # No pre-ping (it costs a round trip per checkout): a connection that died with the
    # server is invalidated on first use, that request answers 503 with a retry hint, and
    # the pool reconnects. Connections are recycled every 30 minutes.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        hide_parameters=True,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )


def _configure_sqlite(engine: Engine) -> None:
    # The driver's own transaction handling is off (isolation_level=None) so we emit BEGIN
    # ourselves: BEGIN IMMEDIATE for write transactions takes the write lock up front,
    # which is what makes concurrent duplicate requests wait instead of failing late.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


@dataclass(frozen=True)
class Database:
    """Session factories for read and write transactions over one engine."""

    engine: Engine
    reader: sessionmaker[Session]
    writer: sessionmaker[Session]
    snapshot: sessionmaker[Session]
    """Read-only, one consistent snapshot: reports, verification, statements."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def make_database(url: str, *, pool_size: int = 10) -> Database:
    engine = make_engine(url, pool_size=pool_size)
    write_engine = engine.execution_options(write=True)
    # PostgreSQL reads run on their own autocommit pool: one round trip per query instead of
    # three (BEGIN, SELECT, ROLLBACK), and no isolation-level switching per checkout.
    postgres = engine.dialect.name == "postgresql"
    read_engine = make_engine(url, pool_size=pool_size, autocommit=True) if postgres else engine
    snapshot_engine = (
        engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        if engine.dialect.name == "postgresql"
        else engine
    )
    return Database(
        engine=engine,
        reader=sessionmaker(read_engine, expire_on_commit=False, autoflush=False),
        writer=sessionmaker(write_engine, expire_on_commit=False, autoflush=True),
        snapshot=sessionmaker(snapshot_engine, expire_on_commit=False, autoflush=False),
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
