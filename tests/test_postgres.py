"""The claim store on a real PostgreSQL server (tests/_servers.py starts one per session).

The store, ingest and runner tests that take the `store` fixture run here a second time on
PostgreSQL (the module's own `store` fixture below replaces the SQLite one); the tests that only
make sense on SQLite are named in SQLITE_ONLY with the reason. Then what is PostgreSQL's own:
strict JSON, read-only transactions, slot claiming under contention, 4 concurrent `claims
reproduce` processes, and the bad-input cases (unreachable server, wrong password).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
import threading
from datetime import timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

import test_ingest_store
import test_reproduce_runner
import test_store
from conftest import ROOT
from _reproduce_util import add_claim, make_neighbours, make_task, make_tiny_model, write_experiment

from xlt_claims.store import StoreError, open_store
from xlt_claims.store.db import display_url, lock_key
from xlt_claims.store.models import Claim, ClaimEvent, Run, Verdict

SQLITE_ONLY = {
    "test_pragmas_and_schema_version": "SQLite pragmas (WAL, busy timeout)",
    "test_newer_schema_is_refused": "opens the store by its SQLite path",
    "test_read_sessions_take_no_write_lock": "SQLite's write lock; PostgreSQL's read-only transactions are tested below",
    "test_sigkill_then_resume_reruns_only_unfinished": "reads the SQLite file directly; the SLURM tests kill workers on PostgreSQL",
    "test_two_concurrent_processes_store_every_run": "SQLite file; 4 processes on PostgreSQL below",
}


def _store_tests(module) -> dict:
    """The module's tests that take the `store` fixture, except the SQLite-only ones."""
    out = {}
    for name, fn in vars(module).items():
        if name.startswith("test_") and callable(fn) and name not in SQLITE_ONLY \
                and "store" in inspect.signature(fn).parameters:
            out[f"{name}__pg_{module.__name__.removeprefix('test_')}"] = fn
    return out


for _mod in (test_store, test_ingest_store, test_reproduce_runner):
    globals().update(_store_tests(_mod))

tiny_model = test_reproduce_runner.tiny_model
exp_dir = test_reproduce_runner.exp_dir


@pytest.fixture
def store(pg_url):
    s = open_store(pg_url)
    yield s
    s.close()


# --- PostgreSQL specifics ------------------------------------------------------------------------------

def test_strict_json_and_utc_timestamps_round_trip(store):
    """PostgreSQL's JSON refuses Infinity/NaN (a verdict's CI can be infinite): they are stored
    tagged and read back as the same floats; timestamps come back as the same UTC instant."""
    add_claim(store, "j1", "tiny keyword claim")
    detail = {"se": math.inf, "lo": -math.inf, "ratio": math.nan, "nested": [1.5, {"x": math.inf}], "s": "Infinity"}
    with store.session() as s:
        v = Verdict(claim_id="j1", experiment="e", outcome="inconclusive", ci_low=-math.inf, ci_high=math.inf,
                    detail=detail, run_ids=[1, 2])
        s.add(v)
        s.flush()
        vid, created = v.id, v.created_at
    with store.read() as s:
        got = s.get(Verdict, vid)
        assert got.detail["se"] == math.inf and got.detail["lo"] == -math.inf and math.isnan(got.detail["ratio"])
        assert got.detail["nested"] == [1.5, {"x": math.inf}] and got.detail["s"] == "Infinity"
        assert got.ci_low == -math.inf and got.ci_high == math.inf
        assert got.created_at.replace(tzinfo=timezone.utc) == created
    with store.engine.connect() as conn:  # valid JSON on the server: its own operators read it
        assert conn.execute(text("SELECT detail->'nested'->>0 FROM verdict")).scalar() == "1.5"


def test_read_session_is_read_only_on_the_server(store):
    add_claim(store, "r1", "tiny keyword claim")
    with pytest.raises(Exception, match="read-only transaction"):
        with store.read() as s:
            s.exec(text("UPDATE claim SET status = 'x'"))
    with store.read() as s:
        assert s.get(Claim, "r1").status == "unverified"


def test_slot_lock_skips_a_slot_held_by_another_transaction(store):
    with store.session() as a:
        assert lock_key(a, "slot-1", wait=False)
        with store.session() as b:
            assert not lock_key(b, "slot-1", wait=False)  # held: skipped, not waited for
            assert lock_key(b, "slot-2", wait=False)
    with store.session() as c:  # released at the end of a's transaction
        assert lock_key(c, "slot-1", wait=False)


def test_concurrent_claims_of_one_slot_insert_one_run(store, exp_dir, tiny_model):
    """8 threads claim the same slot at the same instant: exactly one RUNNING row, the others are
    told 'busy' (without the slot lock, READ COMMITTED lets several insert)."""
    from xlt_claims.reproduce import Options, load_registry, reproduce
    from xlt_claims.reproduce.runner import _ACTIVE, claim_slot

    write_experiment(exp_dir, "better", model=tiny_model, seeds=(1,))
    plan = reproduce(store, load_registry([exp_dir]), ["better"], Options(), dry_run=True).plans[0]
    sl = plan.slots[0]
    barrier = threading.Barrier(8)
    results = []

    def worker():
        barrier.wait()
        results.append(claim_slot(store, sl, Options()))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    states = sorted(r[0] for r in results)
    assert states.count("claimed") == 1 and states.count("busy") == 7, states
    with store.read() as s:
        rows = s.exec(select(Run)).all()
    assert len(rows) == 1 and rows[0].status == "RUNNING"
    _ACTIVE.discard(rows[0].id)


