"""Payments test helpers: fake channels for the engine, fake loan/identity ports, set-ups.

`ScriptedChannel` answers each call from a script (unit tests of the engine).
`LedgerChannel` is a small model of a real channel: it executes at most once per id,
may execute and lose the reply, honours `close`; property tests drive it at random.
`FakeLoans` / `FakePayoutAccounts` implement the ports in memory, tenant-aware, so the
services and endpoints can be tested before (and independently of) the loan engine.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask import Flask

from lendbridge.core.errors import IllegalTransition, NotFound
from lendbridge.db import SYSTEM
from lendbridge.payments import services
from lendbridge.payments.engine import EngineConfig
from lendbridge.payments.ports import (
    ChannelStatus,
    ChannelTimeout,
    ChannelUnreachable,
    Due,
    Order,
    Party,
    PartyKind,
    PayableLoan,
    Reply,
    StatementRow,
)
from lendbridge.payments.runtime import PaymentsRuntime, configure, runtime
from lendbridge.payments.schedules import RequeryPolicy
from lendbridge.tenancy.domain import TenantKind
from lendbridge.uow import UnitOfWork
from tests.factories.tenancy import TenantKeys, make_tenant

CARD = "6222021234567894"  # ICBC, Luhn-valid, no magic
CMB_CARD = "6225880000000019"
INSUFFICIENT_CARD = "6222020000000056"
TIMEOUT_CARD = "6222020000000064"
AMBIGUOUS_CARD = "6222020000000072"
CUSTODY_NUMBER = "6214830000000001"


def order(iid: str = "LBTEST0001", amount: int = 100_000, card: str = CARD) -> Order:
    from lendbridge.payments.instructions import Direction

    return Order(
        iid,
        Direction.PAYOUT,
        amount,
        Party(PartyKind.CUSTODY, "CMB", CUSTODY_NUMBER, "Institution"),
        Party(PartyKind.CARD, "ICBC", card, "Borrower"),
    )


# -- engine fakes -----------------------------------------------------------------------------


Step = Reply | type[Exception] | Exception


class ScriptedChannel:
    """Answers submit/query/close from per-operation scripts; records every call."""

    def __init__(
        self, name: str, submit: Iterable[Step] = (), query: Iterable[Step] = (), close: Iterable[Step] = ()
    ):
        self.name = name
        self.scripts: dict[str, deque[Step]] = {
            "submit": deque(submit),
            "query": deque(query),
            "close": deque(close),
        }
        self.calls: list[str] = []

    def _next(self, op: str, iid: str) -> Reply:
        self.calls.append(op)
        script = self.scripts[op]
        if not script:
            raise AssertionError(f"{self.name}: unexpected {op}")
        step = script.popleft() if len(script) > 1 else script[0]
        if isinstance(step, type) and issubclass(step, Exception):
            raise step(f"{self.name} {op}")
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, Reply)
        return replace(step, instruction_id=iid)

    def submit(self, order: Order, timeout: float) -> Reply:
        return self._next("submit", order.instruction_id)

    def query(self, instruction_id: str, timeout: float) -> Reply:
        return self._next("query", instruction_id)

    def close(self, instruction_id: str, timeout: float) -> Reply:
        return self._next("close", instruction_id)

    def statement(self, day: date) -> list[StatementRow]:
        return []

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        raise AssertionError("not used")


def ok(ref: str = "REF1") -> Reply:
    return Reply("", ChannelStatus.SUCCEEDED, channel_ref=ref)


def failed(code: str) -> Reply:
    return Reply("", ChannelStatus.FAILED, code=code)


def status(s: ChannelStatus) -> Reply:
    return Reply("", s)


class LedgerChannel:
    """A model channel for property tests. Every random choice comes from `rng`.

    submit: unreachable (not delivered) | refused (system_unavailable, not recorded) |
    executes and replies | executes and loses the reply | is lost before arriving (timeout,
    arrives later unless closed: `deliver_late`). query/close may be unreachable.
    `executions` counts real executions per id: the double-payment detector.
    """

    def __init__(self, name: str, rng: random.Random, *, p_down: float = 0.2, p_lose: float = 0.3) -> None:
        self.name = name
        self.rng = rng
        self.p_down = p_down
        self.p_lose = p_lose
        self.records: dict[str, str] = {}  # id -> succeeded | closed
        self.executions: dict[str, int] = {}
        self.in_flight: list[Order] = []

    def _maybe_down(self) -> None:
        if self.rng.random() < self.p_down:
            raise ChannelUnreachable(self.name)

    def _execute(self, order: Order) -> None:
        if order.instruction_id in self.records:
            return
        self.records[order.instruction_id] = "succeeded"
        self.executions[order.instruction_id] = self.executions.get(order.instruction_id, 0) + 1

    def deliver_late(self) -> None:
        for o in self.in_flight:
            self._execute(o)
        self.in_flight.clear()

    def submit(self, order: Order, timeout: float) -> Reply:
        self._maybe_down()
        roll = self.rng.random()
        if roll < 0.15:
            return Reply(order.instruction_id, ChannelStatus.FAILED, "system_unavailable")
        if roll < 0.15 + self.p_lose / 2:
            self.in_flight.append(order)  # stuck in the network
            raise ChannelTimeout(self.name)
        self._execute(order)
        if roll < 0.15 + self.p_lose:
            raise ChannelTimeout(self.name)  # executed, reply lost
        return Reply(order.instruction_id, ChannelStatus(self.records[order.instruction_id]), channel_ref="R")

    def query(self, instruction_id: str, timeout: float) -> Reply:
        self._maybe_down()
        state = self.records.get(instruction_id)
        return Reply(instruction_id, ChannelStatus(state) if state else ChannelStatus.NOT_FOUND)

    def close(self, instruction_id: str, timeout: float) -> Reply:
        self._maybe_down()
        self.records.setdefault(instruction_id, "closed")
        return Reply(instruction_id, ChannelStatus(self.records[instruction_id]))

    def statement(self, day: date) -> list[StatementRow]:
        return []

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> Reply:
        raise AssertionError("not used")


@dataclass
class RecordingJournal:
    calls: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    on_submit: Callable[[str], None] | None = None

    def before_submit(self, channel: str, spent: frozenset[str]) -> None:
        self.calls.append((channel, spent))
        if self.on_submit is not None:
            self.on_submit(channel)


FAST = EngineConfig(
    submit_timeout=0.2,
    query_timeout=0.2,
    confirm_tries=2,
    confirm_backoff=(0.0,),
    retry_limit=1,
    retry_backoff=0.0,
)


# -- loan and identity fakes ------------------------------------------------------------------


@dataclass
class FakeLoan:
    loan: PayableLoan
    events: list[str] = field(default_factory=list)
    repayments: list[tuple[int, str]] = field(default_factory=list)
    dues: list[tuple[date, int]] = field(default_factory=list)
    disbursed_ref: str | None = None


class FakeLoans:
    """LoanServicing in memory; tenant-scoped like the real one (other tenant -> 404)."""

    def __init__(self) -> None:
        self.loans: dict[str, FakeLoan] = {}
        self.lock = threading.Lock()

    def add(self, loan: PayableLoan, dues: Sequence[tuple[date, int]] = ()) -> PayableLoan:
        self.loans[loan.loan_id] = FakeLoan(loan, dues=list(dues))
        return loan

    def _get(self, uow: UnitOfWork, loan_id: str) -> FakeLoan:
        found = self.loans.get(loan_id)
        ctx = uow.ctx
        if found is None or (
            not ctx.is_system
            and (found.loan.tenant_id != ctx.tenant_id or found.loan.livemode != ctx.livemode)
        ):
            raise NotFound(f"No such loan: '{loan_id}'", param="id")
        return found

    def _move(self, f: FakeLoan, expect: str, to: str, event: str) -> None:
        if f.loan.state != expect:
            raise IllegalTransition(f"loan in {f.loan.state}, expected {expect}")
        f.loan = replace(f.loan, state=to)
        f.events.append(event)

    def payable_loan(self, uow: UnitOfWork, loan_id: str) -> PayableLoan:
        return self._get(uow, loan_id).loan

    def start_disbursement(self, uow: UnitOfWork, loan_id: str) -> None:
        with self.lock:
            self._move(self._get(uow, loan_id), "signed", "disbursing", "loan.disbursing")

    def record_disbursement(
        self, uow: UnitOfWork, loan_id: str, *, paid_to: str, amount_paid: int, external_ref: str
    ) -> None:
        with self.lock:
            f = self._get(uow, loan_id)
            if f.disbursed_ref == external_ref:
                return
            assert amount_paid == f.loan.payout_amount
            self._move(f, "disbursing", "active", "loan.disbursed")
            f.disbursed_ref = external_ref

    def record_disbursement_failure(self, uow: UnitOfWork, loan_id: str, reason: str) -> None:
        with self.lock:
            self._move(self._get(uow, loan_id), "disbursing", "signed", f"loan.disbursement_failed:{reason}")

    def record_repayment(
        self, uow: UnitOfWork, loan_id: str, amount: int, *, source: str, external_ref: str
    ) -> None:
        with self.lock:
            f = self._get(uow, loan_id)
            if any(ref == external_ref for _, ref in f.repayments):
                return
            f.repayments.append((amount, external_ref))
            f.events.append("repayment.succeeded")

    def dues(self, uow: UnitOfWork, business_date: date, *, test_clock_id: str | None) -> list[Due]:
        out = []
        for f in self.loans.values():
            if f.loan.test_clock_id != test_clock_id or f.loan.state not in ("active", "overdue"):
                continue
            for due_date, _ in f.dues:
                owed = self.amount_due(uow, f.loan.loan_id, due_date)
                if due_date == business_date and owed > 0:
                    loan = f.loan
                    out.append(
                        Due(
                            loan.loan_id,
                            loan.tenant_id,
                            loan.livemode,
                            loan.institution_id,
                            loan.borrower_id,
                            due_date,
                            owed,
                            loan.test_clock_id,
                        )
                    )
        return out

    def amount_due(self, uow: UnitOfWork, loan_id: str, due_date: date | None) -> int:
        """Scheduled on `due_date` (None: on every date up to today) less what the
        repayments covered, oldest due first."""
        f = self.loans[loan_id]
        remaining = sum(a for a, _ in f.repayments)
        covered: dict[date, int] = {}
        for d, a in sorted(f.dues):
            take = min(a, remaining)
            covered[d] = covered.get(d, 0) + take
            remaining -= take
        if due_date is None:
            due = [d for d, _ in f.dues if d <= uow.today()]
            return max(0, sum(a for d, a in f.dues if d in due) - sum(covered.get(d, 0) for d in due))
        return max(0, sum(a for d, a in f.dues if d == due_date) - covered.get(due_date, 0))


class FakePayoutAccounts:
    def __init__(self) -> None:
        self.cards: dict[str, str] = {}
        self.calls = 0

    def payout_account(self, uow: UnitOfWork, borrower_id: str) -> Party:
        from lendbridge.payments.banks import bank_of_card

        self.calls += 1
        number = self.cards.get(borrower_id)
        if number is None:
            from lendbridge.core.errors import Conflict

            raise Conflict("no payout account", code="payout_account_missing")
        return Party(PartyKind.CARD, bank_of_card(number), number, "张三")


# -- set-ups ------------------------------------------------------------------------------------


@dataclass
class PaymentsWorld:
    app: Flask
    rt: PaymentsRuntime
    loans: FakeLoans
    accounts: FakePayoutAccounts
    operator: TenantKeys
    institution: TenantKeys
    partner: TenantKeys
    custody_id: str
    enqueued: list[tuple[str, tuple[Any, ...]]]
    _n: int = 0

    @property
    def sims(self) -> Any:
        return self.rt.simulators

    def loan(
        self,
        *,
        principal: int = 1_000_000,
        card: str = CARD,
        state: str = "signed",
        disburse_to: str = "borrower",
        merchant: Party | None = None,
        subsidy: int = 0,
        upfront_fee: int = 0,
        partner: TenantKeys | None = None,
        livemode: bool = False,
        dues: Sequence[tuple[date, int]] = (),
        test_clock_id: str | None = None,
    ) -> PayableLoan:
        from lendbridge.core.ids import new_id

        self._n += 1
        borrower = f"brw_fake{self._n:06d}"
        self.accounts.cards[borrower] = card
        loan = PayableLoan(
            loan_id=new_id("loan"),
            tenant_id=(partner or self.partner).tenant_id,
            livemode=livemode,
            institution_id=self.institution.tenant_id,
            borrower_id=borrower,
            state=state,
            disburse_to=disburse_to,
            principal=principal,
            upfront_fee=upfront_fee,
            subsidy=subsidy,
            merchant=merchant,
            test_clock_id=test_clock_id,
        )
        return self.loans.add(loan, dues)

    def tenant_uow(self, keys: TenantKeys | None = None, livemode: bool = False) -> UnitOfWork:
        from lendbridge.db import TenantContext

        svc = self.app.extensions["lendbridge"]
        tenant = (keys or self.partner).tenant_id
        return UnitOfWork(svc.db, TenantContext(tenant, livemode), clock=svc.clock)

    def disburse(self, loan: PayableLoan, *, execute: bool = True) -> str:
        with self.tenant_uow() as uow:
            payment = services.disburse_loan(uow, loan.loan_id, ports=self.rt.ports)
            uow.commit()
        if execute:
            services.execute_payment(payment.id, rt=self.rt)
        return payment.id

    def payment(self, payment_id: str) -> Any:

        with self.rt.new_uow() as uow:
            p = services.get_payment_any(uow, payment_id)
            uow.session.expunge(p)  # detached with its loaded values (close rolls back)
            return p

    def attempts(self, payment_id: str) -> list[Any]:
        with self.rt.new_uow() as uow:
            rows = services.attempts_of(uow, payment_id, all_tenants=True)
            uow.session.expunge_all()
            return rows


def make_world(
    app: Flask,
    *,
    engine: EngineConfig = FAST,
    requery: RequeryPolicy | None = None,
    custody_bank_code: str = "CMB",
    livemode: bool = False,
) -> PaymentsWorld:
    """Operator, institution (with a primary custody account), partner, fake ports, fast policies."""
    operator = make_tenant(app, TenantKind.OPERATOR, "Ops")
    institution = make_tenant(app, TenantKind.INSTITUTION, "Huaxia CF")
    partner = make_tenant(app, TenantKind.PARTNER, "EduLink")
    loans, accounts = FakeLoans(), FakePayoutAccounts()
    enqueued: list[tuple[str, tuple[Any, ...]]] = []
    rt = runtime(app)
    configure(
        app,
        loans=loans,
        payout_accounts=accounts,
        enqueue=lambda name, *args: enqueued.append((name, args)),
        engine=engine,
        requery=requery or RequeryPolicy(first_delay=0.0, factor=2.0, max_delay=0.0, max_checks=10),
        pending_grace_seconds=0.0,
    )
    svc = app.extensions["lendbridge"]
    with UnitOfWork(svc.db, SYSTEM, clock=svc.clock) as uow:
        account = services.register_custody_account(
            uow,
            institution_id=institution.tenant_id,
            livemode=livemode,
            bank_name="China Merchants Bank",
            bank_code=custody_bank_code,
            account_number=CUSTODY_NUMBER,
            account_holder="Huaxia Consumer Finance Co., Ltd.",
            rt=rt,
        )
        uow.commit()
    return PaymentsWorld(app, rt, loans, accounts, operator, institution, partner, account.id, enqueued)


def run_until_settled(world: PaymentsWorld, *, rounds: int = 50) -> int:
    """Run the resolver until nothing is open (re-query delays are zero in tests)."""
    from sqlalchemy import func, select

    from lendbridge.payments.instructions import ACTIVE_STATES
    from lendbridge.payments.models import PaymentInstruction

    for _ in range(rounds):
        services.resolve_open_payments(world.rt, limit=10_000)
        with world.rt.new_uow() as uow:
            open_ = uow.session.execute(
                select(func.count())
                .select_from(PaymentInstruction)
                .where(
                    PaymentInstruction.state.in_([s.value for s in ACTIVE_STATES]),
                    PaymentInstruction.needs_attention.is_(False),
                )
                .execution_options(all_tenants=True)
            ).scalar_one()
        if open_ == 0:
            return 0
    return int(open_)
