"""`lendbridge keys ...`: personal-data key management."""

from __future__ import annotations

import json
from typing import Any

import click


def _app() -> Any:
    from lendbridge.app import create_app
    from lendbridge.config import Settings

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return create_app(settings)


@click.group(help="Personal-data encryption keys.")
def keys() -> None:
    pass


@keys.command("rotate", help="Rotate tenant data keys and re-wrap borrower keys in batches, online.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True)
@click.option("--tenant", "tenants", multiple=True, help="Only this tenant id (repeatable); default all.")
@click.option(
    "--reencrypt",
    is_flag=True,
    help="Also give every borrower a new data key and re-encrypt its fields (suspected key exposure).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report.")
def rotate(batch_size: int, tenants: tuple[str, ...], reencrypt: bool, as_json: bool) -> None:
    from lendbridge.core.errors import LendBridgeError
    from lendbridge.crypto.errors import KeyConfigError
    from lendbridge.identity.services import RotationReport, rotate_keys

    app = _app()
    svc = app.extensions["lendbridge"]

    def progress(report: RotationReport) -> None:
        if not as_json:
            done = report.reencrypted if reencrypt else report.rewrapped
            click.echo(f"  {report.tenant_id}: batch {report.batches}, {done} borrower keys done", err=True)

    try:
        reports = rotate_keys(
            svc.db,
            svc.clock,
            tenant_ids=list(tenants) or None,
            batch_size=batch_size,
            reencrypt_fields=reencrypt,
            on_batch=progress,
        )
    except (KeyConfigError, LendBridgeError) as exc:
        raise click.ClickException(str(exc.__cause__ or exc)) from exc
    finally:
        svc.db.engine.dispose()
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in reports]))
        return
    for r in reports:
        if r.new_key_id is None:
            click.echo(f"{r.tenant_id}: no keys yet, nothing to rotate")
            continue
        verb = f"re-encrypted {r.reencrypted}" if reencrypt else f"re-wrapped {r.rewrapped}"
        click.echo(
            f"{r.tenant_id}: new key {r.new_key_id}, {verb} borrower keys in {r.batches} batches, "
            f"retired {', '.join(r.old_key_ids)} ({r.seconds}s)"
        )
