"""Benchmark: authenticated GET /v1/account through the full stack vs a bare Flask endpoint.

Both run under gunicorn with the same settings and are driven by the same load generator
(`hey`) in the same run. The full stack is production mode: PostgreSQL, Redis rate limits,
auth, tenant scoping, request ids. Targets: >= 40 % of the bare throughput; p99 <= 20 ms at
half the saturating load.

    python tests/perf/bench_api.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.perf._harness import BIN, REDIS_URL, ensure_tool, free_port, hey, scratch_database, server  # noqa: E402

WORKERS = 2
THREADS = 4


def _seed(url: str) -> str:
    from lendbridge.app import create_app
    from lendbridge.config import Settings
    from tests.factories.tenancy import make_tenant

    app = create_app(Settings.for_tests(Path(tempfile.mkdtemp()), database_url=url))
    keys = make_tenant(app, name="Bench Partner")
    app.extensions["lendbridge"].db.engine.dispose()
    return keys.test_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 4 if args.quick else 15
    ensure_tool("hey")
    with scratch_database("lendbridge_bench_api") as url:
        key = _seed(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LENDBRIDGE_")}
        env.update(
            LENDBRIDGE_DATABASE_URL=url,
            LENDBRIDGE_REDIS_URL=REDIS_URL,
            LENDBRIDGE_SCHEDULER="0",
            LENDBRIDGE_RATE_LIMIT="1000000/second",
            LENDBRIDGE_DATA_DIR=tempfile.mkdtemp(prefix="lendbridge-bench-"),
            LENDBRIDGE_LOG_LEVEL="WARNING",
        )
        port = free_port()
        headers = {"Authorization": f"Bearer {key}"}
        full_url = f"http://127.0.0.1:{port}/v1/account"
        with server(
            [str(BIN / "lendbridge"), "serve", "--port", str(port), "--workers", str(WORKERS)], port, env
        ):
            import urllib.request

            req = urllib.request.Request(full_url, headers=headers)
            body = urllib.request.urlopen(req).read().decode()  # noqa: S310
            hey(full_url, seconds=2, concurrency=16, headers=headers)  # warm up
            full = hey(full_url, seconds=seconds, concurrency=32, headers=headers)
            half = hey(
                full_url, seconds=seconds, concurrency=8, headers=headers, rate_per_worker=full.rps / 2 / 8
            )
        bare_port = free_port()
        bare_env = dict(env, BARE_BODY=json.dumps(json.loads(body)))
        argv = [
            str(BIN / "gunicorn"),
            "-b",
            f"127.0.0.1:{bare_port}",
            "-w",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "-k",
            "gthread",
            "tests.perf.bare_app:app",
        ]
        bare_url = f"http://127.0.0.1:{bare_port}/v1/account"
        with server(argv, bare_port, bare_env, probe="/v1/account"):
            hey(bare_url, seconds=2, concurrency=16)
            bare = hey(bare_url, seconds=seconds, concurrency=32)
            bare_half = hey(bare_url, seconds=seconds, concurrency=8, rate_per_worker=bare.rps / 2 / 8)

    ratio = full.rps / bare.rps
    print(
        f"gunicorn: {WORKERS} workers x {THREADS} threads (gthread); load: hey, 32 connections, {seconds} s"
    )
    for label, r in (("bare Flask", bare), ("full stack", full)):
        print(
            f"{label:<15} saturating: {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms"
            f"  non-200 {r.errors}"
        )
    print(
        f"full stack  at half load ({half.rps:.0f} req/s): p50 {half.p50_ms:.2f} ms  p99 {half.p99_ms:.2f} ms"
    )
    print(
        f"bare Flask  at half load ({bare_half.rps:.0f} req/s): p50 {bare_half.p50_ms:.2f} ms  "
        f"p99 {bare_half.p99_ms:.2f} ms"
    )
    print(
        f"ratio full/bare throughput: {ratio:.2f} (target >= 0.40)  "
        f"p99 at half load: {half.p99_ms:.2f} ms (target <= 20 ms)"
    )


if __name__ == "__main__":
    main()
