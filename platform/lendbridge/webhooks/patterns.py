"""Event type patterns: `loan.disbursed` (exact), `loan.*` (a family) or `*` (everything).

Used for an endpoint's `enabled_events` and for the `type` filter of `GET /v1/events`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

WILDCARD = "*"


def matches(pattern: str, event_type: str) -> bool:
    if pattern == WILDCARD:
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def any_matches(patterns: Iterable[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)


def validate(pattern: str, catalogue: Collection[str]) -> str:
    """`pattern` when it names a catalogued type, a catalogued family or `*`; else ValueError."""
    if pattern == WILDCARD or pattern in catalogue:
        return pattern
    if pattern.endswith(".*") and any(t.startswith(pattern[:-1]) for t in catalogue):
        return pattern
    raise ValueError(f"unknown event type {pattern!r}: see the event catalogue")


def prefix(pattern: str) -> str | None:
    """The type prefix a family pattern stands for (`loan.*` -> `loan.`), None otherwise."""
    if pattern == WILDCARD:
        return ""
    if pattern.endswith(".*"):
        return pattern[:-1]
    return None
