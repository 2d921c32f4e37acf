"""Money is integer fen on the wire and in storage, Decimal in calculations.

One rounding rule for the whole platform: ROUND_HALF_UP to the fen, applied per
instalment or per posting, never to intermediate results.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NewType

Fen = NewType("Fen", int)
"""An amount of money in fen (1 yuan = 100 fen)."""

FEN_PER_YUAN = 100
ONE_FEN = Decimal(1)
RATE_PLACES = Decimal("0.0000000001")


def round_fen(amount: Decimal) -> Fen:
    """Round a Decimal amount expressed in fen to a whole fen, half up."""
    return Fen(int(amount.quantize(ONE_FEN, rounding=ROUND_HALF_UP)))


def fen(value: int) -> Fen:
    """Validate and tag an integer fen amount (rejects bool and non-integers)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"fen amounts are integers, got {type(value).__name__}")
    return Fen(value)


def parse_rate(value: str | Decimal | int) -> Decimal:
    """Parse a rate given as a decimal string ("0.0600"); floats are refused."""
    if isinstance(value, float):
        raise TypeError("rates are decimal strings, never floats")
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal rate: {value!r}") from exc
    if not rate.is_finite():
        raise ValueError(f"not a finite rate: {value!r}")
    return rate


def format_rate(rate: Decimal, places: int = 10) -> str:
    """Render a rate as a fixed-point decimal string with `places` decimals (at least 4)."""
    places = max(places, 4)
    return str(rate.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def format_yuan(amount: int) -> str:
    """Human form of a fen amount: 123456 -> '1,234.56'."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"
