"""The one place interest is computed. Schedules, accrual, payoff, prepayment, penalties,
credit lines and APR cash flows all call these functions, so two formulas can never drift
apart.

Conventions:
- Scheduled (monthly) interest: every period is one month at annual_rate / 12, whatever
  its number of days: `ROUND_HALF_UP(balance * annual_rate * months / 12)`.
- Daily interest (credit lines, penalties): `balance * annual_rate / days_in_year` per
  day, ACT/360 by default. Amounts are summed unrounded ("balance-days") and rounded once.
- Accrual within a scheduled period is pro rata by days and cumulative:
  `accrued_to_date = ROUND_HALF_UP(period_interest * days_elapsed / days_in_period)`, and a
  day's accrual is the difference of two cumulative values. The accruals of a period
  therefore add up to exactly the scheduled interest, and re-running a date posts the
  same amount (restartable, idempotent per date).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, localcontext

from lendbridge.core.money import Fen, round_fen
from lendbridge.loans.terms import DayCount

MONTHS_PER_YEAR = 12

# Wide enough that products of fen amounts, rates and day counts are exact before the
# single rounding; the default 28 digits could round an intermediate.
PRECISION = 60


def monthly_interest(balance: Fen, annual_rate: Decimal, months: int = 1) -> Fen:
    """Scheduled interest on `balance` for `months` whole months at annual_rate / 12."""
    with localcontext(prec=PRECISION):
        return round_fen(Decimal(balance) * annual_rate * months / MONTHS_PER_YEAR)


def interest_on_balance_days(
    balance_days: int, annual_rate: Decimal, day_count: DayCount = DayCount.ACT_360
) -> Fen:
    """Interest on a sum of end-of-day balances (fen x days), rounded once."""
    with localcontext(prec=PRECISION):
        return round_fen(Decimal(balance_days) * annual_rate / day_count.days_in_year)


def interest_for_days(
    balance: Fen, annual_rate: Decimal, days: int, day_count: DayCount = DayCount.ACT_360
) -> Fen:
    """Daily interest on a constant balance over `days` days."""
    return interest_on_balance_days(balance * max(days, 0), annual_rate, day_count)


def pro_rata(amount: Fen, part: int, whole: int) -> Fen:
    """`amount * part / whole`, rounded half up once (part is clamped to 0..whole)."""
    if whole <= 0:
        raise ValueError("pro_rata needs a positive whole")
    part = min(max(part, 0), whole)
    with localcontext(prec=PRECISION):
        return round_fen(Decimal(amount) * part / whole)


def accrued_to_date(period_interest: Fen, period_start: date, period_end: date, as_of: date) -> Fen:
    """Interest of a scheduled period accrued by the end of `as_of`.

    The period covers the days after `period_start` up to and including `period_end`
    (the due date): 0 on the start date, the whole `period_interest` on the due date.
    """
    return pro_rata(period_interest, (as_of - period_start).days, (period_end - period_start).days)


def daily_accrual(period_interest: Fen, period_start: date, period_end: date, day: date) -> Fen:
    """The accrual to post for `day`: the cumulative amount at `day` minus the day before."""
    today = accrued_to_date(period_interest, period_start, period_end, day)
    yesterday = accrued_to_date(period_interest, period_start, period_end, day - timedelta(days=1))
    return Fen(today - yesterday)
