"""Gang detection: an incremental union-find over shared attributes.

Every application is a node `app:<id>`; each attribute it carries (phone, device, card,
ID, address, contacts, IP, Wi-Fi) is a node `<kind>:<keyed hash>`. Adding an application
unions its node with its attribute nodes, so two applications sharing any attribute end
up in one component. Roots carry the component's aggregates: node count, applications,
known-fraud applications, and a growth window (applications joined since the window
opened). Nothing is recomputed from scratch: each application touches only its own nodes
and their roots, and the store persists them (a table, so it survives restarts).

A joining application is explained attribute by attribute: which of its attributes
already belonged to which component, and what that component held.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol


@dataclass(frozen=True)
class Node:
    key: str
    parent: str  # == key for a root
    size: int = 1  # nodes in the component (meaningful on roots)
    applications: int = 0  # application nodes in the component (roots)
    fraud: int = 0  # known-fraud application nodes in the component (roots)
    window_start: float = 0.0  # growth window of the component (roots)
    window_count: int = 0
    is_fraud: bool = False  # this node itself was reported as fraud

    @property
    def is_root(self) -> bool:
        return self.parent == self.key


class NodeStore(Protocol):
    def get_many(self, keys: Iterable[str]) -> dict[str, Node]: ...

    def put(self, node: Node) -> None: ...


class MemoryNodeStore:
    """A NodeStore in a dict (unit tests; rebuilt per process)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}

    def get_many(self, keys: Iterable[str]) -> dict[str, Node]:
        return {k: self.nodes[k] for k in keys if k in self.nodes}

    def put(self, node: Node) -> None:
        self.nodes[node.key] = node


def find_roots(store: NodeStore, keys: Sequence[str]) -> dict[str, Node]:
    """The root of each existing key, one store round trip per level; compresses paths."""
    existing = store.get_many(keys)
    current = dict(existing)  # key -> node on its path
    paths: dict[str, list[Node]] = {k: [n] for k, n in existing.items()}
    for _ in range(64):
        pending = {k: n.parent for k, n in current.items() if not n.is_root}
        if not pending:
            break
        parents = store.get_many(set(pending.values()))
        for k, parent_key in pending.items():
            current[k] = parents[parent_key]
            paths[k].append(current[k])
    roots = {k: current[k] for k in existing}
    for k, path in paths.items():
        root = roots[k]
        for node in path[:-2]:  # point every non-root ancestor straight at the root
            if node.parent != root.key:
                store.put(replace(node, parent=root.key))
    return roots


@dataclass(frozen=True)
class Link:
    attribute: str  # kind, e.g. "phone"
    component: str  # root key of the component it belonged to before this application
    applications: int
    fraud: int


@dataclass(frozen=True)
class JoinResult:
    root: str
    size: int
    applications: int
    fraud: int
    window_count: int
    links: tuple[Link, ...]  # attributes that linked the application to existing components

    @property
    def joined_known_fraud(self) -> bool:
        return any(link.fraud > 0 for link in self.links)


def _merge(a: Node, b: Node, now: float, window: float) -> tuple[Node, Node]:
    """Union by size; the returned pair is (new root, absorbed node)."""
    big, small = (a, b) if (a.size, a.key) >= (b.size, b.key) else (b, a)
    counts = [
        (n.window_start, n.window_count)
        for n in (big, small)
        if n.window_count and now - n.window_start <= window
    ]
    start = min((s for s, _ in counts), default=now)
    merged = replace(
        big,
        size=big.size + small.size,
        applications=big.applications + small.applications,
        fraud=big.fraud + small.fraud,
        window_start=start,
        window_count=sum(c for _, c in counts),
    )
    return merged, replace(small, parent=big.key)


def attribute_kind(key: str) -> str:
    return key.split(":", 1)[0]


def join(
    store: NodeStore, application_key: str, attributes: Sequence[str], *, now: float, window_seconds: float
) -> JoinResult:
    """Add an application with its attribute keys; return the component it ended in."""
    keys = list(dict.fromkeys([application_key, *attributes]))
    roots = find_roots(store, keys)
    links: list[Link] = []
    seen_components: dict[str, Node] = {}
    for key in attributes:
        root = roots.get(key)
        if root is not None:
            links.append(Link(attribute_kind(key), root.key, root.applications, root.fraud))
            seen_components[root.key] = root
    app_node = roots.get(application_key)
    current = app_node or Node(application_key, application_key, applications=1)
    if app_node is None:
        store.put(current)
    # Fold every component and new attribute node into one root.
    components: dict[str, Node] = {current.key: current}
    components.update(seen_components)
    for key in attributes:
        if key not in roots:
            node = Node(key, key)
            store.put(node)
            components.setdefault(node.key, node)
    ordered = sorted(components.values(), key=lambda n: (-n.size, n.key))
    root = ordered[0]
    for other in ordered[1:]:
        root, absorbed = _merge(root, other, now, window_seconds)
        store.put(absorbed)
    if app_node is None:  # a new application counts towards the growth window
        if not root.window_count or now - root.window_start > window_seconds:
            root = replace(root, window_start=now, window_count=1)
        else:
            root = replace(root, window_count=root.window_count + 1)
    store.put(root)
    return JoinResult(root.key, root.size, root.applications, root.fraud, root.window_count, tuple(links))


def mark_fraud(store: NodeStore, application_key: str) -> Node | None:
    """Record a confirmed fraud application; its whole component becomes known fraud."""
    node = store.get_many([application_key]).get(application_key)
    if node is None or node.is_fraud:
        return None
    root = find_roots(store, [application_key])[application_key]
    if root.key == node.key:
        updated = replace(root, is_fraud=True, fraud=root.fraud + 1)
        store.put(updated)
        return updated
    store.put(replace(node, is_fraud=True))
    updated = replace(root, fraud=root.fraud + 1)
    store.put(updated)
    return updated


def component_summary(links: Sequence[Link]) -> Mapping[str, object]:
    """A JSON-able explanation of what linked an application."""
    return {
        "linked_by": [
            {
                "attribute": link.attribute,
                "component": link.component,
                "applications": link.applications,
                "known_fraud": link.fraud > 0,
            }
            for link in links
        ]
    }
