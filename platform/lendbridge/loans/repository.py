"""Set-based reads and writes of the loan book for the close of business.

The COB works on batches of loans by id range: one SELECT (locking the batch's loan rows)
to read what the batch needs, the arithmetic in Python through the pure modules (one
interest function for everything), then one bulk load into a temporary table and one
UPDATE ... FROM per target table. On PostgreSQL the bulk load is COPY; on SQLite an
executemany. No per-loan round trips, whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from lendbridge.loans.models import CreditLine, Loan, LoanInstalment

BOOKED = ("active", "overdue")
LOANS = cast(Table, Loan.__table__)
INSTALMENTS = cast(Table, LoanInstalment.__table__)
LINES = cast(Table, CreditLine.__table__)

_temp = MetaData()
INST_DELTA = Table(
    "cob_inst_delta",
    _temp,
    Column("loan_id", String(40)),
    Column("number", Integer),
    Column("interest", BigInteger),
    Column("fee", BigInteger),
    Column("penalty", BigInteger),
    Column("subsidy", BigInteger),
    prefixes=["TEMPORARY"],
)
LOAN_DELTA = Table(
    "cob_loan_delta",
    _temp,
    Column("loan_id", String(40)),
    Column("interest", BigInteger),
    Column("fee", BigInteger),
    Column("penalty", BigInteger),
    Column("subsidy", BigInteger),
    prefixes=["TEMPORARY"],
)
STATUS_DELTA = Table(
    "cob_status_delta",
    _temp,
    Column("loan_id", String(40)),
    Column("number", Integer),
    Column("status", String(12)),
    Column("paid_on", Date),
    prefixes=["TEMPORARY"],
)
DPD_DELTA = Table(
    "cob_dpd_delta",
    _temp,
    Column("loan_id", String(40)),
    Column("days_past_due", Integer),
    Column("bucket", String(8)),
    Column("classification", String(20)),
    prefixes=["TEMPORARY"],
)
LINE_DELTA = Table(
    "cob_line_delta",
    _temp,
    Column("line_id", String(40)),
    Column("interest", BigInteger),
    Column("balance_days", BigInteger),
    Column("interest_accrued_total", BigInteger),
    prefixes=["TEMPORARY"],
)

_DDL = {
    INST_DELTA: (
        "loan_id VARCHAR(40), number INTEGER, interest BIGINT, fee BIGINT, penalty BIGINT, subsidy BIGINT"
    ),
    LOAN_DELTA: "loan_id VARCHAR(40), interest BIGINT, fee BIGINT, penalty BIGINT, subsidy BIGINT",
    STATUS_DELTA: "loan_id VARCHAR(40), number INTEGER, status VARCHAR(12), paid_on DATE",
    DPD_DELTA: "loan_id VARCHAR(40), days_past_due INTEGER, bucket VARCHAR(8), classification VARCHAR(20)",
    LINE_DELTA: "line_id VARCHAR(40), interest BIGINT, balance_days BIGINT, interest_accrued_total BIGINT",
}


def batch_settings(session: Session) -> None:
    """PostgreSQL settings for one COB batch transaction.

    A batch's statements touch a few thousand rows each: compiling them with JIT (tens of
    milliseconds each) or starting parallel workers costs more than it saves.
    """
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def load_temp(session: Session, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Fill a per-connection temporary table with `rows` (COPY on PostgreSQL).

    On PostgreSQL the table empties itself at commit; SQLite's is emptied here.
    """
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    suffix = " ON COMMIT DELETE ROWS" if postgres else ""
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {table.name} ({_DDL[table]}){suffix}"))
    if not postgres:
        session.execute(table.delete())
    if not rows:
        return
    if postgres:
        raw = connection.connection.driver_connection
        assert raw is not None
        columns = ", ".join(c.name for c in table.columns)
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"ANALYZE {table.name}")
        return
    names = [c.name for c in table.columns]
    session.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])


def _clock(stmt: Any, column: Any, test_clock_id: str | None) -> Any:
    return stmt.where(column.is_(None) if test_clock_id is None else column == test_clock_id)


# -- accrual -------------------------------------------------------------------------------


def accrual_batch(
    session: Session, d: date, test_clock_id: str | None, after: str, size: int
) -> tuple[str, str] | None:
    """The id range of the next `size` loans (by id) not yet accrued through `d`, if any.

    Only the bounds come back: the server walks the ids, the client gets one row.
    """
    inner = select(Loan.id).where(Loan.id > after, Loan.status.in_(BOOKED), Loan.accrued_through < d)
    inner = _clock(inner, Loan.test_clock_id, test_clock_id).order_by(Loan.id).limit(size).subquery()
    lo, hi = session.connection().execute(select(func.min(inner.c.id), func.max(inner.c.id))).one()
    return None if lo is None else (str(lo), str(hi))


