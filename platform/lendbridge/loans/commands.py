"""`lendbridge cob ...` and `lendbridge ledger ...`: run the close of business, check the books.

Heavy imports happen inside the commands so `lendbridge --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click


def _app() -> Any:
    from lendbridge.app import create_app
    from lendbridge.config import Settings

    try:
        return create_app(Settings.from_env())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


@click.group(help="Close of business (daily accrual and ageing of the loan book).")
def cob() -> None:
    pass


@cob.command("run", help="Close one business date (default: every date not closed yet, up to yesterday).")
@click.option("--date", "day", callback=_day, metavar="YYYY-MM-DD", help="The business date to close.")
@click.option("--test-clock", default=None, help="Close the date for one sandbox test clock's loans only.")
@click.option("--batch", type=click.IntRange(1, 100_000), default=10_000, show_default=True)
def cob_run(day: date | None, test_clock: str | None, batch: int) -> None:
    from lendbridge.core.clock import business_date
    from lendbridge.loans import cob as cob_module

    app = _app()
    svc = app.extensions["lendbridge"]
    with app.app_context():
        if day is None:
            reports = cob_module.tick(svc.db, business_date(svc.clock.now()))
        else:
            reports = [cob_module.run_cob(svc.db, day, test_clock_id=test_clock, batch_size=batch)]
    for report in reports:
        click.echo(json.dumps(cob_module.describe(report)))
    if not reports:
        click.echo("nothing to close")


@click.group(help="Institution ledgers.")
def ledger() -> None:
    pass


@ledger.command("verify", help="Recompute every ledger hash chain and count unbalanced entries.")
def ledger_verify() -> None:
    from lendbridge.ledger import services

    app = _app()
    with app.extensions["lendbridge"].db.snapshot() as session:
        reports = services.verify(session)
        unbalanced = services.unbalanced_entries(session)
    broken = [r for r in reports if not r.ok]
    for r in broken:
        click.echo(f"BROKEN {r.chain}: {r.problem}")
    click.echo(
        f"{len(reports)} chains, {sum(r.entries for r in reports)} entries, {len(broken)} broken, "
        f"{unbalanced} unbalanced"
    )
    if broken or unbalanced:
        sys.exit(1)


@ledger.command("trial-balance", help="Print an institution's trial balance as of a business date.")
@click.argument("institution")
@click.option("--as-of", callback=_day, metavar="YYYY-MM-DD")
@click.option("--live", is_flag=True, help="The live books (default: test mode).")
def ledger_trial_balance(institution: str, as_of: date | None, live: bool) -> None:
    from lendbridge.core.clock import business_date
    from lendbridge.ledger import services
    from lendbridge.ledger.schemas import trial_balance_body

    app = _app()
    svc = app.extensions["lendbridge"]
    with svc.db.snapshot() as session:
        tb = services.trial_balance(session, institution, live, as_of or business_date(svc.clock.now()))
    click.echo(json.dumps(trial_balance_body(tb), indent=2))
