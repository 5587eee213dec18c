"""Alembic migrations of the claim store: the first revision is the schema the old code made, head
matches the models, every upgrade keeps every row, old stores are stamped, newer ones refused
without being touched."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, LargeBinary, MetaData, select, text
from sqlmodel import SQLModel

import xlt_claims.store.db as db
from xlt_claims.store import SCHEMA_VERSION, StoreError, open_store

DATA = Path(__file__).parent / "data"
FIRST = "0001"


def _schema_sql(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    rows = con.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'alembic_version' "
                       "ORDER BY type DESC, name").fetchall()
    con.close()
    return [r[0].strip() for r in rows]


def _old_schema_sql() -> list[str]:
    body = re.sub(r"^--.*\n", "", (DATA / "store_schema_v1.sql").read_text(), flags=re.M)
    return [s.strip() for s in body.split(";\n") if s.strip()]


def _at_revision(path: Path, revision: str):
    engine = db.make_engine(db.resolve_url(path))
    assert db.migrate(engine, target=revision) == int(revision)
    return engine


def _value(col, table: str, i: int):
    """A distinct value of the column's type for row i (unique constraints hold)."""
    t = col.type
    if isinstance(t, Boolean):
        return bool(i % 2)
    if isinstance(t, Integer):
        return 1000 + i
    if isinstance(t, Float):
        return 0.25 + i
    if isinstance(t, DateTime):
        return datetime(2026, 1, 1 + i, 12, 30, tzinfo=timezone.utc)
    if isinstance(t, JSON):
        return {"row": i, "table": table, "list": [1.5, "\u00e9"]}
    if isinstance(t, LargeBinary):
        return bytes([i]) * 8
    return f"{table}.{col.name}.{i} \u2713"


def fill_every_table(engine, n: int = 3) -> dict[str, list[dict]]:
    """n rows in every table of the store as it is now (reflected), parents before children; the
    foreign keys point at the parents' rows. Returns the rows as inserted."""
    md = MetaData()
    md.reflect(engine)
    rows: dict[str, list[dict]] = {}
    with engine.begin() as conn:
        for table in md.sorted_tables:
            if table.name in ("alembic_version", "schemaversion"):
                continue
            rows[table.name] = []
            for i in range(n):
                row = {}
                for col in table.c:
                    fk = next(iter(col.foreign_keys), None)
                    if fk is not None:
                        row[col.name] = rows[fk.column.table.name][i][fk.column.name]
                    elif col.primary_key and isinstance(col.type, Integer):
                        row[col.name] = i + 1
                    else:
                        row[col.name] = _value(col, table.name, i)
                conn.execute(table.insert().values(**row))
                rows[table.name].append(row)
    return rows


def assert_every_row_found(engine, rows: dict[str, list[dict]]) -> None:
    md = MetaData()
    md.reflect(engine)
    with engine.connect() as conn:
        for name, want in rows.items():
            table = md.tables[name]
            assert conn.execute(select(table)).all().__len__() == len(want), name
            for row in want:
                key = [table.c[c.name] == row[c.name] for c in table.primary_key.columns]
                got = conn.execute(select(*[table.c[k] for k in row]).where(*key)).one()._asdict()
                for k, v in row.items():
                    g = got[k]
                    if isinstance(v, datetime):  # SQLite keeps no zone: compare the UTC wall time
                        g, v = g.replace(tzinfo=None), v.replace(tzinfo=None)
                    assert g == v, (name, k)


def test_revisions_are_numbered_linearly():
    script = db._script()
    revs = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in revs] == [f"{i:04d}" for i in range(1, len(revs) + 1)]
    assert [r.down_revision for r in revs] == [None] + [r.revision for r in revs[:-1]]
    assert SCHEMA_VERSION == len(revs) and script.get_current_head() == f"{SCHEMA_VERSION:04d}"


def test_first_revision_is_the_schema_the_old_code_made(tmp_path):
    engine = _at_revision(tmp_path / "first.db", FIRST)
    engine.dispose()
    assert _schema_sql(tmp_path / "first.db") == _old_schema_sql()


