"""Payoff quotes and partial prepayments.

The principal still to be billed (instalments due after the as-of date) can be repaid
early. Prepaying principal `p` costs:
- `p` itself;
- the interest the current period has accrued on `p` so far: `p`'s share of the current
  instalment's scheduled interest, accrued pro rata to the as-of date (interest.py);
- the product's prepayment fee, `prepayment_fee_rate * p`.
Prepaid principal then stops earning interest: the remaining instalments, the current one
included, are rebuilt on the lower balance (schedules.reamortize). A payoff is the same
calculation with `p` = all unbilled principal, plus everything billed and unpaid (past-due
and due-today principal, interest, fees and penalties). Scheduled fees of periods not yet
due are not charged on payoff: a fee is earned on its due date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen, round_fen
from lendbridge.loans.interest import PRECISION, accrued_to_date, pro_rata
from lendbridge.loans.schedules import Instalment, Schedule, reamortize
from lendbridge.loans.terms import FutureRule, require_date, require_fen, require_rate
from lendbridge.loans.waterfall import Due, Dueness


@dataclass(frozen=True)
class PayoffQuote:
    as_of: date
    outstanding_principal: Fen  # principal of instalments not yet due
    accrued_interest: Fen  # current period, pro rata to as_of
    billed_principal: Fen  # due or past due, unpaid
    billed_interest: Fen
    billed_fees: Fen
    penalty: Fen
    prepayment_fee: Fen

    @property
    def total(self) -> Fen:
        return Fen(
            self.outstanding_principal
            + self.accrued_interest
            + self.billed_principal
            + self.billed_interest
            + self.billed_fees
            + self.penalty
            + self.prepayment_fee
        )


@dataclass(frozen=True)
class PrepaymentSplit:
    principal: Fen
    interest: Fen  # accrued in the current period on the prepaid principal
    fee: Fen  # prepayment fee
    excess: Fen = Fen(0)  # could not be applied (more than the payoff): refund it

    @property
    def total(self) -> Fen:
        return Fen(self.principal + self.interest + self.fee + self.excess)


@dataclass(frozen=True)
class Prepayment:
    split: PrepaymentSplit
    schedule: Schedule  # the rebuilt remaining instalments; empty when paid off

    @property
    def paid_off(self) -> bool:
        return self.schedule.principal == 0


def payoff_quote(
    schedule: Schedule,
    dues: Sequence[Due],
    as_of: date,
    *,
    prepayment_fee_rate: Decimal = Decimal(0),
) -> PayoffQuote:
    """Everything needed to close the loan at the end of `as_of`.

    `dues` are the unpaid amounts of the instalments due on or before `as_of` (penalty
    assessed so far included); what is not yet due comes from `schedule`.
    """
    require_date(as_of, "as_of")
    if any(due.dueness is Dueness.FUTURE for due in dues):
        raise InvalidParameter("payoff dues cover past-due and due instalments only", param="dues")
    future = schedule.due_after(as_of)
    charges = prepayment_charges(schedule, Fen(sum(i.principal for i in future)), as_of, prepayment_fee_rate)
    return PayoffQuote(
        as_of=as_of,
        outstanding_principal=charges.principal,
        accrued_interest=charges.interest,
        billed_principal=Fen(sum(d.principal for d in dues)),
        billed_interest=Fen(sum(d.interest for d in dues)),
        billed_fees=Fen(sum(d.fee for d in dues)),
        penalty=Fen(sum(d.penalty for d in dues)),
        prepayment_fee=charges.fee,
    )


def prepayment_charges(
    schedule: Schedule, principal: Fen, as_of: date, prepayment_fee_rate: Decimal = Decimal(0)
) -> PrepaymentSplit:
    """What prepaying `principal` of the unbilled balance on `as_of` costs."""
    require_fen(principal, "amount")
    require_rate(prepayment_fee_rate, "prepayment_fee_rate")
    future = schedule.due_after(as_of)
    balance = sum(i.principal for i in future)
    if principal > balance:
        raise InvalidParameter(f"at most {balance} fen of principal can be prepaid", param="amount")
    if principal == 0:
        return PrepaymentSplit(Fen(0), Fen(0), Fen(0))
    return PrepaymentSplit(
        principal=principal,
        interest=_accrued_share(future[0], principal, Fen(balance), as_of),
        fee=_fee(principal, prepayment_fee_rate),
    )


def split_prepayment(
    schedule: Schedule, amount: Fen, as_of: date, prepayment_fee_rate: Decimal = Decimal(0)
) -> PrepaymentSplit:
    """Split cash meant for prepayment into principal and its charges.

    The largest principal whose cost fits in `amount` is prepaid. The rounding residue
    left (a fen or two) is added to the principal unless that would clear the balance
    without its full charges; then, like any amount beyond the payoff, it is `excess`.
    """
    require_fen(amount, "amount")
    future = schedule.due_after(as_of)
    balance = sum(i.principal for i in future)

    def cost(principal: int) -> int:
        return prepayment_charges(schedule, Fen(principal), as_of, prepayment_fee_rate).total

    full = prepayment_charges(schedule, Fen(balance), as_of, prepayment_fee_rate)
    if amount >= full.total:
        return PrepaymentSplit(full.principal, full.interest, full.fee, Fen(amount - full.total))
    low, high = 0, balance - 1  # cost is non-decreasing in principal: binary search
    while low < high:
        mid = (low + high + 1) // 2
        if cost(mid) <= amount:
            low = mid
        else:
            high = mid - 1
    charges = prepayment_charges(schedule, Fen(low), as_of, prepayment_fee_rate)
    residue = amount - charges.total
    if low + residue < balance:
        return PrepaymentSplit(Fen(low + residue), charges.interest, charges.fee)
    return PrepaymentSplit(charges.principal, charges.interest, charges.fee, Fen(residue))


def apply_prepayment(schedule: Schedule, principal: Fen, as_of: date, rule: FutureRule) -> Schedule:
    """The instalments after `as_of`, rebuilt once `principal` has been prepaid."""
    require_fen(principal, "amount")
    future = schedule.due_after(as_of)
    balance = sum(i.principal for i in future)
    if principal > balance:
        raise InvalidParameter(f"at most {balance} fen of principal can be prepaid", param="amount")
    return reamortize(Fen(balance - principal), future, schedule.annual_rate, schedule.method, rule)


def prepay(
    schedule: Schedule,
    amount: Fen,
    as_of: date,
    rule: FutureRule,
    *,
    prepayment_fee_rate: Decimal = Decimal(0),
) -> Prepayment:
    """Apply cash as a prepayment: split it, then rebuild the remaining schedule."""
    split = split_prepayment(schedule, amount, as_of, prepayment_fee_rate)
    return Prepayment(split, apply_prepayment(schedule, split.principal, as_of, rule))


def _accrued_share(current: Instalment, principal: Fen, balance: Fen, as_of: date) -> Fen:
    # The current instalment's interest was computed on `balance`; `principal`'s share of
    # it, accrued to date. With principal == balance this is exactly the loan's accrual.
    share = pro_rata(current.interest, principal, balance)
    return accrued_to_date(share, current.period_start, current.due_date, as_of)


def _fee(principal: Fen, rate: Decimal) -> Fen:
    with localcontext(prec=PRECISION):
        return round_fen(Decimal(principal) * rate)
