"""Revolving credit lines: draw and repay any time, pay interest daily on what is drawn.

Interest accrues for each calendar day on the principal outstanding at the end of that
day (so a draw repaid the same day costs nothing), at annual_rate / 360 by default. The
line keeps the running sum of end-of-day balances ("balance-days") and derives its
cumulative interest from it with one rounding (interest.py); a day's accrual is the
difference of two cumulative values, so the daily postings add up exactly and accruing
the same date twice posts nothing the second time.

Operations on a date first accrue every earlier day, then change the balance; a date
whose interest has already been accrued cannot be changed (book a correction instead).
Product bounds (e.g. business lines of ¥100,000 to ¥5,000,000) are checked by products;
this module keeps the arithmetic and the invariants: available = limit - principal and
no draw beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.interest import interest_on_balance_days
from lendbridge.loans.terms import DayCount, require_date, require_fen, require_rate

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CreditLine:
    limit: Fen
    annual_rate: Decimal
    accrued_through: date  # the last day whose interest is included
    principal: Fen = Fen(0)  # drawn and not repaid
    interest: Fen = Fen(0)  # accrued and not paid
    balance_days: int = 0  # sum of end-of-day principal over every accrued day
    interest_accrued: Fen = Fen(0)  # all interest ever accrued on the line
    day_count: DayCount = DayCount.ACT_360

    def __post_init__(self) -> None:
        require_fen(self.limit, "limit", minimum=1)
        require_rate(self.annual_rate, "annual_rate")
        require_date(self.accrued_through, "accrued_through")
        require_fen(self.principal, "principal")
        require_fen(self.interest, "interest")

    @property
    def available(self) -> Fen:
        """What can still be drawn (0 if the limit was cut below the drawn principal)."""
        return Fen(max(self.limit - self.principal, 0))

    @property
    def owed(self) -> Fen:
        return Fen(self.principal + self.interest)


@dataclass(frozen=True)
class LineAccrual:
    line: CreditLine
    amount: Fen  # interest to post for the days just accrued


@dataclass(frozen=True)
class LineDraw:
    line: CreditLine
    amount: Fen
    accrued: Fen  # interest accrued for the days before the draw: post it first


@dataclass(frozen=True)
class LineRepayment:
    line: CreditLine
    interest: Fen
    principal: Fen
    accrued: Fen  # interest accrued for the days before the repayment: post it first


def open_line(
    limit: Fen, annual_rate: Decimal, opened: date, day_count: DayCount = DayCount.ACT_360
) -> CreditLine:
    """A new, undrawn line; the opening day is its first interest day."""
    require_date(opened, "opened")
    return CreditLine(limit, annual_rate, opened - _ONE_DAY, day_count=DayCount(day_count))


def accrue(line: CreditLine, through: date) -> LineAccrual:
    """Accrue interest for every day after `line.accrued_through` up to `through`."""
    require_date(through, "date")
    days = (through - line.accrued_through).days
    if days <= 0:
        return LineAccrual(line, Fen(0))
    balance_days = line.balance_days + line.principal * days
    cumulative = interest_on_balance_days(balance_days, line.annual_rate, line.day_count)
    amount = Fen(cumulative - line.interest_accrued)
    accrued = replace(
        line,
        accrued_through=through,
        balance_days=balance_days,
        interest_accrued=cumulative,
        interest=Fen(line.interest + amount),
    )
    return LineAccrual(accrued, amount)


def draw(line: CreditLine, amount: Fen, on: date) -> LineDraw:
    """Draw `amount` on `on`."""
    require_fen(amount, "amount", minimum=1)
    caught_up = _catch_up(line, on)
    if amount > caught_up.line.available:
        raise InvalidParameter(
            f"amount exceeds the available credit of {caught_up.line.available} fen", param="amount"
        )
    drawn = replace(caught_up.line, principal=Fen(caught_up.line.principal + amount))
    return LineDraw(drawn, amount, caught_up.amount)


def repay(line: CreditLine, amount: Fen, on: date) -> LineRepayment:
    """Repay on `on`: accrued interest first (including the days before `on`), then principal."""
    require_fen(amount, "amount", minimum=1)
    caught_up = _catch_up(line, on)
    current = caught_up.line
    if amount > current.owed:
        raise InvalidParameter(f"amount exceeds the {current.owed} fen owed on the line", param="amount")
    interest = Fen(min(amount, current.interest))
    principal = Fen(amount - interest)
    repaid = replace(
        current, interest=Fen(current.interest - interest), principal=Fen(current.principal - principal)
    )
    return LineRepayment(repaid, interest, principal, caught_up.amount)


def change_limit(line: CreditLine, limit: Fen) -> CreditLine:
    """A new limit; cutting it below the drawn principal just stops further draws."""
    return replace(line, limit=require_fen(limit, "limit", minimum=1))


def _catch_up(line: CreditLine, on: date) -> LineAccrual:
    require_date(on, "date")
    if on <= line.accrued_through:
        raise InvalidParameter(
            f"interest is already accrued through {line.accrued_through.isoformat()}; "
            "the line cannot change on or before that date",
            param="date",
        )
    return accrue(line, on - _ONE_DAY)
