"""The `lendbridge` command line."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from lendbridge.config import Settings
from lendbridge.identity.cli import keys
from lendbridge.loans.cli import quote
from lendbridge.loans.commands import cob, ledger
from lendbridge.risk.cli import risk


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _app(settings: Settings | None = None) -> Any:
    from lendbridge.app import create_app

    return create_app(settings or _settings())


@click.group(help="LendBridge: partner-embedded lending platform.")
@click.version_option(package_name="lendbridge")
def main() -> None:
    pass


# -- database -----------------------------------------------------------------------------
@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply all migrations (SQLite or PostgreSQL).")
def db_upgrade() -> None:
    from lendbridge.db import make_engine
    from lendbridge.migrate import current, upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    click.echo(f"database at revision {current(engine)}")


@db.command("revision", help="Autogenerate a migration from the models (developers).")
@click.option("-m", "--message", required=True)
@click.option("--head", default="head", show_default=True, help="Parent revision, e.g. 'events@head'.")
@click.option("--branch", default=None, help="Start a new branch label for an area.")
def db_revision(message: str, head: str, branch: str | None) -> None:
    from lendbridge.db import make_engine
    from lendbridge.migrate import revision

    revision(make_engine(_settings().database_url), message, head=head, branch=branch)


# -- running ------------------------------------------------------------------------------
def _serve(settings: Settings, host: str, port: int, workers: int | None) -> None:
    app = _app(settings)
    if settings.embedded:
        if settings.run_scheduler:
            app.extensions["lendbridge"].tasks.start_scheduler()
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
        return
    from lendbridge.wsgi_server import run_gunicorn

    run_gunicorn(app, host, port, workers or (os.cpu_count() or 1) * 2 + 1)


@main.command(help="Serve the API: the Flask server when embedded, gunicorn in production.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=int, help="gunicorn workers (production mode)")
def serve(host: str, port: int, workers: int | None) -> None:
    _serve(_settings(), host, port, workers)


@main.command(help="Celery worker with beat (production mode).")
@click.option("--concurrency", type=int, default=None)
def worker(concurrency: int | None) -> None:
    app = _app()
    runner = app.extensions["lendbridge"].tasks
    celery = getattr(runner, "celery", None)
    if celery is None:
        raise click.ClickException("LENDBRIDGE_TASKS=celery and LENDBRIDGE_REDIS_URL are needed for a worker")
    argv = ["worker", "--beat", "--loglevel=INFO"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    celery.worker_main(argv)


# -- demo and sandbox ---------------------------------------------------------------------
@main.group(help="Demo data.")
def demo() -> None:
    pass


@demo.command("seed", help="Create demo tenants and print their test keys.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the keys.")
@click.option("--borrowers", type=click.IntRange(0, 100_000), default=0, help="Also create N demo borrowers.")
def demo_seed(as_json: bool, borrowers: int) -> None:
    from lendbridge_sandbox.demo import seed

    app = _app()
    with app.app_context():
        keys = seed(app, borrowers=borrowers)
    if as_json:
        click.echo(json.dumps(keys, ensure_ascii=False))
    else:
        _print_keys(keys)


def _print_keys(keys: dict[str, Any]) -> None:
    for role, values in keys.items():
        if isinstance(values, dict):
            for name, value in values.items():
                if name in ("secret_key", "publishable_key"):
                    click.echo(f"  {role:<14} {name:<16} {value}")


@main.group(invoke_without_command=True, help="Run the whole platform locally with demo data.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--site-port", default=None, type=int, help="Port of the demo partner site (default: port + 100)."
)
@click.pass_context
def sandbox(ctx: click.Context, host: str, port: int, site_port: int | None) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from lendbridge.db import make_engine
    from lendbridge.migrate import upgrade
    from lendbridge_sandbox.demo import seed, start_partner_site

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(make_engine(settings.database_url))
    app = _app(settings)
    with app.app_context():
        keys = seed(app)
    base = f"http://{host}:{port}"
    site = start_partner_site(app, keys, base, host, site_port or port + 100)
    click.echo("")
    click.echo("LendBridge sandbox is running")
    click.echo(f"  API               {base}/v1")
    click.echo(f"  API reference     {base}/docs")
    click.echo(f"  OpenAPI           {base}/v1/openapi.json")
    click.echo(f"  demo course page  {site}/  (EduLink: pay for a course in 12 instalments)")
    click.echo(f"  data dir          {settings.data_dir}")
    click.echo("  test keys:")
    _print_keys(keys)
    click.echo("")
    click.echo(f"Try: curl -H 'Authorization: Bearer {keys['partner']['secret_key']}' {base}/v1/account")
    click.echo("Quickstart: docs/quickstart.md; sandbox guide (test clocks, magic values): docs/sandbox.md")
    sys.stdout.flush()
    _serve(settings, host, port, None)


@sandbox.command("reset", help="Delete all test-mode data (live data is untouched).")
@click.confirmation_option(prompt="Delete all test-mode data?")
def sandbox_reset() -> None:
    from lendbridge_sandbox.demo import reset_test_data

    app = _app()
    with app.app_context():
        counts = reset_test_data(app)
    click.echo(json.dumps(counts))


# -- audit --------------------------------------------------------------------------------
@main.group(help="Audit log.")
def audit() -> None:
    pass


@audit.command("verify", help="Recompute every hash chain of the audit log.")
def audit_verify() -> None:
    from lendbridge.audit.service import verify

    app = _app()
    with app.extensions["lendbridge"].db.snapshot() as session:
        reports = verify(session)
    broken = [r for r in reports if not r.ok]
    total = sum(r.records for r in reports)
    for r in broken:
        click.echo(f"BROKEN {r.chain}: {r.problem}")
    click.echo(f"{len(reports)} chains, {total} records, {len(broken)} broken")
    if broken:
        sys.exit(1)


main.add_command(quote)
main.add_command(cob)
main.add_command(ledger)
main.add_command(keys)
main.add_command(risk)
