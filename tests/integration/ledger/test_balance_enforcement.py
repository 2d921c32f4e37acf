"""The database itself refuses unbalanced, incomplete, extended or edited journal entries.

These tests bypass Python's `JournalEntry` checks and write raw SQL, on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from sqlalchemy import Connection, text
from sqlalchemy.exc import DatabaseError

from lendbridge.core.hashchain import GENESIS
from lendbridge.ledger import services as ledger
from tests.factories.loans import make_book, make_loan, uow_for, use_clock

ON = date(2026, 3, 2)


@contextmanager
def tx(app: Flask) -> Iterator[Connection]:
    engine = app.extensions["lendbridge"].db.engine.execution_options(write=True)
    with engine.begin() as conn:
        yield conn


def entry(conn: Connection, entry_id: str, line_count: int, total: int, *, debit: int | None = None) -> None:
    conn.execute(
        text(
            "INSERT INTO journal_entries (id, institution_id, livemode, loan_id, entry_type, business_date, "
            "created, memo, reverses, line_count, total_debit, total_credit, chain, seq, prev_hash, hash) "
            "VALUES (:id, 'ten_x', false, NULL, 'settlement', :on, :created, '', NULL, :n, :d, :c, "
            ":chain, 1, :g, :g)"
        ),
        {
            "id": entry_id,
            "on": ON,
            "created": datetime(2026, 3, 2, tzinfo=UTC),
            "n": line_count,
            "d": total if debit is None else debit,
            "c": total,
            "chain": f"raw:{entry_id}",
            "g": GENESIS,
        },
    )


def line(conn: Connection, entry_id: str, no: int, count: int, account: str, debit: int, credit: int) -> None:
    conn.execute(
        text(
            "INSERT INTO journal_lines (entry_id, line_no, entry_line_count, account, debit, credit, "
            "loan_id) VALUES (:e, :no, :n, :a, :d, :c, NULL)"
        ),
        {"e": entry_id, "no": no, "n": count, "a": account, "d": debit, "c": credit},
    )


def count_entries(app: Flask, entry_id: str) -> int:
    with tx(app) as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM journal_entries WHERE id = :i"), {"i": entry_id}
            ).scalar_one()
        )


def test_a_balanced_raw_entry_commits(any_app: Flask) -> None:
    with tx(any_app) as conn:
        entry(conn, "je_ok", 2, 500)
        line(conn, "je_ok", 1, 2, "custody_cash", 500, 0)
        line(conn, "je_ok", 2, 2, "clearing", 0, 500)
    assert count_entries(any_app, "je_ok") == 1


def test_lines_that_do_not_add_up_cannot_commit(any_app: Flask) -> None:
    with pytest.raises(DatabaseError):
        with tx(any_app) as conn:
            entry(conn, "je_bad", 2, 500)
            line(conn, "je_bad", 1, 2, "custody_cash", 500, 0)
            line(conn, "je_bad", 2, 2, "clearing", 0, 499)
    assert count_entries(any_app, "je_bad") == 0


def test_an_entry_missing_lines_cannot_commit(any_app: Flask) -> None:
    with pytest.raises(DatabaseError):
        with tx(any_app) as conn:
            entry(conn, "je_short", 3, 500)
            line(conn, "je_short", 1, 3, "custody_cash", 500, 0)
            line(conn, "je_short", 2, 3, "clearing", 0, 500)
    assert count_entries(any_app, "je_short") == 0


def test_an_entry_with_no_lines_cannot_commit(any_app: Flask) -> None:
    with pytest.raises(DatabaseError):
        with tx(any_app) as conn:
            entry(conn, "je_empty", 2, 500)
    assert count_entries(any_app, "je_empty") == 0


def test_declared_totals_must_be_equal(any_app: Flask) -> None:
    with pytest.raises(DatabaseError):
        with tx(any_app) as conn:
            entry(conn, "je_decl", 2, 500, debit=600)


def test_no_line_can_be_added_to_a_committed_entry(any_app: Flask) -> None:
    with tx(any_app) as conn:
        entry(conn, "je_done", 2, 500)
        line(conn, "je_done", 1, 2, "custody_cash", 500, 0)
        line(conn, "je_done", 2, 2, "clearing", 0, 500)
    for number, count in ((3, 2), (3, 3), (2, 2), (0, 2)):
        with pytest.raises(DatabaseError):
            with tx(any_app) as conn:
                line(conn, "je_done", number, count, "custody_cash", 100, 0)


@pytest.mark.parametrize("debit,credit", [(0, 0), (-5, 0), (5, 5)], ids=["zero", "negative", "both-sides"])
def test_a_line_is_one_positive_side(any_app: Flask, debit: int, credit: int) -> None:
    with pytest.raises(DatabaseError):
        with tx(any_app) as conn:
            entry(conn, "je_side", 2, 5)
            line(conn, "je_side", 1, 2, "custody_cash", debit, credit)


def test_entries_and_lines_are_append_only(any_app: Flask) -> None:
    use_clock(any_app, ON)
    make_loan(any_app, make_book(any_app))
    for sql in (
        "UPDATE journal_lines SET debit = debit + 1",
        "DELETE FROM journal_lines",
        "UPDATE journal_entries SET memo = 'edited'",
        "DELETE FROM journal_entries",
    ):
        with pytest.raises(DatabaseError):
            with tx(any_app) as conn:
                conn.execute(text(sql))


def test_chain_verification_detects_an_edited_line(app: Flask) -> None:
    use_clock(app, ON)
    make_loan(app, make_book(app))
    with uow_for(app, None) as uow:
        assert all(r.ok for r in ledger.verify(uow.session))
    with tx(app) as conn:
        # Simulate tampering by someone with DDL rights: drop the guard, edit, restore it.
        conn.execute(text("DROP TRIGGER journal_lines_no_update"))
        conn.execute(
            text("UPDATE journal_lines SET debit = debit + 100, credit = credit + 0 WHERE line_no = 1")
        )
    with uow_for(app, None) as uow:
        reports = ledger.verify(uow.session)
    assert any(not r.ok and "altered" in (r.problem or "") for r in reports)
