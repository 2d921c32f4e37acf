"""Close of business for N active loans on PostgreSQL, against a plain one-statement accrual.

    python tests/perf/bench_cob.py [--quick] [--loans N] [--batch SIZE]

N = 1,000,000 by default (50,000 with --quick). The loans are generated directly in a
scratch database with set-based SQL (in id order, as the service writes them) from a
thousand real schedules (built by the same
`schedules` code): most loans mid-period, 1 % overdue (penalty, delinquency updates),
0.3 % with an instalment due on the business date (they go overdue and emit events).
Then ONE business date is closed with `run_cob` and timed.

The baseline, measured in the same run on the same data and rolled back, is the least a
COB can do: one UPDATE adding a fixed amount of interest to every loan plus one INSERT of
a journal line per loan, in a single statement, with no schedule, no rounding rule, no
penalty, no delinquency and no entries or chains. Target: 1M loans in <= 60 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lendbridge.core.money import Fen  # noqa: E402
from lendbridge.db import make_database  # noqa: E402
from lendbridge.loans import cob  # noqa: E402
from lendbridge.loans.interest import accrued_to_date  # noqa: E402
from lendbridge.loans.penalty import penalty_accrued  # noqa: E402
from lendbridge.loans.schedules import add_months, build_schedule  # noqa: E402
from lendbridge.loans.terms import LoanTerms, RepaymentMethod  # noqa: E402
from tests.perf._harness import scratch_database  # noqa: E402

DAY = date(2026, 6, 15)  # the business date closed
PROFILES = 1000
PENALTY = Decimal("0.27")
TARGET_SECONDS_PER_MILLION = 60.0
METHODS = [m for m in RepaymentMethod if m is not RepaymentMethod.BULLET]

ALLOCATION = (
    '{"steps": ["past_due.penalty", "past_due.fee", "past_due.interest", "past_due.principal", '
    '"due.penalty", "due.fee", "due.interest", "due.principal"], "traversal": "by_instalment"}'
)
INSERT_LOANS = """
INSERT INTO loans (id, created, institution_id, borrower_id, product_id, status, kind, principal,
    annual_rate, term, method, start_date, upfront_fee, monthly_fee_rate, prepayment_fee_rate,
    penalty_rate, day_count, allocation_order, future_rule, reward_after, reward_rate_reduction,
    apr_nominal, apr_effective, disburse_to, subsidy, principal_outstanding, interest_receivable,
    penalty_receivable, fee_receivable, deferred_subsidy, refund_due, recovered, accrued_through,
    days_past_due, bucket, classification, on_time_instalments, reward_earned, disbursed_on,
    tenant_id, livemode)
SELECT 'loan_' || lpad(g::text, 26, '0'), :now, :bank, 'brw_' || lpad(g::text, 26, '0'), :product,
    bp.status, 'instalment', bp.principal, bp.rate, 12, bp.method, bp.start, 0, 0, 0, 0.27,
    'act/360', CAST(:allocation AS jsonb), 'lower_instalment', 6, 0.005,
    bp.rate::text, bp.rate::text, 'borrower', 0, bp.principal, bp.interest, bp.penalty, 0, 0, 0, 0,
    :yesterday, bp.dpd, bp.bucket, bp.classification, 0, false, bp.start, :partner, false
FROM generate_series(1, :n) g JOIN bp ON bp.p = g % :m
ORDER BY g
"""
INSERT_INSTALMENTS = """
INSERT INTO loan_instalments (loan_id, number, period_start, due_date, months, principal, interest,
    fee, interest_accrued, fee_charged, penalty_accrued, penalty_base, subsidy_income,
    subsidy_recognised, paid_principal, paid_interest, paid_fee, paid_penalty, status)
SELECT 'loan_' || lpad(g::text, 26, '0'), bs.number, bs.period_start, bs.due_date, 1, bs.principal,
    bs.interest, 0, bs.accrued, 0, bs.penalty, 0, 0, 0, 0, 0, 0, 0, bs.status
