"""Benchmark: POST /v1/applications (a full decision) through the API, against
GET /v1/account on the same server in the same run.

Production shape: gunicorn (2 workers x 4 threads), PostgreSQL, Redis counters and rate
limits, the real identity / products / loans services behind the risk ports, and the
bureau simulator in process. Every request is a different borrower (a pool of seeded,
KYC-verified borrowers with consents), a different device and IP, so anti-fraud counters
and the fraud graph do real work without tripping.

Two decision runs:
- bureau cached: every borrower's report was fetched once before; the run reuses it
  (target p99 <= 30 ms: the decision without the bureau call);
- bureau live: the tenant's rule set sets `bureau_cache_days: 0`, so each decision
  calls the simulator at its default 50-150 ms latency (target p99 <= 250 ms).

The load generator is a closed loop of threads with keep-alive connections; latencies
are measured per request on the client.

    python tests/perf/bench_decision.py [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from lendbridge.risk.services import RULE_SET_TTL  # noqa: E402
from tests.perf._harness import BIN, REDIS_URL, free_port, scratch_database, server  # noqa: E402

WORKERS, THREADS = 2, 4
LOADS = (1, 4)  # concurrent clients: unloaded latency, then the machine's 2 cores busy


@dataclass(frozen=True)
class Seeded:
    partner_key: str
    admin_key: str
    partner_id: str
    borrowers: list[tuple[str, list[str]]]


def _seed(url: str, data_dir: Path, borrowers: int) -> Seeded:
    from lendbridge.app import create_app
    from lendbridge.config import Settings
    from lendbridge.tenancy.domain import TenantKind
    from tests.factories.loans import make_product
    from tests.factories.risk import partner_and_operator, ready_borrower
    from tests.factories.tenancy import make_tenant

    app = create_app(Settings.for_tests(data_dir, database_url=url))
    keys = partner_and_operator(app)
    bank = make_tenant(app, TenantKind.INSTITUTION, "Bench Bank")
    grid = {
        "A": Decimal("0.07"),
        "B": Decimal("0.09"),
        "C": Decimal("0.11"),
        "D": Decimal("0.14"),
        "E": Decimal("0.18"),
    }
    common: dict[str, Any] = {
        "kind": "instalment",
        "borrower_type": "individual",
        "penalty_rate": Decimal("0.27"),
        "methods": ["equal_instalment", "equal_principal"],
        "rate_grid": grid,
        "amount": {"min": 500_000, "max": 20_000_000},
        "term": {"min": 3, "max": 24},
        "rate": {"min": Decimal("0.06"), "max": Decimal("0.20")},
    }
    make_product(app, bank, name="Provident-fund loan", eligibility={"occupations": ["teacher"]}, **common)
    make_product(app, bank, name="Consumer loan", **common)
    make_product(app, bank, name="South China loan", eligibility={"regions": ["44"]}, **common)
    client = app.test_client()
    pool = [ready_borrower(app, client, keys.partner) for _ in range(borrowers)]
    app.extensions["lendbridge"].db.engine.dispose()
    return Seeded(keys.partner, keys.admin, keys.partner_id, pool)


_n = itertools.count(1)


def _application(borrower: str, consents: list[str]) -> bytes:
    n = next(_n)
    body = {
        "borrower": borrower,
        "amount": 3_000_000,
        "term": 12,
        "purpose": "education",
        "monthly_income": 4_000_000,
        "consent_ids": consents,
        "device": {
            "fingerprint": f"bench-device-{n:08d}",
            "ip": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
            "lbs_city": "310100",
            "ip_city": "310100",
        },
        "scenario": {"course_id": "c-1", "merchant_id": "school_demo", "enrolment_confirmed": True},
    }
    return json.dumps(body).encode()


@dataclass
class Run:
    latencies_ms: list[float]
    seconds: float
    errors: int
    outcomes: dict[str, int]

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies_ms) or [float("nan")]
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


def _drive(port: int, key: str, requests: int, make: Any, concurrency: int) -> Run:
    """`requests` requests over `concurrency` keep-alive connections; `make(i)` -> (method, path, body)."""
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    errors = 0
    lock = threading.Lock()
    counter = itertools.count()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (i := next(counter)) < requests:
            method, path, body = make(i)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if resp.status >= 300:
                    errors += 1
                    code = f"{resp.status} {json.loads(payload).get('code')}"
                    outcomes[code] = outcomes.get(code, 0) + 1
                elif method == "POST":
                    status = json.loads(payload)["status"]
                    outcomes[status] = outcomes.get(status, 0) + 1
        conn.close()

    def guarded() -> None:
        try:
            worker()
        except Exception as exc:  # a dead connection: report it, do not hide it
            print(f"client thread failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    threads = [threading.Thread(target=guarded) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Run(latencies, time.perf_counter() - started, errors, outcomes)


def _post_json(port: int, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        path,
        body=json.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    data: dict[str, Any] = json.loads(resp.read())
    assert resp.status < 300, data
    return data


def _report(label: str, run: Run) -> None:
    print(
        f"{label:<34} {run.rps:7.1f} req/s  p50 {run.pct(50):7.2f} ms  p95 {run.pct(95):7.2f} ms  "
        f"p99 {run.pct(99):7.2f} ms  errors {run.errors}  {run.outcomes or ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    pool_size = 120 if args.quick else 300
    per_run = 240 if args.quick else 600
    data_dir = Path(tempfile.mkdtemp(prefix="lendbridge-bench-decision-"))
    with scratch_database("lendbridge_bench_decision") as url:
        seeded = _seed(url, data_dir, pool_size)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LENDBRIDGE_")}
        env.update(
            LENDBRIDGE_DATABASE_URL=url,
            LENDBRIDGE_REDIS_URL=REDIS_URL,
            LENDBRIDGE_SCHEDULER="0",
            LENDBRIDGE_RATE_LIMIT="1000000/second",
            LENDBRIDGE_DATA_DIR=str(data_dir),
            LENDBRIDGE_LOG_LEVEL="WARNING",
            LENDBRIDGE_SECRET_KEY="bench-secret",
            # the personal-data master key the seeding generated (production needs it set)
            LENDBRIDGE_MASTER_KEY_FILE=str(data_dir / "master.key"),
        )
        port = free_port()
        argv = [str(BIN / "lendbridge"), "serve", "--port", str(port), "--workers", str(WORKERS)]
        with server(argv, port, env):
            rules = f"/admin/v1/risk/tenants/{seeded.partner_id}/rule_sets"
            # The pool applies many times in a few seconds: lift the velocity and graph-growth
            # limits that would (rightly) stop one borrower applying hundreds of times a day.
            relaxed = {"rules": [], "graph": {"growth_threshold": 10**6, "max_component_applications": 10**6}}
            _post_json(port, seeded.admin_key, rules, {"document": relaxed})
            borrowers = seeded.borrowers

            def decision(i: int) -> tuple[str, str, bytes]:
                b, c = borrowers[i % len(borrowers)]
                return "POST", "/v1/applications", _application(b, c)

            def account(i: int) -> tuple[str, str, None]:
                return "GET", "/v1/account", None

            _drive(
                port, seeded.partner_key, len(borrowers), decision, 4
            )  # warm up: every report fetched once
            results: dict[tuple[str, int], Run] = {}
            for load in LOADS:
                results["baseline", load] = _drive(port, seeded.partner_key, per_run, account, load)
                results["cached", load] = _drive(port, seeded.partner_key, per_run, decision, load)
            _post_json(
                port, seeded.admin_key, rules, {"document": {**relaxed, "policy": {"bureau_cache_days": 0}}}
            )
            time.sleep(RULE_SET_TTL + 0.5)  # every worker sees the new rule set
            for load in LOADS:
                results["live", load] = _drive(port, seeded.partner_key, per_run // 2, decision, load)
    print(
        f"gunicorn {WORKERS} workers x {THREADS} threads; PostgreSQL + Redis; {pool_size} borrowers; "
        f"client and server share the machine"
    )
    for load in LOADS:
        print(f"-- {load} concurrent client(s)")
        _report("baseline GET /v1/account", results["baseline", load])
        _report("decision, bureau cached", results["cached", load])
        _report("decision, bureau live (50-150 ms)", results["live", load])
    for load in LOADS:
        base, cached, live = results["baseline", load], results["cached", load], results["live", load]
        print(
            f"{load} client(s): decision p99 cached {cached.pct(99):.2f} ms (target <= 30), "
            f"live bureau {live.pct(99):.2f} ms (target <= 250); baseline p99 {base.pct(99):.2f} ms; "
            f"decisions/s {cached.rps:.1f} = {cached.rps / base.rps:.3f} x baseline"
        )


if __name__ == "__main__":
    main()
