"""Simulated payment channels: two clearing networks and a bank-direct channel.

Each simulator behaves like an outside payment channel, not like a test double:

- it keeps its own ledger of instructions keyed by instruction id and dedupes on it (a
  second submit of the same id gets the first answer, it never pays twice);
- it executes against the custody bank (a payout debits the institution's custody
  account, a collection credits it), so money really moves between simulated accounts;
- it answers `query` and `close` (void an id it has not received: a request still stuck
  in the network is then refused when it arrives);
- it has latency, random errors, timeouts, ambiguous outcomes (executed, reply lost),
  asynchronous completion with signed callbacks, limits, and daily statement files (CSV);
- a control API injects faults: `fail_for(seconds, mode)`, `ambiguous_next(n)`,
  `set_latency(ms)`, `kill()` / `restore()`, plus statement tampering for
  reconciliation tests.

Magic bank cards (any channel, any direction):

    6222020000000056   insufficient funds
    6222020000000064   the request stalls in the network: the client times out, the
                       channel has no record yet; it arrives `stall_ms` (10 s) later,
                       well after the client's timeout, status query and close, and
                       executes only if the id was not closed first
    6222020000000072   ambiguous: executed, but the reply is lost

Statement CSV columns: instruction_id, channel_ref, direction, amount, status,
executed_at, custody_account. In-process objects in embedded mode; over HTTP with
`python -m lendbridge_sandbox.channels --channel unionpay_sim --port N` (see simhttp.py).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from lendbridge_sandbox.custody_bank import (
    CustodyBankSimulator,
    CustodyError,
    InsufficientFunds,
    UnknownAccount,
    business_day,
)

MAGIC_CARDS: dict[str, str] = {
    "6222020000000056": "insufficient_funds",
    "6222020000000064": "timeout",
    "6222020000000072": "ambiguous",
}
SIGNATURE_HEADER = "X-Channel-Signature"
CHANNEL_HEADER = "X-Channel-Name"
STATEMENT_COLUMNS = [
    "instruction_id",
    "channel_ref",
    "direction",
    "amount",
    "status",
    "executed_at",
    "custody_account",
]
Now = Callable[[], datetime]
Callback = Callable[[bytes, dict[str, str]], None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SimUnreachable(Exception):
    """Connection refused: the request never reached the channel."""


class SimTimeout(Exception):
    """No reply in time (or the connection dropped after sending): it may have executed."""


class CustodyPoster(Protocol):
    def post(self, number: str, side: str, amount: int, reference: str, channel: str) -> dict[str, Any]: ...

    def movements(self, number: str | None = None, reference: str | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ChannelTerms:
    """What the channel does and charges (our routing is configured with the same terms)."""

    name: str
    kind: str
    ref_prefix: str
    fixed_fee: int
    rate: str
    per_txn_max: int
    daily_max: int
    directions: frozenset[str] = frozenset({"payout", "collection"})
    banks: frozenset[str] | None = None
    custody_banks: frozenset[str] | None = None


DEFAULT_TERMS: dict[str, ChannelTerms] = {
    "unionpay_sim": ChannelTerms("unionpay_sim", "clearing", "UP", 20, "0.0002", 50_000_000, 10**12),
    "netsunion_sim": ChannelTerms("netsunion_sim", "clearing", "NU", 30, "0.0002", 20_000_000, 10**12),
    "bankdirect_sim": ChannelTerms(
        "bankdirect_sim",
        "bank_direct",
        "BD",
        5,
        "0",
        500_000_000,
        10**12,
        banks=frozenset({"CMB"}),
        custody_banks=frozenset({"CMB"}),
    ),
}


@dataclass
class Record:
    instruction_id: str
    status: str  # processing | succeeded | failed | closed | reversed
    direction: str = ""
    amount: int = 0
    custody_account: str = ""
    counterparty_last4: str = ""
    code: str | None = None
    channel_ref: str | None = None
    created_at: str = ""
    executed_at: str | None = None


@dataclass
class _Fault:
    mode: str  # unavailable | down | timeout | busy
    until: float


@dataclass
class _Tamper:
    amounts: dict[str, int] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    phantoms: list[dict[str, Any]] = field(default_factory=list)


class ChannelSimulator:
    """One payment channel. Its Python API mirrors its HTTP API (simhttp.py)."""

    def __init__(
        self,
        name: str,
        *,
        custody: CustodyPoster,
        terms: ChannelTerms | None = None,
        latency_ms: float = 5.0,
        jitter_ms: float = 0.0,
        error_rate: float = 0.0,
        timeout_rate: float = 0.0,
        ambiguous_rate: float = 0.0,
        async_ratio: float = 0.0,
        async_delay_ms: float = 50.0,
        stall_ms: float = 10_000.0,
        callback: Callback | None = None,
        callback_secret: bytes = b"sandbox-callback-secret",
        seed: int | None = None,
        now: Now = _utcnow,
        journal_path: Path | None = None,
        card_balances: dict[str, int] | None = None,
    ) -> None:
        self.name = name
        self.terms = (
            terms or DEFAULT_TERMS.get(name) or ChannelTerms(name, "clearing", "CH", 20, "0", 10**9, 10**12)
        )
        self.custody = custody
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.error_rate = error_rate
        self.timeout_rate = timeout_rate
        self.ambiguous_rate = ambiguous_rate
        self.async_ratio = async_ratio
        self.async_delay_ms = async_delay_ms
        self.stall_ms = stall_ms
        self.callback = callback
        self.callback_secret = callback_secret
        self._now = now
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._usage: dict[date, int] = {}
        # Cards' balances live at their issuing banks, which every channel reaches: one
        # dict shared by all channels of a Simulators set.
        self._card_balances: dict[str, int] = card_balances if card_balances is not None else {}
        self._fault: _Fault | None = None
        self._down = False
        self._generation = 0  # bumped by kill(): in-flight calls notice they were cut off
        self._ambiguous_next = 0
        self._counter = 0
        self._tamper = _Tamper()
        self._journal_path = journal_path
        self._timers: list[threading.Timer] = []
        self.calls: dict[str, int] = {"submit": 0, "query": 0, "close": 0}
        self._unrecovered: set[str] = set()
        if journal_path is not None and journal_path.exists():
            self._replay(journal_path)

    # == the channel API ======================================================================
    def submit(self, order: dict[str, Any], client_timeout: float | None = None) -> dict[str, Any]:
        """Execute an order (idempotent by instruction id). May raise SimUnreachable/SimTimeout."""
        self._enter("submit")
        generation = self._generation
        problem = self._validate(order)
        iid = str(order.get("instruction_id", ""))
        if problem:
            return {
                "instruction_id": iid,
                "status": "failed",
                "code": problem,
                "channel_ref": None,
                "amount": None,
            }
        fault = self._current_fault()
        if fault == "unavailable":
            return self._refusal(iid, "system_unavailable")
        if fault == "busy":
            return self._refusal(iid, "channel_busy")
        if self.error_rate and self._random.random() < self.error_rate:
            return self._refusal(iid, "system_error")
        with self._lock:
            existing = self._records.get(iid)
            if existing is not None:
                return self._reply(existing)
        card = self._counterparty(order).get("number", "")
        magic = MAGIC_CARDS.get(card)
        timeout = client_timeout if client_timeout is not None else 5.0
        if (
            magic == "timeout"
            or fault == "timeout"
            or (self.timeout_rate and self._random.random() < self.timeout_rate)
        ):
            self._later(self.stall_ms / 1000, lambda: self._arrive(order))
            time.sleep(timeout)
            raise SimTimeout("no reply")
        ambiguous = magic == "ambiguous" or self._take_ambiguous()
        if not ambiguous and self.ambiguous_rate and self._random.random() < self.ambiguous_rate:
            ambiguous = True
        if self.async_ratio and self._random.random() < self.async_ratio:
            record = self._register(order)
            self._later(self.async_delay_ms / 1000, lambda: self._complete(iid, order))
            return self._reply(record)
        latency = self._latency()
        if latency > timeout:
            # Too slow for the client: it arrives now and executes after the client gave up.
            self._register(order)
            self._later(latency, lambda: self._complete(iid, order))
            time.sleep(timeout)
            raise SimTimeout("reply too slow")
        time.sleep(latency)
        if self._generation != generation or self._down:
            # Killed while working on it: it may or may not have executed.
            if self._random.random() < 0.5:
                self._arrive(order)
            raise SimTimeout("connection reset")
        record = self._arrive(order)
        if ambiguous:
            raise SimTimeout("reply lost")
        return self._reply(record)

    def query(self, instruction_id: str) -> dict[str, Any]:
        self._enter("query")
        time.sleep(self._latency() / 2)
        with self._lock:
            record = self._records.get(instruction_id)
            if record is not None and instruction_id in self._unrecovered:
                self._recover(record)
            if record is None:
                return {
                    "instruction_id": instruction_id,
                    "status": "not_found",
                    "code": None,
                    "channel_ref": None,
                    "amount": None,
                }
            return self._reply(record)

    def close(self, instruction_id: str) -> dict[str, Any]:
        """Void an id: if the channel has no record, it now never executes it."""
        self._enter("close")
        time.sleep(self._latency() / 2)
        with self._lock:
            record = self._records.get(instruction_id)
            if record is None:
                record = Record(instruction_id, "closed", created_at=self._now().isoformat())
                self._records[instruction_id] = record
                self._persist(record)
            return self._reply(record)

    def statement_csv(self, day: date | str) -> str:
        """Every execution of business date `day` (Asia/Shanghai), as the channel's CSV."""
        day = date.fromisoformat(day) if isinstance(day, str) else day
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATEMENT_COLUMNS)
        with self._lock:
            rows = []
            for r in self._records.values():
                if r.executed_at is None or r.status not in ("succeeded", "reversed"):
                    continue
                if business_day(datetime.fromisoformat(r.executed_at)) != day:
                    continue
                amount = self._tamper.amounts.get(r.instruction_id, r.amount)
                row = [
                    r.instruction_id,
                    r.channel_ref,
                    r.direction,
                    amount,
                    r.status,
                    r.executed_at,
                    r.custody_account,
                ]
                rows.append(row)
                if r.instruction_id in self._tamper.duplicates:
                    rows.append([*row[:1], f"{r.channel_ref}D", *row[2:]])
            for p in self._tamper.phantoms:
                if business_day(datetime.fromisoformat(p["executed_at"])) == day:
                    rows.append([p[c] for c in STATEMENT_COLUMNS])
        writer.writerows(rows)
        return out.getvalue()

    # == control API (faults) ==================================================================
    def fail_for(self, seconds: float, mode: str = "unavailable") -> None:
        """Fail for `seconds`: unavailable (fast refusal), busy, timeout (no reply), down (refused)."""
        if mode not in ("unavailable", "busy", "timeout", "down"):
            raise ValueError("mode: unavailable | busy | timeout | down")
        with self._lock:
            self._fault = _Fault(mode, time.monotonic() + seconds)

    def heal(self) -> None:
        with self._lock:
            self._fault = None

    def kill(self) -> None:
        """Crash: new calls are refused, in-flight calls lose their reply."""
        with self._lock:
            self._down = True
            self._generation += 1

    def restore(self) -> None:
        with self._lock:
            self._down = False

    def ambiguous_next(self, n: int) -> None:
        """The next `n` submissions execute but their replies are lost."""
        with self._lock:
            self._ambiguous_next = max(0, int(n))

    def set_latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        self.latency_ms, self.jitter_ms = float(ms), float(jitter_ms)

    def set_rates(
        self, *, error: float | None = None, timeout: float | None = None, ambiguous: float | None = None
    ) -> None:
        if error is not None:
            self.error_rate = error
        if timeout is not None:
            self.timeout_rate = timeout
        if ambiguous is not None:
            self.ambiguous_rate = ambiguous

    def set_card_balance(self, card: str, amount: int | None) -> None:
        """Give a card a balance for collections (None: unlimited again)."""
        with self._lock:
            if amount is None:
                self._card_balances.pop(card, None)
            else:
                self._card_balances[card] = int(amount)

    def reverse(self, instruction_id: str) -> dict[str, Any]:
        """The payee's bank returns a succeeded payout (account closed): money back to custody."""
        with self._lock:
            record = self._records.get(instruction_id)
            if record is None or record.status != "succeeded":
                raise ValueError("only a succeeded instruction can be reversed")
            side = "credit" if record.direction == "payout" else "debit"
            self.custody.post(record.custody_account, side, record.amount, f"{instruction_id}R", self.name)
            record.status = "reversed"
            self._persist(record)
        self._notify(record)
        return self._reply(record)

    def tamper_amount(self, instruction_id: str, amount: int) -> None:
        """The statement shows another amount for this id (reconciliation tests)."""
        with self._lock:
            self._tamper.amounts[instruction_id] = amount

    def duplicate_in_statement(self, instruction_id: str) -> None:
        """The statement lists this execution twice (a double payout, for reconciliation tests)."""
        with self._lock:
            self._tamper.duplicates.append(instruction_id)

    def add_phantom(
        self, instruction_id: str, amount: int, custody_account: str, direction: str = "payout"
    ) -> None:
        """An execution we never asked for appears in the statement."""
        with self._lock:
            self._tamper.phantoms.append(
                {
                    "instruction_id": instruction_id,
                    "channel_ref": f"{self.terms.ref_prefix}PHANTOM{len(self._tamper.phantoms)}",
                    "direction": direction,
                    "amount": amount,
                    "status": "succeeded",
                    "executed_at": self._now().isoformat(),
                    "custody_account": custody_account,
                }
            )

    # == inspection ============================================================================
    def record(self, instruction_id: str) -> dict[str, Any] | None:
        with self._lock:
            r = self._records.get(instruction_id)
            return asdict(r) if r else None

    def executed(self) -> dict[str, int]:
        """instruction id -> amount, for every id this channel executed."""
        with self._lock:
            return {
                r.instruction_id: r.amount
                for r in self._records.values()
                if r.status in ("succeeded", "reversed")
            }

    def status(self) -> dict[str, Any]:
        with self._lock:
            fault = self._current_fault()
            return {
                "name": self.name,
                "down": self._down,
                "fault": fault,
                "latency_ms": self.latency_ms,
                "error_rate": self.error_rate,
                "timeout_rate": self.timeout_rate,
                "ambiguous_rate": self.ambiguous_rate,
                "ambiguous_next": self._ambiguous_next,
                "records": len(self._records),
                "calls": dict(self.calls),
            }

    def reset(self) -> None:
        with self._lock:
            for t in self._timers:
                t.cancel()
            self._timers.clear()
            self._records.clear()
            self._usage.clear()
            self._card_balances.clear()
            self._fault, self._down, self._ambiguous_next = None, False, 0
            self._tamper = _Tamper()
            if self._journal_path is not None and self._journal_path.exists():
                self._journal_path.unlink()

    def shutdown(self) -> None:
        with self._lock:
            for t in self._timers:
                t.cancel()
            self._timers.clear()

    # == internals =============================================================================
    def _enter(self, op: str) -> None:
        with self._lock:
            self.calls[op] += 1
            if self._down or self._current_fault() == "down":
                raise SimUnreachable("connection refused")

    def _current_fault(self) -> str | None:
        fault = self._fault
        if fault is None:
            return None
        if time.monotonic() >= fault.until:
            self._fault = None
            return None
        return fault.mode

    def _take_ambiguous(self) -> bool:
        with self._lock:
            if self._ambiguous_next > 0:
                self._ambiguous_next -= 1
                return True
            return False

    def _latency(self) -> float:
        ms = self.latency_ms + (
            self._random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        )
        return max(0.0, ms) / 1000

    def _later(self, seconds: float, fn: Callable[[], Any]) -> None:
        timer = threading.Timer(seconds, fn)
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()

    @staticmethod
    def _counterparty(order: dict[str, Any]) -> dict[str, Any]:
        side = order.get("credit") if order.get("direction") == "payout" else order.get("debit")
        return side if isinstance(side, dict) else {}

    @staticmethod
    def _custody(order: dict[str, Any]) -> dict[str, Any]:
        side = order.get("debit") if order.get("direction") == "payout" else order.get("credit")
        return side if isinstance(side, dict) else {}

    def _validate(self, order: dict[str, Any]) -> str | None:
        iid = order.get("instruction_id")
        amount = order.get("amount")
        if not isinstance(iid, str) or not iid.isalnum() or not 1 <= len(iid) <= 32:
            return "format_error"
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return "format_error"
        if order.get("direction") not in ("payout", "collection"):
            return "format_error"
        if not self._counterparty(order).get("number") or not self._custody(order).get("number"):
            return "format_error"
        return None

    def _refusal(self, iid: str, code: str) -> dict[str, Any]:
        # Refused before acceptance: nothing recorded, the same id may come back later.
        return {"instruction_id": iid, "status": "failed", "code": code, "channel_ref": None, "amount": None}

    def _reply(self, record: Record) -> dict[str, Any]:
        return {
            "instruction_id": record.instruction_id,
            "status": record.status,
            "code": record.code,
            "channel_ref": record.channel_ref,
            "amount": record.amount or None,
        }

    def _register(self, order: dict[str, Any]) -> Record:
        """The order arrived; it is processing (not yet executed)."""
        iid = order["instruction_id"]
        with self._lock:
            record = self._records.get(iid)
            if record is None:
                record = self._new_record(order, "processing")
                self._records[iid] = record
                self._persist(record)
            return record

    def _new_record(self, order: dict[str, Any], status: str) -> Record:
        self._counter += 1
        return Record(
            instruction_id=order["instruction_id"],
            status=status,
            direction=order["direction"],
            amount=order["amount"],
            custody_account=self._custody(order).get("number", ""),
            counterparty_last4=str(self._counterparty(order).get("number", ""))[-4:],
            channel_ref=f"{self.terms.ref_prefix}{int(time.time())}{self._counter:07d}",
            created_at=self._now().isoformat(),
        )

    def _arrive(self, order: dict[str, Any]) -> Record:
        """The order arrives and is executed now (unless the id is already known: dedupe)."""
        iid = order["instruction_id"]
        with self._lock:
            record = self._records.get(iid)
            if record is not None:
                return record  # closed before a late arrival, or a duplicate: never twice
            record = self._new_record(order, "processing")
            self._records[iid] = record
            # Write-ahead: a crash between the bank posting and the outcome must not make
            # the channel forget it ever saw the order (recovery asks the bank, see _recover).
            self._persist(record)
            self._execute(record, order)
        self._notify(record)
        return record

    def _complete(self, iid: str, order: dict[str, Any]) -> None:
        """Finish a registered (processing) order."""
        with self._lock:
            record = self._records.get(iid)
            if record is None or record.status != "processing":
                return
            self._execute(record, order)
        self._notify(record)

    def _execute(self, record: Record, order: dict[str, Any]) -> None:
        """Check limits and funds, move the money, record the outcome (lock held)."""
        code = self._refuse_reason(order)
        if code is None:
            code = self._move_money(order)
        if code is None:
            record.status = "succeeded"
            record.executed_at = self._now().isoformat()
            self._count_usage(record)
        else:
            record.status, record.code = "failed", code
        self._persist(record)

    def _refuse_reason(self, order: dict[str, Any]) -> str | None:
        terms = self.terms
        if order["direction"] not in terms.directions:
            return "direction_not_supported"
        if order["amount"] > terms.per_txn_max:
            return "amount_limit_exceeded"
        if self._used_today() + order["amount"] > terms.daily_max:
            return "daily_limit_exceeded"
        if terms.banks is not None and self._counterparty(order).get("bank_code") not in terms.banks:
            return "bank_not_supported"
        if (
            terms.custody_banks is not None
            and self._custody(order).get("bank_code") not in terms.custody_banks
        ):
            return "bank_not_supported"
        if MAGIC_CARDS.get(self._counterparty(order).get("number", "")) == "insufficient_funds":
            return "insufficient_funds"
        return None

    def _move_money(self, order: dict[str, Any]) -> str | None:
        iid, amount = order["instruction_id"], order["amount"]
        custody_number = self._custody(order)["number"]
        try:
            if order["direction"] == "payout":
                self.custody.post(custody_number, "debit", amount, iid, self.name)
                return None
            card = self._counterparty(order)["number"]
            balance = self._card_balances.get(card)
            if balance is not None and balance < amount:
                return "insufficient_funds"
            self.custody.post(custody_number, "credit", amount, iid, self.name)
            if balance is not None:
                self._card_balances[card] = balance - amount
            return None
        except InsufficientFunds:
            return "insufficient_funds"
        except UnknownAccount:
            return "invalid_account"
        except CustodyError:
            return "system_error"

    def _used_today(self) -> int:
        return self._usage.get(business_day(self._now()), 0)

    def _count_usage(self, record: Record) -> None:
        if record.executed_at:
            day = business_day(datetime.fromisoformat(record.executed_at))
            self._usage[day] = self._usage.get(day, 0) + record.amount

    def _notify(self, record: Record) -> None:
        if self.callback is None or record.status not in ("succeeded", "failed", "reversed"):
            return
        body, headers = self.signed_callback(record)
        callback = self.callback

        def send() -> None:
            if self._down:
                return  # a crashed channel sends nothing; queries cover it once it is back
            try:
                callback(body, headers)
            except Exception:  # noqa: S110 - a lost callback is normal; queries cover it
                pass

        self._later(0.0, send)

    def signed_callback(self, record: Record) -> tuple[bytes, dict[str, str]]:
        payload = self._reply(record) | {"channel": self.name}
        body = json.dumps(payload, sort_keys=True).encode()
        signature = hmac.new(self.callback_secret, body, hashlib.sha256).hexdigest()
        return body, {
            SIGNATURE_HEADER: signature,
            CHANNEL_HEADER: self.name,
            "Content-Type": "application/json",
        }

    def _persist(self, record: Record) -> None:
        if self._journal_path is None:
            return
        with self._journal_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(record)) + "\n")

    def _replay(self, path: Path) -> None:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = Record(**json.loads(line))
                previous = self._records.get(record.instruction_id)
                if record.status == "succeeded" and (previous is None or previous.status != "succeeded"):
                    self._count_usage(record)
                self._records[record.instruction_id] = record
                self._counter += 1
        # Orders caught mid-execution by the crash: the bank's books say what happened.
        self._unrecovered = {iid for iid, r in self._records.items() if r.status == "processing"}
        for iid in sorted(self._unrecovered):
            self._recover(self._records[iid])

    def _recover(self, record: Record) -> None:
        """Settle an order the process died on: executed if the custody bank booked it,
        otherwise failed for good (it will never execute now). Bank unreachable: later."""
        try:
            booked = [
                m
                for m in self.custody.movements(record.custody_account or None, record.instruction_id)
                if m.get("channel") == self.name
            ]
        except Exception:  # noqa: BLE001 - the bank is down too: try again on the next query
            return
        if booked:
            record.status = "succeeded"
            record.executed_at = str(booked[0].get("booked_at") or self._now().isoformat())
            self._count_usage(record)
        else:
            record.status, record.code = "failed", "system_error"
        self._unrecovered.discard(record.instruction_id)
        self._persist(record)


