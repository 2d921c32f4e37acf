"""`lendbridge quote` through click's CliRunner."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from lendbridge.core.clock import SystemClock, business_date
from lendbridge.core.money import Fen
from lendbridge.loans.cli import quote as quote_command
from lendbridge.loans.quote import quote
from lendbridge.loans.schedules import add_months
from lendbridge.loans.terms import LoanTerms, RepaymentMethod

BASE = ["--principal", "1000000", "--annual-rate", "0.06", "--term", "12"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(quote_command, list(args))
    return result.exit_code, result.output


def test_json_output_is_the_quote() -> None:
    code, output = invoke(*BASE, "--method", "equal_instalment", "--start-date", "2026-01-15", "--json")
    terms = LoanTerms(
        principal=Fen(1_000_000), annual_rate=Decimal("0.06"), term=12, start_date=date(2026, 1, 15)
    )

    assert code == 0
    assert json.loads(output) == quote(terms, RepaymentMethod.EQUAL_INSTALMENT)


def test_monthly_fee_rate_option_reaches_the_schedule() -> None:
    code, output = invoke(
        *("--principal", "1000000", "--annual-rate", "0", "--term", "12", "--method", "equal_principal"),
        *("--monthly-fee-rate", "0.005", "--start-date", "2026-01-15", "--json"),
    )
    data = json.loads(output)
    assert code == 0
    assert data["total_fees"] == 60_000
    assert data["apr"]["nominal"].startswith("0.10896")


def test_table_is_the_default_output() -> None:
    code, output = invoke(*BASE, "--start-date", "2026-01-15")
    assert code == 0
    assert "2027-01-15" in output
    assert "APR (nominal):   5.9998 %" in output


def test_start_date_defaults_to_today_in_shanghai() -> None:
    today = business_date(SystemClock().now())
    code, output = invoke(*BASE, "--term", "1", "--json")
    assert code == 0
    assert json.loads(output)["instalments"][0]["due_date"] == add_months(today, 1).isoformat()


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--principal", "0", "--annual-rate", "0.06", "--term", "12"], "--principal"),
        (["--principal", "abc", "--annual-rate", "0.06", "--term", "12"], "--principal"),
        (["--principal", "100000", "--annual-rate", "six", "--term", "12"], "--annual-rate"),
        (["--principal", "100000", "--annual-rate", "-0.01", "--term", "12"], "--annual-rate"),
        (["--principal", "100000", "--annual-rate", "0.06", "--term", "0"], "--term"),
        (
            ["--principal", "100000", "--annual-rate", "0.06", "--term", "12", "--method", "balloon"],
            "--method",
        ),
        (
            ["--principal", "100000", "--annual-rate", "0.06", "--term", "12", "--start-date", "15/01/2026"],
            "--start-date",
        ),
        (
            ["--principal", "100000", "--annual-rate", "0.06", "--term", "12", "--monthly-fee-rate", "x"],
            "--monthly-fee-rate",
        ),
        (["--annual-rate", "0.06", "--term", "12"], "--principal"),
    ],
)
def test_bad_input_is_a_usage_error_not_a_traceback(args: list[str], mentions: str) -> None:
    result = CliRunner().invoke(quote_command, args)

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert mentions in result.output
    assert isinstance(result.exception, SystemExit)
