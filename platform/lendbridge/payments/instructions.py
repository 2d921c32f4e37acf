"""Payment instructions: direction, purpose, the state machine and stable instruction ids.

    pending --submit--> processing --succeed--> succeeded --reverse--> reversed
    pending --defer--> pending              (no channel reachable now; try again later)
    pending | processing | unknown --fail--> failed
    processing --lose_reply--> unknown     (timeout or lost reply: NOT a failure)
    unknown --submit--> processing          (first channel confirmed "not received": failover)
    unknown --succeed--> succeeded          (the query or callback says it was paid)
    processing --submit--> processing       (failover after a confirmed rejection)

`unknown` is the state that keeps payments from being made twice: while an instruction
is in it, nothing may send it to another channel; only the first channel's own answer
(query, close or callback) can move it on.

The instruction id is what the channel dedupes on, so it is derived from stable identity
(loan id + operation + sequence), never minted per attempt: every retry of the same
logical payment carries the same id, on every channel (PEER_LESSONS 10).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from lendbridge.core.errors import IllegalTransition, InvalidParameter


class Direction(StrEnum):
    PAYOUT = "payout"  # custody account -> borrower card / merchant account
    COLLECTION = "collection"  # borrower card -> custody account


class Purpose(StrEnum):
    DISBURSEMENT = "disbursement"
    AUTO_DEBIT = "auto_debit"
    DEBIT_NOW = "debit_now"  # a one-off debit the borrower asked for, under the same mandate
    REFUND = "refund"


PURPOSE_DIRECTION: Mapping[Purpose, Direction] = MappingProxyType(
    {
        Purpose.DISBURSEMENT: Direction.PAYOUT,
        Purpose.AUTO_DEBIT: Direction.COLLECTION,
        Purpose.DEBIT_NOW: Direction.COLLECTION,
        Purpose.REFUND: Direction.PAYOUT,
    }
)


class InstructionState(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    UNKNOWN = "unknown"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REVERSED = "reversed"


class InstructionEvent(StrEnum):
    SUBMIT = "submit"
    DEFER = "defer"
    SUCCEED = "succeed"
    FAIL = "fail"
    LOSE_REPLY = "lose_reply"
    REVERSE = "reverse"


_S, _E = InstructionState, InstructionEvent

TRANSITIONS: Mapping[tuple[InstructionState, InstructionEvent], InstructionState] = MappingProxyType(
    {
        (_S.PENDING, _E.SUBMIT): _S.PROCESSING,
        (_S.PENDING, _E.DEFER): _S.PENDING,
        (_S.PENDING, _E.FAIL): _S.FAILED,
        (_S.PROCESSING, _E.SUBMIT): _S.PROCESSING,
        (_S.PROCESSING, _E.SUCCEED): _S.SUCCEEDED,
        (_S.PROCESSING, _E.FAIL): _S.FAILED,
        (_S.PROCESSING, _E.LOSE_REPLY): _S.UNKNOWN,
        (_S.PROCESSING, _E.DEFER): _S.PENDING,
        (_S.UNKNOWN, _E.SUBMIT): _S.PROCESSING,
        (_S.UNKNOWN, _E.SUCCEED): _S.SUCCEEDED,
        (_S.UNKNOWN, _E.FAIL): _S.FAILED,
        (_S.UNKNOWN, _E.LOSE_REPLY): _S.UNKNOWN,
        (_S.UNKNOWN, _E.DEFER): _S.PENDING,
        (_S.SUCCEEDED, _E.REVERSE): _S.REVERSED,
    }
)

FINAL_STATES = frozenset({InstructionState.FAILED, InstructionState.REVERSED})
# States in which a channel may hold the instruction: only the channel's answer moves it.
OPEN_STATES = frozenset({InstructionState.PROCESSING, InstructionState.UNKNOWN})
# States the resolver (periodic task) picks up.
ACTIVE_STATES = frozenset({InstructionState.PENDING, InstructionState.PROCESSING, InstructionState.UNKNOWN})


def transition(state: InstructionState | str, event: InstructionEvent | str) -> InstructionState:
    """The state after `event`, or IllegalTransition naming both."""
    try:
        return TRANSITIONS[(InstructionState(state), InstructionEvent(event))]
    except (KeyError, ValueError):
        raise IllegalTransition(f"cannot apply '{event}' to a payment in state '{state}'") from None


def can(state: InstructionState | str, event: InstructionEvent | str) -> bool:
    try:
        return (InstructionState(state), InstructionEvent(event)) in TRANSITIONS
    except ValueError:
        return False


ID_LENGTH = 32  # the usual out_trade_no limit of Chinese channels; alphanumeric only


def instruction_id(subject_id: str, operation: str, sequence: int) -> str:
    """The channel-facing id of one logical payment, derived from stable identity.

    Same (subject, operation, sequence) -> same id, on every retry and every channel.
    32 characters of [0-9A-Z], prefixed "LB", so every channel's format accepts it.
    """
    if not subject_id or not operation:
        raise InvalidParameter("an instruction id needs a subject and an operation", param="instruction_id")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise InvalidParameter("the sequence is a positive integer", param="sequence")
    digest = hashlib.sha256(f"{subject_id}|{operation}|{sequence}".encode()).digest()
    return "LB" + base64.b32encode(digest).decode()[: ID_LENGTH - 2]


def disbursement_operation() -> str:
    return Purpose.DISBURSEMENT.value


DEBITS = frozenset({Purpose.AUTO_DEBIT.value, Purpose.DEBIT_NOW.value})
"""Purposes that debit the borrower's card under a mandate and repay the loan."""


def auto_debit_operation(due_date_iso: str) -> str:
    """One auto-debit series per instalment due date; the sequence is the attempt number."""
    return f"{Purpose.AUTO_DEBIT.value}:{due_date_iso}"
