"""The repayment waterfall: how one payment is split over what the borrower owes.

The allocation order is product data, a tuple of (dueness, component) steps, in the
spirit of Fineract's advanced payment allocation. Steps that share a dueness and sit next
to each other form a group, walked one of two ways:

- BY_INSTALMENT (default, the usual practice in China): the oldest instalment of the
  group is settled component by component before the next instalment is touched;
- BY_COMPONENT: each step runs across all instalments of its dueness, oldest first.

The default order is penalty -> fee -> interest -> principal, past-due instalments first,
then the one due today. Whatever is left becomes a principal prepayment, which the
prepayment module re-amortises according to the product's FutureRule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.schedules import Instalment
from lendbridge.loans.terms import ZERO, FutureRule, require_fen


class Dueness(StrEnum):
    PAST_DUE = "past_due"
    DUE = "due"
    FUTURE = "future"

    @classmethod
    def of(cls, due_date: date, as_of: date) -> Dueness:
        if due_date < as_of:
            return cls.PAST_DUE
        return cls.DUE if due_date == as_of else cls.FUTURE


class Component(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class Traversal(StrEnum):
    BY_INSTALMENT = "by_instalment"
    BY_COMPONENT = "by_component"


Step = tuple[Dueness, Component]


@dataclass(frozen=True)
class AllocationOrder:
    steps: tuple[Step, ...]
    traversal: Traversal = Traversal.BY_INSTALMENT

    def __post_init__(self) -> None:
        if not self.steps:
            raise InvalidParameter("an allocation order needs at least one step", param="allocation_order")
        if len(set(self.steps)) != len(self.steps):
            raise InvalidParameter("an allocation order names each step once", param="allocation_order")

    @classmethod
    def from_names(cls, names: Iterable[str], traversal: str = Traversal.BY_INSTALMENT) -> AllocationOrder:
        """Parse product configuration such as ["past_due.penalty", "past_due.fee", ...]."""
        steps: list[Step] = []
        for name in names:
            dueness, _, component = name.partition(".")
            try:
                steps.append((Dueness(dueness), Component(component)))
            except ValueError:
                raise InvalidParameter(
                    f"unknown allocation step {name!r}", param="allocation_order"
                ) from None
        try:
            return cls(tuple(steps), Traversal(traversal))
        except ValueError:
            raise InvalidParameter(f"unknown traversal {traversal!r}", param="allocation_order") from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{dueness}.{component}" for dueness, component in self.steps)


_COMPONENTS = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)

DEFAULT_ORDER = AllocationOrder(
    tuple((dueness, component) for dueness in (Dueness.PAST_DUE, Dueness.DUE) for component in _COMPONENTS)
)


@dataclass(frozen=True)
class Due:
    """What is still outstanding on one instalment, as of some date."""

    instalment: int
    due_date: date
    dueness: Dueness
    penalty: Fen = Fen(0)
    fee: Fen = Fen(0)
    interest: Fen = Fen(0)
    principal: Fen = Fen(0)

    def __post_init__(self) -> None:
        for component in _COMPONENTS:
            require_fen(self.amount(component), f"dues.{component}")

    def amount(self, component: Component) -> Fen:
        value: Fen = getattr(self, component.value)
        return value

    @property
    def total(self) -> Fen:
        return Fen(self.penalty + self.fee + self.interest + self.principal)

    @classmethod
    def from_instalment(cls, instalment: Instalment, as_of: date, *, penalty: Fen = ZERO) -> Due:
        """An instalment nothing has been paid on yet."""
        return cls(
            instalment=instalment.number,
            due_date=instalment.due_date,
            dueness=Dueness.of(instalment.due_date, as_of),
            penalty=penalty,
            fee=instalment.fee,
            interest=instalment.interest,
            principal=instalment.principal,
        )


@dataclass(frozen=True)
class AllocationLine:
    instalment: int
    dueness: Dueness
    component: Component
    amount: Fen


@dataclass(frozen=True)
class Allocation:
    payment: Fen
    lines: tuple[AllocationLine, ...]
    prepayment: Fen  # left over after every step: a principal prepayment
    future_rule: FutureRule
    order: AllocationOrder = field(default=DEFAULT_ORDER)

    def __post_init__(self) -> None:
        if sum(line.amount for line in self.lines) + self.prepayment != self.payment:
            raise ValueError("allocation lines plus prepayment must equal the payment")

    def total(self, component: Component | None = None) -> Fen:
        return Fen(
            sum(line.amount for line in self.lines if component is None or line.component is component)
        )

    def amount_for(self, instalment: int, component: Component) -> Fen:
        return Fen(
            sum(
                line.amount
                for line in self.lines
                if line.instalment == instalment and line.component is component
            )
        )


def allocate(
    payment: Fen,
    dues: Sequence[Due],
    order: AllocationOrder = DEFAULT_ORDER,
    future: FutureRule = FutureRule.LOWER_INSTALMENT,
) -> Allocation:
    """Split `payment` over `dues` following `order`; the rest is a prepayment.

    Never allocates more than a component's outstanding amount, and the allocated lines
    plus the prepayment always equal the payment. `future` travels with the allocation so
    the prepayment is re-amortised by the product's rule.
    """
    require_fen(payment, "amount", minimum=1)
    if len({due.instalment for due in dues}) != len(dues):
        raise InvalidParameter("each instalment may appear once in the dues", param="dues")
    by_dueness = {
        dueness: sorted((d for d in dues if d.dueness is dueness), key=lambda d: (d.due_date, d.instalment))
        for dueness in Dueness
    }
    outstanding: dict[tuple[int, Component], int] = {
        (due.instalment, c): due.amount(c) for due in dues for c in _COMPONENTS
    }
    left = int(payment)
    lines: list[AllocationLine] = []

    def take(due: Due, component: Component) -> None:
        nonlocal left
        amount = min(left, outstanding[(due.instalment, component)])
        if amount > 0:
            outstanding[(due.instalment, component)] -= amount
            left -= amount
            lines.append(AllocationLine(due.instalment, due.dueness, component, Fen(amount)))

    for dueness, components in _groups(order):
        if order.traversal is Traversal.BY_INSTALMENT:
            for due in by_dueness[dueness]:
                for component in components:
                    take(due, component)
        else:
            for component in components:
                for due in by_dueness[dueness]:
                    take(due, component)
    return Allocation(Fen(payment), tuple(lines), Fen(left), FutureRule(future), order)


def _groups(order: AllocationOrder) -> list[tuple[Dueness, list[Component]]]:
    """Runs of consecutive steps with the same dueness."""
    groups: list[tuple[Dueness, list[Component]]] = []
    for dueness, component in order.steps:
        if groups and groups[-1][0] is dueness:
            groups[-1][1].append(component)
        else:
            groups.append((dueness, [component]))
    return groups