def lock_for_accrual(session: Session, lo: str, hi: str, d: date, test_clock_id: str | None) -> list[Any]:
    """Lock the batch's loans still to accrue through `d` (re-checked under the lock)."""
    stmt = select(
        Loan.id, Loan.institution_id, Loan.livemode, Loan.penalty_rate, Loan.day_count, Loan.accrued_through
    ).where(Loan.id >= lo, Loan.id <= hi, Loan.status.in_(BOOKED), Loan.accrued_through < d)
    stmt = _clock(stmt, Loan.test_clock_id, test_clock_id).order_by(Loan.id).with_for_update()
    # Core execution: plain rows, without the ORM's per-row result processing.
    return list(session.connection().execute(stmt).all())


ACCRUAL_COLUMNS = (
    LoanInstalment.loan_id,
    LoanInstalment.number,
    LoanInstalment.period_start,
    LoanInstalment.due_date,
    LoanInstalment.months,
    LoanInstalment.principal,
    LoanInstalment.interest,
    LoanInstalment.fee,
    LoanInstalment.interest_accrued,
    LoanInstalment.fee_charged,
    LoanInstalment.penalty_accrued,
    LoanInstalment.penalty_base,
    LoanInstalment.penalty_since,
    LoanInstalment.subsidy_income,
    LoanInstalment.subsidy_recognised,
    LoanInstalment.paid_principal,
    LoanInstalment.status,
)


def instalments_to_accrue(session: Session, lo: str, hi: str, d: date) -> list[Any]:
    """Open instalments of the range whose period has started by `d`."""
    stmt = select(*ACCRUAL_COLUMNS).where(
        LoanInstalment.loan_id >= lo,
        LoanInstalment.loan_id <= hi,
        LoanInstalment.status.in_(("pending", "overdue")),
        LoanInstalment.period_start < d,
    )
    return list(session.connection().execute(stmt).all())


def apply_accruals(
    session: Session,
    d: date,
    lo: str,
    hi: str,
    instalments: Sequence[tuple[str, int, int, int, int, int]],
    loans: Sequence[tuple[str, int, int, int, int]],
) -> None:
    """Add the deltas to the instalments and loans; every loan of `loans` is now accrued through `d`.

    The id range repeats the batch bounds so the planner walks only the batch's slice of
    the primary key (a bare join would merge from the start of the index every batch).
    """
    load_temp(session, INST_DELTA, instalments)
    load_temp(session, LOAN_DELTA, loans)
    i, t = INSTALMENTS, INST_DELTA
    if instalments:
        session.execute(
            update(i)
            .values(
                interest_accrued=i.c.interest_accrued + t.c.interest,
                fee_charged=i.c.fee_charged + t.c.fee,
                penalty_accrued=i.c.penalty_accrued + t.c.penalty,
                subsidy_recognised=i.c.subsidy_recognised + t.c.subsidy,
            )
            .where(and_(i.c.loan_id == t.c.loan_id, i.c.number == t.c.number, i.c.loan_id.between(lo, hi)))
        )
    lt, u = LOANS, LOAN_DELTA
    session.execute(
        update(lt)
        .values(
            interest_receivable=lt.c.interest_receivable + u.c.interest,
            fee_receivable=lt.c.fee_receivable + u.c.fee,
            penalty_receivable=lt.c.penalty_receivable + u.c.penalty,
            deferred_subsidy=lt.c.deferred_subsidy - u.c.subsidy,
            accrued_through=d,
        )
        .where(lt.c.id == u.c.loan_id, lt.c.id.between(lo, hi))
    )


# -- overdue and delinquency ---------------------------------------------------------------


def loans_with_due_instalments(session: Session, d: date, test_clock_id: str | None, size: int) -> list[str]:
    """Booked loans with a pending instalment due on or before `d` (next `size`, by id)."""
    stmt = (
        select(LoanInstalment.loan_id)
        .join(Loan, Loan.id == LoanInstalment.loan_id)
        .where(LoanInstalment.status == "pending", LoanInstalment.due_date <= d, Loan.status.in_(BOOKED))
    )
    stmt = _clock(stmt, Loan.test_clock_id, test_clock_id).group_by(LoanInstalment.loan_id)
    stmt = stmt.order_by(LoanInstalment.loan_id).limit(size)
    return [str(r[0]) for r in session.execute(stmt.execution_options(all_tenants=True)).all()]


