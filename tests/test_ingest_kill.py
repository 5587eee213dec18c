"""SIGKILL in the middle of a large ingest: the store opens, passes integrity_check, and holds every
report either completely or not at all."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


from conftest import ROOT
from xlt_claims.ingest import parse_report
from xlt_claims.ingest.synthetic import generate_corpus
from xlt_claims.store import open_store

_CHILD = """
import sys
from xlt_claims.store import open_store
from xlt_claims.ingest import ingest_paths
store = open_store(sys.argv[1])
def tick(o):
    print(o.status, o.path, flush=True)
ingest_paths(store, [sys.argv[2]], workers=1, progress=tick)
print("DONE", flush=True)
"""


def _count(db: Path, sql: str, *args) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def test_sigkill_mid_ingest_leaves_whole_reports(tmp_path):
    corpus = tmp_path / "corpus"
    paths = generate_corpus(corpus, n_reports=150, claims_per_report=30, seed=7)
    db = tmp_path / "kill.db"
    open_store(db).close()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(db), str(corpus)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    done = 0
    deadline = time.monotonic() + 120
    try:
        while done < 10 and time.monotonic() < deadline:  # let a good number of reports commit first
            line = proc.stdout.readline()
            if not line:
                break
            done += line.startswith("new ")
        assert done >= 10, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _count(db, "SELECT count(*) FROM report") < len(paths), "ingest finished before the kill; use a larger corpus"

    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    store = open_store(db)  # opens (migrations are a no-op) and is usable
    store.close()
    stored = 0
    for p in paths:
        r = parse_report(p)
        rid = _count(db, "SELECT coalesce(max(id), 0) FROM report WHERE content_hash = ?", r.content_hash)
        if not rid:
            assert _count(db, "SELECT count(*) FROM claim WHERE report_key = ?", r.key) == 0
            continue
        stored += 1
        assert _count(db, "SELECT count(*) FROM claimsource WHERE report_id = ?", rid) == len(r.claims)
        assert _count(db, "SELECT count(*) FROM claim WHERE report_id = ?", rid) == len(r.claims)
        assert _count(db, "SELECT count(*) FROM reference WHERE report_id = ?", rid) == len(r.references)
        assert _count(db, "SELECT count(*) FROM claimevent e JOIN claim c ON c.id = e.claim_id "
                          "WHERE c.report_id = ?", rid) == len(r.claims)
    assert stored >= 10
    # and the interrupted ingest can simply be run again to completion
    from xlt_claims.ingest import ingest_paths

    store = open_store(db)
    res = ingest_paths(store, [corpus])
    store.close()
    assert res.ok and res.count("unchanged") == stored and res.count("new") == len(paths) - stored
