"""Alembic migrations of the claim store, run programmatically by `store.db.migrate` on open.

Users need no alembic.ini: `store/db.py` builds the Alembic config in code, pointing at this
folder. A schema change is one new file in `versions/`, named and numbered after the last one
(`0003_what_changes.py`, `revision = "0003"`, `down_revision = "0002"`): the revision ids are the
integer schema versions recorded in the `schemaversion` table as well, so an older xlt-claims
refuses a store it does not know. Write revisions with `op.*` (and `op.batch_alter_table` for
column changes: SQLite cannot alter a column in place) and never with SQLite-only SQL, so that the
same revision upgrades a PostgreSQL store. The test `tests/test_store_migrations.py` builds a store at
the first revision, fills every table, upgrades it to head and finds every row; it also checks that
head matches the SQLModel tables (`alembic.autogenerate.compare_metadata` finds no difference).

To draft a revision from a model change (then read and edit it; autogenerate misses renames):

    python -m xlt_claims.store.migrations draft "what changes"
"""
