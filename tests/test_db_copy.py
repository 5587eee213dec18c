"""`claims db copy`: SQLite -> PostgreSQL -> SQLite with every row and event, one transaction on the
destination, content hashes compared; a non-empty destination refused unless --replace."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from sqlmodel import select

from conftest import ROOT
from _reproduce_util import add_claim

from xlt_claims.ingest import ingest_paths
from xlt_claims.ingest.synthetic import generate_corpus
from xlt_claims.store import open_store, set_status
from xlt_claims.store.copy import CopyError, copy_store, data_tables, store_hashes
from xlt_claims.store.models import Claim, ClaimEvent, EmbeddingCache, Run, Verdict


def _fill(store, tmp_path) -> None:
    """Ingested synthetic reports (claims, sources, references, events, flags) plus one of every
    other kind of row, with the awkward values: inf in JSON, bytes, None, unicode."""
    ingest_paths(store, generate_corpus(tmp_path / "corpus", n_reports=6, claims_per_report=20, seed=3))
    add_claim(store, "zz0001", "Überraschend: 𝛼 improves tiny keyword transfer.")
    with store.session() as s:
        c = s.get(Claim, "zz0001")
        set_status(s, c, cause="experiment", status="inconclusive", confidence=0.42, detail={"ci": [-math.inf, 2.5]})
        s.add(Run(experiment="e", arm="a", seed=1, config_hash="h" * 64, status="FINISHED",
                  config={"x": [1, 2]}, metrics={"test": {"xx": {"accuracy": 0.5}}}, wall_s=1.25))
        s.add(Verdict(claim_id="zz0001", experiment="e", outcome="inconclusive", ci_low=-math.inf, ci_high=3.0,
                      detail={"se": math.inf, "note": None}, run_ids=[1]))
        s.add(EmbeddingCache(model_id="m", text_hash="t", dim=2, vector=b"\x00\x01\xfe\xff" * 2))


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "xlt_claims.cli", "db", "copy", *args], env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=300)


def test_sqlite_to_postgres_and_back_is_identical(tmp_path, pg_url):
    src = open_store(tmp_path / "a.db")
    _fill(src, tmp_path)
    before = store_hashes(src)
    src.close()
    assert before["claim"][0] > 100 and before["claimevent"][0] > 100 and before["embeddingcache"][0] == 1

    res = copy_store(str(tmp_path / "a.db"), pg_url)
    assert res.identical and res.rows == sum(n for n, _ in before.values())
    pg = open_store(pg_url)
    assert store_hashes(pg) == before
    with pg.read() as s:  # values survive as values, not only as hashes
        v = s.exec(select(Verdict)).one()
        assert v.detail["se"] == math.inf and v.ci_low == -math.inf
        assert s.get(EmbeddingCache, ("m", "t")).vector == b"\x00\x01\xfe\xff" * 2
        assert s.get(Claim, "zz0001").text.startswith("Überraschend: 𝛼")
    with pg.session() as s:  # the server's id sequences follow the copied ids
        s.add(ClaimEvent(claim_id="zz0001", cause="manual", new_status="unverified"))
        s.flush()
        assert s.exec(select(ClaimEvent).order_by(ClaimEvent.id.desc())).first().id == before["claimevent"][0] + 1
        s.rollback()
    pg.close()

    r = _cli(pg_url, str(tmp_path / "b.db"), "--json")  # and back, through the CLI
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["identical"] and out["rows"] == res.rows and pg_url.split(":")[2].split("@")[0] not in r.stdout
    back = open_store(tmp_path / "b.db")
    assert store_hashes(back) == before
    back.close()


def test_non_empty_destination_is_refused_then_replaced(tmp_path, pg_url):
    a = open_store(tmp_path / "a.db")
    add_claim(a, "aa0001", "tiny keyword claim one")
    a.close()
    dst = open_store(pg_url)
    add_claim(dst, "bb0001", "something already there", report_key="888_other")
    dst.close()
    r = _cli(str(tmp_path / "a.db"), pg_url)
    assert r.returncode == 1 and "is not empty (claim 1, report 1)" in " ".join(r.stderr.split())
    assert "--replace" in r.stderr
    dst = open_store(pg_url)
    with dst.read() as s:  # untouched
        assert [c.id for c in s.exec(select(Claim)).all()] == ["bb0001"]
    dst.close()
    r = _cli(str(tmp_path / "a.db"), pg_url, "--replace")
    assert r.returncode == 0, r.stderr
    assert "content hashes identical: yes" in r.stdout and "replaced 2 rows" in r.stdout
    dst = open_store(pg_url)
    with dst.read() as s:
        assert [c.id for c in s.exec(select(Claim)).all()] == ["aa0001"]
    dst.close()


def test_a_failing_copy_leaves_the_destination_untouched(tmp_path, monkeypatch):
    a = open_store(tmp_path / "a.db")
    add_claim(a, "aa0001", "tiny keyword claim one")
    a.close()
    import xlt_claims.store.copy as copy_mod

    real = copy_mod.table_hash

    def corrupt(conn, table):  # the destination's hash of one table disagrees
        n, h = real(conn, table)
        return (n, "0" * 64) if table.name == "claim" and conn.engine.url.database.endswith("b.db") else (n, h)

    monkeypatch.setattr(copy_mod, "table_hash", corrupt)
    with pytest.raises(CopyError, match=r"differs from the source in claim \(1 -> 1 rows\); nothing was written"):
        copy_store(str(tmp_path / "a.db"), str(tmp_path / "b.db"))
    b = open_store(tmp_path / "b.db")
    with b.read() as s:
        assert not s.exec(select(Claim)).all()
    b.close()
    with pytest.raises(CopyError, match="same store"):
        copy_store(str(tmp_path / "a.db"), str(tmp_path / "a.db"))


def test_every_table_is_copied():
    names = {t.name for t in data_tables()}
    assert {"report", "claim", "claimevent", "run", "verdict", "embeddingcache", "experimentlink"} <= names
    assert "schemaversion" not in names
