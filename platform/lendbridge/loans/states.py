"""The loan lifecycle as an explicit state machine: named events drive every status change.

    pending_signature --sign--> signed --start_disbursement--> disbursing
    disbursing --disbursement_succeeded--> active
    disbursing --disbursement_failed--> signed        (retry, or cancel)
    active --become_overdue--> overdue --cure--> active
    active | overdue --pay_off--> paid_off
    overdue --charge_off--> charged_off
    pending_signature | signed --cancel--> cancelled

A failed disbursement goes back to `signed` rather than to a failure state: no money has
moved, the contract stands, and the next step is either another attempt (through another
channel) or a cancellation. A loan cannot be cancelled while a disbursement is in flight;
the channel's answer must come first. `paid_off`, `charged_off` and `cancelled` are
final: money recovered after a charge-off is booked as a recovery, the state stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from lendbridge.core.errors import IllegalTransition


class LoanState(StrEnum):
    PENDING_SIGNATURE = "pending_signature"
    SIGNED = "signed"
    DISBURSING = "disbursing"
    ACTIVE = "active"
    OVERDUE = "overdue"
    PAID_OFF = "paid_off"
    CHARGED_OFF = "charged_off"
    CANCELLED = "cancelled"


class LoanEvent(StrEnum):
    SIGN = "sign"
    START_DISBURSEMENT = "start_disbursement"
    DISBURSEMENT_SUCCEEDED = "disbursement_succeeded"
    DISBURSEMENT_FAILED = "disbursement_failed"
    BECOME_OVERDUE = "become_overdue"
    CURE = "cure"
    PAY_OFF = "pay_off"
    CHARGE_OFF = "charge_off"
    CANCEL = "cancel"


_S, _E = LoanState, LoanEvent

TRANSITIONS: Mapping[tuple[LoanState, LoanEvent], LoanState] = MappingProxyType(
    {
        (_S.PENDING_SIGNATURE, _E.SIGN): _S.SIGNED,
        (_S.PENDING_SIGNATURE, _E.CANCEL): _S.CANCELLED,
        (_S.SIGNED, _E.START_DISBURSEMENT): _S.DISBURSING,
        (_S.SIGNED, _E.CANCEL): _S.CANCELLED,
        (_S.DISBURSING, _E.DISBURSEMENT_SUCCEEDED): _S.ACTIVE,
        (_S.DISBURSING, _E.DISBURSEMENT_FAILED): _S.SIGNED,
        (_S.ACTIVE, _E.BECOME_OVERDUE): _S.OVERDUE,
        (_S.ACTIVE, _E.PAY_OFF): _S.PAID_OFF,
        (_S.OVERDUE, _E.CURE): _S.ACTIVE,
        (_S.OVERDUE, _E.PAY_OFF): _S.PAID_OFF,
        (_S.OVERDUE, _E.CHARGE_OFF): _S.CHARGED_OFF,
    }
)

FINAL_STATES = frozenset({LoanState.PAID_OFF, LoanState.CHARGED_OFF, LoanState.CANCELLED})

# States in which the loan is on the books: principal outstanding, accruing, collectable.
BOOKED_STATES = frozenset({LoanState.ACTIVE, LoanState.OVERDUE})


def transition(state: LoanState, event: LoanEvent) -> LoanState:
    """The state after `event`, or IllegalTransition naming both."""
    try:
        return TRANSITIONS[(LoanState(state), LoanEvent(event))]
    except (KeyError, ValueError):
        raise IllegalTransition(f"cannot apply event '{event}' to a loan in state '{state}'") from None


def allowed_events(state: LoanState) -> frozenset[LoanEvent]:
    """The events `state` accepts (empty for final states)."""
    return frozenset(event for (source, event) in TRANSITIONS if source is state)
