"""Per-app wiring of payments: channels, their breakers and health, the ports, the policies.

Built once per app, lazily (`runtime(app)`). Channels come from the environment:

    LENDBRIDGE_PAYMENT_CHANNELS   "unionpay_sim=http://127.0.0.1:9101,netsunion_sim=http://...,..."
    LENDBRIDGE_CUSTODY_BANK_URL   "http://127.0.0.1:9100"
    LENDBRIDGE_CHANNEL_CALLBACK_SECRET   HMAC key of the channels' callbacks

Without them (the embedded default and tests) the sandbox simulators run in this process
(`runtime(app).simulators` is their control API). Breakers and health are per process:
each worker learns a channel is down from its own calls within a few requests, which is
enough for failover and needs no shared state.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Flask

from lendbridge.db import SYSTEM, Database
from lendbridge.payments.breaker import BreakerConfig, CircuitBreaker
from lendbridge.payments.engine import EngineConfig
from lendbridge.payments.health import ChannelHealth
from lendbridge.payments.instructions import Direction
from lendbridge.payments.ports import CustodyBank, LoanServicing, PaymentChannel, PayoutAccounts
from lendbridge.payments.routing import ChannelProfile
from lendbridge.payments.schedules import RequeryPolicy
from lendbridge.uow import UnitOfWork

EXTENSION = "lendbridge_payments"
DEFAULT_CALLBACK_SECRET = "sandbox-callback-secret"  # noqa: S105 - the sandbox simulators' default
SANDBOX_OPENING_BALANCE = 10_000_000_000  # ¥100m of test money in a new test-mode custody account

_BOTH = frozenset({Direction.PAYOUT, Direction.COLLECTION})

# The channels' published terms (the simulators enforce the same ones on their side).
PROFILES: dict[str, ChannelProfile] = {
    "unionpay_sim": ChannelProfile(
        "unionpay_sim", "clearing", 20, Decimal("0.0002"), 50_000_000, 10**12, _BOTH, typical_latency_ms=20
    ),
    "netsunion_sim": ChannelProfile(
        "netsunion_sim", "clearing", 30, Decimal("0.0002"), 20_000_000, 10**12, _BOTH, typical_latency_ms=20
    ),
    "bankdirect_sim": ChannelProfile(
        "bankdirect_sim",
        "bank_direct",
        5,
        Decimal("0"),
        500_000_000,
        10**12,
        _BOTH,
        banks=frozenset({"CMB"}),
        custody_banks=frozenset({"CMB"}),
        typical_latency_ms=20,
    ),
}


class DailyUsage:
    """Amounts sent through each channel per business date (for the daily limits)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[tuple[str, date], int] = defaultdict(int)

    def add(self, channel: str, day: date, amount: int) -> None:
        with self._lock:
            self._used[(channel, day)] += amount

    def on(self, day: date) -> dict[str, int]:
        with self._lock:
            return {name: used for (name, d), used in self._used.items() if d == day}


@dataclass
class Ports:
    loans: LoanServicing
    payout_accounts: PayoutAccounts
    enqueue: Callable[..., None]


@dataclass
class PaymentsRuntime:
    channels: dict[str, PaymentChannel]
    profiles: dict[str, ChannelProfile]
    custody_bank: CustodyBank
    ports: Ports
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    health: dict[str, ChannelHealth] = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)
    requery: RequeryPolicy = field(default_factory=RequeryPolicy)
    usage: DailyUsage = field(default_factory=DailyUsage)
    simulators: Any = None  # lendbridge_sandbox.channels.Simulators in embedded mode
    uow_factory: Callable[[], UnitOfWork] | None = None
    lease_seconds: float = 60.0
    pending_grace_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in self.channels:
            self.breakers.setdefault(name, CircuitBreaker(name, BreakerConfig()))
            profile = self.profiles.get(name)
            self.health.setdefault(
                name, ChannelHealth(initial_latency_ms=profile.typical_latency_ms if profile else 50.0)
            )

    def new_uow(self) -> UnitOfWork:
        if self.uow_factory is None:
            raise RuntimeError("payments runtime has no unit-of-work factory")
        return self.uow_factory()

    def sandbox_account_opened(self, number: str, holder: str, bank_code: str, livemode: bool) -> None:
        """Embedded mode: a test-mode custody account also opens at the simulated bank."""
        if self.simulators is not None and not livemode:
            self.simulators.custody_bank.open_account(number, holder, SANDBOX_OPENING_BALANCE, bank_code)