def test_head_matches_the_models(store):
    """No difference between the upgraded schema and the SQLModel tables (a model change without a
    revision fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_store_at_first_revision_upgrades_keeping_every_row(tmp_path):
    path = tmp_path / "claims.db"
    engine = _at_revision(path, FIRST)
    rows = fill_every_table(engine)
    first = MetaData()
    first.reflect(engine)
    assert len(rows) == len(set(first.tables) - {"alembic_version"}) - 1  # every table but schemaversion has rows
    engine.dispose()
    store = open_store(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert_every_row_found(store.engine, rows)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == f"{SCHEMA_VERSION:04d}"
        assert [r[0] for r in conn.execute(text("SELECT version FROM schemaversion ORDER BY version"))] == \
            list(range(1, SCHEMA_VERSION + 1))
    store.close()


def test_store_made_by_the_old_code_is_stamped_and_upgraded(tmp_path):
    """Stores of before Alembic have `schemaversion` = 1 and no `alembic_version` table."""
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(";\n".join(_old_schema_sql()) + ";")
    con.execute("INSERT INTO schemaversion VALUES (1, '2026-07-01 10:00:00.000000', 'initial schema')")
    con.commit()
    con.close()
    engine = db.make_engine(db.resolve_url(path))
    rows = fill_every_table(engine)
    engine.dispose()
    store = open_store(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert_every_row_found(store.engine, rows)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM schemaversion WHERE version = 1")).scalar() == 1
    store.close()
    open_store(path).close()  # a second open has nothing to do


_BATCH_REVISION = '''"""test only: change columns of tables that others reference (SQLite copies them)"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report", recreate="always") as b:
        b.add_column(sa.Column("pages", sa.Integer(), nullable=True))
    with op.batch_alter_table("claim", recreate="always") as b:
        b.add_column(sa.Column("note", sa.String(), nullable=False, server_default="none"))
        b.alter_column("metric", existing_type=sa.String(), type_=sa.Text())


def downgrade():
    pass
'''


def test_batch_revision_on_a_filled_store_keeps_rows_and_foreign_keys(tmp_path, monkeypatch):
    """The machinery a later revision relies on: batch mode recreates `report` and `claim`, which
    six tables reference, inside the one migration transaction, with foreign keys checked after."""
    mig = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, mig, ignore=shutil.ignore_patterns("__pycache__"))
    nxt = SCHEMA_VERSION + 1
    (mig / "versions" / f"{nxt:04d}_batch_test.py").write_text(
        _BATCH_REVISION.format(rev=f"{nxt:04d}", down=f"{SCHEMA_VERSION:04d}"))
    path = tmp_path / "claims.db"
    store = open_store(path)
    rows = fill_every_table(store.engine)
    store.close()
    monkeypatch.setattr(db, "MIGRATIONS_DIR", mig)
    monkeypatch.setattr(db, "SCHEMA_VERSION", nxt)
    db._script.cache_clear()
    try:
        store = db.open_store(path)
        assert store.schema_version() == nxt
        assert_every_row_found(store.engine, rows)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert set(conn.execute(text("SELECT note FROM claim")).scalars()) == {"none"}
        store.close()
    finally:
        db._script.cache_clear()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("how", ["alembic", "schemaversion"])
def test_newer_store_is_refused_without_changing_the_file(tmp_path, how):
    path = tmp_path / "claims.db"
    open_store(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=DELETE")  # as a newer tool might leave it
    if how == "alembic":
        con.execute(f"UPDATE alembic_version SET version_num = '{SCHEMA_VERSION + 1:04d}'")
    else:
        con.execute(f"INSERT INTO schemaversion VALUES ({SCHEMA_VERSION + 1}, '2030-01-01', 'x')")
    con.commit()
    con.close()
    before, listing = _digest(path), sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreError, match="newer than this xlt-claims"):
        open_store(path)
    with pytest.raises(StoreError, match="newer"):
        open_store(path, read_only=True)
    assert _digest(path) == before and sorted(p.name for p in tmp_path.iterdir()) == listing
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    con.close()


def test_tables_without_a_version_are_not_adopted(tmp_path):
    path = tmp_path / "odd.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE claim (id TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="no schema version"):
        open_store(path)
