"""Instruction states and stable instruction ids."""

from __future__ import annotations

import pytest

from lendbridge.core.errors import IllegalTransition, InvalidParameter
from lendbridge.payments.instructions import (
    FINAL_STATES,
    TRANSITIONS,
    InstructionEvent,
    InstructionState,
    auto_debit_operation,
    can,
    instruction_id,
    transition,
)

S, E = InstructionState, InstructionEvent


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [
        (S.PENDING, E.SUBMIT, S.PROCESSING),
        (S.PROCESSING, E.SUCCEED, S.SUCCEEDED),
        (S.PROCESSING, E.FAIL, S.FAILED),
        (S.PROCESSING, E.LOSE_REPLY, S.UNKNOWN),
        (S.UNKNOWN, E.SUCCEED, S.SUCCEEDED),
        (S.UNKNOWN, E.SUBMIT, S.PROCESSING),
        (S.SUCCEEDED, E.REVERSE, S.REVERSED),
        (S.PENDING, E.DEFER, S.PENDING),
    ],
)
def test_allowed_transitions(
    state: InstructionState, event: InstructionEvent, after: InstructionState
) -> None:
    assert transition(state, event) is after


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.SUCCEEDED, E.FAIL),
        (S.FAILED, E.SUBMIT),
        (S.REVERSED, E.SUCCEED),
        (S.PENDING, E.SUCCEED),  # nothing was sent: it cannot have succeeded
        (S.PENDING, E.LOSE_REPLY),
        (S.SUCCEEDED, E.SUBMIT),
    ],
)
def test_illegal_transitions_raise(state: InstructionState, event: InstructionEvent) -> None:
    assert not can(state, event)
    with pytest.raises(IllegalTransition):
        transition(state, event)


def test_final_states_accept_nothing() -> None:
    for state, _event in TRANSITIONS:
        assert state not in FINAL_STATES


def test_unknown_names_are_illegal_not_crashes() -> None:
    assert not can("nonsense", "submit")
    with pytest.raises(IllegalTransition):
        transition("pending", "explode")


def test_instruction_id_is_stable_and_fits_every_channel() -> None:
    a = instruction_id("loan_01JD3Q8Z6S0M4W2C7V9E5K1T3P", "disbursement", 1)
    assert a == instruction_id("loan_01JD3Q8Z6S0M4W2C7V9E5K1T3P", "disbursement", 1)
    assert len(a) == 32 and a.isalnum() and a.startswith("LB") and a.upper() == a


def test_instruction_id_changes_with_operation_sequence_and_subject() -> None:
    base = instruction_id("loan_A", "disbursement", 1)
    others = {
        instruction_id("loan_A", "disbursement", 2),
        instruction_id("loan_A", auto_debit_operation("2026-12-01"), 1),
        instruction_id("loan_B", "disbursement", 1),
    }
    assert base not in others and len(others) == 3


@pytest.mark.parametrize(
    ("subject", "op", "seq"), [("", "x", 1), ("loan", "", 1), ("loan", "x", 0), ("loan", "x", True)]
)
def test_instruction_id_refuses_unstable_input(subject: str, op: str, seq: int) -> None:
    with pytest.raises(InvalidParameter):
        instruction_id(subject, op, seq)
