from __future__ import annotations

import time

import pytest

from lendbridge.core.ids import PREFIXES, is_id, new_id, ulid


def test_new_id_carries_its_type_prefix() -> None:
    assert new_id("loan").startswith("loan_")
    assert is_id(new_id("brw"), "brw")
    assert not is_id(new_id("brw"), "loan")


def test_ids_sort_by_creation_time() -> None:
    earlier = ulid(now_ms=1_700_000_000_000)
    later = ulid(now_ms=1_700_000_000_001)
    assert earlier < later
    first = new_id("evt")
    time.sleep(0.002)
    assert first < new_id("evt")


def test_ids_of_one_process_increase_strictly_within_a_millisecond() -> None:
    ids = [new_id("evt") for _ in range(5_000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_ids_are_unique() -> None:
    assert len({new_id("req") for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize("bad", ["", "LOAN", "a", "loan_x", "toolongprefix"])
def test_bad_prefix_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        new_id(bad)


@pytest.mark.parametrize(
    "value", [None, 12, "loan_", "loan_01M898P1A4X47WEA38CNCA1F0", "loan_01m898p1a4x47wea38cnca1f0e"]
)
def test_is_id_rejects_malformed_values(value: object) -> None:
    assert not is_id(value)


def test_every_registered_prefix_is_valid() -> None:
    for prefix in PREFIXES.values():
        assert is_id(new_id(prefix), prefix)
