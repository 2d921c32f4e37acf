"""Simulated custody bank: institutions' custody accounts, their movements and statements.

LendBridge never holds money; institutions' funds sit here. Payment channels post to
these accounts when they execute an instruction (a payout debits the institution's
account, a collected instalment credits it), and the bank issues a daily statement per
account as a CSV file:

    account,date,type,reference,channel,side,amount,booked_at,balance_after
    6214830000000001,2026-11-25,opening,,,,,,100000000
    6214830000000001,2026-11-25,movement,LB3K...,unionpay_sim,debit,500000,2026-11-25T02:03:04.123456+00:00,99500000
    6214830000000001,2026-11-25,closing,,,,,,99500000

Funding paid in from outside the platform carries channel `deposit`; reconciliation
counts it but has nothing of ours to match it with.

The bank keeps its own record of every movement, so a double payout shows up as two
debits with the same reference. Balances never go negative: a debit larger than the
balance raises InsufficientFunds and books nothing. Thread-safe; with `journal_path`
every movement is appended to a JSON-lines file and replayed on start (HTTP mode
survives a restart). Serve it over HTTP with
`python -m lendbridge_sandbox.channels --channel custody_bank --port N`.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEPOSIT = "deposit"  # the `channel` of money paid in from outside the platform (funding)
Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def business_day(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()


class CustodyError(Exception):
    code = "custody_error"


class InsufficientFunds(CustodyError):
    code = "insufficient_funds"


class UnknownAccount(CustodyError):
    code = "invalid_account"


@dataclass
class Movement:
    account: str
    reference: str
    channel: str
    side: str  # "debit" | "credit"
    amount: int
    booked_at: str  # ISO-8601 UTC
    balance_after: int


@dataclass
class Account:
    number: str
    holder: str
    bank_code: str
    balance: int


class CustodyBankSimulator:
    """The custody bank. Its Python API is the same as its HTTP API (see simhttp.py)."""

    name = "custody_bank"

    def __init__(
        self, *, bank_code: str = "CMB", now: Now = _utcnow, journal_path: Path | None = None
    ) -> None:
        self.bank_code = bank_code
        self._now = now
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._movements: list[Movement] = []
        self._journal_path = journal_path
        if journal_path is not None and journal_path.exists():
            self._replay(journal_path)

    # -- accounts ----------------------------------------------------------------------------
    def open_account(
        self, number: str, holder: str, balance: int = 0, bank_code: str | None = None
    ) -> dict[str, Any]:
        """Open (or return) an account; `balance` is the opening deposit."""
        with self._lock:
            existing = self._accounts.get(number)
            if existing is not None:
                return asdict(existing)
            account = Account(number, holder, bank_code or self.bank_code, 0)
            self._accounts[number] = account
            self._append({"account": asdict(account), "movement": None})
            if balance > 0:
                self._book(number, "credit", "opening-deposit", DEPOSIT, int(balance))
            return asdict(account)

    def deposit(self, number: str, amount: int, reference: str = "deposit") -> dict[str, Any]:
        """Money in from outside the platform (the institution funds its account)."""
        return self.post(number, "credit", amount, reference, DEPOSIT)

    def account(self, number: str) -> dict[str, Any]:
        with self._lock:
            return asdict(self._get(number))

    def balance(self, number: str) -> int:
        with self._lock:
            return self._get(number).balance

    # -- movements ----------------------------------------------------------------------------
    def post(self, number: str, side: str, amount: int, reference: str, channel: str) -> dict[str, Any]:
        """Book one movement. A debit beyond the balance raises InsufficientFunds."""
        if side not in ("debit", "credit"):
            raise ValueError("side must be debit or credit")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError("amount must be a positive integer (fen)")
        with self._lock:
            account = self._get(number)
            if side == "debit" and account.balance < amount:
                raise InsufficientFunds(f"balance below {amount}")
            return asdict(self._book(number, side, reference, channel, amount))

    def movements(self, number: str | None = None, reference: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                asdict(m)
                for m in self._movements
                if (number is None or m.account == number) and (reference is None or m.reference == reference)
            ]

    # -- statements ---------------------------------------------------------------------------
    def statement_csv(self, number: str, day: date | str) -> str:
        """The daily statement of `number` for business date `day` (Asia/Shanghai)."""
        day = date.fromisoformat(day) if isinstance(day, str) else day
        with self._lock:
            self._get(number)
            opening, closing = 0, 0
            rows: list[Movement] = []
            for m in self._movements:
                if m.account != number:
                    continue
                booked = business_day(datetime.fromisoformat(m.booked_at))
                if booked < day:
                    opening = closing = m.balance_after
                elif booked == day:
                    rows.append(m)
                    closing = m.balance_after
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "account",
                "date",
                "type",
                "reference",
                "channel",
                "side",
                "amount",
                "booked_at",
                "balance_after",
            ]
        )
        iso = day.isoformat()
        writer.writerow([number, iso, "opening", "", "", "", "", "", opening])
        for m in rows:
            writer.writerow(
                [
                    number,
                    iso,
                    "movement",
                    m.reference,
                    m.channel,
                    m.side,
                    m.amount,
                    m.booked_at,
                    m.balance_after,
                ]
            )
        writer.writerow([number, iso, "closing", "", "", "", "", "", closing])
        return out.getvalue()

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()
            self._movements.clear()
            if self._journal_path is not None and self._journal_path.exists():
                self._journal_path.unlink()

    # -- internals --------------------------------------------------------------------------
    def _get(self, number: str) -> Account:
        account = self._accounts.get(number)
        if account is None:
            raise UnknownAccount("no such account")
        return account

    def _book(self, number: str, side: str, reference: str, channel: str, amount: int) -> Movement:
        account = self._accounts[number]
        if side == "debit":
            account.balance -= amount
        else:
            account.balance += amount
        movement = Movement(
            number, reference, channel, side, amount, self._now().isoformat(), account.balance
        )
        self._movements.append(movement)
        self._append({"account": asdict(account), "movement": asdict(movement)})
        return movement

    def _append(self, entry: dict[str, Any]) -> None:
        if self._journal_path is None:
            return
        with self._journal_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def _replay(self, path: Path) -> None:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            acc = entry["account"]
            account = self._accounts.setdefault(acc["number"], Account(**acc))
            account.balance = acc["balance"]
            if entry["movement"] is not None:
                self._movements.append(Movement(**entry["movement"]))


class HttpCustodyBank:
    """The custody bank as a channel process reaches it over HTTP (same `post` contract)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, number: str, side: str, amount: int, reference: str, channel: str) -> dict[str, Any]:
        from lendbridge_sandbox.simhttp import call

        status, body = call(
            "POST",
            f"{self.base_url}/accounts/{number}/movements",
            {"side": side, "amount": amount, "reference": reference, "channel": channel},
            timeout=self.timeout,
        )
        if status == 200:
            result: dict[str, Any] = json.loads(body)
            return result
        code = json.loads(body).get("code", "") if body else ""
        if code == "insufficient_funds":
            raise InsufficientFunds("balance too low")
        if code == "invalid_account":
            raise UnknownAccount("no such account")
        raise CustodyError(f"custody bank answered {status}")

    def movements(self, number: str | None = None, reference: str | None = None) -> list[dict[str, Any]]:
        """An account's movements (optionally only those with `reference`)."""
        from lendbridge_sandbox.simhttp import call

        if number is None:
            raise CustodyError("the HTTP custody bank lists movements per account")
        status, body = call("GET", f"{self.base_url}/accounts/{number}/movements", timeout=self.timeout)
        if status != 200:
            raise CustodyError(f"custody bank answered {status}")
        rows: list[dict[str, Any]] = json.loads(body)
        return [m for m in rows if reference is None or m.get("reference") == reference]
