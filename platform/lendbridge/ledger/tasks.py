"""Ledger tasks: the hourly rollup that keeps the trial balance from reading every line."""

from __future__ import annotations

import logging

from flask import current_app

from lendbridge.ledger import rollups
from lendbridge.tasks import task

log = logging.getLogger("lendbridge.ledger")


@task("ledger.roll_up", every=3600.0)
def roll_up() -> None:
    """Add the journal entries older than an hour (by the wall clock, like their ids) to the
    per book, date and account totals."""
    added = rollups.roll_up(current_app.extensions["lendbridge"].db)
    if added:
        log.info("rolled up %d journal entries", added)
