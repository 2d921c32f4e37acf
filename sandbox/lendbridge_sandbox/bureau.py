"""Credit bureau simulator: realistic, deterministic reports with latency and failures.

A report is a pure function of the subject (an opaque, stable per-person key: the ID
number's blind index) and the simulator's seed, so the same person always gets the same
accounts, delinquencies, inquiries, telecom spend and income estimate. Latency is drawn
uniformly from `latency_ms` (50-150 ms by default) on every query.

Failures to test against:
- `error_rate` / `timeout_rate`: a share of queries fail (BureauError) or hang (sleep
  `hang_seconds`), drawn per query;
- `outage = True`: every query fails until cleared;
- `force(subject, behaviour)`: one subject always times out, errors, or has a
  delinquent, thin or prime file (tests);
- magic ID numbers, so partners can script every path in the sandbox: the 3-digit
  sequence code of an 18-digit ID number (digits 15-17, just before the check digit;
  for a business, the same three characters of its USCC) selects the behaviour, like a
  real bureau keyed on the ID number would:

    ...999X  the bureau hangs (the platform's 200 ms budget fires: bureau_unavailable)
    ...998X  the bureau answers with an error
    ...997X  a file with an account 120 days overdue (bureau_delinquency)
    ...996X  a thin file: no credit accounts at all
    ...995X  a prime file: several accounts, never late, high income
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BEHAVIOURS = ("normal", "timeout", "error", "delinquent", "thin_file", "prime")
MAGIC_SEQUENCES = {"999": "timeout", "998": "error", "997": "delinquent", "996": "thin_file", "995": "prime"}


class BureauError(Exception):
    """The bureau answered with an error (HTTP 5xx from a real bureau)."""


@dataclass
class BureauSimulator:
    seed: str = "lendbridge-bureau-v1"
    latency_ms: tuple[float, float] = (50.0, 150.0)
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_seconds: float = 5.0
    outage: bool = False
    sleep: Callable[[float], None] = time.sleep
    _forced: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    queries: int = 0

    def force(self, subject: str, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {', '.join(BEHAVIOURS)}")
        with self._lock:
            self._forced[subject] = behaviour

    def clear(self) -> None:
        with self._lock:
            self._forced.clear()
        self.outage = False
        self.error_rate = self.timeout_rate = 0.0

    def behaviour(self, subject: str, id_tail: str | None = None) -> str:
        with self._lock:
            forced = self._forced.get(subject)
        if forced:
            return forced
        if id_tail and len(id_tail) == 4:
            return MAGIC_SEQUENCES.get(id_tail[:3], "normal")
        return "normal"

    def query(
        self,
        subject: str,
        *,
        id_tail: str | None = None,
        include_alt_data: bool = False,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """One report for `subject`, after the simulated latency; BureauError on failure.

        `id_tail` is the last four characters of the ID number (sequence code + check digit).
        """
        with self._lock:
            self.queries += 1
        behaviour = self.behaviour(subject, id_tail)
        lo, hi = self.latency_ms
        self.sleep(random.uniform(lo, hi) / 1000)  # noqa: S311 - simulated latency, not security
        if behaviour == "timeout" or (self.timeout_rate and random.random() < self.timeout_rate):  # noqa: S311
            self.sleep(self.hang_seconds)
            raise BureauError("upstream timeout")
        if self.outage or behaviour == "error" or (self.error_rate and random.random() < self.error_rate):  # noqa: S311
            raise BureauError("bureau service error")
        return report_for(
            subject,
            seed=self.seed,
            behaviour=behaviour,
            include_alt_data=include_alt_data,
            now=now or datetime.now(UTC),
        )


_KINDS = (
    ("credit_card", "bank", 0.45),
    ("consumer_loan", "consumer_finance", 0.2),
    ("consumer_loan", "bank", 0.12),
    ("bnpl", "online_platform", 0.13),
    ("car_loan", "bank", 0.05),
    ("mortgage", "bank", 0.05),
)


def _rng(seed: str, subject: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}|{subject}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - deterministic simulation


def report_for(
    subject: str, *, seed: str, behaviour: str = "normal", include_alt_data: bool = False, now: datetime
) -> dict[str, Any]:
    """The deterministic report of one subject (no latency, no failure)."""
    rng = _rng(seed, subject)
    n_accounts = 0 if behaviour == "thin_file" else rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6))
    if behaviour == "prime":
        n_accounts = max(n_accounts, 2)
    accounts = []
    for n in range(n_accounts):
        roll, acc = rng.random(), 0.0
        kind, lender = _KINDS[-1][0], _KINDS[-1][1]
        for k, lend, share in _KINDS:
            acc += share
            if roll < acc:
                kind, lender = k, lend
                break
        if behaviour == "prime":  # cards used lightly (at least one); instalment loans already repaid
            kind, lender = (
                ("credit_card", "bank") if n == 0 or rng.random() < 0.7 else ("consumer_loan", "bank")
            )
        if kind == "credit_card":
            limit = rng.choice((10_000, 20_000, 30_000, 50_000, 80_000)) * 100
            balance = int(limit * rng.uniform(0, 0.3 if behaviour == "prime" else 0.95))
            payment = max(balance // 10, 0)
        elif kind == "mortgage":
            limit = rng.randrange(300_000, 2_000_000, 10_000) * 100
            balance = int(limit * rng.uniform(0.3, 0.95))
            payment = balance // 180
        else:
            limit = rng.randrange(5_000, 150_000, 1_000) * 100
            balance = int(limit * rng.uniform(0, 1))
            payment = balance // rng.choice((6, 12, 24, 36))
        closed = (kind != "credit_card") if behaviour == "prime" else rng.random() < 0.2
        dpd_roll = rng.random()
        worst = (
            0
            if dpd_roll < 0.82
            else (rng.choice((1, 5, 15, 30)) if dpd_roll < 0.96 else rng.choice((60, 90, 120)))
        )
        if behaviour == "prime":
            worst = 0
        accounts.append(
            {
                "kind": kind,
                "lender": lender,
                "limit": limit,
                "balance": 0 if closed else balance,
                "monthly_payment": 0 if closed else payment,
                "status": "closed" if closed else "current",
                "worst_dpd_24m": worst,
            }
        )
    if behaviour == "delinquent":
        accounts.append(
            {
                "kind": "consumer_loan",
                "lender": "consumer_finance",
                "limit": 3_000_000,
                "balance": 2_400_000,
                "monthly_payment": 250_000,
                "status": "overdue",
                "worst_dpd_24m": 120,
            }
        )
    income = rng.randrange(3_000, 40_000, 500) * 100
    if behaviour == "prime":
        income = max(income, 2_500_000)
    telecom = (
        rng.choice((3_800, 5_800, 8_800, 12_800, 15_800, 19_900, 29_900, 39_900))
        if include_alt_data
        else None
    )
    digest = hashlib.sha256(f"{seed}|{subject}|{now.date().isoformat()}".encode()).hexdigest()[:20]
    return {
        "report_id": f"bur_sim_{digest}",
        "subject": subject,
        "generated_at": now.isoformat(),
        "accounts": accounts,
        "inquiries_3m": rng.choice((0, 0, 1, 1, 2, 3, 5)),
        "inquiries_6m": rng.choice((0, 1, 2, 3, 4, 6, 9)),
        "telecom_monthly_spend": telecom,
        "estimated_monthly_income": income,
    }


_default: BureauSimulator | None = None
_default_lock = threading.Lock()


def default_simulator() -> BureauSimulator:
    """The process-wide simulator the embedded platform talks to."""
    global _default
    with _default_lock:
        if _default is None:
            _default = BureauSimulator()
        return _default
