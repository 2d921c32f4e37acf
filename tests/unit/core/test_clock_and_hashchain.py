from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from lendbridge.core.clock import FrozenClock, business_date, from_unix, start_of_business_day, to_unix
from lendbridge.core.hashchain import GENESIS, canonical_json, link_hash, sm3_hex
from tests.conftest import load_vectors


def test_business_date_is_shanghai_calendar_date() -> None:
    # 16:30 UTC is 00:30 the next day in Shanghai.
    assert business_date(datetime(2026, 1, 31, 16, 30, tzinfo=UTC)) == date(2026, 2, 1)
    assert start_of_business_day(date(2026, 2, 1)) == datetime(2026, 1, 31, 16, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        business_date(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))  # noqa: DTZ001


def test_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(days=31))
    assert clock.now() == datetime(2026, 2, 1, tzinfo=UTC)
    assert from_unix(to_unix(clock.now())) == clock.now()


def test_sm3_matches_the_published_vectors() -> None:
    for case in load_vectors("sm3.json")["cases"]:
        if case["kind"] == "sm3":
            assert sm3_hex(bytes.fromhex(case["message_hex"])) == case["digest"]


def test_canonical_json_ignores_key_order() -> None:
    assert canonical_json({"b": 1, "a": "甲"}) == canonical_json({"a": "甲", "b": 1})


def test_changing_any_record_changes_the_link() -> None:
    first = link_hash(GENESIS, {"n": 1})
    assert link_hash(first, {"n": 2}) != link_hash(first, {"n": 3})
    assert link_hash(GENESIS, {"n": 1}) == first