def _parse_channels(spec: str) -> dict[str, str]:
    out = {}
    for part in spec.split(","):
        name, _, url = part.strip().partition("=")
        if name and url:
            out[name.strip()] = url.strip()
    return out


def build_runtime(app: Flask, environ: Mapping[str, str] | None = None) -> PaymentsRuntime:
    from lendbridge.payments.adapters import IdentityPayoutAccounts, LoansServicing
    from lendbridge.payments.channels import (
        HttpChannel,
        HttpCustodyBank,
        InProcessChannel,
        InProcessCustodyBank,
    )

    env = os.environ if environ is None else environ
    svc = app.extensions["lendbridge"]
    secret = env.get("LENDBRIDGE_CHANNEL_CALLBACK_SECRET", DEFAULT_CALLBACK_SECRET).encode()
    configured = _parse_channels(env.get("LENDBRIDGE_PAYMENT_CHANNELS", ""))
    simulators = None
    channels: dict[str, PaymentChannel] = {}
    custody: CustodyBank
    if configured:
        channels = {name: HttpChannel(name, url, callback_secret=secret) for name, url in configured.items()}
        custody = HttpCustodyBank(env.get("LENDBRIDGE_CUSTODY_BANK_URL", "http://127.0.0.1:9100"))
    else:
        from lendbridge_sandbox.channels import build_simulators

        def deliver(body: bytes, headers: dict[str, str]) -> None:
            from lendbridge.payments import services

            with app.app_context():
                services.handle_callback(rt, headers.get("X-Channel-Name", ""), body, headers)

        # The simulators keep time by the app's clock (read on every call, so a test that
        # swaps or moves the clock moves them too): statements and payments share dates.
        # Outside tests they journal to the data dir, so the simulated bank remembers its
        # accounts and movements across restarts and across processes (seed, then serve).
        journal_dir = None if svc.settings.testing else svc.settings.data_dir / "simulators"
        simulators = build_simulators(
            callback=deliver,
            callback_secret=secret,
            now=lambda: app.extensions["lendbridge"].clock.now(),
            journal_dir=journal_dir,
        )
        channels = {
            name: InProcessChannel(sim, callback_secret=secret) for name, sim in simulators.channels.items()
        }
        custody = InProcessCustodyBank(simulators.custody_bank)

    def enqueue(name: str, *args: Any) -> None:
        svc.tasks.enqueue(name, *args)

    rt = PaymentsRuntime(
        channels=channels,
        profiles={name: PROFILES[name] for name in channels if name in PROFILES},
        custody_bank=custody,
        ports=Ports(LoansServicing(), IdentityPayoutAccounts(), enqueue),
        simulators=simulators,
        uow_factory=lambda: UnitOfWork(svc.db, SYSTEM, clock=svc.clock, actor="payments"),
    )
    if simulators is not None:
        _open_known_accounts(svc.db, rt)
    return rt


def _open_known_accounts(db: Database, rt: PaymentsRuntime) -> None:
    """Test-mode custody accounts registered by another process (e.g. `demo seed`) exist at
    this process's simulated bank too (opening is idempotent). A read session: the runtime
    is built lazily, possibly inside a request that already holds the write lock."""
    from sqlalchemy import select

    from lendbridge.payments.models import CustodyAccount

    with db.reader() as session:
        rows = session.execute(select(CustodyAccount).where(CustodyAccount.livemode.is_(False))).scalars()
        for account in rows:
            rt.sandbox_account_opened(
                account.account_number, account.account_holder, account.bank_code, False
            )


_build_lock = threading.Lock()


def runtime(app: Flask) -> PaymentsRuntime:
    """The app's payments runtime, built on first use."""
    rt: PaymentsRuntime | None = app.extensions.get(EXTENSION)
    if rt is None:
        with _build_lock:
            rt = app.extensions.get(EXTENSION)
            if rt is None:
                rt = build_runtime(app)
                app.extensions[EXTENSION] = rt
    return rt


def configure(app: Flask, **changes: Any) -> PaymentsRuntime:
    """Replace parts of the runtime (tests: fake ports, faster policies, own clocks)."""
    rt = runtime(app)
    for name, value in changes.items():
        if name in ("loans", "payout_accounts", "enqueue"):
            setattr(rt.ports, name, value)
        elif hasattr(rt, name):
            setattr(rt, name, value)
        else:
            raise AttributeError(f"payments runtime has no {name!r}")
    return rt
