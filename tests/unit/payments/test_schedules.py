"""Auto-debit retry dates and re-query backoff."""

from __future__ import annotations

from datetime import date

import pytest

from lendbridge.payments.schedules import RequeryPolicy, attempt_due_on, auto_debit_date, next_auto_debit

DUE = date(2026, 12, 10)


def test_first_attempt_on_the_due_date_then_plus_one_and_plus_three_days() -> None:
    assert [auto_debit_date(DUE, n) for n in (1, 2, 3)] == [DUE, date(2026, 12, 11), date(2026, 12, 13)]
    assert auto_debit_date(DUE, 4) is None


def test_next_attempt_after_a_failure() -> None:
    assert next_auto_debit(DUE, 1) == (2, date(2026, 12, 11))
    assert next_auto_debit(DUE, 2) == (3, date(2026, 12, 13))
    assert next_auto_debit(DUE, 3) is None


def test_which_attempt_falls_on_a_date() -> None:
    assert attempt_due_on(DUE, DUE) == 1
    assert attempt_due_on(DUE, date(2026, 12, 13)) == 3
    assert attempt_due_on(DUE, date(2026, 12, 12)) is None


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError):
        auto_debit_date(DUE, 0)


def test_requery_backoff_doubles_up_to_a_cap_and_then_goes_to_people() -> None:
    p = RequeryPolicy(first_delay=2, factor=2, max_delay=30, max_checks=6)
    assert [p.delay(i) for i in range(6)] == [2, 4, 8, 16, 30, 30]
    assert not p.exhausted(5) and p.exhausted(6)
    assert p.total_wait() == 90
