"""Alembic environment of the claim store. `store.db.migrate` passes an open connection (inside its
transaction) in `config.attributes["connection"]`; there is no offline (SQL script) mode."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from xlt_claims.store import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the claim store's migrations run through xlt_claims.store.db.migrate (an open connection)")



def render_portable_type(kind, obj, _autogen_context):
    """Drafted revisions name SQLAlchemy's own types, not SQLModel's wrappers."""
    if kind == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters a table by copying it: batch mode does that for every column change
    compare_type=True,
    render_item=render_portable_type,
)
with context.begin_transaction():
    context.run_migrations()
