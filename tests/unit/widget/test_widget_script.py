"""The widget script: small, and written so that a strict Content-Security-Policy holds."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

WIDGET = Path(__file__).resolve().parents[3] / "widgets" / "lendbridge-checkout.js"
SOURCE = WIDGET.read_text(encoding="utf-8")
LIMIT = 30 * 1024


def test_the_widget_is_at_most_30_kb_gzipped() -> None:
    size = len(gzip.compress(SOURCE.encode(), 9))
    assert size <= LIMIT, f"{size} bytes gzipped"


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"\beval\s*\(", "eval needs 'unsafe-eval'"),
        (r"new\s+Function\s*\(", "the Function constructor needs 'unsafe-eval'"),
        (r"set(Timeout|Interval)\(\s*['\"`]", "string timers are eval"),
        (r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write", "markup from strings (XSS, CSP)"),
        (r"setAttribute\(\s*['\"]style['\"]|\.style\.|cssText", "style attributes need 'unsafe-inline'"),
        (r"setAttribute\(\s*['\"]on[a-z]+['\"]", "inline event handlers need 'unsafe-inline'"),
        (r"\bsk_(test|live)_", "a secret key must never appear in the widget"),
        (r"localStorage|sessionStorage|document\.cookie", "the widget keeps nothing in the browser"),
    ],
)
def test_the_widget_uses_nothing_a_strict_csp_blocks(pattern: str, why: str) -> None:
    assert not re.search(pattern, SOURCE), why


def test_styles_go_through_a_constructable_stylesheet() -> None:
    assert "new CSSStyleSheet()" in SOURCE and "adoptedStyleSheets" in SOURCE


def test_every_event_the_host_page_can_listen_to_bubbles_out_of_the_shadow_root() -> None:
    assert re.search(r"bubbles: true, composed: true", SOURCE)
    for name in ("approved", "declined", "review", "signed", "closed"):
        assert f"'{name}'" in SOURCE, name


def test_both_languages_have_the_same_messages() -> None:
    def keys(block: str) -> set[str]:
        return set(re.findall(r"^\s+([a-z_][a-zA-Z_0-9]*):", block, re.M)) | set(
            re.findall(r"[{,]\s*([a-z_][a-zA-Z_0-9]*):", block)
        )

    zh = SOURCE[SOURCE.index("const ZH = {") : SOURCE.index("const EN = {")]
    en = SOURCE[SOURCE.index("const EN = {") : SOURCE.index("const TEXTS")]
    assert keys(zh) == keys(en)
