"""What to do with each channel error code: retry, fail over, or stop (PEER_LESSONS 9).

One explicit table. A code that is not in it is final: only what is marked retryable is
retried, and only what the channel says it did not execute is sent elsewhere.

- RETRY: the channel did not take it and a second try on the same channel may work
  (busy, rate limited). After the retries run out it becomes FAILOVER.
- FAILOVER: the channel did not and will not execute it, for a reason another channel
  does not share (unavailable, limits, bank not supported). Send it to the next channel.
- FINAL: no channel will do better (insufficient funds, invalid or frozen account).

Transport outcomes are not codes: "unreachable" (never delivered) fails over at once;
"timeout" means the outcome is unknown and goes through query/close first (engine.py).
`channel_fault` says which codes count against the channel's health and circuit breaker:
business refusals mean the channel works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Action(StrEnum):
    RETRY = "retry"
    FAILOVER = "failover"
    FINAL = "final"


@dataclass(frozen=True)
class CodeRule:
    action: Action
    channel_fault: bool
    description: str


_R = CodeRule
CODES: Mapping[str, CodeRule] = MappingProxyType(
    {
        # the channel itself
        "system_unavailable": _R(Action.FAILOVER, True, "channel down or in maintenance"),
        "system_error": _R(Action.FAILOVER, True, "channel internal error before acceptance"),
        "channel_busy": _R(Action.RETRY, True, "channel overloaded; try again shortly"),
        "rate_limited": _R(Action.RETRY, True, "too many requests to the channel"),
        # limits and coverage of this channel
        "amount_limit_exceeded": _R(Action.FAILOVER, False, "over this channel's per-transaction max"),
        "daily_limit_exceeded": _R(Action.FAILOVER, False, "over this channel's daily max"),
        "bank_not_supported": _R(Action.FAILOVER, False, "this channel does not reach the bank"),
        "direction_not_supported": _R(Action.FAILOVER, False, "this channel does not do this direction"),
        # the payment itself: another channel would fail the same way
        "insufficient_funds": _R(Action.FINAL, False, "the account to debit has too little money"),
        "invalid_account": _R(Action.FINAL, False, "account number unknown or closed"),
        "account_frozen": _R(Action.FINAL, False, "account frozen by the bank"),
        "name_mismatch": _R(Action.FINAL, False, "holder name does not match the account"),
        "mandate_missing": _R(Action.FINAL, False, "no debit authorisation for this card"),
        "risk_rejected": _R(Action.FINAL, False, "refused by the channel's risk control"),
        "format_error": _R(Action.FINAL, False, "the instruction is malformed"),
        "channel_timeout": _R(Action.FINAL, False, "no channel could confirm execution in time"),
    }
)

FINAL_RULE = CodeRule(Action.FINAL, False, "unmapped code: never retried automatically")


def rule(code: str | None) -> CodeRule:
    """The rule for `code`; unmapped codes are final (and reported as such)."""
    if code is None:
        return FINAL_RULE
    return CODES.get(code, FINAL_RULE)


def action(code: str | None) -> Action:
    return rule(code).action


def is_channel_fault(code: str | None) -> bool:
    return rule(code).channel_fault
