"""`lendbridge quote`: print a loan's schedule and APR, as a table or as the API's JSON.

The command is registered on the `lendbridge` group by the CLI module
(`cli.add_command(quote)`). Bad input ends with click's usage error and exit code 2,
never a traceback.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import click

from lendbridge.core.clock import SystemClock, business_date
from lendbridge.core.errors import LendBridgeError
from lendbridge.core.money import Fen, parse_rate
from lendbridge.loans.quote import quote as build_quote
from lendbridge.loans.quote import render_table
from lendbridge.loans.terms import LoanTerms, RepaymentMethod, parse_method


# Callbacks rather than ParamType subclasses: ParamType became generic in newer click
# releases, and a callback type-checks the same on every version setup.cfg allows.
def _rate(ctx: click.Context, param: click.Parameter, value: str) -> Decimal:
    try:
        return parse_rate(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a decimal rate such as 0.06") from None


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


@click.command("quote")
@click.option(
    "--principal", type=int, required=True, metavar="FEN", help="Loan amount in fen (1000000 = ¥10,000.00)."
)
@click.option(
    "--annual-rate",
    type=str,
    callback=_rate,
    required=True,
    metavar="RATE",
    help="Nominal annual interest rate, e.g. 0.06.",
)
@click.option("--term", type=int, required=True, metavar="MONTHS", help="Number of monthly instalments.")
@click.option(
    "--method",
    type=click.Choice([m.value for m in RepaymentMethod]),
    default=RepaymentMethod.EQUAL_INSTALMENT.value,
    show_default=True,
    help="Repayment method.",
)
@click.option(
    "--start-date",
    type=str,
    callback=_iso_date,
    default=None,
    metavar="YYYY-MM-DD",
    help="Start date (default: today, Asia/Shanghai).",
)
@click.option(
    "--monthly-fee-rate",
    type=str,
    callback=_rate,
    default="0",
    metavar="RATE",
    show_default=True,
    help="Monthly fee on the original principal.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the quote as JSON (amounts in fen).")
def quote(
    principal: int,
    annual_rate: Decimal,
    term: int,
    method: str,
    start_date: date | None,
    monthly_fee_rate: Decimal,
    as_json: bool,
) -> None:
    """Show the repayment schedule, totals and APR of a loan."""
    start = start_date or business_date(SystemClock().now())
    try:
        terms = LoanTerms(
            principal=Fen(principal),
            annual_rate=annual_rate,
            term=term,
            start_date=start,
            monthly_fee_rate=monthly_fee_rate,
        )
        data = build_quote(terms, parse_method(method))
    except LendBridgeError as exc:
        if exc.param:
            raise click.BadParameter(exc.detail, param_hint=f"'--{exc.param.replace('_', '-')}'") from None
        raise click.UsageError(exc.detail) from None
    click.echo(json.dumps(data, indent=2) if as_json else render_table(data))
