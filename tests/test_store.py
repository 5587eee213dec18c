"""The claim store: URL resolution, SQLite pragmas, migrations, transactions and the status rule."""

from __future__ import annotations


import pytest
from sqlalchemy import text
from sqlmodel import select

from xlt_claims.store import SCHEMA_VERSION, StoreError, open_store, resolve_url, set_status
from xlt_claims.store.models import Claim, ClaimEvent, Report


def test_resolve_url(monkeypatch, tmp_path):
    monkeypatch.delenv("XLT_CLAIMS_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'claims.db'}"
    monkeypatch.setenv("XLT_CLAIMS_DB", str(tmp_path / "env.db"))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    assert resolve_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert resolve_url("rel.db") == f"sqlite:///{tmp_path / 'rel.db'}"


def test_pragmas_and_schema_version(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert store.schema_version() == SCHEMA_VERSION
    # reopening applies nothing new
    again = open_store(store.path)
    assert again.schema_version() == SCHEMA_VERSION
    again.close()


def test_newer_schema_is_refused(store, db_path):
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO schemaversion (version, applied_at, description) VALUES (999, '2030-01-01', 'x')"))
    with pytest.raises(StoreError, match="newer"):
        open_store(db_path)


def test_not_a_database(tmp_path):
    p = tmp_path / "junk.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a database"):
        open_store(p)


def _claim(s, cid="abc123"):
    r = Report(key="k", file_name="k.txt", source_path="k.txt", content_hash=cid * 10)
    s.add(r)
    s.flush()
    c = Claim(id=cid, report_key="k", report_id=r.id, row=1, line=1, text="t", normalized="t", confidence=0.2)
    s.add(c)
    s.flush()
    return c


def test_session_is_one_transaction(store):
    with pytest.raises(RuntimeError):
        with store.session() as s:
            _claim(s)
            raise RuntimeError("boom")
    with store.session() as s:
        assert s.exec(select(Claim)).all() == [] and s.exec(select(Report)).all() == []


def test_set_status_logs_and_keeps_experimental_status(store):
    with store.session() as s:
        c = _claim(s)
        ev = set_status(s, c, cause="evidence", status="supported-by-source", confidence=0.6, detail={"n": 1})
        assert ev is not None and (ev.old_status, ev.new_status, ev.new_confidence) == ("unverified", "supported-by-source", 0.6)
        assert set_status(s, c, cause="evidence", status="supported-by-source", confidence=0.6) is None  # no change
        set_status(s, c, cause="experiment", status="not-reproduced", confidence=0.1)
        assert set_status(s, c, cause="evidence", status="supported-by-source", confidence=0.9) is None
        assert (c.status, c.confidence) == ("not-reproduced", 0.1)
        set_status(s, c, cause="manual", status="reproduced")
    with store.session() as s:
        evs = s.exec(select(ClaimEvent).order_by(ClaimEvent.id)).all()
        assert [e.cause for e in evs] == ["evidence", "experiment", "manual"]
        assert s.get(Claim, "abc123").status == "reproduced"


def test_read_sessions_take_no_write_lock(monkeypatch, tmp_path):
    """Read verbs run beside a writer: while another process holds the write lock (an uncommitted
    BEGIN IMMEDIATE), a read session answers at once with the committed rows; a write session waits
    for the lock (here a 0.2 s busy timeout, then 'database is locked')."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    import xlt_claims.store.db as db

    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "claims.db"
    store = db.open_store(path)
    with store.session() as s:
        s.add(Report(key="r1", file_name="r1.txt", source_path="r1.txt", content_hash="a" * 64, title="one"))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE report SET title = 'changed' WHERE key = 'r1'")
    try:
        with store.read() as s:
            assert [r.title for r in s.exec(select(Report)).all()] == ["one"]
        with store.reader.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM report")).scalar() == 1
        with pytest.raises(OperationalError, match="locked"):
            with store.session() as s:
                s.exec(select(Report)).all()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with pytest.raises(StoreError, match="read-only"):
        with store.read() as s:
            s.exec(select(Report)).one().title = "edited"
    with store.read() as s:
        assert s.exec(select(Report)).one().title == "one"  # nothing was written
    store.close()
