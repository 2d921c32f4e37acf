"""HTTP mode: the simulators as separate processes, the primary SIGKILLed mid-run and
restarted from its journal. Every payment still executes exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from lendbridge.payments import services
from lendbridge.payments.breaker import BreakerConfig, CircuitBreaker
from lendbridge.payments.channels import HttpChannel, HttpCustodyBank
from lendbridge.payments.engine import EngineConfig
from lendbridge_sandbox.simhttp import call
from tests.factories.payments import CUSTODY_NUMBER, make_world, run_until_settled

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sim:
    def __init__(self, name: str, state: Path, custody_url: str | None = None) -> None:
        self.name, self.state, self.custody_url = name, state, custody_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "lendbridge_sandbox.channels",
            "--channel",
            self.name,
            "--port",
            str(self.port),
        ]
        argv += ["--state-dir", str(self.state), "--latency-ms", "5"]
        if self.custody_url:
            argv += ["--custody-url", self.custody_url]
        self.proc = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if call("GET", f"{self.url}/status", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[dict[str, Sim]]:
    bank = Sim("custody_bank", tmp_path)
    bank.start()
    out = {"custody_bank": bank}
    try:
        for name in ("unionpay_sim", "netsunion_sim"):
            out[name] = Sim(name, tmp_path, bank.url)
            out[name].start()
        yield out
    finally:
        for sim in out.values():
            sim.stop()


@pytest.mark.slow
def test_a_killed_channel_process_never_causes_a_double_payout(pg_app: Flask, sims: dict[str, Sim]) -> None:
    w = make_world(
        pg_app,
        engine=EngineConfig(submit_timeout=1.0, query_timeout=0.5, confirm_tries=2, confirm_backoff=(0.05,)),
    )
    bank = sims["custody_bank"]
    status, _ = call(
        "POST",
        f"{bank.url}/accounts",
        {"number": CUSTODY_NUMBER, "holder": "Inst", "balance": 10**9, "bank_code": "CMB"},
    )
    assert status == 200
    w.rt.channels = {
        name: HttpChannel(name, sims[name].url, callback_secret=b"sandbox-callback-secret")
        for name in ("unionpay_sim", "netsunion_sim")
    }
    w.rt.custody_bank = HttpCustodyBank(bank.url)
    w.rt.breakers = {
        n: CircuitBreaker(n, BreakerConfig(failure_threshold=3, open_seconds=0.5)) for n in w.rt.channels
    }
    w.rt.profiles = {n: w.rt.profiles[n] for n in w.rt.channels}

    ids = [w.disburse(w.loan(principal=50_000 + i), execute=False) for i in range(60)]
    done = 0
    lock = threading.Lock()

    def run(payment_id: str) -> None:
        nonlocal done
        services.execute_payment(payment_id, rt=w.rt)
        with lock:
            done += 1
            if done == 20:
                sims["unionpay_sim"].kill()  # SIGKILL, possibly mid-request; then connections are refused
            elif done == 40:
                sims["unionpay_sim"].start()  # back, with its journal

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(run, ids))
    assert run_until_settled(w) == 0

    executed: dict[str, list[str]] = {}
    for name in ("unionpay_sim", "netsunion_sim"):
        _, body = call("GET", f"{sims[name].url}/executions")
        for iid in json.loads(body):
            executed.setdefault(iid, []).append(name)
    payments = [w.payment(pid) for pid in ids]
    assert all(p.state == "succeeded" for p in payments)
    assert {p.instruction_id: [p.channel] for p in payments} == executed
    assert {p.channel for p in payments} == {"unionpay_sim", "netsunion_sim"}
    _, account = call("GET", f"{bank.url}/accounts/{CUSTODY_NUMBER}")
    assert json.loads(account)["balance"] == 10**9 - sum(p.amount for p in payments)
    from datetime import UTC, datetime

    from lendbridge.core.clock import business_date

    report_id = services.run_reconciliation(w.rt, business_date(datetime.now(UTC)))
    with w.rt.new_uow() as uow:
        report, breaks = services.get_report(uow, report_id)
        assert report.breaks == 0 and report.matched == 2 * len(ids), [(b.kind, b.source) for b in breaks]
