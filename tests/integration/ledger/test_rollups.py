"""The trial balance from rollups agrees with the sum of every line, before and after a
rollup and with entries on both sides of it; entries below the fence are refused."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lendbridge.ledger import rollups
from lendbridge.ledger import services as ledger
from tests.factories.loans import Book, close_days, make_book, make_loan, repay, set_day, use_clock

START = date(2026, 1, 15)
DATES = [date(2026, 1, 14), START, date(2026, 1, 20), date(2026, 1, 31), date(2026, 2, 1), date(2026, 3, 1)]


def _agree(app: Flask, books: list[Book]) -> None:
    with app.extensions["lendbridge"].db.snapshot() as s:
        for book in books:
            for as_of in DATES:
                fast = ledger.trial_balance(s, book.institution.tenant_id, False, as_of)
                slow = ledger.trial_balance_from_lines(s, book.institution.tenant_id, False, as_of)
                assert fast == slow, (book.institution.tenant_id, as_of)


def _roll_now(app: Flask) -> int:
    # No lag: every entry made so far is below the fence, and new ones sort above it.
    return rollups.roll_up(app.extensions["lendbridge"].db, datetime.now(UTC), lag=timedelta(0))


def test_rolled_up_totals_plus_newer_lines_equal_every_line(any_app: Flask) -> None:
    use_clock(any_app, START)
    books = [make_book(any_app, "First"), make_book(any_app, "Second")]
    loan = make_loan(any_app, books[0], principal=1_000_000)
    make_loan(any_app, books[1], principal=2_000_000)
    close_days(any_app, START, date(2026, 1, 31))
    _agree(any_app, books)
    time.sleep(0.002)  # the fence is a millisecond floor
    added = _roll_now(any_app)
    assert added > 0
    _agree(any_app, books)

    set_day(any_app, date(2026, 2, 1))
    repay(any_app, books[0].partner.tenant_id, loan, 30_000)
    close_days(any_app, date(2026, 2, 1), date(2026, 2, 3))
    _agree(any_app, books)  # rollups for January, lines for February
    time.sleep(0.002)
    assert 0 < _roll_now(any_app) < added
    assert _roll_now(any_app) == 0  # nothing new: idempotent
    _agree(any_app, books)
    with any_app.extensions["lendbridge"].db.snapshot() as s:
        tb = ledger.trial_balance(s, books[0].institution.tenant_id, False, date(2026, 3, 1))
    assert tb.rows and sum(r.debit for r in tb.rows) == sum(r.credit for r in tb.rows)


def test_an_entry_older_than_the_fence_is_refused(any_app: Flask) -> None:
    db = any_app.extensions["lendbridge"].db
    rollups.roll_up(db, datetime.now(UTC), lag=timedelta(0))
    stale = "je_00000000000000000000000000"  # made long ago, committed only now
    with pytest.raises(DBAPIError, match="older than the ledger rollup mark"), db.writer() as s:
        s.execute(
            text(
                "INSERT INTO journal_entries (id, institution_id, livemode, loan_id, entry_type, "
                "business_date, created, memo, reverses, line_count, total_debit, total_credit, chain, "
                "seq, prev_hash, hash) VALUES (:id, 'ins_x', false, NULL, 'settlement', :d, :c, '', NULL, "
                "2, 1, 1, 'x', 1, 'p', 'h')"
            ),
            {"id": stale, "d": START, "c": datetime.now(UTC)},
        )
        s.commit()


def test_moving_the_fence_waits_for_a_posting_in_flight(pg_app: Flask) -> None:
    db = pg_app.extensions["lendbridge"].db
    poster = db.writer()
    # A posting transaction that has inserted an entry (taking the lock shared) and not committed.
    poster.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": rollups.ROLLUP_LOCK})
    done = threading.Event()

    def roll() -> None:
        rollups.roll_up(db, datetime.now(UTC), lag=timedelta(0))
        done.set()

    worker = threading.Thread(target=roll)
    worker.start()
    assert not done.wait(0.5)  # the fence does not move under an uncommitted posting
    poster.rollback()
    poster.close()
    assert done.wait(10)
    worker.join()
