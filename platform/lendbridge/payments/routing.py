"""Which channel a payment goes to: rules first, then cost and health.

1. Rules decide eligibility: the channel does this direction, the amount is within its
   per-transaction max and what is left of its daily max, it reaches the counterparty's
   bank, and it can draw on (or credit) the custody bank. A bank-direct channel only
   works for its own bank's custody accounts.
2. Eligible channels are ranked by expected cost in fen:
       fee / max(success_rate, floor) + latency_ms * latency_fen_per_ms
   so a cheap channel that fails half its calls costs as much as one twice its price,
   and a slow one pays a small latency penalty.
3. Channels whose circuit breaker is open go last, in the same order: the engine asks
   each breaker before using it, so an open one is skipped. A half-open channel keeps its
   rank, so a recovered primary gets its probe (and its traffic back) as soon as the
   breaker allows one, instead of waiting behind the backup forever.

The plan is the whole ordered list; the engine walks it for failover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from lendbridge.payments.breaker import BreakerState
from lendbridge.payments.health import HealthSnapshot
from lendbridge.payments.instructions import Direction


@dataclass(frozen=True)
class ChannelProfile:
    """A channel's terms: what it costs, what it reaches, its limits."""

    name: str
    kind: str  # "clearing" | "bank_direct"
    fixed_fee: int  # fen per transaction
    rate: Decimal  # share of the amount, e.g. Decimal("0.0002")
    per_txn_max: int
    daily_max: int
    directions: frozenset[Direction]
    banks: frozenset[str] | None = None  # counterparty banks reached; None: every bank
    custody_banks: frozenset[str] | None = None  # custody banks it works with; None: every bank
    min_fee: int = 0
    max_fee: int | None = None
    typical_latency_ms: float = 50.0

    def fee(self, amount: int) -> int:
        """The channel's fee for `amount` fen, rounded half up, within min/max fee."""
        variable = (Decimal(amount) * self.rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        fee = max(self.min_fee, self.fixed_fee + int(variable))
        return min(fee, self.max_fee) if self.max_fee is not None else fee


@dataclass(frozen=True)
class RouteRequest:
    direction: Direction
    amount: int
    counterparty_bank: str
    custody_bank: str


@dataclass(frozen=True)
class Weights:
    latency_fen_per_ms: float = 0.02
    success_floor: float = 0.05


@dataclass(frozen=True)
class Candidate:
    name: str
    fee: int
    score: float
    breaker: BreakerState


@dataclass(frozen=True)
class RoutePlan:
    candidates: tuple[Candidate, ...]
    excluded: tuple[tuple[str, str], ...] = field(default=())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.candidates)

    @property
    def primary(self) -> str | None:
        return self.candidates[0].name if self.candidates else None


def ineligibility(profile: ChannelProfile, request: RouteRequest, used_today: int = 0) -> str | None:
    """Why `profile` cannot carry `request` (a codes.py code), or None if it can."""
    if request.direction not in profile.directions:
        return "direction_not_supported"
    if request.amount > profile.per_txn_max:
        return "amount_limit_exceeded"
    if used_today + request.amount > profile.daily_max:
        return "daily_limit_exceeded"
    if profile.banks is not None and request.counterparty_bank not in profile.banks:
        return "bank_not_supported"
    if profile.custody_banks is not None and request.custody_bank not in profile.custody_banks:
        return "bank_not_supported"
    return None


def score(profile: ChannelProfile, amount: int, health: HealthSnapshot | None, weights: Weights) -> float:
    success = health.success_rate if health else 1.0
    latency = health.latency_ms if health else profile.typical_latency_ms
    return profile.fee(amount) / max(success, weights.success_floor) + latency * weights.latency_fen_per_ms


def plan(
    request: RouteRequest,
    profiles: Iterable[ChannelProfile],
    *,
    health: Mapping[str, HealthSnapshot] | None = None,
    breakers: Mapping[str, BreakerState] | None = None,
    used_today: Mapping[str, int] | None = None,
    weights: Weights | None = None,
) -> RoutePlan:
    """The ordered channels for `request`: primary first, then the backups."""
    weights = weights or Weights()
    health = health or {}
    breakers = breakers or {}
    used_today = used_today or {}
    eligible: list[Candidate] = []
    excluded: list[tuple[str, str]] = []
    for profile in profiles:
        reason = ineligibility(profile, request, used_today.get(profile.name, 0))
        if reason is not None:
            excluded.append((profile.name, reason))
            continue
        eligible.append(
            Candidate(
                name=profile.name,
                fee=profile.fee(request.amount),
                score=score(profile, request.amount, health.get(profile.name), weights),
                breaker=breakers.get(profile.name, BreakerState.CLOSED),
            )
        )
    order = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 0, BreakerState.OPEN: 1}
    eligible.sort(key=lambda c: (order[c.breaker], c.score, c.name))
    return RoutePlan(tuple(eligible), tuple(excluded))