def lock_loans(session: Session, ids: Sequence[str]) -> list[Loan]:
    stmt = select(Loan).where(Loan.id.in_(ids)).order_by(Loan.id).with_for_update()
    return list(session.execute(stmt.execution_options(all_tenants=True, populate_existing=True)).scalars())


def due_instalments(session: Session, ids: Sequence[str], d: date) -> list[LoanInstalment]:
    stmt = select(LoanInstalment).where(
        LoanInstalment.loan_id.in_(ids), LoanInstalment.status == "pending", LoanInstalment.due_date <= d
    )
    return list(session.execute(stmt).scalars())


def set_statuses(session: Session, rows: Sequence[tuple[str, int, str, date | None]]) -> None:
    load_temp(session, STATUS_DELTA, rows)
    i, t = INSTALMENTS, STATUS_DELTA
    session.execute(
        update(i)
        .values(status=t.c.status, paid_on=func.coalesce(t.c.paid_on, i.c.paid_on))
        .where(and_(i.c.loan_id == t.c.loan_id, i.c.number == t.c.number))
    )


def overdue_batch(session: Session, test_clock_id: str | None, after: str, size: int) -> list[Any]:
    """Lock the next overdue loans (by id) with their thresholds and current delinquency."""
    stmt = select(
        Loan.id, Loan.days_past_due, Loan.bucket, Loan.classification, Loan.classification_thresholds
    ).where(Loan.id > after, Loan.status == "overdue")
    stmt = _clock(stmt, Loan.test_clock_id, test_clock_id).order_by(Loan.id).limit(size).with_for_update()
    return list(session.execute(stmt.execution_options(all_tenants=True)).all())


def oldest_unpaid_due(session: Session, lo: str, hi: str) -> dict[str, date]:
    stmt = (
        select(LoanInstalment.loan_id, func.min(LoanInstalment.due_date))
        .where(LoanInstalment.loan_id >= lo, LoanInstalment.loan_id <= hi, LoanInstalment.status == "overdue")
        .group_by(LoanInstalment.loan_id)
    )
    return {str(loan_id): due for loan_id, due in session.execute(stmt).all()}


def oldest_overdue(session: Session, ids: Sequence[str]) -> dict[str, date]:
    if not ids:
        return {}
    stmt = (
        select(LoanInstalment.loan_id, func.min(LoanInstalment.due_date))
        .where(LoanInstalment.loan_id.in_(ids), LoanInstalment.status == "overdue")
        .group_by(LoanInstalment.loan_id)
    )
    return {str(loan_id): due for loan_id, due in session.execute(stmt).all()}


def set_delinquency(session: Session, rows: Sequence[tuple[str, int, str, str]]) -> None:
    load_temp(session, DPD_DELTA, rows)
    lt, t = LOANS, DPD_DELTA
    session.execute(
        update(lt)
        .values(days_past_due=t.c.days_past_due, bucket=t.c.bucket, classification=t.c.classification)
        .where(lt.c.id == t.c.loan_id)
    )


# -- credit lines --------------------------------------------------------------------------


def credit_line_batch(
    session: Session, d: date, test_clock_id: str | None, after: str, size: int
) -> list[Any]:
    stmt = select(
        CreditLine.id,
        CreditLine.institution_id,
        CreditLine.livemode,
        CreditLine.limit_amount,
        CreditLine.annual_rate,
        CreditLine.day_count,
        CreditLine.accrued_through,
        CreditLine.principal_outstanding,
        CreditLine.interest_receivable,
        CreditLine.balance_days,
        CreditLine.interest_accrued_total,
    ).where(CreditLine.id > after, CreditLine.status == "active", CreditLine.accrued_through < d)
    stmt = _clock(stmt, CreditLine.test_clock_id, test_clock_id).order_by(CreditLine.id).limit(size)
    return list(session.execute(stmt.with_for_update().execution_options(all_tenants=True)).all())


def apply_line_accruals(session: Session, d: date, rows: Sequence[tuple[str, int, int, int]]) -> None:
    load_temp(session, LINE_DELTA, rows)
    c, t = LINES, LINE_DELTA
    session.execute(
        update(c)
        .values(
            interest_receivable=c.c.interest_receivable + t.c.interest,
            balance_days=t.c.balance_days,
            interest_accrued_total=t.c.interest_accrued_total,
            accrued_through=d,
        )
        .where(c.c.id == t.c.line_id)
    )
