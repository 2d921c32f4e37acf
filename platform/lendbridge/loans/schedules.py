"""Repayment schedules for the four repayment methods, and re-amortisation after a
principal prepayment.

Conventions (the same as ../shared/vectors/loan_schedules.json):
- Periods are calendar months. Due dates fall on the start date's day of the month,
  clamped to the month's end (31 Jan -> 28 Feb -> 31 Mar); the first is one month after
  the start unless `first_due` is given. Interest per period is one month at
  annual_rate / 12 whatever the period's length (see interest.py).
- Amounts are rounded ROUND_HALF_UP to the fen per instalment; the last instalment takes
  whatever principal remains, so principal always sums exactly to the loan amount.
- The add-on fee is `monthly_fee_rate` x the ORIGINAL principal every month: it does not
  fall as the balance falls, which is why its true APR is far above its headline rate.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen, round_fen
from lendbridge.loans.interest import MONTHS_PER_YEAR, PRECISION, monthly_interest
from lendbridge.loans.terms import (
    FutureRule,
    LoanTerms,
    RepaymentMethod,
    parse_method,
    require_date,
    require_fen,
)


@dataclass(frozen=True)
class Instalment:
    number: int
    period_start: date  # interest accrues after this date up to and including due_date
    due_date: date
    principal: Fen
    interest: Fen
    fee: Fen
    payment: Fen
    remaining_principal: Fen  # principal still owed after this instalment is paid
    months: int = 1  # months of interest in the period (the whole term for a bullet)


@dataclass(frozen=True)
class Schedule:
    method: RepaymentMethod
    annual_rate: Decimal
    principal: Fen  # the balance this schedule repays
    instalments: tuple[Instalment, ...]

    def __len__(self) -> int:
        return len(self.instalments)

    def __iter__(self) -> Iterator[Instalment]:
        return iter(self.instalments)

    @property
    def total_principal(self) -> Fen:
        return Fen(sum(i.principal for i in self.instalments))

    @property
    def total_interest(self) -> Fen:
        return Fen(sum(i.interest for i in self.instalments))

    @property
    def total_fees(self) -> Fen:
        return Fen(sum(i.fee for i in self.instalments))

    @property
    def total_payment(self) -> Fen:
        return Fen(sum(i.payment for i in self.instalments))

    def due_after(self, as_of: date) -> tuple[Instalment, ...]:
        """Instalments due after `as_of` (the ones a prepayment can still change)."""
        return tuple(i for i in self.instalments if i.due_date > as_of)


@dataclass(frozen=True)
class _Period:
    number: int
    start: date
    due: date
    months: int
    fee: Fen


def add_months(day: date, months: int, *, day_of_month: int | None = None) -> date:
    """`day` moved by whole months, on `day_of_month` (default: the same day) clamped to the month end."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day_of_month or day.day, last))


def due_dates(start: date, count: int, first_due: date | None = None) -> tuple[date, ...]:
    """`count` monthly due dates after `start`.

    Without `first_due`, each date is computed from `start` (not chained), so a loan
    starting on the 31st is due on the 31st whenever the month has one. With `first_due`,
    later dates keep first_due's day of the month. `first_due` must fall after `start` and
    no more than two months after it: interest is one month per period regardless, so a
    longer first period would be mispriced.
    """
    if first_due is None:
        return tuple(add_months(start, k) for k in range(1, count + 1))
    require_date(first_due, "first_due")
    if not start < first_due <= add_months(start, 2):
        raise InvalidParameter(
            "first_due must be after the start date and within two months of it", param="first_due"
        )
    return tuple(add_months(first_due, k, day_of_month=first_due.day) for k in range(count))


def level_payment(balance: Fen, annual_rate: Decimal, periods: int) -> Fen:
    """The annuity payment P*r / (1 - (1+r)^-n), r = annual_rate / 12, rounded half up once."""
    if periods < 1:
        raise ValueError("an annuity needs at least one period")
    with localcontext(prec=PRECISION):
        if annual_rate == 0:
            return round_fen(Decimal(balance) / periods)
        rate = annual_rate / MONTHS_PER_YEAR
        growth = (1 + rate) ** periods
        return round_fen(Decimal(balance) * rate * growth / (growth - 1))


