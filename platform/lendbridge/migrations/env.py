from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import JSON

from lendbridge.db import UtcDateTime
from lendbridge.models import metadata

config = context.config
connection = config.attributes["connection"]


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Render our TypeDecorator as the plain column type it stores, so migration files
    # need no imports from the application.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, JSON) and getattr(obj, "_variant_mapping", None):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
