"""docs/events.md lists every event type in the catalogue (generated; fails when stale)."""

from __future__ import annotations

import re
from pathlib import Path

from lendbridge.events.catalogue import EVENT_TYPES
from lendbridge.events.reference import END, START, render, replace_section

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_docs_event_catalogue_is_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert replace_section(text, render()) == text, (
        "docs/events.md is stale: run `python -m lendbridge.events.reference docs/events.md`"
    )


def test_every_type_is_documented_once() -> None:
    section = render()
    for name in EVENT_TYPES:
        assert section.count(f"| `{name}` |") == 1


def test_type_names_are_object_dot_verb_and_described() -> None:
    for name, description in EVENT_TYPES.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", name), name
        assert description and description[0].isupper(), name


def test_render_groups_by_object_and_replaces_only_between_markers() -> None:
    section = render({"loan.a": "A | b", "loan.b": "B", "repayment.c": "C"})
    assert section.startswith(START) and section.endswith(END)
    assert section.index("### loan") < section.index("### repayment")
    assert "| `loan.a` | A / b |" in section
    doc = f"intro\n{START}\nold\n{END}\noutro"
    assert replace_section(doc, section) == f"intro\n{section}\noutro"