def build_schedule(terms: LoanTerms, method: RepaymentMethod, first_due: date | None = None) -> Schedule:
    """The full repayment schedule of a new loan."""
    method = parse_method(method)
    if method is RepaymentMethod.BULLET:
        if first_due is not None:
            raise InvalidParameter("a bullet loan has a single due date at maturity", param="first_due")
        fee = _fee(terms, terms.term)
        periods = [_Period(1, terms.start_date, add_months(terms.start_date, terms.term), terms.term, fee)]
    else:
        fee = _fee(terms, 1)
        dates = due_dates(terms.start_date, terms.term, first_due)
        starts = (terms.start_date, *dates[:-1])
        periods = [
            _Period(n, s, d, 1, fee) for n, (s, d) in enumerate(zip(starts, dates, strict=True), start=1)
        ]
    rows = _amortise(terms.principal, periods, terms.annual_rate, method, step=None, stop_when_repaid=False)
    return Schedule(method, terms.annual_rate, terms.principal, rows)


def reamortize(
    remaining_principal: Fen,
    remaining: Sequence[Instalment],
    annual_rate: Decimal,
    method: RepaymentMethod,
    rule: FutureRule,
) -> Schedule:
    """Rebuild the instalments still to come after the principal fell to `remaining_principal`.

    `remaining` are the current schedule's instalments not yet due; the result keeps their
    numbers, dates and fees. LOWER_INSTALMENT spreads the new balance over all of them.
    SHORTEN_TERM keeps the current amount (the level payment for equal_instalment, the
    monthly principal for equal_principal) and drops the instalments no longer needed,
    with their fees. Interest-first and bullet loans repay principal only at the end, so
    both rules just recompute interest on the lower balance.
    """
    require_fen(remaining_principal, "remaining_principal")
    method = parse_method(method)
    rule = FutureRule(rule)
    if remaining_principal == 0:
        return Schedule(method, annual_rate, Fen(0), ())
    if not remaining:
        raise InvalidParameter("no instalments left to re-amortise over", param="remaining_principal")
    periods = [_Period(i.number, i.period_start, i.due_date, i.months, i.fee) for i in remaining]
    shorten = rule is FutureRule.SHORTEN_TERM and len(remaining) > 1
    step: Fen | None = None
    if shorten and method is RepaymentMethod.EQUAL_INSTALMENT:
        step = Fen(remaining[0].payment - remaining[0].fee)
    elif shorten and method is RepaymentMethod.EQUAL_PRINCIPAL:
        step = remaining[0].principal
    rows = _amortise(remaining_principal, periods, annual_rate, method, step=step, stop_when_repaid=shorten)
    return Schedule(method, annual_rate, remaining_principal, rows)


def _fee(terms: LoanTerms, months: int) -> Fen:
    with localcontext(prec=PRECISION):
        return round_fen(Decimal(terms.principal) * terms.monthly_fee_rate * months)


def _amortise(
    balance: Fen,
    periods: Sequence[_Period],
    annual_rate: Decimal,
    method: RepaymentMethod,
    *,
    step: Fen | None,
    stop_when_repaid: bool,
) -> tuple[Instalment, ...]:
    """Walk the periods; `step` is the level payment (annuity) or the monthly principal.

    When `step` is None it is derived from the balance and the number of periods.
    """
    count = len(periods)
    if step is None and method is RepaymentMethod.EQUAL_INSTALMENT:
        step = level_payment(balance, annual_rate, count)
    elif step is None and method is RepaymentMethod.EQUAL_PRINCIPAL:
        with localcontext(prec=PRECISION):
            step = round_fen(Decimal(balance) / count)
    rows: list[Instalment] = []
    remaining = balance
    for index, period in enumerate(periods):
        interest = monthly_interest(remaining, annual_rate, period.months)
        if index == count - 1:
            principal = remaining  # the last instalment absorbs every rounding difference
        elif method is RepaymentMethod.EQUAL_INSTALMENT:
            assert step is not None
            principal = Fen(min(max(step - interest, 0), remaining))
        elif method is RepaymentMethod.EQUAL_PRINCIPAL:
            assert step is not None
            principal = Fen(min(step, remaining))
        else:
            principal = Fen(0)  # interest-first: principal only at the end
        remaining = Fen(remaining - principal)
        rows.append(
            Instalment(
                number=period.number,
                period_start=period.start,
                due_date=period.due,
                principal=principal,
                interest=interest,
                fee=period.fee,
                payment=Fen(principal + interest + period.fee),
                remaining_principal=remaining,
                months=period.months,
            )
        )
        if stop_when_repaid and remaining == 0:
            break
    assert sum(r.principal for r in rows) == balance
    return tuple(rows)
