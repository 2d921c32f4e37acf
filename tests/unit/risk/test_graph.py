from __future__ import annotations

from lendbridge.risk.graph import MemoryNodeStore, find_roots, join, mark_fraud

DAY = 86_400.0


def test_applications_sharing_an_attribute_join_one_component() -> None:
    store = MemoryNodeStore()
    first = join(store, "app:1", ["phone:p1", "device:d1"], now=0, window_seconds=DAY)
    assert first.applications == 1 and first.links == ()
    second = join(store, "app:2", ["phone:p2", "device:d1"], now=10, window_seconds=DAY)
    assert second.applications == 2
    assert [(link.attribute, link.applications) for link in second.links] == [("device", 1)]
    unrelated = join(store, "app:3", ["phone:p3"], now=20, window_seconds=DAY)
    assert unrelated.applications == 1 and unrelated.root != second.root


def test_a_bridge_application_merges_two_components() -> None:
    store = MemoryNodeStore()
    join(store, "app:1", ["phone:p1"], now=0, window_seconds=DAY)
    join(store, "app:2", ["card:c2"], now=0, window_seconds=DAY)
    bridge = join(store, "app:3", ["phone:p1", "card:c2"], now=0, window_seconds=DAY)
    assert bridge.applications == 3
    assert {link.attribute for link in bridge.links} == {"phone", "card"}
    roots = find_roots(store, ["app:1", "app:2", "app:3"])
    assert len({r.key for r in roots.values()}) == 1


def test_joining_a_component_with_known_fraud_is_explained_by_the_linking_attribute() -> None:
    store = MemoryNodeStore()
    join(store, "app:f", ["phone:p1", "device:d1"], now=0, window_seconds=DAY)
    join(store, "app:g", ["device:d1", "card:c9"], now=0, window_seconds=DAY)
    assert mark_fraud(store, "app:f") is not None
    assert mark_fraud(store, "app:f") is None  # reporting twice changes nothing
    newcomer = join(store, "app:n", ["card:c9", "phone:p7"], now=5, window_seconds=DAY)
    assert newcomer.joined_known_fraud
    assert newcomer.fraud == 1
    assert [link.attribute for link in newcomer.links if link.fraud] == ["card"]


def test_growth_counts_applications_joining_within_the_window() -> None:
    store = MemoryNodeStore()
    for n in range(5):
        result = join(store, f"app:{n}", ["ip:shared"], now=n * 60, window_seconds=3600)
    assert result.window_count == 5
    later = join(store, "app:late", ["ip:shared"], now=5 * 3600, window_seconds=3600)
    assert later.window_count == 1  # the window restarted
    assert later.applications == 6


def test_deciding_the_same_application_again_does_not_count_it_twice() -> None:
    store = MemoryNodeStore()
    join(store, "app:1", ["phone:p1"], now=0, window_seconds=DAY)
    again = join(store, "app:1", ["phone:p1"], now=1, window_seconds=DAY)
    assert again.applications == 1 and again.window_count == 1


def test_paths_are_compressed_so_finds_stay_short() -> None:
    store = MemoryNodeStore()
    for n in range(30):
        join(store, f"app:{n}", [f"phone:{n}", f"phone:{n + 1}"], now=0, window_seconds=DAY)
    root = find_roots(store, ["phone:0"])["phone:0"]
    find_roots(store, [f"phone:{n}" for n in range(31)])
    for n in range(31):
        assert store.nodes[f"phone:{n}"].parent in (root.key, f"phone:{n}")
    assert root.applications == 30
