"""Deliveries are queued one task per endpoint and at most BATCH per task."""

from __future__ import annotations

from lendbridge.webhooks.delivery import batches


def test_deliveries_are_grouped_per_endpoint_and_cut_to_size() -> None:
    rows = [(f"d{i}", "we_a" if i % 3 else "we_b") for i in range(10)]
    assert batches(rows, size=4) == [["d0", "d3", "d6", "d9"], ["d1", "d2", "d4", "d5"], ["d7", "d8"]]


def test_nothing_to_queue() -> None:
    assert batches([]) == []
