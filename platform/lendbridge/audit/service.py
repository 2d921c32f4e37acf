"""Recording and verifying the audit log.

Records are collected during a transaction and chained in `before_commit`, at the very
end, so the chain-head row lock is held for microseconds, not for the whole use case.
Chains are sharded per tenant (SHARDS chains each, by object id) so that concurrent
writes to different objects rarely wait for each other (no global hot row).
"""

from __future__ import annotations

import functools
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, TextClause, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditChainHead, AuditRecord
from lendbridge.core.hashchain import GENESIS, canonical_json, link_hash, sm3_hex
from lendbridge.core.ids import new_id
from lendbridge.db import tenant_context, utcnow

SHARDS = 8
HEADS = cast(Table, AuditChainHead.__table__)
RECORDS = cast(Table, AuditRecord.__table__)
PENDING_KEY = "audit_pending"
# Up to this many records per chain go in one statement (13 parameters a row, far below
# PostgreSQL's 65,535); a bulk job's larger batch goes as executemany.
ONE_STATEMENT_MAX = 64


def record(
    session: Session,
    action: str,
    object_id: str | None,
    change: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
    tenant_id: str | None = None,
    livemode: bool | None = None,
) -> None:
    """Queue an audit record; it is chained and written when the transaction commits."""
    ctx = tenant_context(session)
    uow = session.info.get("uow")
    pending: list[dict[str, Any]] = session.info.setdefault(PENDING_KEY, [])
    pending.append(
        {
            "tenant_id": tenant_id if tenant_id is not None else (ctx.tenant_id if ctx else None),
            "livemode": livemode if livemode is not None else (ctx.livemode if ctx else False),
            "actor": actor or (uow.actor if uow is not None else "system"),
            "action": action,
            "object_id": object_id,
            "request_id": uow.request_id if uow is not None else None,
            "change_hash": sm3_hex(canonical_json(dict(change or {}))),
        }
    )


def _chain_for(tenant_id: str | None, object_id: str | None) -> str:
    shard = zlib.crc32((object_id or "").encode()) % SHARDS
    return f"{tenant_id or 'system'}:{shard}"


LINKED_FIELDS = (
    "id",
    "chain",
    "seq",
    "tenant_id",
    "livemode",
    "actor",
    "action",
    "object_id",
    "request_id",
    "change_hash",
)


def _link_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a link's hash covers: every field but the hashes themselves."""
    fields = {name: row[name] for name in LINKED_FIELDS}
    fields["created"] = row["created"].isoformat()
    return fields


def _record_fields(rec: AuditRecord) -> dict[str, Any]:
    return _link_fields({name: getattr(rec, name) for name in (*LINKED_FIELDS, "created")})


def _lock_head(session: Session, chain: str) -> tuple[int, str]:
    """Create the chain head if missing and lock it, in one round trip: an upsert that
    rewrites nothing but takes the row lock and returns the current link."""
    dialect = session.get_bind().dialect.name
    ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
    heads = HEADS
    stmt = (
        ins(heads)
        .values(chain=chain, seq=0, hash=GENESIS)
        .on_conflict_do_update(index_elements=[heads.c.chain], set_={"seq": heads.c.seq})
        .returning(heads.c.seq, heads.c.hash)
    )
    seq, link = session.execute(stmt).one()
    return int(seq), str(link)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    # All of one tenant's records of a transaction go to one chain (picked by the first
    # object), so a commit locks one head per tenant it touched, usually exactly one.
    by_chain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    chain_of_tenant: dict[str | None, str] = {}
    for item in pending:
        tenant = item["tenant_id"]
        if tenant not in chain_of_tenant:
            chain_of_tenant[tenant] = _chain_for(tenant, item["object_id"])
        by_chain[chain_of_tenant[tenant]].append(item)
    now = utcnow()
    # Sorted chain order: two transactions never wait for each other's heads in a cycle.
    for chain in sorted(by_chain):
        seq, link = _lock_head(session, chain)
        rows = []
        for item in by_chain[chain]:
            seq += 1
            row = {"id": new_id("aud"), "chain": chain, "seq": seq, "created": now, **item}
            row["prev_hash"] = link
            link = row["hash"] = link_hash(link, _link_fields(row))
            rows.append(row)
        if session.get_bind().dialect.name == "postgresql" and len(rows) <= ONE_STATEMENT_MAX:
            params = {"head_chain": chain, "head_seq": seq, "head_hash": link}
            for i, row in enumerate(rows):
                params.update({f"{name}_{i}": value for name, value in row.items()})
            session.execute(_insert_moving_head(len(rows)), params)
        else:
            session.execute(RECORDS.insert(), rows)
            session.execute(HEADS.update().where(HEADS.c.chain == chain).values(seq=seq, hash=link))


_RECORD_COLUMNS = (*LINKED_FIELDS, "created", "prev_hash", "hash")


@functools.lru_cache(maxsize=32)
def _insert_moving_head(count: int) -> TextClause:
    """PostgreSQL: insert `count` records and move the head in ONE round trip (a
    data-modifying CTE). Plain SQL built once per row count from fixed column names, every
    value a bound parameter: SQLAlchemy cannot cache a multi-row INSERT built from the
    rows, and compiling it on every commit cost more than the statement itself."""
    columns = ", ".join(_RECORD_COLUMNS)
    rows = ", ".join("(" + ", ".join(f":{name}_{i}" for name in _RECORD_COLUMNS) + ")" for i in range(count))
    return text(
        "WITH moved_head AS (UPDATE audit_chain_heads SET seq = :head_seq, hash = :head_hash "  # noqa: S608
        f"WHERE chain = :head_chain) INSERT INTO audit_records ({columns}) VALUES {rows}"
    )


@dataclass(frozen=True)
class ChainReport:
    chain: str
    records: int
    ok: bool
    problem: str | None = None


def verify(session: Session) -> list[ChainReport]:
    """Recompute every chain; report the first broken link of each."""
    reports = []
    heads = {h.chain: h for h in session.execute(select(AuditChainHead)).scalars()}
    for chain in sorted(heads):
        reports.append(_verify_chain(session, heads[chain]))
    return reports


def _iter_chain(session: Session, chain: str) -> Iterator[AuditRecord]:
    stmt = (
        select(AuditRecord)
        .where(AuditRecord.chain == chain)
        .order_by(AuditRecord.seq)
        .execution_options(yield_per=1000)
    )
    yield from session.execute(stmt).scalars()


def _verify_chain(session: Session, head: AuditChainHead) -> ChainReport:
    previous, expected_seq, count = GENESIS, 1, 0
    for rec in _iter_chain(session, head.chain):
        count += 1
        if rec.seq != expected_seq:
            return ChainReport(head.chain, count, False, f"record missing before seq {rec.seq}")
        if rec.prev_hash != previous or link_hash(previous, _record_fields(rec)) != rec.hash:
            return ChainReport(head.chain, count, False, f"record {rec.id} (seq {rec.seq}) was altered")
        previous, expected_seq = rec.hash, expected_seq + 1
    if head.seq != count or head.hash != previous:
        return ChainReport(head.chain, count, False, "records removed from the end of the chain")
    return ChainReport(head.chain, count, True)
