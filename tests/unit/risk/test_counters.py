from __future__ import annotations

from lendbridge.risk.counters import MemoryCounterStore


def test_members_are_counted_once_within_the_window() -> None:
    store = MemoryCounterStore()
    assert store.add_and_count("dev:1", "brw_a", 1000.0, 60) == 1
    assert store.add_and_count("dev:1", "brw_a", 1001.0, 60) == 1
    assert store.add_and_count("dev:1", "brw_b", 1002.0, 60) == 2
    assert store.add_and_count("dev:2", "brw_c", 1002.0, 60) == 1


def test_members_older_than_the_window_drop_out() -> None:
    store = MemoryCounterStore()
    store.add_and_count("ip:1", "a", 0.0, 10)
    store.add_and_count("ip:1", "b", 5.0, 10)
    assert store.add_and_count("ip:1", "c", 10.0, 10) == 2  # "a" seen at 0 is exactly 10 s old
    assert store.add_and_count("ip:1", "d", 16.0, 10) == 2  # "b" expired too
