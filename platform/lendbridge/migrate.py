"""Running Alembic migrations programmatically (`lendbridge db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

HERE = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def revision(engine: Engine, message: str, *, head: str = "head", branch: str | None = None) -> None:
    """Autogenerate a new revision from the models (developer command)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        # A new area branch starts off an existing revision that is not a head: splice.
        command.revision(
            cfg, message=message, autogenerate=True, head=head, branch_label=branch, splice=branch is not None
        )


def current(engine: Engine) -> str:
    with engine.connect() as conn:
        return ", ".join(sorted(MigrationContext.configure(conn).get_current_heads())) or "empty"


def is_current(engine: Engine) -> bool:
    """Each area keeps its own migration branch off the foundation; all heads must be applied."""
    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads
