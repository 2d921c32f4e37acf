"""Benchmark: webhook delivery latency and throughput, event commit -> first delivery attempt.

Production shape by default: PostgreSQL, Redis broker, one Celery worker process (with beat)
running the relay and the deliveries; `--embedded` runs SQLite with the inline task runner
instead. The receiver is a separate process (a threaded http.server that notes arrival
times), so it does not share a GIL with the producer or the worker.

1. Steady load: 200 events/s for 60 s (`--quick`: 10 s), one committed transaction per event,
   one endpoint subscribed to everything. Latency = first arrival at the receiver minus the
   moment the producer's transaction committed. Target: p99 <= 1 s.
2. Drain: a burst of events committed at once; deliveries/s until the last one arrives.
3. Baseline, same run: signed POSTs straight from this process to the same receiver
   (same transport, same concurrency as the worker), i.e. the receiver's raw capacity.

    python tests/perf/bench_webhooks.py [--quick] [--embedded]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.perf._harness import REDIS_URL, REPO, free_port, scratch_database  # noqa: E402

RATE = 200
WORKER_POOL = "threads"
WORKER_CONCURRENCY = 8


# -- the receiver (its own process) ---------------------------------------------------------
def run_receiver(port: int) -> None:
    arrivals: list[tuple[str, float]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            at = time.time()
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                arrivals.append((self.headers.get("webhook-id", ""), at))
            self.send_response(204)
            self.send_header("Connection", "close")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            with lock:
                body = json.dumps(arrivals).encode()
                if self.path == "/reset":
                    arrivals.clear()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # listen backlog: the default 5 drops SYNs under bursts (1 s retries)
        daemon_threads = True

    Server(("127.0.0.1", port), Handler).serve_forever()


def arrivals(port: int, reset: bool = False) -> list[tuple[str, float]]:
    path = "/reset" if reset else "/dump"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
        return [(i, t) for i, t in json.loads(resp.read())]


# -- load -------------------------------------------------------------------------------------
def produce(app: Any, tenant_id: str, rate: float, seconds: float) -> dict[str, float]:
    """Commit `rate` events per second for `seconds`; returns event id -> commit time."""
    from lendbridge.db import TenantContext
    from lendbridge.events import outbox
    from lendbridge.uow import UnitOfWork

    svc = app.extensions["lendbridge"]
    committed: dict[str, float] = {}
    lock = threading.Lock()
    threads = 4
    per_thread = rate / threads
    stop_at = time.monotonic() + seconds

    def loop(k: int) -> None:
        start = time.monotonic() + k / rate
        n = 0
        with app.app_context():
            while True:
                due = start + n / per_thread
                if due >= stop_at:
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                stamp: dict[str, float] = {}
                with UnitOfWork(svc.db, TenantContext(tenant_id, False), clock=svc.clock) as uow:
                    # Registered before emit, so it runs first after the commit (before the wake-up).
                    uow.after_commit(lambda stamp=stamp: stamp.__setitem__("t", time.time()))  # type: ignore[misc]
                    event = outbox.emit(
                        uow, "test_helper.triggered", {"object": "test_helper", "id": f"th_{k}_{n}"}
                    )
                    uow.commit()
                with lock:
                    committed[event.id] = stamp["t"]
                n += 1

    workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return committed


def burst(app: Any, tenant_id: str, count: int) -> tuple[list[str], float]:
    """Commit `count` events in transactions of 100; returns their ids and the first commit time."""
    from lendbridge.db import TenantContext
    from lendbridge.events import outbox
    from lendbridge.uow import UnitOfWork

    svc = app.extensions["lendbridge"]
    ids: list[str] = []
    first = 0.0
    with app.app_context():
        for start in range(0, count, 100):
            with UnitOfWork(svc.db, TenantContext(tenant_id, False), clock=svc.clock) as uow:
                for n in range(start, min(count, start + 100)):
                    ids.append(
                        outbox.emit(uow, "test_helper.triggered", {"object": "test_helper", "id": f"b{n}"}).id
                    )
                uow.commit()
            first = first or time.time()
    return ids, first


def wait_for(port: int, wanted: set[str], timeout: float) -> list[tuple[str, float]]:
    deadline = time.monotonic() + timeout
    while True:
        got = arrivals(port)
        if wanted <= {i for i, _ in got} or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def baseline(port: int, seconds: float, concurrency: int) -> float:
    """Signed POSTs straight to the receiver, same transport as the worker: requests/s."""
    import lendbridge_webhooks
    from lendbridge.webhooks import ssrf, transport

    secret = lendbridge_webhooks.generate_secret()
    target = ssrf.parse_url(f"http://127.0.0.1:{port}/hooks", livemode=False)
    body = json.dumps(
        {"id": "evt_baseline", "object": "event", "data": {"object": {"id": "x" * 120}}}
    ).encode()
    stop_at = time.monotonic() + seconds
    counts = [0] * concurrency

    def loop(k: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            headers = lendbridge_webhooks.signature_headers(secret, f"evt_b{k}_{n}", int(time.time()), body)
            headers["content-type"] = "application/json"
            result = transport.post(target, "127.0.0.1", body, headers)
            n += result.status == 204
        counts[k] = n

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(loop, range(concurrency)))
    return sum(counts) / (time.monotonic() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- setup --------------------------------------------------------------------------------------
def build(url: str, data_dir: Path, embedded: bool, queue: str) -> Any:
    from lendbridge.app import create_app
    from lendbridge.config import Settings

    overrides: dict[str, Any] = {"rate_limit": "1000000/second", "secret_key": "bench-secret"}
    if not embedded:
        overrides.update(database_url=url, redis_url=REDIS_URL, tasks="celery")
    app = create_app(Settings.for_tests(data_dir, **overrides))
    if not embedded:
        app.extensions["lendbridge"].tasks.celery.conf.task_default_queue = queue
    return app


def start_worker(url: str, data_dir: Path, queue: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENDBRIDGE_")}
    env.update(
        LENDBRIDGE_DATABASE_URL=url,
        LENDBRIDGE_REDIS_URL=REDIS_URL,
        LENDBRIDGE_TASKS="celery",
        LENDBRIDGE_SECRET_KEY="bench-secret",
        LENDBRIDGE_DATA_DIR=str(data_dir),
        LENDBRIDGE_LOG_LEVEL="WARNING",
        LENDBRIDGE_WEBHOOK_TEST_LOOPBACK="1",  # the receiver listens on 127.0.0.1
        PYTHONPATH=str(REPO),
    )
    argv = [
        sys.executable,
        "-m",
        "tests.integration.webhooks.celery_worker",
        queue,
        "30",
        str(data_dir / "beat-schedule"),
        WORKER_POOL,
        str(WORKER_CONCURRENCY),
    ]
    return subprocess.Popen(
        argv, env=env, cwd=REPO, start_new_session=True, stderr=open(data_dir / "worker.log", "wb")
    )


def run(args: argparse.Namespace) -> None:
    from lendbridge.migrate import upgrade
    from tests.factories.tenancy import make_tenant
    from tests.factories.webhooks import create_endpoint

    seconds = 10 if args.quick else 60
    burst_size = 1000 if args.quick else 3000
    data_dir = Path(tempfile.mkdtemp(prefix="lendbridge-bench-webhooks-"))
    port = free_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port)], start_new_session=True)
    queue = f"lendbridge-bench-webhooks-{uuid.uuid4().hex[:8]}"
    worker: subprocess.Popen[bytes] | None = None
    try:
        with scratch_database("lendbridge_bench_webhooks") as pg:
            if args.embedded:
                from lendbridge.db import make_engine

                engine = make_engine(f"sqlite:///{data_dir / 'lendbridge.sqlite3'}")
                upgrade(engine)
                engine.dispose()
            app = build(pg, data_dir, args.embedded, queue)
            tenant = make_tenant(app, name="Bench Partner")
            time.sleep(0.5)
            create_endpoint(app, tenant.test_key, f"http://127.0.0.1:{port}/hooks", ["*"])
            if args.embedded:
                app.extensions["lendbridge"].tasks.start_scheduler()
            else:
                worker = start_worker(pg, data_dir, queue)
            # Warm up (worker start, connections) and make sure deliveries flow.
            warm = produce(app, tenant.tenant_id, 50, 2)
            wait_for(port, set(warm), 60)
            arrivals(port, reset=True)

            committed = produce(app, tenant.tenant_id, RATE, seconds)
            produced_for = max(committed.values()) - min(committed.values())
            got = wait_for(port, set(committed), 120)
            first: dict[str, float] = {}
            for event_id, at in got:
                first.setdefault(event_id, at)
            latencies = [first[e] - t for e, t in committed.items() if e in first]
            missing = len(committed) - len(latencies)
            firsts = sorted(first[e] for e in committed if e in first)
            sustained = (len(firsts) - 1) / (firsts[-1] - firsts[0])

            arrivals(port, reset=True)
            ids, burst_start = burst(app, tenant.tenant_id, burst_size)
            drained = wait_for(port, set(ids), 300)
            last = max(t for i, t in drained if i in set(ids))
            drain_rate = len({i for i, _ in drained} & set(ids)) / (last - burst_start)

            base = baseline(port, 3 if args.quick else 5, WORKER_CONCURRENCY)
            app.extensions["lendbridge"].tasks.shutdown()
            app.extensions["lendbridge"].db.engine.dispose()
            if worker is not None:
                worker.terminate()
                worker.wait(30)
                worker = None
    finally:
        if worker is not None:
            worker.kill()
        receiver.kill()
        if not args.embedded:
            import redis

            redis.Redis.from_url(REDIS_URL).delete(queue)

    mode = (
        "embedded (SQLite, inline runner)"
        if args.embedded
        else f"production (PostgreSQL, Redis, 1 Celery worker, pool={WORKER_POOL} x{WORKER_CONCURRENCY})"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"mode: {mode}; one endpoint; receiver in its own process; "
        f"load average {load} on {os.cpu_count()} CPUs"
    )
    print(
        f"steady load: {len(committed)} events committed in {produced_for:.1f} s "
        f"({len(committed) / produced_for:.0f}/s; target {RATE}/s for {seconds} s), "
        f"{len(latencies)} delivered, {missing} missing"
    )
    print(
        f"commit -> first attempt: p50 {statistics.median(latencies) * 1000:.0f} ms  "
        f"p99 {pct(latencies, 0.99) * 1000:.0f} ms  max {max(latencies) * 1000:.0f} ms"
        "  (target p99 <= 1000 ms)"
    )
    print(f"sustained deliveries during the load: {sustained:.0f}/s")
    print(f"drain of a {burst_size}-event burst: {drain_rate:.0f} deliveries/s")
    print(f"baseline, direct signed POSTs to the receiver ({WORKER_CONCURRENCY} threads): {base:.0f} req/s")
    print(f"ratio drain / baseline: {drain_rate / base:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        run_receiver(args.receiver)
        return
    run(args)


if __name__ == "__main__":
    main()
