"""Posting journal entries into the institutions' books, and reading the books back.

`post` stages a balanced `postings.JournalEntry` on the session; at `before_commit`
(the end of the use case, like the audit log) the staged entries are chained and written
in the same transaction as the change they book. Chains are sharded per institution and
mode (SHARDS chains each, by loan id), so concurrent repayments on different loans
rarely wait for the same chain head, and a head's row lock is held only for the few
statements of the commit, never for the whole use case (no global hot row).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, event, func, insert, select, text
from sqlalchemy.orm import Session

from lendbridge.core.hashchain import GENESIS, link_hash, sm3_hex
from lendbridge.core.ids import new_id
from lendbridge.core.money import Fen
from lendbridge.db import utcnow
from lendbridge.ledger import postings
from lendbridge.ledger.models import JournalEntry, JournalLine, LedgerChainHead
from lendbridge.ledger.postings import Account
from lendbridge.ledger.rollups import BOOK_TOTALS

SHARDS = 16
PENDING_KEY = "ledger_pending"
COPY_THRESHOLD = 200  # lines; larger batches go through COPY on PostgreSQL


@dataclass(frozen=True)
class Staged:
    id: str
    institution_id: str
    livemode: bool
    loan_id: str | None
    entry: postings.JournalEntry
    created: datetime
    chain: str


def chain_for(institution_id: str, livemode: bool, key: str | None) -> str:
    shard = zlib.crc32((key or "").encode()) % SHARDS
    return f"{institution_id}:{'live' if livemode else 'test'}:{shard:02d}"


def post(
    session: Session,
    entry: postings.JournalEntry,
    *,
    institution_id: str,
    livemode: bool,
    loan_id: str | None = None,
    shard_key: str | None = None,
    created: datetime | None = None,
) -> str:
    """Stage `entry` in `institution_id`'s books; it is written when the transaction commits.

    Returns the entry id (known at once, so a repayment can refer to its entry).
    """
    staged = Staged(
        id=new_id("je"),
        institution_id=institution_id,
        livemode=livemode,
        loan_id=loan_id,
        entry=entry,
        created=created or utcnow(),
        chain=chain_for(institution_id, livemode, shard_key or loan_id),
    )
    session.info.setdefault(PENDING_KEY, []).append(staged)
    return staged.id


def pending(session: Session) -> list[Staged]:
    items: list[Staged] = session.info.get(PENDING_KEY, [])
    return items


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    staged: list[Staged] = session.info.pop(PENDING_KEY, [])
    if staged:
        write(session, staged)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def lines_digest(lines: Iterable[tuple[str, int, int, str | None]]) -> str:
    """SM3 over the lines in order, one `account|debit|credit|loan` row each.

    A COB entry has a line per loan; hashing this compact form instead of JSON keeps
    chaining a 10,000-line entry to a few milliseconds, and covers every line the same.
    """
    text_ = "\n".join(f"{a}|{d}|{c}|{loan or ''}" for a, d, c, loan in lines)
    return sm3_hex(text_.encode())


def record_of(
    *,
    entry_id: str,
    institution_id: str,
    livemode: bool,
    chain: str,
    seq: int,
    loan_id: str | None,
    created: datetime,
    entry_type: str,
    business_date: date,
    memo: str,
    reverses: str | None,
    lines: str,
) -> dict[str, Any]:
    """What the chain hash covers: the entry's identity, its books and (by digest) all its lines."""
    return {
        "id": entry_id,
        "institution_id": institution_id,
        "livemode": livemode,
        "chain": chain,
        "seq": seq,
        "loan_id": loan_id,
        "created": created.isoformat(),
        "type": entry_type,
        "business_date": business_date.isoformat(),
        "memo": memo,
        "reverses": reverses,
        "lines": lines,
    }


def _lock_head(session: Session, chain: str) -> tuple[int, str]:
    # One round trip: insert the head if new, else take its row lock, and read it.
    row = session.execute(
        text(
            "INSERT INTO ledger_chain_heads (chain, seq, hash) VALUES (:chain, 0, :genesis) "
            "ON CONFLICT (chain) DO UPDATE SET chain = excluded.chain RETURNING seq, hash"
        ),
        {"chain": chain, "genesis": GENESIS},
    ).one()
    return int(row[0]), str(row[1])