# --- 4 concurrent `claims reproduce` processes on one PostgreSQL store -----------------------------------

def _cli(db: str, exp_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "xlt_claims.cli", "reproduce", *args, "--db", db,
                             "--reproductions", str(exp_dir), "--json"], env=env, cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pg_rows(url: str) -> list[tuple]:
    from xlt_claims.store.db import make_engine

    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT id, arm, seed, status, reused_from FROM run ORDER BY id")).all()]
    finally:
        eng.dispose()


@pytest.mark.slow
def test_four_concurrent_processes_run_every_slot_once(store, pg_url, exp_dir, tiny_model):
    write_experiment(exp_dir, "better", model=tiny_model, treatment=test_reproduce_runner._rsda(exp_dir),
                     seeds=(1, 2), extra_decision="min_seeds = 2")
    add_claim(store, "c6", test_reproduce_runner.CLAIM)
    procs = [_cli(pg_url, exp_dir, "c6") for _ in range(4)]
    outs = [p.communicate(timeout=400) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    rows = pg_rows(pg_url)
    fin = [r for r in rows if r[3] == "FINISHED"]
    assert sorted((r[1], r[2]) for r in fin) == [(a, s) for a in ("baseline", "treatment") for s in (1, 2)]
    assert len(rows) == 4  # no slot run twice, no row left behind RUNNING/KILLED
    results = [json.loads(o) for o, _ in outs]
    assert sum(r["ran"] for r in results) == 4 and sum(r["reused"] for r in results) == 12
    assert {r["verdicts"][0]["outcome"] for r in results} == {"reproduced"}
    with store.read() as s:
        assert len(s.exec(select(Verdict)).all()) == 1  # judged by all four, stored once
        assert len(s.exec(select(ClaimEvent).where(ClaimEvent.cause == "experiment")).all()) == 1


# --- bad input ---------------------------------------------------------------------------------------

def _claims(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "xlt_claims.cli", *args], env=env, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)


def test_unreachable_server_is_a_clear_error(pg_server):
    from _servers import free_port

    url = pg_server.url("nope", port=free_port())  # nothing listens there
    with pytest.raises(StoreError, match="connection refused") as ei:
        open_store(url)
    assert pg_server.password not in str(ei.value) and "***" in str(ei.value)
    r = _claims("list", "--db", url)
    assert r.returncode == 1 and "cannot open claim store" in r.stderr and "connection refused" in r.stderr
    assert pg_server.password not in r.stderr + r.stdout


def test_wrong_password_is_a_clear_error_and_the_store_stays_usable(pg_server, pg_url, store):
    add_claim(store, "w1", "tiny keyword claim")
    bad = pg_url.replace(f":{pg_server.password}@", ":not-the-password@")
    r = _claims("list", "--db", bad, "--json")
    assert r.returncode == 1 and "refused the password for user 'xlt'" in " ".join(r.stderr.split())
    assert "not-the-password" not in r.stderr
    r = _claims("list", "--db", pg_url, "--json")
    assert r.returncode == 0 and [c["id"] for c in json.loads(r.stdout)] == ["w1"]


def test_missing_database_names_it(pg_server):
    with pytest.raises(StoreError, match='database "no_such_db" does not exist'):
        open_store(pg_server.url("no_such_db"))


def test_display_url_hides_the_password():
    assert display_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"


def test_the_verbs_work_on_a_postgresql_store(pg_url, tmp_path):
    """ingest, papers import, list, show, flags, link, reproduce --dry-run and report on a server store
    (in-process through the CLI app)."""
    from typer.testing import CliRunner

    from conftest import ARXIV_FIXTURES, REPORTS_DIR
    from xlt_claims.cli import app

    runner = CliRunner()

    def claims(*args: str):
        res = runner.invoke(app, [*args, "--db", pg_url])
        assert res.exit_code == 0, (args, res.output[-2000:])
        return res.output

    claims("ingest", str(REPORTS_DIR))
    claims("papers", "import", str(ARXIV_FIXTURES))
    rows = json.loads(claims("list", "--json"))
    assert len(rows) == 21
    shown = json.loads(claims("show", rows[0]["id"], "--json"))
    assert shown["claim"]["id"] == rows[0]["id"] and shown["events"]
    claims("flags")
    claims("link")
    plan = json.loads(claims("reproduce", "--dry-run", "--all", "--json"))
    assert plan["experiments"]
    claims("report", "-f", "json", "-o", str(tmp_path / "r.json"))
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["claims"]) == 21 and sum(r["n_claims"] for r in report["reports"]) == 21