def verify_callback(secret: bytes, body: bytes, signature: str) -> bool:
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass
class Simulators:
    """The custody bank and every channel, wired together (embedded mode)."""

    custody_bank: CustodyBankSimulator
    channels: dict[str, ChannelSimulator]

    def channel(self, name: str) -> ChannelSimulator:
        return self.channels[name]

    def set_card_balance(self, card: str, amount: int | None) -> None:
        """A borrower card's balance for collections, on every channel (None: unlimited)."""
        next(iter(self.channels.values())).set_card_balance(card, amount)

    def executions(self) -> dict[str, list[str]]:
        """instruction id -> the channels that executed it (more than one = double payout)."""
        out: dict[str, list[str]] = {}
        for name, sim in self.channels.items():
            for iid in sim.executed():
                out.setdefault(iid, []).append(name)
        return out

    def reset(self) -> None:
        self.custody_bank.reset()
        for sim in self.channels.values():
            sim.reset()

    def shutdown(self) -> None:
        for sim in self.channels.values():
            sim.shutdown()


def build_simulators(
    *,
    latency_ms: float = 5.0,
    callback: Callback | None = None,
    callback_secret: bytes = b"sandbox-callback-secret",
    seed: int | None = None,
    now: Now = _utcnow,
    journal_dir: Path | None = None,
    **channel_options: Any,
) -> Simulators:
    """The custody bank and every channel, in process. With `journal_dir` each keeps an
    append-only journal there and replays it on start (state survives restarts)."""
    if journal_dir is not None:
        journal_dir.mkdir(parents=True, exist_ok=True)
    bank = CustodyBankSimulator(
        now=now, journal_path=journal_dir / "custody_bank.jsonl" if journal_dir else None
    )
    cards: dict[str, int] = {}
    channels = {
        name: ChannelSimulator(
            name,
            custody=bank,
            terms=terms,
            latency_ms=latency_ms,
            callback=callback,
            callback_secret=callback_secret,
            seed=None if seed is None else seed + i,
            now=now,
            card_balances=cards,
            journal_path=journal_dir / f"{name}.jsonl" if journal_dir else None,
            **channel_options,
        )
        for i, (name, terms) in enumerate(DEFAULT_TERMS.items())
    }
    return Simulators(bank, channels)


def main(argv: list[str] | None = None) -> None:
    from lendbridge_sandbox.simhttp import main as serve_main

    serve_main(argv)


if __name__ == "__main__":
    main()
