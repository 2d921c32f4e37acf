"""Journal entries and lines of the institutions' books.

Not TenantScoped on purpose: a ledger belongs to the funding institution, while the
request that posts (a partner's repayment) runs in the partner's tenant context.

Balance is enforced by the database as well as by `postings.JournalEntry`:
- an entry declares `line_count`, `total_debit` and `total_credit` (CHECK: equal, > 0);
- a line carries its entry's line count, and its number lies in 1..that count (CHECK);
  (entry, line number) is unique; a trigger refuses a line whose entry does not exist
  with that line count (PostgreSQL: once per statement over the statement's new rows,
  so a COPY of many lines costs one check, not one foreign-key probe per line). So an
  entry has at most `line_count` lines and none can be added once they are all there;
- the entry refers to its closing line (number = line_count) through a foreign key
  checked at COMMIT (deferred), so an entry without all its lines cannot commit;
- PostgreSQL: a constraint trigger, deferred to commit, compares each entry's line sums
  and count with its declared totals; SQLite (no deferred triggers): lines must be
  inserted in order and inserting the closing line checks the sums.
Both tables are append-only (triggers refuse UPDATE and DELETE); corrections are
reversing entries. See migrations/versions/0004_loans.py for the DDL.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lendbridge.db import Base


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __object_name__ = "journal entry"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(40))
    livemode: Mapped[bool] = mapped_column(Boolean)
    loan_id: Mapped[str | None] = mapped_column(String(40))
    entry_type: Mapped[str] = mapped_column(String(30))
    business_date: Mapped[date] = mapped_column(Date)
    created: Mapped[datetime]
    memo: Mapped[str] = mapped_column(String(200), default="")
    reverses: Mapped[str | None] = mapped_column(String(40))
    line_count: Mapped[int] = mapped_column(Integer)
    total_debit: Mapped[int] = mapped_column(BigInteger)
    total_credit: Mapped[int] = mapped_column(BigInteger)
    chain: Mapped[str] = mapped_column(String(80))
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("total_debit = total_credit AND total_debit > 0", name="balanced"),
        CheckConstraint("line_count >= 2", name="two_lines"),
        UniqueConstraint("chain", "seq", name="uq_journal_entries_chain_seq"),
        ForeignKeyConstraint(
            ["id", "line_count"],
            ["journal_lines.entry_id", "journal_lines.line_no"],
            name="fk_journal_entries_closing_line",
            use_alter=True,
            deferrable=True,
            initially="DEFERRED",
        ),
        Index("ix_journal_entries_book_date", "institution_id", "livemode", "business_date"),
    )


class JournalLine(Base):
    __tablename__ = "journal_lines"

    entry_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_line_count: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(30))
    debit: Mapped[int] = mapped_column(BigInteger)
    credit: Mapped[int] = mapped_column(BigInteger)
    loan_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        CheckConstraint("line_no >= 1 AND line_no <= entry_line_count", name="line_no_in_entry"),
        CheckConstraint(
            "debit >= 0 AND credit >= 0 AND ((debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0))",
            name="one_side",
        ),
        Index("ix_journal_lines_loan", "loan_id", "entry_id"),
    )


class LedgerChainHead(Base):
    """The last link of one hash chain (institution, mode, shard); locked only at commit."""

    __tablename__ = "ledger_chain_heads"

    chain: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class LedgerRollup(Base):
    """Debit and credit totals of one account of one book for one business date, over every
    entry below the rollup mark (`LedgerRollupMark`): the trial balance reads these instead
    of every journal line, plus the lines of the entries made since."""

    __tablename__ = "ledger_rollups"

    institution_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    account: Mapped[str] = mapped_column(String(30), primary_key=True)
    debit: Mapped[int] = mapped_column(BigInteger)
    credit: Mapped[int] = mapped_column(BigInteger)


class LedgerRollupMark(Base):
    """One row. `fence`: the database refuses a journal entry whose id sorts below it (it
    could be missed). `rolled`: every entry below it is in the rollups; entries from
    `rolled` up are read line by line. The fence trails the wall clock by an hour, far
    more than any transaction lasts, and moves in its own short transaction first."""

    __tablename__ = "ledger_rollup_mark"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fence: Mapped[str] = mapped_column(String(40))
    rolled: Mapped[str] = mapped_column(String(40))