def write(session: Session, staged: Sequence[Staged]) -> None:
    """Chain and insert staged entries (heads locked in sorted order: no deadlock cycles)."""
    by_chain: dict[str, list[Staged]] = defaultdict(list)
    for item in staged:
        by_chain[item.chain].append(item)
    entry_rows: list[dict[str, Any]] = []
    line_rows: list[tuple[Any, ...]] = []
    heads: list[dict[str, Any]] = []
    for chain in sorted(by_chain):
        seq, previous = _lock_head(session, chain)
        for item in by_chain[chain]:
            seq += 1
            entry = item.entry
            digest = link_hash(
                previous,
                record_of(
                    entry_id=item.id,
                    institution_id=item.institution_id,
                    livemode=item.livemode,
                    chain=chain,
                    seq=seq,
                    loan_id=item.loan_id,
                    created=item.created,
                    entry_type=entry.type.value,
                    business_date=entry.business_date,
                    memo=entry.memo,
                    reverses=entry.reverses,
                    lines=lines_digest((x.account, x.debit, x.credit, x.loan_id) for x in entry.lines),
                ),
            )
            count = len(item.entry.lines)
            entry_rows.append(
                {
                    "id": item.id,
                    "institution_id": item.institution_id,
                    "livemode": item.livemode,
                    "loan_id": item.loan_id,
                    "entry_type": item.entry.type.value,
                    "business_date": item.entry.business_date,
                    "created": item.created,
                    "memo": item.entry.memo,
                    "reverses": item.entry.reverses,
                    "line_count": count,
                    "total_debit": item.entry.total_debit,
                    "total_credit": item.entry.total_credit,
                    "chain": chain,
                    "seq": seq,
                    "prev_hash": previous,
                    "hash": digest,
                }
            )
            for number, line in enumerate(item.entry.lines, start=1):
                line_rows.append(
                    (item.id, number, count, str(line.account), line.debit, line.credit, line.loan_id)
                )
            previous = digest
        heads.append({"chain": chain, "seq": seq, "hash": previous})
    if session.get_bind().dialect.name == "postgresql" and len(line_rows) < COPY_THRESHOLD:
        _write_in_one_statement(session, heads, entry_rows, line_rows)
        return
    session.execute(
        text("UPDATE ledger_chain_heads SET seq = :seq, hash = :hash WHERE chain = :chain"), heads
    )
    session.execute(insert(cast(Table, JournalEntry.__table__)), entry_rows)
    _insert_lines(session, line_rows)


_ENTRY_COLUMNS = (
    "id",
    "institution_id",
    "livemode",
    "loan_id",
    "entry_type",
    "business_date",
    "created",
    "memo",
    "reverses",
    "line_count",
    "total_debit",
    "total_credit",
    "chain",
    "seq",
    "prev_hash",
    "hash",
)


