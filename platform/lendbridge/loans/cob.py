"""Close of business: the daily run that books accruals and ages the loan book.

`run_cob(db_or_uow_factory, business_date)` closes one business date D for the regular
book (loans on no test clock) or for one test clock's loans. It runs STEPS in order:

1. `accrue`: interest pro rata (interest.py: a period's daily amounts add up to its
   scheduled interest), fees billed on due dates, penalty on overdue principal, merchant
   subsidy recognised per period (accrual.py). One pass per batch of loans; the loan's
   `accrued_through` date is the idempotency key, moved to D in the same transaction as
   the postings, so a re-run, a restart after a crash or a concurrent run books nothing
   twice (the batch's rows are locked and the condition re-checked under the lock).
2. `mark_overdue`: instalments unsettled at the end of a due date on or before D become
   overdue; their loans go active -> overdue (`loan.overdue`).
3. `update_delinquency`: days past due (as of D + 1), bucket and five-category
   classification of every overdue loan.
4. `accrue_credit_lines`: daily interest on drawn credit lines (credit_lines.py).

Each step works in batches by id range, one transaction per batch: reads are one locking
SELECT per batch, writes are a bulk load into a temporary table and one UPDATE ... FROM
(repository.py). Accruals post ONE journal entry per batch, institution, mode and kind,
with one line per loan and one line for the total income: the per-loan lines keep every
loan's ledger balances exact while the entry count stays small. Events are emitted only
for state changes (overdue), never per loan per day.

A repayment on a loan the COB is processing waits for the batch's row lock (and the
other way round); whichever runs second sees the first one's result. A repayment on D
catches the loan up through D itself, so the COB for D then skips it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lendbridge.audit import service as audit
from lendbridge.core.money import Fen
from lendbridge.db import SYSTEM, Database, utcnow
from lendbridge.ledger import services as ledger
from lendbridge.ledger.postings import Account, EntryType, JournalEntry, Line
from lendbridge.loans import accrual, repository
from lendbridge.loans import credit_lines as lines_domain
from lendbridge.loans.accrual import InstalmentState
from lendbridge.loans.models import CobRun
from lendbridge.loans.services import emit_loan
from lendbridge.loans.states import LoanEvent, LoanState, transition
from lendbridge.loans.terms import DayCount
from lendbridge.products.services import thresholds_of
from lendbridge.uow import UnitOfWork

log = logging.getLogger("lendbridge.cob")

DEFAULT_BATCH = 10_000
DEFAULT_WORKERS = 2
UowFactory = Callable[[], UnitOfWork]


@dataclass
class CobReport:
    business_date: date
    scope: str
    loans_accrued: int = 0
    interest: int = 0
    fees: int = 0
    penalty: int = 0
    subsidy: int = 0
    journal_lines: int = 0
    instalments_overdue: int = 0
    loans_overdue: int = 0
    delinquency_updated: int = 0
    credit_lines: int = 0
    credit_line_interest: int = 0
    batches: int = 0
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[UowFactory, date, str | None, int, CobReport, int], None]


def factory_for(db_or_factory: Database | UowFactory) -> UowFactory:
    if isinstance(db_or_factory, Database):
        db = db_or_factory
        return lambda: UnitOfWork(db, SYSTEM)
    return db_or_factory


# -- step 1: accrue ------------------------------------------------------------------------

_KINDS = (
    # (delta field, entry type, debit account, credit account)
    ("interest", EntryType.INTEREST_ACCRUAL, Account.INTEREST_RECEIVABLE, Account.INTEREST_INCOME),
    ("fee", EntryType.FEE_CHARGE, Account.FEE_RECEIVABLE, Account.FEE_INCOME),
    ("penalty", EntryType.PENALTY_ACCRUAL, Account.PENALTY_RECEIVABLE, Account.PENALTY_INCOME),
    ("subsidy", EntryType.SUBSIDY_RECOGNITION, Account.DEFERRED_SUBSIDY, Account.SUBSIDY_INCOME),
)


def batch_entry(
    kind: EntryType, debit: Account, credit: Account, amounts: Iterable[tuple[str, int]], on: date, memo: str
) -> JournalEntry:
    """One entry for many loans: a line per loan on `debit`, the total on `credit`."""
    lines = [Line(debit, Fen(amount), Fen(0), loan_id) for loan_id, amount in amounts if amount]
    total = sum(line.debit for line in lines)
    return JournalEntry(kind, on, (*lines, Line(credit, Fen(0), Fen(total), None)), memo)


def _state(row: Any) -> InstalmentState:
    return InstalmentState(
        number=row.number,
        period_start=row.period_start,
        due_date=row.due_date,
        months=row.months,
        principal=row.principal,
        interest=row.interest,
        fee=row.fee,
        interest_accrued=row.interest_accrued,
        fee_charged=row.fee_charged,
        penalty_accrued=row.penalty_accrued,
        penalty_base=row.penalty_base,
        penalty_since=row.penalty_since,
        subsidy_income=row.subsidy_income,
        subsidy_recognised=row.subsidy_recognised,
        paid_principal=row.paid_principal,
        status=row.status,
    )


def accrue_batch(
    uow: UnitOfWork, d: date, test_clock_id: str | None, lo: str, hi: str, report: CobReport
) -> int:
    """Accrue one batch of loans through `d`; returns how many loans it covered."""
    session = uow.session
    repository.batch_settings(session)
    loans = repository.lock_for_accrual(session, lo, hi, d, test_clock_id)
    if not loans:
        return 0
    terms = {row.id: row for row in loans}
    inst_rows: list[tuple[str, int, int, int, int, int]] = []
    per_loan: dict[str, list[int]] = {row.id: [0, 0, 0, 0] for row in loans}
    rate_cache: dict[Any, Decimal] = {}
    for row in repository.instalments_to_accrue(session, lo, hi, d):
        loan = terms.get(row.loan_id)
        if loan is None:
            continue
        if row.status == accrual.PENDING and row.due_date > d and not row.subsidy_income:
            # The common case, a period in progress: interest only, no state object needed.
            interest = accrual.interest_due_by(row, d)
            if interest:
                inst_rows.append((row.loan_id, row.number, interest, 0, 0, 0))
                per_loan[row.loan_id][0] += interest
            continue
        rate = rate_cache.get(loan.penalty_rate)
        if rate is None:
            rate = rate_cache[loan.penalty_rate] = Decimal(loan.penalty_rate)
        got = accrual.accrue(_state(row), d, rate, DayCount(loan.day_count))
        if got:
            inst_rows.append((row.loan_id, row.number, got.interest, got.fee, got.penalty, got.subsidy))
            totals = per_loan[row.loan_id]
            totals[0] += got.interest
            totals[1] += got.fee
            totals[2] += got.penalty
            totals[3] += got.subsidy
    repository.apply_accruals(
        session, d, lo, hi, inst_rows, [(k, v[0], v[1], v[2], v[3]) for k, v in per_loan.items()]
    )
    _post_batch(uow, d, loans, per_loan, lo, report)
    report.loans_accrued += len(loans)
    return len(loans)


def _post_batch(
    uow: UnitOfWork, d: date, loans: list[Any], per_loan: dict[str, list[int]], lo: str, report: CobReport
) -> None:
    books: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for row in loans:
        books[(row.institution_id, row.livemode)].append(row.id)
    now = uow.now()
    for (institution_id, livemode), ids in sorted(books.items()):
        for index, (name, kind, debit, credit) in enumerate(_KINDS):
            amounts = [(loan_id, per_loan[loan_id][index]) for loan_id in ids if per_loan[loan_id][index]]
            if not amounts:
                continue
            entry = batch_entry(kind, debit, credit, amounts, d, f"COB {d.isoformat()} {name}")
            ledger.post(
                uow.session,
                entry,
                institution_id=institution_id,
                livemode=livemode,
                shard_key=f"cob:{lo}",
                created=now,
            )
            total = entry.total_debit
            setattr(report, _REPORT_FIELD[name], getattr(report, _REPORT_FIELD[name]) + total)
            report.journal_lines += len(entry.lines)


_REPORT_FIELD = {"interest": "interest", "fee": "fees", "penalty": "penalty", "subsidy": "subsidy"}


_SUMMED = ("loans_accrued", "interest", "fees", "penalty", "subsidy", "journal_lines", "batches")


def _accrue(
    factory: UowFactory, d: date, clock: str | None, size: int, report: CobReport, workers: int
) -> None:
    """Accrual batches, `workers` at a time (threads: one batch's SQL overlaps another's Python).

    Batches are handed out in id order under a lock, so they never overlap; each commits
    on its own. A failure stops the other workers at their next batch and is re-raised.
    """
    lock, stop = threading.Lock(), threading.Event()
    cursor: dict[str, Any] = {"after": "", "done": False}

    def next_range() -> tuple[str, str] | None:
        with lock:
            if cursor["done"] or stop.is_set():
                return None
            with factory() as uow:
                bounds = repository.accrual_batch(uow.session, d, clock, cursor["after"], size)
            if bounds is None:
                cursor["done"] = True
                return None
            cursor["after"] = bounds[1]
            return bounds

    def work() -> CobReport:
        part = CobReport(d, report.scope)
        try:
            while (batch := next_range()) is not None:
                with factory() as uow:
                    accrue_batch(uow, d, clock, batch[0], batch[1], part)
                    uow.commit()
                part.batches += 1
        except BaseException:
            stop.set()
            raise
        return part

    if workers <= 1:
        parts = [work()]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cob") as pool:
            futures = [pool.submit(work) for _ in range(workers)]
            parts = [f.result() for f in futures]
    for part in parts:
        for name in _SUMMED:
            setattr(report, name, getattr(report, name) + getattr(part, name))


# -- step 2: mark overdue ------------------------------------------------------------------


def _mark_overdue(
    factory: UowFactory, d: date, clock: str | None, size: int, report: CobReport, workers: int
) -> None:
    while True:
        with factory() as uow:
            ids = repository.loans_with_due_instalments(uow.session, d, clock, min(size, 2_000))
        if not ids:
            return
        with factory() as uow:
            session = uow.session
            repository.batch_settings(session)
            loans = {loan.id: loan for loan in repository.lock_loans(session, ids)}
            changes: list[tuple[str, int, str, date | None]] = []
            late: set[str] = set()
            for row in repository.due_instalments(session, list(loans), d):
                state = _full_state(row)
                if state.settled:
                    changes.append((row.loan_id, row.number, accrual.PAID, row.due_date))
                else:
                    changes.append((row.loan_id, row.number, accrual.OVERDUE, None))
                    late.add(row.loan_id)
            repository.set_statuses(session, changes)
            report.instalments_overdue += sum(1 for c in changes if c[2] == accrual.OVERDUE)
            oldest = repository.oldest_overdue(session, sorted(late))
            for loan_id in sorted(late):
                loan = loans[loan_id]
                if loan.status != LoanState.ACTIVE.value:
                    continue
                loan.status = transition(LoanState(loan.status), LoanEvent.BECOME_OVERDUE).value
                found = accrual.delinquency_from_oldest(
                    oldest.get(loan_id), d, thresholds_of(loan.classification_thresholds)
                )
                loan.days_past_due = found.days_past_due
                loan.bucket = found.bucket.value
                loan.classification = found.classification.value
                audit.record(
                    session,
                    "loan.overdue",
                    loan.id,
                    {"days_past_due": loan.days_past_due, "cob": d.isoformat()},
                    tenant_id=loan.tenant_id,
                    livemode=loan.livemode,
                )
                emit_loan(uow, loan, "loan.overdue")
                report.loans_overdue += 1
            uow.commit()
        report.batches += 1


def _full_state(row: Any) -> InstalmentState:
    return InstalmentState(
        number=row.number,
        period_start=row.period_start,
        due_date=row.due_date,
        principal=row.principal,
        interest=row.interest,
        fee=row.fee,
        penalty_accrued=row.penalty_accrued,
        paid_principal=row.paid_principal,
        paid_interest=row.paid_interest,
        paid_fee=row.paid_fee,
        paid_penalty=row.paid_penalty,
        status=row.status,
    )


# -- step 3: delinquency -------------------------------------------------------------------


def _update_delinquency(
    factory: UowFactory, d: date, clock: str | None, size: int, report: CobReport, workers: int
) -> None:
    after = ""
    while True:
        with factory() as uow:
            repository.batch_settings(uow.session)
            rows = repository.overdue_batch(uow.session, clock, after, size)
            if not rows:
                return
            oldest = repository.oldest_unpaid_due(uow.session, rows[0].id, rows[-1].id)
            changes = []
            for row in rows:
                found = accrual.delinquency_from_oldest(
                    oldest.get(row.id), d, thresholds_of(row.classification_thresholds)
                )
                current = (row.days_past_due, row.bucket, row.classification)
                wanted = (found.days_past_due, found.bucket.value, found.classification.value)
                if current != wanted:
                    changes.append((row.id, *wanted))
            repository.set_delinquency(uow.session, changes)
            report.delinquency_updated += len(changes)
            uow.commit()
        report.batches += 1
        after = rows[-1].id


# -- step 4: credit lines ------------------------------------------------------------------


def _accrue_credit_lines(
    factory: UowFactory, d: date, clock: str | None, size: int, report: CobReport, workers: int
) -> None:
    after = ""
    while True:
        with factory() as uow:
            repository.batch_settings(uow.session)
            rows = repository.credit_line_batch(uow.session, d, clock, after, size)
            if not rows:
                return
            updates = []
            books: dict[tuple[str, bool], list[tuple[str, int]]] = defaultdict(list)
            for row in rows:
                line = lines_domain.CreditLine(
                    limit=Fen(row.limit_amount),
                    annual_rate=Decimal(row.annual_rate),
                    accrued_through=row.accrued_through,
                    principal=Fen(row.principal_outstanding),
                    interest=Fen(row.interest_receivable),
                    balance_days=row.balance_days,
                    interest_accrued=Fen(row.interest_accrued_total),
                    day_count=DayCount(row.day_count),
                )
                got = lines_domain.accrue(line, d)
                updates.append((row.id, got.amount, got.line.balance_days, got.line.interest_accrued))
                books[(row.institution_id, row.livemode)].append((row.id, got.amount))
                report.credit_line_interest += got.amount
            repository.apply_line_accruals(uow.session, d, updates)
            for (institution_id, livemode), amounts in sorted(books.items()):
                if not any(a for _, a in amounts):
                    continue
                entry = batch_entry(
                    EntryType.INTEREST_ACCRUAL,
                    Account.INTEREST_RECEIVABLE,
                    Account.INTEREST_INCOME,
                    amounts,
                    d,
                    f"COB {d.isoformat()} credit line interest",
                )
                ledger.post(
                    uow.session,
                    entry,
                    institution_id=institution_id,
                    livemode=livemode,
                    shard_key=f"cob:{rows[0].id}",
                )
                report.journal_lines += len(entry.lines)
            report.credit_lines += len(rows)
            uow.commit()
        report.batches += 1
        after = rows[-1].id


STEPS: tuple[Step, ...] = (
    Step("accrue", _accrue),
    Step("mark_overdue", _mark_overdue),
    Step("update_delinquency", _update_delinquency),
    Step("accrue_credit_lines", _accrue_credit_lines),
)


# -- the run -------------------------------------------------------------------------------


def _record_run(factory: UowFactory, scope: str, d: date, status: str, report: CobReport | None) -> None:
    with factory() as uow:
        run = uow.session.get(CobRun, (scope, d), with_for_update=True)
        now = utcnow()
        if run is None:
            run = CobRun(
                scope=scope, business_date=d, status=status, started=now, loans=0, lines=0, batches=0
            )
            uow.session.add(run)
        run.status = status
        if status == "running":
            run.started, run.finished = now, None
        if report is not None:
            run.finished = now
            run.loans, run.lines, run.batches = report.loans_accrued, report.journal_lines, report.batches
        uow.commit()


def run_cob(
    db_or_uow_factory: Database | UowFactory,
    business_date: date,
    *,
    test_clock_id: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    workers: int | None = None,
) -> CobReport:
    """Close `business_date` for the regular book, or for one test clock's loans only.

    `workers` accrual batches run at once (default: 2 on PostgreSQL, 1 on SQLite, which
    has a single writer anyway).
    """
    factory = factory_for(db_or_uow_factory)
    scope = test_clock_id or ""
    if workers is None:
        with factory() as uow:
            workers = DEFAULT_WORKERS if uow.session.get_bind().dialect.name == "postgresql" else 1
    report = CobReport(business_date, scope)
    started = time.perf_counter()
    _record_run(factory, scope, business_date, "running", None)
    for step in STEPS:
        t0 = time.perf_counter()
        step.run(factory, business_date, test_clock_id, batch_size, report, workers)
        report.step_seconds[step.name] = round(time.perf_counter() - t0, 3)
    report.seconds = round(time.perf_counter() - started, 3)
    _record_run(factory, scope, business_date, "closed", report)
    # A test clock closes a day per simulated day: keep those at debug level.
    log.log(
        logging.DEBUG if test_clock_id else logging.INFO,
        "COB %s%s: %d loans, %d lines, %.1fs",
        business_date,
        f" clock {test_clock_id}" if test_clock_id else "",
        report.loans_accrued,
        report.journal_lines,
        report.seconds,
    )
    return report


def run_cob_through(
    db_or_uow_factory: Database | UowFactory, first: date, last: date, *, test_clock_id: str | None = None
) -> list[CobReport]:
    """Close every business date from `first` to `last` in order (a test clock's advance)."""
    reports = []
    day = first
    while day <= last:
        reports.append(run_cob(db_or_uow_factory, day, test_clock_id=test_clock_id))
        day += timedelta(days=1)
    return reports


def last_closed(factory: UowFactory, scope: str = "") -> date | None:
    with factory() as uow:
        found: date | None = uow.session.execute(
            select(CobRun.business_date)
            .where(CobRun.scope == scope, CobRun.status == "closed")
            .order_by(CobRun.business_date.desc())
            .limit(1)
        ).scalar_one_or_none()
        return found


MAX_DAYS_PER_TICK = 31


def tick(db_or_uow_factory: Database | UowFactory, today: date) -> list[CobReport]:
    """Close every regular business date before `today` not closed yet (oldest first).

    A first run closes only yesterday; a long outage is caught up a month per tick (and
    loans catch themselves up on their next repayment anyway).
    """
    factory = factory_for(db_or_uow_factory)
    yesterday = today - timedelta(days=1)
    closed = last_closed(factory)
    first = yesterday if closed is None else closed + timedelta(days=1)
    first = max(first, yesterday - timedelta(days=MAX_DAYS_PER_TICK - 1))
    if first > yesterday:
        return []
    return run_cob_through(factory, first, yesterday)


def describe(report: CobReport) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in report.__dict__.items()}


__all__ = ["STEPS", "CobReport", "run_cob", "run_cob_through", "tick"]