FROM generate_series(1, :n) g JOIN bs ON bs.p = g % :m
ORDER BY g, bs.number
"""
BASELINE = """
WITH accrued AS (
    UPDATE loans SET interest_receivable = interest_receivable + principal_outstanding * 12 / 36000,
        accrued_through = accrued_through + 1
    WHERE status IN ('active', 'overdue')
    RETURNING id, principal_outstanding * 12 / 36000 AS amount
)
INSERT INTO baseline_lines (entry_id, line_no, entry_line_count, account, debit, credit, loan_id)
SELECT 'je_baseline', row_number() OVER (), 0, 'interest_receivable', amount, 0, id FROM accrued
"""


def profile(p: int) -> dict[str, Any]:
    """One schedule and the state it is in at the end of DAY - 1."""
    method = METHODS[p % len(METHODS)]
    principal = 500_000 + (p * 7919) % 4_500_000
    rate = Decimal("0.06") + Decimal(p % 13) / 100
    if p < 10:  # overdue: the first instalment fell due some days ago
        start = add_months(DAY, -1) - timedelta(days=1 + p % 20)
    elif p < 13:  # the first instalment falls due on DAY
        start = add_months(DAY, -1)
    else:  # mid-period
        start = DAY - timedelta(days=1 + p % 27)
    terms = LoanTerms(principal=Fen(principal), annual_rate=rate, term=12, start_date=start)
    schedule = build_schedule(terms, method)
    yesterday = DAY - timedelta(days=1)
    rows, interest_rec, penalty_rec, oldest = [], 0, 0, None
    for inst in schedule:
        accrued = accrued_to_date(
            inst.interest, inst.period_start, inst.due_date, min(yesterday, inst.due_date)
        )
        if yesterday <= inst.period_start:
            accrued = Fen(0)
        status, penalty = "pending", 0
        if inst.due_date <= yesterday:
            status = "overdue"
            penalty = penalty_accrued(inst.principal, PENALTY, inst.due_date, yesterday)
            oldest = oldest or inst.due_date
        interest_rec += accrued
        penalty_rec += penalty
        rows.append(
            (
                p,
                inst.number,
                inst.period_start,
                inst.due_date,
                inst.principal,
                inst.interest,
                accrued,
                penalty,
                status,
            )
        )
    dpd = (DAY - oldest).days if oldest else 0
    return {
        "p": p,
        "method": method.value,
        "principal": principal,
        "rate": rate,
        "start": start,
        "status": "overdue" if oldest else "active",
        "interest": interest_rec,
        "penalty": penalty_rec,
        "dpd": dpd,
        "bucket": "current" if dpd == 0 else ("1-3" if dpd <= 3 else ("4-7" if dpd <= 7 else "8-30")),
        "classification": "normal" if dpd == 0 else "special_mention",
        "rows": rows,
    }


def seed_tenants(url: str) -> tuple[str, str, str]:
    """An institution, a partner and a product, through the real services."""
    from lendbridge.app import create_app
    from lendbridge.config import Settings
    from lendbridge.products import services as products
    from lendbridge.tenancy import services as tenancy
    from lendbridge.tenancy.domain import TenantKind
    from lendbridge.uow import UnitOfWork

    app = create_app(Settings.for_tests(Path(tempfile.mkdtemp()), database_url=url))
    db = app.extensions["lendbridge"].db
    with app.app_context():
        with UnitOfWork(db) as uow:
            bank = tenancy.create_tenant(uow, TenantKind.INSTITUTION, "Bench Bank")
            partner = tenancy.create_tenant(uow, TenantKind.PARTNER, "Bench Partner")
            uow.commit()
        from lendbridge.db import TenantContext

        with UnitOfWork(db, TenantContext(bank.id, False)) as uow:
            product = products.create_product(
                uow,
                {
                    "name": "bench",
                    "kind": "instalment",
                    "borrower_type": "individual",
                    "methods": [m.value for m in METHODS],
                    "amount": {"min": 500_000, "max": 5_000_000},
                    "term": {"min": 12, "max": 12},
                    "rate": {"min": Decimal("0.06"), "max": Decimal("0.18")},
                    "penalty_rate": PENALTY,
                },
            )
            uow.commit()
    db.engine.dispose()
    return bank.id, partner.id, product.id


def generate(url: str, n: int, bank: str, partner: str, product: str) -> None:
    profiles = [profile(p) for p in range(PROFILES)]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE bp (p int, method text, principal bigint, rate numeric, start date, "
                "status text, interest bigint, penalty bigint, dpd int, bucket text, classification text)"
            )
        )
        conn.execute(
            text(
                "CREATE TEMP TABLE bs (p int, number int, period_start date, due_date date, "
                "principal bigint, interest bigint, accrued bigint, penalty bigint, status text)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO bp VALUES (:p, :method, :principal, :rate, :start, :status, :interest, "
                ":penalty, :dpd, :bucket, :classification)"
            ),
            [{k: v for k, v in pr.items() if k != "rows"} for pr in profiles],
        )
        conn.execute(
            text("INSERT INTO bs VALUES (:p, :n, :ps, :due, :pr, :i, :a, :pen, :s)"),
            [
                {
                    "p": r[0],
                    "n": r[1],
                    "ps": r[2],
                    "due": r[3],
                    "pr": r[4],
                    "i": r[5],
                    "a": r[6],
                    "pen": r[7],
                    "s": r[8],
                }
                for pr in profiles
                for r in pr["rows"]
            ],
        )
        params = {
            "n": n,
            "bank": bank,
            "partner": partner,
            "product": product,
            "m": PROFILES,
            "now": datetime(2026, 6, 1, tzinfo=UTC),
            "allocation": ALLOCATION,
            "yesterday": DAY - timedelta(days=1),
        }
        conn.execute(
            text(INSERT_LOANS),
            params,
        )
        conn.execute(
            text(INSERT_INSTALMENTS),
            params,
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE loans"))
        conn.execute(text("VACUUM ANALYZE loan_instalments"))
    engine.dispose()


def baseline(url: str) -> float:
    """One statement: add a day's interest to every loan and write a journal line each (rolled back)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        tx = conn.begin()
        conn.execute(text("CREATE TEMP TABLE baseline_lines (LIKE journal_lines)"))
        started = time.perf_counter()
        conn.execute(text(BASELINE))
        seconds = time.perf_counter() - started
        tx.rollback()
    engine.dispose()
    return seconds


