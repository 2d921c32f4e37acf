"""Disclosed APR: the internal rate of return of a loan's actual cash flows, fees included.

Cash flows are from the lender's side: what the borrower actually receives is negative
(principal net of any upfront fee), every payment back is positive. For monthly cash
flows the periodic IRR `i` gives nominal APR = 12 * i and effective APR = (1 + i)^12 - 1.
Dated cash flows (credit lines, payoffs) use `xirr`, an annual rate over ACT/365.

The solver is bisection in Decimal at 50 significant digits: slower than Newton but it
cannot diverge, and a bracket is found by probing outwards from a zero rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.interest import MONTHS_PER_YEAR
from lendbridge.loans.schedules import Schedule

_PREC = 50
_TOLERANCE = Decimal("1e-24")  # width of the final bracket on 1 + rate
_MAX_PROBE_DOUBLINGS = 40
_DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class CashFlow:
    period: int  # months after disbursement
    amount: int  # fen; negative = paid to the borrower


@dataclass(frozen=True)
class DatedCashFlow:
    on: date
    amount: int  # fen; negative = paid to the borrower


@dataclass(frozen=True)
class Apr:
    monthly_irr: Decimal
    nominal: Decimal  # monthly_irr * 12
    effective: Decimal  # (1 + monthly_irr)^12 - 1


def schedule_cash_flows(principal_received: Fen, schedule: Schedule) -> tuple[CashFlow, ...]:
    """The borrower's cash flows: -principal_received now, then each instalment payment.

    `principal_received` is principal minus upfront fees: what the borrower actually gets.
    Each payment falls at the cumulative number of months of its period (a bullet's
    single payment falls at the end of the term).
    """
    flows = [CashFlow(0, -principal_received)]
    month = 0
    for instalment in schedule:
        month += instalment.months
        flows.append(CashFlow(month, instalment.payment))
    return tuple(flows)


def irr(cash_flows: Sequence[CashFlow]) -> Decimal:
    """The periodic rate at which the cash flows' net present value is zero."""
    amounts = _per_period(cash_flows)

    # NPV * (1+i)^last is a polynomial in v = 1 + i; Horner evaluates it without division.
    def scaled_npv(v: Decimal) -> Decimal:
        total = Decimal(0)
        for amount in amounts:
            total = total * v + amount
        return total

    with localcontext(prec=_PREC):
        return _find_root(scaled_npv) - 1


def nominal_and_effective_apr(cash_flows: Sequence[CashFlow]) -> Apr:
    """The APR of monthly cash flows, nominal (12 x monthly IRR) and effective (compounded)."""
    monthly = irr(cash_flows)
    with localcontext(prec=_PREC):
        return Apr(
            monthly_irr=monthly,
            nominal=monthly * MONTHS_PER_YEAR,
            effective=(1 + monthly) ** MONTHS_PER_YEAR - 1,
        )


def xirr(cash_flows: Sequence[DatedCashFlow]) -> Decimal:
    """The annual effective rate of dated cash flows, time measured in days / 365."""
    if not cash_flows:
        raise InvalidParameter("no cash flows", param="cash_flows")
    _require_both_signs([flow.amount for flow in cash_flows])
    first = min(flow.on for flow in cash_flows)
    with localcontext(prec=_PREC):
        flows = [
            (Decimal((flow.on - first).days) / _DAYS_PER_YEAR, Decimal(flow.amount)) for flow in cash_flows
        ]

        def npv(v: Decimal) -> Decimal:
            log_v = v.ln()
            return sum(((-years * log_v).exp() * amount for years, amount in flows), Decimal(0))

        return _find_root(npv) - 1


def _per_period(cash_flows: Sequence[CashFlow]) -> list[int]:
    if not cash_flows:
        raise InvalidParameter("no cash flows", param="cash_flows")
    for flow in cash_flows:
        if isinstance(flow.period, bool) or not isinstance(flow.period, int) or flow.period < 0:
            raise InvalidParameter("cash flow periods are whole numbers >= 0", param="cash_flows")
        if isinstance(flow.amount, bool) or not isinstance(flow.amount, int):
            raise InvalidParameter("cash flow amounts are integer fen", param="cash_flows")
    amounts = [0] * (max(flow.period for flow in cash_flows) + 1)
    for flow in cash_flows:
        amounts[flow.period] += flow.amount
    _require_both_signs(amounts)
    return amounts


def _require_both_signs(amounts: Sequence[int]) -> None:
    if not (any(a > 0 for a in amounts) and any(a < 0 for a in amounts)):
        raise InvalidParameter(
            "an IRR needs at least one negative and one positive cash flow (no sign change)",
            param="cash_flows",
        )


def _find_root(f: Callable[[Decimal], Decimal]) -> Decimal:
    """A root v > 0 of f, bracketed from v = 1 (a zero rate) outwards, then bisected."""
    one = Decimal(1)
    at_one = f(one)
    if at_one == 0:
        return one
    positive = at_one > 0
    # Probe higher and lower rates alternately so the bracket nearest a zero rate wins.
    for k in range(1, _MAX_PROBE_DOUBLINGS + 1):
        up, down = Decimal(2) ** k, Decimal(2) ** -k
        if (f(up) > 0) != positive:
            lo, hi = one, up
            break
        if (f(down) > 0) != positive:
            lo, hi = down, one
            break
    else:
        raise InvalidParameter(
            "the cash flows have no rate of return in a sensible range", param="cash_flows"
        )
    lo_positive = (f(lo) > 0) if lo != one else positive
    while hi - lo > _TOLERANCE:
        mid = (lo + hi) / 2
        value = f(mid)
        if value == 0:
            return mid
        if (value > 0) == lo_positive:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
