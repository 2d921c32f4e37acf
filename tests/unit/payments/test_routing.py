"""Routing: rules decide who may carry a payment, cost and health decide the order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lendbridge.payments.breaker import BreakerState
from lendbridge.payments.health import HealthSnapshot
from lendbridge.payments.instructions import Direction
from lendbridge.payments.routing import ChannelProfile, RouteRequest, ineligibility, plan

BOTH = frozenset({Direction.PAYOUT, Direction.COLLECTION})
UP = ChannelProfile("up", "clearing", 20, Decimal("0.0002"), 5_000_000, 100_000_000, BOTH)
NU = ChannelProfile("nu", "clearing", 30, Decimal("0.0002"), 2_000_000, 100_000_000, BOTH)
BD = ChannelProfile(
    "bd",
    "bank_direct",
    5,
    Decimal(0),
    50_000_000,
    10**12,
    BOTH,
    banks=frozenset({"CMB"}),
    custody_banks=frozenset({"CMB"}),
)
PAYOUT_ONLY = ChannelProfile("po", "clearing", 1, Decimal(0), 10**9, 10**12, frozenset({Direction.PAYOUT}))


def req(
    amount: int = 100_000, bank: str = "ICBC", custody: str = "CMB", d: Direction = Direction.PAYOUT
) -> RouteRequest:
    return RouteRequest(d, amount, bank, custody)


def test_fee_is_fixed_plus_rate_rounded_half_up_within_bounds() -> None:
    assert UP.fee(100_000) == 40
    assert UP.fee(2_500) == 21  # 0.5 rounds up
    capped = ChannelProfile("c", "clearing", 0, Decimal("0.01"), 10**9, 10**12, BOTH, min_fee=10, max_fee=500)
    assert capped.fee(100) == 10 and capped.fee(10**7) == 500


@pytest.mark.parametrize(
    ("profile", "request_", "used", "reason"),
    [
        (PAYOUT_ONLY, req(d=Direction.COLLECTION), 0, "direction_not_supported"),
        (NU, req(amount=3_000_000), 0, "amount_limit_exceeded"),
        (UP, req(amount=1_000_000), 99_500_000, "daily_limit_exceeded"),
        (BD, req(bank="ICBC"), 0, "bank_not_supported"),
        (BD, req(bank="CMB", custody="BOC"), 0, "bank_not_supported"),
        (BD, req(bank="CMB", custody="CMB"), 0, None),
    ],
)
def test_rules(profile: ChannelProfile, request_: RouteRequest, used: int, reason: str | None) -> None:
    assert ineligibility(profile, request_, used) == reason


def test_cheapest_eligible_channel_is_primary_and_the_rest_are_backups() -> None:
    p = plan(req(bank="CMB"), [UP, NU, BD])
    assert p.names == ("bd", "up", "nu") and p.primary == "bd"
    p = plan(req(bank="ICBC"), [UP, NU, BD])
    assert p.names == ("up", "nu") and p.excluded == (("bd", "bank_not_supported"),)


def test_a_failing_channel_loses_its_rank_to_a_healthier_one() -> None:
    health = {"up": HealthSnapshot(0.4, 50, 100), "nu": HealthSnapshot(1.0, 50, 100)}
    assert plan(req(), [UP, NU], health=health).primary == "nu"


def test_a_slow_channel_pays_a_latency_penalty() -> None:
    health = {"up": HealthSnapshot(1.0, 2000, 100), "nu": HealthSnapshot(1.0, 20, 100)}
    assert plan(req(), [UP, NU], health=health).primary == "nu"


def test_open_breakers_go_last_half_open_keeps_its_rank() -> None:
    assert plan(req(), [UP, NU], breakers={"up": BreakerState.OPEN}).names == ("nu", "up")
    assert plan(req(), [UP, NU], breakers={"up": BreakerState.HALF_OPEN}).names == ("up", "nu")


def test_nothing_eligible_gives_an_empty_plan_with_reasons() -> None:
    p = plan(req(amount=10**10), [UP, NU])
    assert p.candidates == () and p.primary is None
    assert {r for _, r in p.excluded} == {"amount_limit_exceeded"}