@dataclass(frozen=True)
class TrialBalanceTimes:
    from_lines_ms: float
    roll_up_ms: float
    rolled_entries: int
    from_rollups_ms: float
    equal: bool


def trial_balances(db: Any, institution_id: str) -> TrialBalanceTimes:
    """The institution's trial balance summed from every line, then from the rollups (after
    rolling up everything made so far)."""
    from lendbridge.ledger import rollups
    from lendbridge.ledger import services as ledger

    with db.snapshot() as s:
        t0 = time.perf_counter()
        slow = ledger.trial_balance_from_lines(s, institution_id, False, DAY)
        from_lines = (time.perf_counter() - t0) * 1000
    time.sleep(0.002)  # the fence is a millisecond floor
    t0 = time.perf_counter()
    rolled = rollups.roll_up(db, datetime.now(UTC), lag=timedelta(0))
    roll_up = (time.perf_counter() - t0) * 1000
    with db.snapshot() as s:
        t0 = time.perf_counter()
        fast = ledger.trial_balance(s, institution_id, False, DAY)
        from_rollups = (time.perf_counter() - t0) * 1000
    return TrialBalanceTimes(from_lines, roll_up, rolled, from_rollups, fast == slow)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 loans")
    parser.add_argument("--loans", type=int, default=None)
    parser.add_argument("--batch", type=int, default=cob.DEFAULT_BATCH)
    args = parser.parse_args()
    n = args.loans or (50_000 if args.quick else 1_000_000)
    with scratch_database("lendbridge_bench_cob") as url:
        bank, partner, product = seed_tenants(url)
        t0 = time.perf_counter()
        generate(url, n, bank, partner, product)
        print(f"generated {n:,} loans ({n * 12:,} instalments) in {time.perf_counter() - t0:.1f} s")
        base = baseline(url)
        db = make_database(url, pool_size=2)
        report = cob.run_cob(db, DAY, batch_size=args.batch)
        with db.engine.connect() as conn:
            unbalanced = conn.execute(
                text(
                    "SELECT count(*) FROM journal_entries e JOIN (SELECT entry_id, sum(debit) d, "
                    "sum(credit) c, count(*) n FROM journal_lines GROUP BY entry_id) s "
                    "ON s.entry_id = e.id WHERE s.d <> s.c OR s.n <> e.line_count"
                )
            ).scalar_one()
            accrued = conn.execute(
                text("SELECT count(*) FROM loans WHERE accrued_through = :d"), {"d": DAY}
            ).scalar_one()
        tb = trial_balances(db, bank)
        db.engine.dispose()
    target = TARGET_SECONDS_PER_MILLION * n / 1_000_000
    print(
        f"COB {DAY}: {report.loans_accrued:,} loans accrued in {report.seconds:.1f} s "
        f"= {report.loans_accrued / report.seconds:,.0f} loans/s (target <= {target:.1f} s for {n:,})"
    )
    print(f"  steps: {report.step_seconds}")
    print(
        f"  interest {report.interest:,} fen, penalty {report.penalty:,} fen, "
        f"{report.journal_lines:,} journal lines, "
        f"{report.instalments_overdue:,} instalments overdue, {report.loans_overdue:,} loans newly overdue, "
        f"{report.delinquency_updated:,} delinquency updates, {report.batches} batches"
    )
    print(f"baseline (one UPDATE + line INSERT, no rules): {base:.1f} s = {n / base:,.0f} loans/s")
    print(
        f"ratio COB / baseline time: {report.seconds / base:.2f}x; unbalanced entries: {unbalanced}; "
        f"loans accrued through {DAY}: {accrued:,}"
    )
    print(
        f"trial balance after the day: every line {tb.from_lines_ms:,.0f} ms; rolled up "
        f"{tb.rolled_entries:,} entries in {tb.roll_up_ms:,.0f} ms, then {tb.from_rollups_ms:,.1f} ms "
        f"({tb.from_lines_ms / max(tb.from_rollups_ms, 0.001):,.0f}x faster); equal: {tb.equal}"
    )
    ok = report.seconds <= target and unbalanced == 0 and accrued == n and tb.equal
    print("OK" if ok else "MISSED TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
