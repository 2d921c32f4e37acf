"""The reason-code catalogue is complete, bilingual, and docs/risk.md shows it verbatim."""

from __future__ import annotations

import re
from pathlib import Path

from lendbridge.risk import rules
from lendbridge.risk.reasons import CATALOGUE, markdown_table

REPO = Path(__file__).resolve().parents[3]
RISK = REPO / "platform" / "lendbridge" / "risk"
BRIEF_CODES = (
    "fraud_device_shared fraud_ip_burst fraud_odd_hours_bulk fraud_velocity fraud_blacklist fraud_ring "
    "identity_mismatch kyc_not_verified consent_missing bureau_unavailable bureau_delinquency "
    "score_below_min dti_too_high no_eligible_product amount_above_limit age_out_of_range region_not_served"
).split()


def test_every_documented_code_is_in_the_catalogue_with_both_languages() -> None:
    for code in BRIEF_CODES:
        assert code in CATALOGUE
    for reason in CATALOGUE.values():
        assert reason.en and reason.zh and re.search(r"[\u4e00-\u9fff]", reason.zh)


def test_every_code_the_pipeline_can_emit_is_catalogued() -> None:
    emitted: set[str] = set()
    for name in ("decision.py", "matching.py", "pricing.py", "services.py"):
        text = (RISK / name).read_text()
        emitted |= set(re.findall(r'add\(\s*"([a-z_]+)"', text))
        emitted |= set(re.findall(r'check\(\s*[^,]+,\s*"([a-z_]+)"', text))
        emitted |= set(re.findall(r'NotPriced\(\s*\w+,\s*"([a-z_]+)"', text))
        emitted |= set(re.findall(r'Hit\(\s*"[a-z_]+",\s*"([a-z_]+)"', text))
        emitted |= set(re.findall(r'"(review_(?:approved|declined))"', text))
    emitted |= {r.code for r in rules.DEFAULT_RULE_SET.rules}
    assert len(emitted) > 20
    assert emitted - set(CATALOGUE) == set()


def test_docs_show_the_catalogue_generated_from_code() -> None:
    docs = (REPO / "docs" / "risk.md").read_text()
    start = docs.index("<!-- reason-codes:start -->") + len("<!-- reason-codes:start -->")
    end = docs.index("<!-- reason-codes:end -->")
    assert docs[start:end].strip() == markdown_table(), "regenerate: python -m lendbridge.risk.reasons"
