"""Ledger rollups: what the trial balance reads instead of every journal line.

At a million loans, close of business writes over a million journal lines a day, so
summing all lines up to a date gets slower every day. Instead, an hourly job adds the
lines of entries more than an hour old to per book, business date and account totals
(`ledger_rollups`), and the trial balance reads those totals plus the lines of the
entries made since (`trial_balance` in services).

Entry ids are time-ordered (made from the wall clock when the entry is staged), so "the
entries below id X" is a set that only a late transaction could still add to. Two marks
make that impossible rather than unlikely:

1. `fence` moves first, in its own short transaction that takes an exclusive advisory lock
   (PostgreSQL). Every journal entry INSERT takes the same lock shared (a trigger) and is
   refused if its id sorts below the fence. So once the fence has moved, every entry below
   it has committed (the move waited for in-flight posters) and no new one can appear.
2. `rolled` then catches up to the fence: the lines of entries in [rolled, fence) are
   added to the totals in the same transaction that moves `rolled`.

The fence trails the wall clock by `LAG` (an hour), far longer than any transaction, so in
practice nothing is refused; a transaction that did straddle it would fail and be retried
with new ids. SQLite (the embedded mode) has one writer at a time: the trigger alone holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update

from lendbridge.core.ids import PREFIXES, id_floor
from lendbridge.db import Database
from lendbridge.ledger.models import JournalEntry, LedgerRollupMark

LAG = timedelta(hours=1)
ROLLUP_LOCK = 0x4C42524F4C4C  # also in migration 0010 (the trigger takes it shared)

_ADD_TOTALS = text(
    "INSERT INTO ledger_rollups (institution_id, livemode, business_date, account, debit, credit) "
    "SELECT e.institution_id, e.livemode, e.business_date, l.account, sum(l.debit), sum(l.credit) "
    "FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id "
    "WHERE e.id >= :low AND e.id < :high "
    "GROUP BY e.institution_id, e.livemode, e.business_date, l.account "
    "ON CONFLICT (institution_id, livemode, business_date, account) DO UPDATE SET "
    "debit = ledger_rollups.debit + excluded.debit, credit = ledger_rollups.credit + excluded.credit"
)


_MARK_ROW = text(
    "INSERT INTO ledger_rollup_mark (id, fence, rolled) VALUES (1, 'je', 'je') ON CONFLICT (id) DO NOTHING"
)


def fence_for(now: datetime, lag: timedelta = LAG) -> str:
    return id_floor(PREFIXES["journal_entry"], int((now - lag).timestamp() * 1000))


def roll_up(db: Database, now: datetime | None = None, *, lag: timedelta = LAG) -> int:
    """Move the fence to `now - lag` (wall clock) and add the entries below it that are not
    rolled up yet to the totals; returns how many entries were added."""
    fence = fence_for(now or datetime.now(UTC), lag)
    with db.writer() as session:
        session.execute(_MARK_ROW)  # a restored or truncated database may lack it
        if db.dialect == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(ROLLUP_LOCK)))
        session.execute(
            update(LedgerRollupMark)
            .where(LedgerRollupMark.id == 1, LedgerRollupMark.fence < fence)
            .values(fence=fence)
        )
        session.commit()
    with db.writer() as session:
        mark = session.execute(
            select(LedgerRollupMark).where(LedgerRollupMark.id == 1).with_for_update()
        ).scalar_one()
        low, high = mark.rolled, mark.fence
        if low >= high:
            return 0
        count = int(
            session.execute(
                select(func.count()).where(JournalEntry.id >= low, JournalEntry.id < high)
            ).scalar_one()
        )
        if count:
            session.execute(_ADD_TOTALS, {"low": low, "high": high})
        mark.rolled = high
        session.commit()
        return count


# One statement, so one snapshot: the mark, the totals below it and the lines above it
# cannot come from either side of a rollup's commit (double counting or a gap).
BOOK_TOTALS = text(
    "SELECT account, sum(debit), sum(credit) FROM ("
    " SELECT account, debit, credit FROM ledger_rollups"
    " WHERE institution_id = :institution AND livemode = :livemode AND business_date <= :as_of"
    " UNION ALL"
    " SELECT l.account, l.debit, l.credit FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id"
    " WHERE e.institution_id = :institution AND e.livemode = :livemode AND e.business_date <= :as_of"
    " AND e.id >= COALESCE((SELECT rolled FROM ledger_rollup_mark WHERE id = 1), '')"
    ") AS book GROUP BY account"
)
