"""Concurrent repayments through the service layer, against pgbench's tpcb-like run.

    python tests/perf/bench_repayments.py [--quick] [--workers N] [--seconds S]

Both sides run on the same PostgreSQL in the same script. pgbench: `pgbench -i` into a
scratch database (scale 1), then `pgbench -c N -j 2 -T S` (its built-in TPC-B-like
transaction: three UPDATEs, a SELECT and an INSERT). Ours: N worker processes, each
calling `loans.services.record_repayment` in a unit of work and committing, on loans
disbursed a month earlier (so the first payment on each loan also catches up a month of
accrual, and every payment runs the waterfall over the due instalment). A repayment
transaction locks the loan, reads its schedule, updates instalments and the loan, writes
the repayment, the event, the audit record and a chained journal entry with its lines.

Afterwards: zero unbalanced entries, every loan equal to its ledger balances, every
chain verifying. Target: >= 30 % of pgbench's transactions per second.

It also prints where the CPU of a repayment goes: the workers' own CPU (Python:
SQLAlchemy, psycopg, the domain) and the CPU of their PostgreSQL server processes (read
from /proc, so only on Linux with the server on this machine), against the CPU a
repayment may use to reach the target on this machine's cores.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf._harness import PG_ADMIN_URL, backend_pids, process_cpu_seconds, scratch_database  # noqa: E402

TARGET = 0.30
AMOUNT = 1_000  # fen per repayment: part of the instalment due today


def _app(url: str, now: datetime) -> Any:
    from lendbridge.app import create_app
    from lendbridge.config import Settings
    from lendbridge.core.clock import FrozenClock

    return create_app(Settings.for_tests(Path(tempfile.mkdtemp()), database_url=url), clock=FrozenClock(now))


def seed(url: str, loans_count: int, now: datetime) -> tuple[str, list[str]]:
    """An institution, a partner, a product and `loans_count` loans disbursed a month ago."""
    from lendbridge.db import SYSTEM, TenantContext
    from lendbridge.loans import services as loans
    from lendbridge.products import services as products
    from lendbridge.tenancy import services as tenancy
    from lendbridge.tenancy.domain import TenantKind
    from lendbridge.uow import UnitOfWork

    app = _app(url, now - timedelta(days=31))
    svc = app.extensions["lendbridge"]
    ids = []
    with app.app_context():
        with UnitOfWork(svc.db, SYSTEM, clock=svc.clock) as uow:
            bank = tenancy.create_tenant(uow, TenantKind.INSTITUTION, "Bench Bank")
            partner = tenancy.create_tenant(uow, TenantKind.PARTNER, "Bench Partner")
            uow.commit()
        with UnitOfWork(svc.db, TenantContext(bank.id, False), clock=svc.clock) as uow:
            product = products.create_product(
                uow,
                {
                    "name": "bench",
                    "kind": "instalment",
                    "borrower_type": "individual",
                    "methods": ["equal_instalment"],
                    "amount": {"min": 500_000, "max": 5_000_000},
                    "term": {"min": 12, "max": 12},
                    "rate": {"min": Decimal("0.06"), "max": Decimal("0.18")},
                    "penalty_rate": Decimal("0.27"),
                },
            )
            uow.commit()
        for n in range(loans_count):
            with UnitOfWork(svc.db, TenantContext(partner.id, False), clock=svc.clock) as uow:
                loan = loans.create_loan(
                    uow,
                    borrower_id=f"brw_bench{n}",
                    product_id=product.id,
                    principal=1_200_000 + n,
                    term=12,
                    method="equal_instalment",
                    annual_rate=Decimal("0.12"),
                )
                loans.sign_loan(uow, loan.id, signer="bench")
                loans.start_disbursement(uow, loan.id)
                loans.record_disbursement(
                    uow, loan.id, paid_to="borrower", amount_paid=loan.principal, external_ref=f"bench-{n}"
                )
                uow.commit()
                ids.append(loan.id)
    svc.db.engine.dispose()
    return partner.id, ids


def worker(
    url: str,
    partner: str,
    loan_ids: list[str],
    now: datetime,
    signals: tuple[Any, Any],
    seconds: float,
    out: Any,
) -> None:
    from lendbridge.db import TenantContext
    from lendbridge.events import outbox
    from lendbridge.loans import services as loans
    from lendbridge.uow import UnitOfWork

    app = _app(url, now)
    # The outbox relay (event fan-out to webhooks) runs in Celery workers in production;
    # here it is not woken after each commit, so the figure is the repayment transaction
    # itself. The events are still written, in the same transaction.
    outbox._on_commit.clear()
    svc = app.extensions["lendbridge"]
    rng = random.Random(os.getpid())
    done = errors = 0
    start, release = signals
    with app.app_context():
        start.wait()
        cpu_started = time.process_time()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            try:
                with UnitOfWork(svc.db, TenantContext(partner, False), clock=svc.clock) as uow:
                    loans.record_repayment(uow, rng.choice(loan_ids), AMOUNT)
                    uow.commit()
                done += 1
            except Exception:  # noqa: BLE001 - counted and reported; the run goes on
                errors += 1
    out.put((done, errors, time.process_time() - cpu_started))
    release.wait(60)  # connections stay open until the parent has read their CPU
    svc.db.engine.dispose()


@dataclass(frozen=True)
class Run:
    per_second: float
    errors: int
    python_ms: float  # workers' CPU per repayment
    postgres_ms: float | None  # their server processes' CPU per repayment


def ours(url: str, partner: str, ids: list[str], workers: int, seconds: float, now: datetime) -> Run:
    ctx = mp.get_context("spawn")
    start, release, out = ctx.Event(), ctx.Event(), ctx.Queue()
    chunks = [ids[i::workers] for i in range(workers)]  # each worker its own loans: no lock waits
    procs = [
        ctx.Process(target=worker, args=(url, partner, chunk, now, (start, release), seconds, out))
        for chunk in chunks
    ]
    for p in procs:
        p.start()
    time.sleep(8)  # let every worker build its app and connect
    before = {pid: process_cpu_seconds(pid) for pid in backend_pids(url)}
    start.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    # A backend that connected during the run counts from zero (its start-up is noise).
    used = [
        after - (before.get(pid) or 0.0)
        for pid in backend_pids(url)
        if (after := process_cpu_seconds(pid)) is not None
    ]
    release.set()
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    postgres_ms = sum(used) / done * 1000 if used and done else None
    python_ms = sum(r[2] for r in results) / done * 1000 if done else float("nan")
    return Run(done / seconds, sum(r[1] for r in results), python_ms, postgres_ms)


def pgbench(workers: int, seconds: int) -> float:
    from sqlalchemy import create_engine, text

    name = "lendbridge_bench_pgbench"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = ["-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run(["pgbench", *base, "-i", "-q", name], check=True, capture_output=True)
    run = subprocess.run(
        ["pgbench", *base, "-c", str(workers), "-j", "2", "-T", str(seconds), name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run)
    assert found, run
    return float(found.group(1))


def check(url: str, ids: list[str]) -> tuple[int, int, int]:
    from sqlalchemy.orm import Session

    from lendbridge.db import make_engine
    from lendbridge.ledger import services as ledger
    from lendbridge.loans import services as loans
    from lendbridge.loans.models import Loan

    engine = make_engine(url)
    with Session(engine) as session:
        unbalanced = ledger.unbalanced_entries(session)
        mismatched = 0
        for loan_id in ids:
            loan = session.get(Loan, loan_id)
            assert loan is not None
            mismatched += not loans.matches_ledger(loan, ledger.loan_balances(session, loan_id))
        broken = sum(1 for r in ledger.verify(session) if not r.ok)
    engine.dispose()
    return unbalanced, mismatched, broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=None)
    args = parser.parse_args()
    seconds = args.seconds or (10 if args.quick else 30)
    loans_count = 100 if args.quick else 400
    now = datetime.now(UTC).replace(hour=4)  # noon in Shanghai
    base = pgbench(args.workers, seconds)
    with scratch_database("lendbridge_bench_repayments") as url:
        t0 = time.perf_counter()
        partner, ids = seed(url, loans_count, now)
        print(f"seeded {loans_count} loans through the services in {time.perf_counter() - t0:.1f} s")
        run = ours(url, partner, ids, args.workers, seconds, now)
        unbalanced, mismatched, broken = check(url, ids)
    tps, errors = run.per_second, run.errors
    ratio = tps / base
    print(f"pgbench tpcb-like, {args.workers} clients, {seconds} s: {base:,.0f} tps")
    print(
        f"record_repayment, {args.workers} processes, {seconds} s: {tps:,.0f} repayments/s ({errors} errors)"
    )
    print(f"ratio: {ratio:.0%} of pgbench (target >= {TARGET:.0%})")
    cores = os.cpu_count() or 1
    budget = cores / (TARGET * base) * 1000
    pg = f"{run.postgres_ms:.2f} ms" if run.postgres_ms is not None else "n/a"
    print(
        f"CPU per repayment: workers (Python) {run.python_ms:.2f} ms, PostgreSQL {pg}; "
        f"the target leaves {budget:.2f} ms in all on {cores} cores"
    )
    print(
        f"unbalanced entries: {unbalanced}; loans not equal to the ledger: {mismatched}; "
        f"broken chains: {broken}"
    )
    ok = ratio >= TARGET and unbalanced == 0 and mismatched == 0 and broken == 0 and errors == 0
    print("OK" if ok else "MISSED TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