def _write_in_one_statement(
    session: Session, heads: list[dict[str, Any]], entries: list[dict[str, Any]], lines: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: move the heads and insert entries and lines in ONE round trip.

    Data-modifying CTEs run in the same statement; the deferred balance trigger still
    checks every entry at commit. The SQL is built only from fixed column names and
    numbered placeholders; every value is a bound parameter.
    """
    params: dict[str, Any] = {}

    def rows(prefix: str, items: list[tuple[Any, ...]], casts: tuple[str, ...]) -> str:
        out = []
        for r, item in enumerate(items):
            names = []
            for c, value in enumerate(item):
                key = f"{prefix}{r}_{c}"
                params[key] = value
                names.append(f"CAST(:{key} AS {casts[c]})" if casts[c] else f":{key}")
            out.append("(" + ", ".join(names) + ")")
        return ", ".join(out)

    head_values = rows("h", [(h["chain"], h["seq"], h["hash"]) for h in heads], ("", "bigint", ""))
    entry_values = rows(
        "e",
        [tuple(e[c] for c in _ENTRY_COLUMNS) for e in entries],
        ("", "", "", "", "", "date", "", "", "", "", "", "", "", "bigint", "", ""),
    )
    line_values = rows("l", lines, ("", "", "", "", "", "", ""))
    sql = (
        "WITH heads AS (UPDATE ledger_chain_heads AS h SET seq = v.seq, hash = v.hash "  # noqa: S608 - fixed names
        f"FROM (VALUES {head_values}) AS v(chain, seq, hash) WHERE h.chain = v.chain), "
        f"entries AS (INSERT INTO journal_entries ({', '.join(_ENTRY_COLUMNS)}) VALUES {entry_values}) "
        f"INSERT INTO journal_lines ({', '.join(_LINE_COLUMNS)}) VALUES {line_values}"
    )
    session.execute(text(sql), params)


_LINE_COLUMNS = ("entry_id", "line_no", "entry_line_count", "account", "debit", "credit", "loan_id")


def _insert_lines(session: Session, rows: list[tuple[Any, ...]]) -> None:
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY journal_lines ({', '.join(_LINE_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    session.execute(
        insert(cast(Table, JournalLine.__table__)),
        [dict(zip(_LINE_COLUMNS, row, strict=True)) for row in rows],
    )


# -- reading the books ---------------------------------------------------------------------

# Per-loan accounts whose balances the loan row mirrors (credit-normal ones negated).
LOAN_ACCOUNTS = (
    Account.LOANS_RECEIVABLE,
    Account.INTEREST_RECEIVABLE,
    Account.PENALTY_RECEIVABLE,
    Account.FEE_RECEIVABLE,
    Account.BORROWER_PAYABLE,
    Account.DEFERRED_SUBSIDY,
)


def normal_balance(account: Account, debit: int, credit: int) -> int:
    """The balance in the account's normal direction (assets: debits - credits)."""
    return debit - credit if account.debit_normal else credit - debit


def loan_balances(session: Session, loan_id: str) -> dict[Account, int]:
    """Every account's normal balance over the lines booked against `loan_id`."""
    rows = session.execute(
        select(JournalLine.account, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .where(JournalLine.loan_id == loan_id)
        .group_by(JournalLine.account)
    ).all()
    balances = {account: 0 for account in LOAN_ACCOUNTS}
    for name, debit, credit in rows:
        account = Account(name)
        balances[account] = normal_balance(account, int(debit or 0), int(credit or 0))
    return balances


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debit: int
    credit: int

    @property
    def balance(self) -> int:
        return normal_balance(self.account, self.debit, self.credit)


@dataclass(frozen=True)
class TrialBalance:
    institution_id: str
    livemode: bool
    as_of: date
    rows: tuple[TrialBalanceRow, ...]

    @property
    def total_debit(self) -> int:
        return sum(r.debit for r in self.rows)

    @property
    def total_credit(self) -> int:
        return sum(r.credit for r in self.rows)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


def trial_balance(session: Session, institution_id: str, livemode: bool, as_of: date) -> TrialBalance:
    """Debit and credit totals per account of one institution's books up to `as_of`: the
    rolled-up totals plus the lines of the entries made since the last rollup (`rollups`)."""
    rows = session.execute(
        BOOK_TOTALS, {"institution": institution_id, "livemode": livemode, "as_of": as_of}
    ).all()
    return _trial_balance(institution_id, livemode, as_of, rows)


def trial_balance_from_lines(
    session: Session, institution_id: str, livemode: bool, as_of: date
) -> TrialBalance:
    """The same totals summed from every journal line (what the rollups must agree with)."""
    rows = session.execute(
        select(JournalLine.account, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            JournalEntry.institution_id == institution_id,
            JournalEntry.livemode == livemode,
            JournalEntry.business_date <= as_of,
        )
        .group_by(JournalLine.account)
    ).all()
    return _trial_balance(institution_id, livemode, as_of, rows)


def _trial_balance(institution_id: str, livemode: bool, as_of: date, rows: Sequence[Any]) -> TrialBalance:
    totals = {Account(name): (int(d or 0), int(c or 0)) for name, d, c in rows}
    return TrialBalance(
        institution_id,
        livemode,
        as_of,
        tuple(TrialBalanceRow(a, *totals[a]) for a in Account if a in totals),
    )


def books(session: Session) -> list[tuple[str, bool]]:
    """Every (institution, mode) that has a ledger: only institutions keep books."""
    rows = session.execute(
        select(JournalEntry.institution_id, JournalEntry.livemode)
        .distinct()
        .order_by(JournalEntry.institution_id)
    ).all()
    return [(str(i), bool(m)) for i, m in rows]


@dataclass(frozen=True)
class StatementEntry:
    entry: JournalEntry
    lines: tuple[JournalLine, ...]


def statement_entries(
    session: Session, loan_id: str, *, limit: int, starting_after: str | None, ending_before: str | None
) -> tuple[list[StatementEntry], bool]:
    """The entries that touch `loan_id` (newest first, cursor-paginated) with the loan's lines."""
    ids = select(JournalLine.entry_id).where(JournalLine.loan_id == loan_id).distinct()
    if starting_after:
        ids = ids.where(JournalLine.entry_id < starting_after).order_by(JournalLine.entry_id.desc())
    elif ending_before:
        ids = ids.where(JournalLine.entry_id > ending_before).order_by(JournalLine.entry_id.asc())
    else:
        ids = ids.order_by(JournalLine.entry_id.desc())
    found = [str(row[0]) for row in session.execute(ids.limit(limit + 1)).all()]
    has_more = len(found) > limit
    found = found[:limit]
    if ending_before:
        found.reverse()
    if not found:
        return [], has_more
    entries = {
        e.id: e for e in session.execute(select(JournalEntry).where(JournalEntry.id.in_(found))).scalars()
    }
    lines: dict[str, list[JournalLine]] = defaultdict(list)
    for line in session.execute(
        select(JournalLine)
        .where(JournalLine.entry_id.in_(found), JournalLine.loan_id == loan_id)
        .order_by(JournalLine.entry_id, JournalLine.line_no)
    ).scalars():
        lines[line.entry_id].append(line)
    return [StatementEntry(entries[i], tuple(lines[i])) for i in found], has_more


def unbalanced_entries(session: Session) -> int:
    """Entries whose lines do not add up to their declared, equal totals (should be 0)."""
    sums = (
        select(
            JournalLine.entry_id,
            func.count().label("n"),
            func.sum(JournalLine.debit).label("d"),
            func.sum(JournalLine.credit).label("c"),
        )
        .group_by(JournalLine.entry_id)
        .subquery()
    )
    stmt = (
        select(func.count())
        .select_from(JournalEntry)
        .outerjoin(sums, sums.c.entry_id == JournalEntry.id)
        .where(
            (sums.c.entry_id.is_(None))
            | (sums.c.n != JournalEntry.line_count)
            | (sums.c.d != JournalEntry.total_debit)
            | (sums.c.c != JournalEntry.total_credit)
            | (JournalEntry.total_debit != JournalEntry.total_credit)
        )
    )
    return int(session.execute(stmt).scalar_one())


# -- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    chain: str
    entries: int
    ok: bool
    problem: str | None = None


def _iter_chain(session: Session, chain: str, page: int = 500) -> Iterator[StatementEntry]:
    """Entries of one chain in order, with all their lines, a page at a time."""
    last = 0
    while True:
        entries = list(
            session.execute(
                select(JournalEntry)
                .where(JournalEntry.chain == chain, JournalEntry.seq > last)
                .order_by(JournalEntry.seq)
                .limit(page)
            ).scalars()
        )
        if not entries:
            return
        lines: dict[str, list[JournalLine]] = defaultdict(list)
        for line in session.execute(
            select(JournalLine)
            .where(JournalLine.entry_id.in_([e.id for e in entries]))
            .order_by(JournalLine.entry_id, JournalLine.line_no)
        ).scalars():
            lines[line.entry_id].append(line)
        for entry in entries:
            yield StatementEntry(entry, tuple(lines[entry.id]))
        last = entries[-1].seq


def verify(session: Session) -> list[ChainReport]:
    """Recompute every ledger chain from its entries and lines; report the first break."""
    reports = []
    for head in session.execute(select(LedgerChainHead).order_by(LedgerChainHead.chain)).scalars().all():
        reports.append(_verify_chain(session, head))
    return reports


def _verify_chain(session: Session, head: LedgerChainHead) -> ChainReport:
    previous, expected, count = GENESIS, 1, 0
    for item in _iter_chain(session, head.chain):
        entry, lines = item.entry, item.lines
        count += 1
        if entry.seq != expected:
            return ChainReport(head.chain, count, False, f"entry missing before seq {entry.seq}")
        record = record_of(
            entry_id=entry.id,
            institution_id=entry.institution_id,
            livemode=entry.livemode,
            chain=entry.chain,
            seq=entry.seq,
            loan_id=entry.loan_id,
            created=entry.created,
            entry_type=entry.entry_type,
            business_date=entry.business_date,
            memo=entry.memo,
            reverses=entry.reverses,
            lines=lines_digest((x.account, x.debit, x.credit, x.loan_id) for x in lines),
        )
        if entry.prev_hash != previous or link_hash(previous, record) != entry.hash:
            return ChainReport(head.chain, count, False, f"entry {entry.id} (seq {entry.seq}) was altered")
        previous, expected = entry.hash, expected + 1
    if head.seq != count or head.hash != previous:
        return ChainReport(head.chain, count, False, "entries removed from the end of the chain")
    return ChainReport(head.chain, count, True)


def institution_trial_balance(
    uow: Any, institution_id: str, livemode: bool, as_of: date | None
) -> TrialBalance:
    """The trial balance of an institution's books (404 if no such institution)."""
    from lendbridge.tenancy.domain import TenantKind
    from lendbridge.tenancy.services import get_tenant

    get_tenant(uow, institution_id, TenantKind.INSTITUTION)
    return trial_balance(uow.session, institution_id, livemode, as_of or uow.today())


def record_settlement(
    session: Session, *, institution_id: str, livemode: bool, amount: int, on: date, reference: str
) -> str:
    """A collector settled `amount` of collected repayments into the custody account."""
    entry = postings.settlement(Fen(amount), on=on, memo=f"settlement {reference}"[:200])
    return post(session, entry, institution_id=institution_id, livemode=livemode, shard_key=reference)
