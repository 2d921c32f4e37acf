"""The repayment waterfall: order as data, exact sums, leftovers become prepayments."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.core.errors import InvalidParameter
from lendbridge.core.money import Fen
from lendbridge.loans.terms import FutureRule
from lendbridge.loans.waterfall import (
    DEFAULT_ORDER,
    AllocationOrder,
    Component,
    Due,
    Dueness,
    Traversal,
    allocate,
)

TODAY = date(2026, 5, 15)


def due(
    number: int, dueness: Dueness, *, penalty: int = 0, fee: int = 0, interest: int = 0, principal: int = 0
) -> Due:
    offset = {Dueness.PAST_DUE: -31 * (4 - number), Dueness.DUE: 0, Dueness.FUTURE: 31 * number}[dueness]
    return Due(
        number, TODAY + timedelta(days=offset), dueness, Fen(penalty), Fen(fee), Fen(interest), Fen(principal)
    )


DUES = (
    due(1, Dueness.PAST_DUE, penalty=120, fee=500, interest=4000, principal=80_000),
    due(2, Dueness.PAST_DUE, penalty=30, fee=500, interest=3600, principal=80_400),
    due(3, Dueness.DUE, fee=500, interest=3200, principal=80_800),
    due(4, Dueness.FUTURE, fee=500, interest=2800, principal=81_200),
)


def test_oldest_past_due_instalment_is_settled_first_penalty_to_principal() -> None:
    allocation = allocate(Fen(84_700), DUES)

    assert [(line.instalment, line.component, line.amount) for line in allocation.lines] == [
        (1, Component.PENALTY, 120),
        (1, Component.FEE, 500),
        (1, Component.INTEREST, 4000),
        (1, Component.PRINCIPAL, 80_000),
        (2, Component.PENALTY, 30),
        (2, Component.FEE, 50),
    ]
    assert allocation.prepayment == 0


def test_by_component_traversal_takes_every_penalty_before_any_principal() -> None:
    order = AllocationOrder(DEFAULT_ORDER.steps, Traversal.BY_COMPONENT)
    allocation = allocate(Fen(10_000), DUES, order)

    assert allocation.amount_for(1, Component.PENALTY) == 120
    assert allocation.amount_for(2, Component.PENALTY) == 30
    assert allocation.amount_for(2, Component.INTEREST) == 3600
    assert allocation.total(Component.PRINCIPAL) == 10_000 - 150 - 1000 - 7600


def test_overpayment_becomes_prepayment() -> None:
    owed_now = sum(d.total for d in DUES if d.dueness is not Dueness.FUTURE)
    allocation = allocate(Fen(owed_now + 50_000), DUES, future=FutureRule.SHORTEN_TERM)

    assert allocation.prepayment == 50_000
    assert allocation.future_rule is FutureRule.SHORTEN_TERM
    assert all(line.instalment != 4 for line in allocation.lines)  # the future instalment is untouched


def test_a_payment_smaller_than_the_penalty_only_reduces_the_penalty() -> None:
    allocation = allocate(Fen(100), DUES)
    assert [(line.instalment, line.component, line.amount) for line in allocation.lines] == [
        (1, Component.PENALTY, 100)
    ]


def test_order_is_product_data_and_can_pay_principal_first() -> None:
    order = AllocationOrder.from_names(["due.principal", "past_due.principal", "past_due.interest"])
    allocation = allocate(Fen(100_000), DUES, order)

    assert allocation.amount_for(3, Component.PRINCIPAL) == 80_800
    assert allocation.amount_for(1, Component.PRINCIPAL) == 19_200
    assert order.names == ("due.principal", "past_due.principal", "past_due.interest")


def test_future_steps_pay_the_next_instalment_in_advance() -> None:
    order = AllocationOrder((*DEFAULT_ORDER.steps, (Dueness.FUTURE, Component.INTEREST)))
    owed_now = sum(d.total for d in DUES if d.dueness is not Dueness.FUTURE)
    allocation = allocate(Fen(owed_now + 3000), DUES, order)

    assert allocation.amount_for(4, Component.INTEREST) == 2800
    assert allocation.prepayment == 200


@pytest.mark.parametrize(
    "names",
    [["past_due.tip"], ["whenever.fee"], [], ["due.fee", "due.fee"]],
    ids=["component", "dueness", "empty", "dup"],
)
def test_bad_allocation_orders_are_rejected(names: list[str]) -> None:
    with pytest.raises(InvalidParameter) as raised:
        AllocationOrder.from_names(names)
    assert raised.value.param == "allocation_order"


def test_non_positive_payments_and_duplicate_instalments_are_rejected() -> None:
    with pytest.raises(InvalidParameter) as raised:
        allocate(Fen(0), DUES)
    assert raised.value.param == "amount"
    with pytest.raises(InvalidParameter) as raised:
        allocate(Fen(10), (*DUES, DUES[0]))
    assert raised.value.param == "dues"


def test_dueness_relative_to_the_as_of_date() -> None:
    assert Dueness.of(TODAY - timedelta(days=1), TODAY) is Dueness.PAST_DUE
    assert Dueness.of(TODAY, TODAY) is Dueness.DUE
    assert Dueness.of(TODAY + timedelta(days=1), TODAY) is Dueness.FUTURE


amounts = st.integers(min_value=0, max_value=200_000)
steps = st.lists(
    st.tuples(st.sampled_from(Dueness), st.sampled_from(Component)), min_size=1, max_size=12, unique=True
)


@st.composite
def dues_lists(draw: st.DrawFn) -> list[Due]:
    count = draw(st.integers(min_value=0, max_value=8))
    result = []
    for number in range(1, count + 1):
        result.append(
            Due(
                number,
                TODAY + timedelta(days=31 * (number - 4)),
                draw(st.sampled_from(Dueness)),
                Fen(draw(amounts)),
                Fen(draw(amounts)),
                Fen(draw(amounts)),
                Fen(draw(amounts)),
            )
        )
    return result


@settings(max_examples=150, deadline=None)
@given(
    payment=st.integers(min_value=1, max_value=2_000_000),
    dues=dues_lists(),
    order_steps=steps,
    traversal=st.sampled_from(Traversal),
)
def test_allocations_always_sum_to_the_payment_and_never_over_allocate(
    payment: int, dues: list[Due], order_steps: list[tuple[Dueness, Component]], traversal: Traversal
) -> None:
    order = AllocationOrder(tuple(order_steps), traversal)
    allocation = allocate(Fen(payment), dues, order)

    assert allocation.total() + allocation.prepayment == payment
    assert all(line.amount > 0 for line in allocation.lines)
    by_number = {d.instalment: d for d in dues}
    for d in dues:
        for component in Component:
            allocated = allocation.amount_for(d.instalment, component)
            assert allocated <= d.amount(component)
            if (d.dueness, component) not in order.steps:
                assert allocated == 0
    for line in allocation.lines:
        assert line.dueness is by_number[line.instalment].dueness
    if allocation.prepayment:
        # Money is left over only once every step's amounts are fully paid.
        for d in dues:
            for dueness, component in order.steps:
                if d.dueness is dueness:
                    assert allocation.amount_for(d.instalment, component) == d.amount(component)
