"""Store faults (issue 15): a damaged store is not written to, a read-only store still reads, every
--db the tool cannot use gets a clear error, and nothing of this shows a traceback."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPORTS_DIR, ROOT
from _ingest_util import GOOD, counts, report_text, write
from xlt_claims.cli import app
from xlt_claims.store import StoreError, open_store


def _claims(*args, env=None, user=None):
    e = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "xlt_claims.cli", *args], capture_output=True, text=True, env=e,
                          user=user, timeout=300)


@pytest.mark.parametrize("url,says", [
    ("mysql://u:secret@localhost/claims", "MySQL is not supported"),
    ("mariadb+pymysql://u@h/db", "MariaDB is not supported"),
    ("foo://bar/baz", "'foo' is not a database"),
    ("http://example.org/claims.db", "'http' is not a database"),
    ("postgresql+psycopg2://u:secret@localhost/claims", "driver 'psycopg2' is not installed"),
    ("sqlite+nosuchdriver:///x.db", "not installed"),
])
def test_unusable_db_urls_are_clear_errors(url, says):
    with pytest.raises(StoreError, match=says) as info:
        open_store(url)
    assert "secret" not in str(info.value)
    r = CliRunner().invoke(app, ["list", "--db", url])
    out = " ".join(r.output.split())  # rich wraps at 80 columns
    assert r.exit_code == 1 and says in out and "Traceback" not in out and "secret" not in out


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2 & ~4095
    data[mid:mid + 8192] = os.urandom(8192)
    path.write_bytes(bytes(data))


def test_damaged_store_is_not_written_and_reads_fail_cleanly(tmp_path):
    db = tmp_path / "claims.db"
    st = open_store(db)
    from xlt_claims.ingest import ingest_paths

    ingest_paths(st, [REPORTS_DIR])
    for i in range(40):  # enough pages that damage in the middle hits data
        write(tmp_path / "more" / f"r{i}.txt", report_text(GOOD, title=f"Report {i} " + "padding " * 200))
    ingest_paths(st, [tmp_path / "more"])
    st.close()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    _damage(db)
    before = db.read_bytes()
    with pytest.raises(StoreError, match="damaged"):
        open_store(db)
    write(tmp_path / "new" / "n.txt", report_text(GOOD, title="A brand new report"))
    r = _claims("ingest", str(tmp_path / "new"), "--db", str(db))
    assert r.returncode == 1 and "damaged" in r.stderr and "Traceback" not in r.stderr
    assert db.read_bytes() == before
    for verb in (["reports"], ["list"], ["reports", "--json"]):
        r = _claims(*verb, "--db", str(db))
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode in (0, 1)
        if r.returncode == 1:
            assert "damaged" in r.stderr or "claim store" in r.stderr


def _no_permission(monkeypatch, path: Path, mode: int) -> None:
    """Take `mode` (os.W_OK / os.R_OK) on `path` away: chmod for a normal user; as root, who may
    write anything, the permission check answers as it would for another user."""
    if os.geteuid() != 0:
        os.chmod(path, 0o444 if mode == os.W_OK else 0o000)
        return
    real = os.access

    def access(p, m, *a, **k):
        if Path(p) == path and m & mode:
            return False
        return real(p, m, *a, **k)

    monkeypatch.setattr(os, "access", access)


def test_read_only_store_reads_and_refuses_writes(tmp_path, monkeypatch):
    """A store without write permission refused even `list`; now the read verbs open it in SQLite's
    read-only mode and the writers say it is read-only."""
    db = tmp_path / "claims.db"
    st = open_store(db)
    from xlt_claims.ingest import ingest_paths

    ingest_paths(st, [REPORTS_DIR])
    st.close()
    before = db.read_bytes()
    _no_permission(monkeypatch, db, os.W_OK)
    runner = CliRunner()
    r = runner.invoke(app, ["list", "--json", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) == 21
    assert runner.invoke(app, ["reports", "--db", str(db)]).exit_code == 0
    r = runner.invoke(app, ["ingest", str(REPORTS_DIR), "--db", str(db)])
    assert r.exit_code == 1 and "read-only" in r.output
    ro = open_store(db, read_only=True)
    from sqlalchemy import text

    with pytest.raises(Exception, match="readonly"):  # SQLite itself refuses: the file is opened mode=ro
        with ro.engine.begin() as conn:
            conn.execute(text("DELETE FROM claim"))
    ro.close()
    assert db.read_bytes() == before


def test_unreadable_file_on_the_command_line_fails_alone(tmp_path, monkeypatch):
    """One unreadable file named on the command line was a usage error (exit 2) for the whole
    command; now it is one failed file and the others are stored."""
    good = write(tmp_path / "good.txt", report_text(GOOD))
    bad = write(tmp_path / "secret.txt", report_text(GOOD, title="Another"))
    _no_permission(monkeypatch, bad, os.R_OK)
    r = CliRunner().invoke(app, ["ingest", str(bad), str(good), "--db", str(tmp_path / "c.db")])
    assert r.exit_code != 2, r.output
    assert "report version(s)" in r.stdout
    if os.geteuid() != 0:  # root reads it anyway
        assert r.exit_code == 1 and "secret.txt" in r.output and "cannot read" in r.output


def test_json_output_is_strict_even_for_infinite_values(tmp_path):
    """A quality score stored as infinity by an older version made `reports --json` print Infinity."""
    db = tmp_path / "claims.db"
    st = open_store(db)
    from xlt_claims.ingest import ingest_paths

    ingest_paths(st, [REPORTS_DIR])
    st.close()
    con = sqlite3.connect(db)
    con.execute("UPDATE report SET quality_score = 9e999")  # SQLite stores +Inf
    con.commit()
    con.close()
    r = CliRunner().invoke(app, ["reports", "--json", "--db", str(db)])
    assert r.exit_code == 0, r.output

    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")

    rows = json.loads(r.stdout, parse_constant=refuse)
    assert all(row["quality_score"] is None for row in rows)
