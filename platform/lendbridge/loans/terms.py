"""The contractual terms of a loan and the vocabulary shared by the loan modules.

Validation errors name the API field at fault (`param`), so the HTTP layer can render
them as problem+json without translating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen

ZERO = Fen(0)

# Domain sanity bounds, not product limits (products set their own, narrower ones).
MAX_TERM_MONTHS = 600
MAX_ANNUAL_RATE = Decimal(1)


class RepaymentMethod(StrEnum):
    EQUAL_INSTALMENT = "equal_instalment"  # 等额本息: level payment (annuity)
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金: level principal, falling interest
    INTEREST_FIRST = "interest_first"  # 先息后本: interest monthly, principal at the end
    BULLET = "bullet"  # 一次性还本付息: everything at maturity


class FutureRule(StrEnum):
    """What a principal prepayment does to the instalments still to come."""

    SHORTEN_TERM = "shorten_term"  # keep the instalment, finish earlier
    LOWER_INSTALMENT = "lower_instalment"  # keep the dates, pay less each time


class DayCount(StrEnum):
    """Year basis for daily interest (credit lines, penalties)."""

    ACT_360 = "act/360"
    ACT_365 = "act/365"

    @property
    def days_in_year(self) -> int:
        return 360 if self is DayCount.ACT_360 else 365


def parse_method(value: object) -> RepaymentMethod:
    """A RepaymentMethod from its API name, else InvalidParameter(param="method")."""
    try:
        return RepaymentMethod(str(value))
    except ValueError:
        names = ", ".join(m.value for m in RepaymentMethod)
        raise InvalidParameter(f"method must be one of {names}", param="method") from None


def require_fen(value: object, param: str, *, minimum: int = 0) -> Fen:
    """An integer fen amount >= minimum, else InvalidParameter naming `param`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(f"{param} must be an integer amount in fen", param=param)
    if value < minimum:
        raise InvalidParameter(f"{param} must be at least {minimum} fen", param=param)
    return Fen(value)


def require_rate(value: object, param: str, *, maximum: Decimal | None = MAX_ANNUAL_RATE) -> Decimal:
    """A finite, non-negative Decimal rate (floats are refused: they cannot hold 0.1 exactly)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidParameter(f"{param} must be a decimal rate such as 0.0600", param=param)
    if value < 0:
        raise InvalidParameter(f"{param} must not be negative", param=param)
    if maximum is not None and value > maximum:
        raise InvalidParameter(f"{param} must be at most {maximum}", param=param)
    return value


def require_date(value: object, param: str) -> date:
    # datetime is a subclass of date; a timestamp where a business date belongs is a bug.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidParameter(f"{param} must be a calendar date", param=param)
    return value


@dataclass(frozen=True, kw_only=True)
class LoanTerms:
    """What the borrower signs: amount, price, length and start.

    `monthly_fee_rate` is an add-on fee charged every month on the ORIGINAL principal;
    `upfront_fee` is withheld from the disbursement. Both count in the APR.
    """

    principal: Fen
    annual_rate: Decimal
    term: int
    start_date: date
    monthly_fee_rate: Decimal = field(default=Decimal(0))
    upfront_fee: Fen = ZERO

    def __post_init__(self) -> None:
        require_fen(self.principal, "principal", minimum=1)
        require_rate(self.annual_rate, "annual_rate")
        if (
            isinstance(self.term, bool)
            or not isinstance(self.term, int)
            or not 1 <= self.term <= MAX_TERM_MONTHS
        ):
            raise InvalidParameter(
                f"term must be a whole number of months, 1 to {MAX_TERM_MONTHS}", param="term"
            )
        require_date(self.start_date, "start_date")
        require_rate(self.monthly_fee_rate, "monthly_fee_rate")
        require_fen(self.upfront_fee, "upfront_fee")
        if self.upfront_fee >= self.principal:
            raise InvalidParameter("upfront_fee must be less than the principal", param="upfront_fee")

    @property
    def principal_received(self) -> Fen:
        """What the borrower actually gets: principal net of the upfront fee."""
        return Fen(self.principal - self.upfront_fee)
