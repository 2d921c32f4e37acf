"""The loan state machine: named events, illegal transitions refused."""

from __future__ import annotations

import pytest

from lendbridge.core.errors import IllegalTransition
from lendbridge.loans.states import (
    FINAL_STATES,
    TRANSITIONS,
    LoanEvent,
    LoanState,
    allowed_events,
    transition,
)

S, E = LoanState, LoanEvent


def run(*events: LoanEvent, start: LoanState = S.PENDING_SIGNATURE) -> LoanState:
    state = start
    for event in events:
        state = transition(state, event)
    return state


def test_happy_path_from_signature_to_paid_off() -> None:
    assert (
        run(E.SIGN, E.START_DISBURSEMENT, E.DISBURSEMENT_SUCCEEDED, E.BECOME_OVERDUE, E.CURE, E.PAY_OFF)
        is S.PAID_OFF
    )


def test_failed_disbursement_returns_to_signed_for_a_retry_or_cancellation() -> None:
    assert run(E.SIGN, E.START_DISBURSEMENT, E.DISBURSEMENT_FAILED) is S.SIGNED
    assert run(E.SIGN, E.START_DISBURSEMENT, E.DISBURSEMENT_FAILED, E.START_DISBURSEMENT) is S.DISBURSING
    assert run(E.SIGN, E.START_DISBURSEMENT, E.DISBURSEMENT_FAILED, E.CANCEL) is S.CANCELLED


def test_overdue_loans_can_be_paid_off_or_charged_off() -> None:
    assert transition(S.OVERDUE, E.PAY_OFF) is S.PAID_OFF
    assert transition(S.OVERDUE, E.CHARGE_OFF) is S.CHARGED_OFF


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.DISBURSING, E.CANCEL),
        (S.ACTIVE, E.CHARGE_OFF),
        (S.ACTIVE, E.CANCEL),
        (S.PENDING_SIGNATURE, E.START_DISBURSEMENT),
        (S.PAID_OFF, E.BECOME_OVERDUE),
    ],
)
def test_illegal_transition_names_the_state_and_the_event(state: LoanState, event: LoanEvent) -> None:
    with pytest.raises(IllegalTransition) as raised:
        transition(state, event)
    assert state.value in raised.value.detail
    assert event.value in raised.value.detail
    assert raised.value.status == 409


@pytest.mark.parametrize("state", list(LoanState))
@pytest.mark.parametrize("event", list(LoanEvent))
def test_every_pair_outside_the_table_is_refused(state: LoanState, event: LoanEvent) -> None:
    if (state, event) in TRANSITIONS:
        assert transition(state, event) is TRANSITIONS[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            transition(state, event)


def test_final_states_accept_no_events() -> None:
    assert FINAL_STATES == {S.PAID_OFF, S.CHARGED_OFF, S.CANCELLED}
    for state in FINAL_STATES:
        assert allowed_events(state) == frozenset()
    assert allowed_events(S.SIGNED) == {E.START_DISBURSEMENT, E.CANCEL}


def test_unknown_names_are_illegal_not_crashes() -> None:
    with pytest.raises(IllegalTransition):
        transition("active", "explode")  # type: ignore[arg-type]
    assert transition("active", "pay_off") is S.PAID_OFF  # type: ignore[arg-type]
