"""The event catalogue section of docs/events.md, generated from catalogue.py.

    python -m lendbridge.events.reference docs/events.md   # rewrite the section in place

A unit test fails when the committed document differs from what this renders, so a new
event type cannot ship undocumented.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from lendbridge.events.catalogue import EVENT_TYPES

START = "<!-- catalogue:start - generated from platform/lendbridge/events/catalogue.py; do not edit -->"
END = "<!-- catalogue:end -->"


def render(types: Mapping[str, str] = EVENT_TYPES) -> str:
    """Markdown tables of every event type, grouped by object, in catalogue order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, description in types.items():
        groups.setdefault(name.split(".", 1)[0], []).append((name, description))
    lines = [START, ""]
    for group, entries in groups.items():
        lines += [f"### {group}", "", "| type | when |", "|---|---|"]
        lines += [f"| `{name}` | {description.replace('|', '/')} |" for name, description in entries]
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def replace_section(document: str, section: str) -> str:
    """`document` with the text between the markers (inclusive) replaced by `section`."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError("the document has no catalogue markers")
    return document[:start] + section + document[end + len(END) :]


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/events.md")
    path.write_text(replace_section(path.read_text(encoding="utf-8"), render()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
