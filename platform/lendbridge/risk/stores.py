"""SQL implementations of the risk ports that live in our own tables: the fraud graph's
node store, the bureau report cache and the blacklist. Each works inside the caller's
unit of work and tenant context (rows are stamped and filtered automatically)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from lendbridge.core.ids import new_id
from lendbridge.risk.graph import Node
from lendbridge.risk.models import BlacklistEntry, BureauReportRow, GraphNode
from lendbridge.risk.ports import BureauRequest
from lendbridge.uow import UnitOfWork


class SqlNodeStore:
    """Graph nodes in `risk_graph_nodes`, locked FOR UPDATE on PostgreSQL as they are read,
    so concurrent applications touching one component update its root one at a time."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._rows: dict[str, GraphNode] = {}

    def get_many(self, keys: Iterable[str]) -> dict[str, Node]:
        wanted = [k for k in set(keys) if k not in self._rows]
        if wanted:
            stmt = select(GraphNode).where(GraphNode.key.in_(sorted(wanted)))
            if self.uow.db.dialect == "postgresql":
                stmt = stmt.with_for_update()
            for row in self.uow.session.execute(stmt).scalars():
                self._rows[row.key] = row
        return {k: _node(self._rows[k]) for k in keys if k in self._rows}

    def put(self, node: Node) -> None:
        row = self._rows.get(node.key)
        if row is None:
            self._insert(node)
            return
        row.parent, row.size, row.applications, row.fraud = (
            node.parent,
            node.size,
            node.applications,
            node.fraud,
        )
        row.window_start, row.window_count, row.is_fraud = node.window_start, node.window_count, node.is_fraud

    def _insert(self, node: Node) -> None:
        # Added to the session, written in one batch at flush. Two applications creating
        # the same new attribute node at the same instant collide on the unique key; the
        # second gets a 409 and its retry sees the node (and joins its component).
        row = GraphNode(
            key=node.key,
            parent=node.parent,
            size=node.size,
            applications=node.applications,
            fraud=node.fraud,
            window_start=node.window_start,
            window_count=node.window_count,
            is_fraud=node.is_fraud,
        )
        self.uow.session.add(row)
        self._rows[node.key] = row


def _node(row: GraphNode) -> Node:
    return Node(
        key=row.key,
        parent=row.parent,
        size=row.size,
        applications=row.applications,
        fraud=row.fraud,
        window_start=row.window_start,
        window_count=row.window_count,
        is_fraud=row.is_fraud,
    )


class SqlReportCache:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def latest(self, subject: str, since: datetime) -> tuple[str, dict[str, Any], bool] | None:
        stmt = (
            select(BureauReportRow)
            .where(BureauReportRow.subject == subject, BureauReportRow.fetched_at >= since)
            .order_by(BureauReportRow.fetched_at.desc())
            .limit(1)
        )
        row = self.uow.session.execute(stmt).scalar_one_or_none()
        return None if row is None else (row.id, row.report, row.alt_data)

    def store(self, request: BureauRequest, raw: Mapping[str, Any], at: datetime) -> str:
        row = BureauReportRow(
            id=new_id("bur"),
            fetched_at=at,
            subject=request.subject,
            borrower_id=request.borrower_id,
            alt_data=request.include_alt_data,
            report=dict(raw),
        )
        self.uow.session.add(row)
        return row.id


class SqlBlacklist:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def hits(self, entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        if not entries:
            return []
        keys = {key for _, key in entries}
        stmt = select(BlacklistEntry.key).where(BlacklistEntry.key.in_(sorted(keys)))
        listed = set(self.uow.session.execute(stmt).scalars())
        return [(kind, key) for kind, key in entries if key in listed]
