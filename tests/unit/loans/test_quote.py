"""The quote JSON (what `lendbridge quote --json` and the API print) and its table."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lendbridge.core.money import Fen
from lendbridge.loans.quote import quote, render_table
from lendbridge.loans.terms import LoanTerms, RepaymentMethod

REPO = Path(__file__).resolve().parents[3]
CASES: list[dict[str, Any]] = json.loads(
    (REPO / ".." / "shared" / "vectors" / "loan_schedules.json").read_text()
)["cases"]
START = date(2026, 1, 15)


def terms_of(case: dict[str, Any], **extra: Any) -> LoanTerms:
    return LoanTerms(
        principal=Fen(case["principal"]),
        annual_rate=Decimal(case["annual_rate"]),
        term=case["term"],
        start_date=START,
        monthly_fee_rate=Decimal(case.get("monthly_fee_rate", "0")),
        **extra,
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_quote_json_matches_vector(case: dict[str, Any]) -> None:
    data = quote(terms_of(case), RepaymentMethod(case["method"]))

    assert set(data) == {"instalments", "total_interest", "total_fees", "total_payment", "apr"}
    assert [{k: v for k, v in i.items() if k != "due_date"} for i in data["instalments"]] == case[
        "instalments"
    ]
    assert [i["due_date"] for i in data["instalments"]][:2] == ["2026-02-15", "2026-03-15"]
    totals = (data["total_interest"], data["total_fees"], data["total_payment"])
    assert totals == (case["total_interest"], case["total_fees"], case["total_payment"])
    for key, printed in (("nominal", data["apr"]["nominal"]), ("effective", data["apr"]["effective"])):
        assert len(printed.split(".")[1]) == 10
        assert abs(Decimal(printed) - Decimal(case["apr"][key])) < Decimal("1e-9")
    json.dumps(data)  # plain JSON types only


def test_first_vector_quote_prints_the_documented_apr_strings() -> None:
    data = quote(terms_of(CASES[0]), RepaymentMethod.EQUAL_INSTALMENT)
    assert data["apr"] == {"nominal": "0.0599977060", "effective": "0.0616753885"}


def test_upfront_fee_counts_in_total_fees_and_apr() -> None:
    base = quote(terms_of(CASES[0]), RepaymentMethod.EQUAL_INSTALMENT)
    with_fee = quote(terms_of(CASES[0], upfront_fee=Fen(20_000)), RepaymentMethod.EQUAL_INSTALMENT)

    assert with_fee["total_fees"] == 20_000
    assert with_fee["total_payment"] == base["total_payment"]
    assert Decimal(with_fee["apr"]["nominal"]) > Decimal(base["apr"]["nominal"]) + Decimal("0.03")


def test_table_shows_each_instalment_in_yuan_and_the_totals() -> None:
    table = render_table(quote(terms_of(CASES[0]), RepaymentMethod.EQUAL_INSTALMENT))
    lines = table.splitlines()

    assert lines[0].split() == ["No.", "Due", "date", "Principal", "Interest", "Fee", "Payment", "Remaining"]
    assert lines[2].split() == ["1", "2026-02-15", "810.66", "50.00", "0.00", "860.66", "9,189.34"]
    assert "Total payment:   10,327.96" in table
    assert "APR (nominal):   5.9998 %" in table
    assert "APR (effective): 6.1675 %" in table
