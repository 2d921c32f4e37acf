"""Process-wide risk machinery, built once per app: counters, the bureau client, the
scorecards, the hashing key and the integrations with other areas.

Kept in `app.extensions["lendbridge_risk"]`; tests swap parts (e.g. the simulator's
failure settings, or fake integrations) on the instance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from flask import Flask, current_app

from lendbridge.risk import scorecard as sc
from lendbridge.risk.bureau import BureauBackend, BureauClient
from lendbridge.risk.counters import MemoryCounterStore, RedisCounterStore
from lendbridge.risk.ports import (
    BorrowerFactsSource,
    BorrowerHistory,
    ConsentChecker,
    CounterStore,
    LoanOriginator,
    ProductCatalog,
)
from lendbridge.uow import UnitOfWork

EXTENSION = "lendbridge_risk"


class Integrations(Protocol):
    """Where the pipeline's ports to other areas come from, per unit of work."""

    def facts(self, uow: UnitOfWork) -> BorrowerFactsSource: ...

    def consents(self, uow: UnitOfWork) -> ConsentChecker: ...

    def catalog(self, uow: UnitOfWork) -> ProductCatalog: ...

    def history(self, uow: UnitOfWork) -> BorrowerHistory: ...

    def originator(self, uow: UnitOfWork) -> LoanOriginator: ...


@dataclass
class RiskRuntime:
    counters: CounterStore
    bureau: BureauClient
    backend: Any  # the simulator in embedded/test mode
    secret: bytes
    champion: sc.Scorecard
    challenger: sc.Scorecard | None
    integrations: Integrations
    apr_cap: Decimal  # settings.effective_apr_cap: the lower of the platform and judicial caps


def init_app(app: Flask) -> RiskRuntime:
    from lendbridge.risk.adapters import AreaIntegrations
    from lendbridge_sandbox.bureau import default_simulator

    svc = app.extensions["lendbridge"]
    settings = svc.settings
    counters: CounterStore = (
        RedisCounterStore.from_url(settings.redis_url) if settings.redis_url else MemoryCounterStore()
    )
    backend: BureauBackend = default_simulator() if not settings.testing else _fresh_simulator()
    rt = RiskRuntime(
        counters=counters,
        bureau=BureauClient(backend),
        backend=backend,
        secret=hashlib.sha256(b"lendbridge/risk|" + str(app.config["SECRET_KEY"]).encode()).digest(),
        champion=sc.load(sc.CHAMPION_VERSION),
        challenger=sc.load(sc.CHALLENGER_VERSION),
        integrations=AreaIntegrations(),
        apr_cap=settings.effective_apr_cap,
    )
    app.extensions[EXTENSION] = rt
    return rt


def _fresh_simulator() -> BureauBackend:
    from lendbridge_sandbox.bureau import BureauSimulator

    return BureauSimulator()


def runtime(app: Flask | None = None) -> RiskRuntime:
    target = app or current_app
    rt: RiskRuntime = target.extensions[EXTENSION]
    return rt
