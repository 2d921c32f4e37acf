"""Servicing arithmetic on one loan's instalments: what to accrue, bill and allocate.

The close of business (cob.py) and the catch-up a repayment does first both call these
functions, so the nightly batch and the API can never disagree about a figure. Amounts
come from the one interest module (interest.py via penalty.py); this module only decides
WHICH amounts are due on WHICH instalment by a date, and keeps the running state.

Per instalment the state is cumulative: `interest_accrued` is the part of its scheduled
interest already booked as receivable, `fee_charged` its fee once billed on the due date,
`penalty_accrued` the penalty assessed on its overdue principal. Each step posts the
difference between the cumulative target at a date and what is already booked, so
re-running a date books nothing (idempotent per loan per business date) and a skipped
day is caught up exactly.

Business-date convention: closing day D ("COB of D") books interest and penalty for the
days up to and including D, bills the fees of instalments due on or before D, and treats
an instalment still unsettled at the end of its due date as overdue: closing D makes
everything due on or before D and unpaid overdue, and days past due are counted as of
D + 1 (an instalment due on the 10th and unpaid is 1 day past due on the 11th). A
repayment on D first catches the loan up through D, so the payoff it pays is the payoff
quoted for D.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from lendbridge.core.money import Fen
from lendbridge.loans.delinquency import (
    DEFAULT_THRESHOLDS,
    Bucket,
    Classification,
    ClassificationThresholds,
    bucket,
    classify,
    days_past_due,
)
from lendbridge.loans.interest import accrued_to_date
from lendbridge.loans.penalty import penalty_accrued
from lendbridge.loans.schedules import Instalment, Schedule
from lendbridge.loans.terms import ZERO, DayCount, RepaymentMethod
from lendbridge.loans.waterfall import Allocation, Component, Due, Dueness

ONE_DAY = timedelta(days=1)

PENDING = "pending"
OVERDUE = "overdue"
PAID = "paid"
CHARGED_OFF = "charged_off"
INSTALMENT_STATUSES = (PENDING, OVERDUE, PAID, CHARGED_OFF)


@dataclass(frozen=True, kw_only=True)
class InstalmentState:
    """One instalment as scheduled, plus what has been booked and paid on it."""

    number: int
    period_start: date
    due_date: date
    months: int = 1
    principal: Fen
    interest: Fen
    fee: Fen = Fen(0)
    interest_accrued: Fen = Fen(0)
    fee_charged: Fen = Fen(0)
    penalty_accrued: Fen = Fen(0)
    penalty_base: Fen = Fen(0)  # penalty assessed before the current segment
    penalty_since: date | None = None  # start of the current segment (None: the due date)
    subsidy_income: Fen = Fen(0)  # merchant subsidy earned in this period
    subsidy_recognised: Fen = Fen(0)
    paid_principal: Fen = Fen(0)
    paid_interest: Fen = Fen(0)
    paid_fee: Fen = Fen(0)
    paid_penalty: Fen = Fen(0)
    status: str = PENDING
    paid_on: date | None = None

    @classmethod
    def scheduled(cls, instalment: Instalment, subsidy_income: Fen = ZERO) -> InstalmentState:
        return cls(
            number=instalment.number,
            period_start=instalment.period_start,
            due_date=instalment.due_date,
            months=instalment.months,
            principal=instalment.principal,
            interest=instalment.interest,
            fee=instalment.fee,
            subsidy_income=subsidy_income,
        )

    @property
    def unpaid_principal(self) -> Fen:
        return Fen(self.principal - self.paid_principal)

    @property
    def unpaid_interest(self) -> Fen:
        """Booked and not paid (interest not yet accrued is not owed yet)."""
        return Fen(self.interest_accrued - self.paid_interest)

    @property
    def unpaid_fee(self) -> Fen:
        return Fen(self.fee_charged - self.paid_fee)

    @property
    def unpaid_penalty(self) -> Fen:
        return Fen(self.penalty_accrued - self.paid_penalty)

    @property
    def settled(self) -> bool:
        """Everything scheduled and assessed on it is paid."""
        return (
            self.paid_principal == self.principal
            and self.paid_interest == self.interest
            and self.paid_fee == self.fee
            and self.paid_penalty == self.penalty_accrued
        )

    def as_instalment(self) -> Instalment:
        return Instalment(
            number=self.number,
            period_start=self.period_start,
            due_date=self.due_date,
            principal=self.principal,
            interest=self.interest,
            fee=self.fee,
            payment=Fen(self.principal + self.interest + self.fee),
            remaining_principal=Fen(0),
            months=self.months,
        )


@dataclass(frozen=True)
class Accrual:
    """What one instalment books for the days up to a date (all non-negative)."""

    interest: Fen = Fen(0)
    fee: Fen = Fen(0)
    penalty: Fen = Fen(0)
    subsidy: Fen = Fen(0)

    def __bool__(self) -> bool:
        return bool(self.interest or self.fee or self.penalty or self.subsidy)

    def __add__(self, other: Accrual) -> Accrual:
        return Accrual(
            Fen(self.interest + other.interest),
            Fen(self.fee + other.fee),
            Fen(self.penalty + other.penalty),
            Fen(self.subsidy + other.subsidy),
        )


NOTHING = Accrual()


class Period(Protocol):
    """What interest accrual reads from an instalment (an InstalmentState or a table row)."""

    @property
    def number(self) -> int: ...
    @property
    def period_start(self) -> date: ...
    @property
    def due_date(self) -> date: ...
    @property
    def interest(self) -> int: ...
    @property
    def interest_accrued(self) -> int: ...


def interest_due_by(inst: Period, through: date) -> Fen:
    """Scheduled interest of the instalment not yet booked by the end of `through`."""
    if through <= inst.period_start or inst.interest_accrued >= inst.interest:
        return Fen(0)
    target = accrued_to_date(
        Fen(inst.interest), inst.period_start, inst.due_date, min(through, inst.due_date)
    )
    amount = target - inst.interest_accrued
    if amount < 0:
        raise ValueError(f"instalment {inst.number} has more interest booked than accrued")
    return Fen(amount)


def fee_due_by(inst: InstalmentState, through: date) -> Fen:
    """A fee is earned on its due date."""
    return Fen(inst.fee - inst.fee_charged) if inst.due_date <= through else Fen(0)


def subsidy_due_by(inst: InstalmentState, through: date) -> Fen:
    """Merchant subsidy is recognised period by period, on each due date."""
    return Fen(inst.subsidy_income - inst.subsidy_recognised) if inst.due_date <= through else Fen(0)


def penalty_due_by(
    inst: InstalmentState, through: date, penalty_rate: Decimal, day_count: DayCount = DayCount.ACT_360
) -> Fen:
    """Penalty on the instalment's overdue principal not yet booked by the end of `through`.

    The current segment runs from `penalty_since` (the due date, or the last day a payment
    changed the overdue principal) at the principal unpaid now; penalty.py rounds once
    per segment, so a segment's daily amounts add up to its total.
    """
    overdue = inst.unpaid_principal
    since = inst.penalty_since or inst.due_date
    if overdue <= 0 or penalty_rate == 0 or through <= since or through <= inst.due_date:
        return Fen(0)
    target = inst.penalty_base + penalty_accrued(overdue, penalty_rate, since, through, day_count)
    return Fen(max(target - inst.penalty_accrued, 0))


def accrue(
    inst: InstalmentState, through: date, penalty_rate: Decimal, day_count: DayCount = DayCount.ACT_360
) -> Accrual:
    """Everything the instalment books up to the end of `through`."""
    if inst.status in (PAID, CHARGED_OFF):
        return NOTHING
    return Accrual(
        interest=interest_due_by(inst, through),
        fee=fee_due_by(inst, through),
        penalty=penalty_due_by(inst, through, penalty_rate, day_count),
        subsidy=subsidy_due_by(inst, through),
    )


def book(inst: InstalmentState, accrual: Accrual) -> InstalmentState:
    if not accrual:
        return inst
    return replace(
        inst,
        interest_accrued=Fen(inst.interest_accrued + accrual.interest),
        fee_charged=Fen(inst.fee_charged + accrual.fee),
        penalty_accrued=Fen(inst.penalty_accrued + accrual.penalty),
        subsidy_recognised=Fen(inst.subsidy_recognised + accrual.subsidy),
    )


def catch_up(
    instalments: Sequence[InstalmentState],
    through: date,
    penalty_rate: Decimal,
    day_count: DayCount = DayCount.ACT_360,
) -> tuple[tuple[InstalmentState, ...], tuple[Accrual, ...]]:
    """Book every instalment up to the end of `through`; returns the new states and deltas."""
    accruals = tuple(accrue(inst, through, penalty_rate, day_count) for inst in instalments)
    return tuple(book(i, a) for i, a in zip(instalments, accruals, strict=True)), accruals


def total(accruals: Iterable[Accrual]) -> Accrual:
    result = NOTHING
    for accrual in accruals:
        result = result + accrual
    return result


# -- overdue and delinquency ---------------------------------------------------------------


def newly_overdue(instalments: Sequence[InstalmentState], closed_through: date) -> tuple[int, ...]:
    """Numbers of pending instalments unsettled at the end of a due date on or before `closed_through`."""
    return tuple(
        i.number
        for i in instalments
        if i.status == PENDING and i.due_date <= closed_through and not i.settled
    )


def mark_overdue(instalments: Sequence[InstalmentState], closed_through: date) -> tuple[InstalmentState, ...]:
    late = set(newly_overdue(instalments, closed_through))
    return tuple(replace(i, status=OVERDUE) if i.number in late else i for i in instalments)


@dataclass(frozen=True)
class Delinquency:
    days_past_due: int
    bucket: Bucket
    classification: Classification


def delinquency(
    instalments: Sequence[InstalmentState],
    closed_through: date,
    thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS,
) -> Delinquency:
    """Days past due, bucket and category once day `closed_through` has ended."""
    unpaid = [i.due_date for i in instalments if i.due_date <= closed_through and not i.settled]
    return delinquency_from_oldest(min(unpaid, default=None), closed_through, thresholds)


def delinquency_from_oldest(
    oldest_unpaid_due: date | None,
    closed_through: date,
    thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS,
) -> Delinquency:
    dates = [] if oldest_unpaid_due is None else [oldest_unpaid_due]
    dpd = days_past_due(dates, closed_through + ONE_DAY)
    return Delinquency(dpd, bucket(dpd), classify(dpd, thresholds))


# -- repayments ----------------------------------------------------------------------------


def dues(instalments: Sequence[InstalmentState], as_of: date) -> tuple[Due, ...]:
    """What the waterfall may take: unsettled instalments due on or before `as_of`.

    Amounts are what is BOOKED and unpaid, so a payment never reduces a receivable below
    zero; after a catch-up through `as_of` that is the full scheduled amount.
    """
    return tuple(
        Due(
            instalment=i.number,
            due_date=i.due_date,
            dueness=Dueness.of(i.due_date, as_of),
            penalty=i.unpaid_penalty,
            fee=i.unpaid_fee,
            interest=i.unpaid_interest,
            principal=i.unpaid_principal,
        )
        for i in instalments
        if i.due_date <= as_of and i.status not in (PAID, CHARGED_OFF) and not i.settled
    )


def apply_allocation(
    instalments: Sequence[InstalmentState], allocation: Allocation, as_of: date
) -> tuple[InstalmentState, ...]:
    """Record an allocation's amounts on the instalments they were taken from.

    A payment that lowers an overdue instalment's principal starts a new penalty segment
    at `as_of` (whose penalty is already booked): later days accrue on the new principal.
    Instalments left with nothing to pay become `paid` (on `as_of`).
    """
    result = []
    for inst in instalments:
        paid = {c: allocation.amount_for(inst.number, c) for c in Component}
        if not any(paid.values()):
            result.append(inst)
            continue
        updated = replace(
            inst,
            paid_principal=Fen(inst.paid_principal + paid[Component.PRINCIPAL]),
            paid_interest=Fen(inst.paid_interest + paid[Component.INTEREST]),
            paid_fee=Fen(inst.paid_fee + paid[Component.FEE]),
            paid_penalty=Fen(inst.paid_penalty + paid[Component.PENALTY]),
        )
        if paid[Component.PRINCIPAL] and inst.due_date < as_of:
            updated = replace(updated, penalty_base=updated.penalty_accrued, penalty_since=as_of)
        if updated.settled:
            updated = replace(updated, status=PAID, paid_on=as_of)
        result.append(updated)
    return tuple(result)


def newly_settled_on_time(
    before: Sequence[InstalmentState], after: Sequence[InstalmentState], as_of: date
) -> int:
    """Instalments this payment settled on or before their due date."""
    was_paid = {i.number for i in before if i.status == PAID}
    return sum(1 for i in after if i.status == PAID and i.number not in was_paid and as_of <= i.due_date)


# -- re-amortisation -----------------------------------------------------------------------


def future_schedule(
    instalments: Sequence[InstalmentState], as_of: date, method: RepaymentMethod, annual_rate: Decimal
) -> Schedule:
    """The instalments due after `as_of` as a Schedule (the part a prepayment can change).

    Allocation orders never take money from future instalments (products refuse
    `future.*` steps), so these are exactly as scheduled.
    """
    future = tuple(i.as_instalment() for i in instalments if i.due_date > as_of)
    return Schedule(method, annual_rate, Fen(sum(i.principal for i in future)), future)


@dataclass(frozen=True)
class Rebuild:
    instalments: tuple[InstalmentState, ...]
    interest_true_up: int  # signed: book (+) or reverse (-) so booked interest follows the new schedule
    subsidy_released: Fen  # subsidy of dropped periods, recognised now


def rebuild_future(
    instalments: Sequence[InstalmentState],
    schedule: Schedule,
    as_of: date,
    prepaid_interest: Fen,
) -> Rebuild:
    """Replace the instalments due after `as_of` by a re-amortised `schedule`.

    The current period has booked interest on the old balance up to `as_of`; the
    prepayment collected `prepaid_interest` of it (the prepaid principal's share). The
    rest stays booked on the rebuilt current instalment, trued up to what the new
    schedule accrues by `as_of`, so that from now on daily accrual follows the new
    schedule and the period's bookings add up to its new interest. Merchant subsidy of
    periods that no longer exist is recognised at once.
    """
    kept = [i for i in instalments if i.due_date <= as_of]
    old_future = {i.number: i for i in instalments if i.due_date > as_of}
    carried = sum(i.interest_accrued for i in old_future.values()) - prepaid_interest
    subsidy_left = {n: Fen(i.subsidy_income - i.subsidy_recognised) for n, i in old_future.items()}
    rebuilt: list[InstalmentState] = []
    booked = 0
    for row in schedule:
        target = accrued_to_date(row.interest, row.period_start, row.due_date, min(as_of, row.due_date))
        booked += target
        rebuilt.append(
            InstalmentState(
                number=row.number,
                period_start=row.period_start,
                due_date=row.due_date,
                months=row.months,
                principal=row.principal,
                interest=row.interest,
                fee=row.fee,
                interest_accrued=Fen(target),
                subsidy_income=subsidy_left.get(row.number, Fen(0)),
            )
        )
    kept_numbers = {row.number for row in schedule}
    released = Fen(sum(v for n, v in subsidy_left.items() if n not in kept_numbers))
    return Rebuild(tuple(kept + rebuilt), booked - carried, released)
