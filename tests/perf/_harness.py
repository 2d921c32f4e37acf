"""Shared helpers for the benchmarks: PostgreSQL scratch databases, servers, load generation."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("LENDBRIDGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LENDBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    from lendbridge.db import make_engine
    from lendbridge.migrate import upgrade

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU a process has used (Linux /proc), or None when it is gone or unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes connected to the database of `url` (same machine)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        pids = [int(r[0]) for r in rows]
    engine.dispose()
    return pids


@contextmanager
def server(
    argv: list[str], port: int, env: dict[str, str], probe: str = "/v1/openapi.json"
) -> Iterator[None]:
    proc = subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=2)
                break
            except Exception as exc:
                if proc.poll() is not None:
                    stderr = (proc.stderr.read() if proc.stderr else b"").decode()[-500:]
                    raise RuntimeError("server exited: " + stderr) from exc
                time.sleep(0.3)
        else:
            raise RuntimeError("server did not start")
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    ok: int
    errors: int


def hey(
    url: str,
    *,
    seconds: int,
    concurrency: int,
    headers: dict[str, str] | None = None,
    rate_per_worker: float | None = None,
) -> LoadResult:
    """Run `hey` (Debian package) against url and parse its summary."""
    argv = ["hey", "-z", f"{seconds}s", "-c", str(concurrency)]
    if rate_per_worker:
        argv += ["-q", f"{rate_per_worker:.2f}"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = float(re.search(r"50%+ in ([\d.]+) secs", out).group(1)) * 1000  # type: ignore[union-attr]
    p99 = float(re.search(r"99%+ in ([\d.]+) secs", out).group(1)) * 1000  # type: ignore[union-attr]
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    ok = int(codes.get("200", 0))
    errors = sum(int(v) for k, v in codes.items() if k != "200")
    return LoadResult(rps, p50, p99, ok, errors)


def ensure_tool(package: str) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "ensure-debian-packages.sh"), package], check=True)
