"""`python -m xlt_claims.store.migrations draft "what changes"`: write the next revision file, drafted
by Alembic's autogenerate from the difference between the current revisions and the SQLModel tables.
Read it and edit it before committing (autogenerate sees a rename as a drop and an add)."""

from __future__ import annotations

import sys

from alembic import command


def draft(message: str) -> None:
    from ..db import SCHEMA_VERSION, _alembic_config, make_engine, migrate

    engine = make_engine("sqlite://")
    migrate(engine)  # an in-memory store at the current head
    with engine.begin() as conn:
        command.revision(_alembic_config(conn), message=message, autogenerate=True,
                         rev_id=f"{SCHEMA_VERSION + 1:04d}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "draft":
        sys.exit('usage: python -m xlt_claims.store.migrations draft "what changes"')
    draft(sys.argv[2])
