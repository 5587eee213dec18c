"""Faults (issue 15): a full disk during ingest, and `papers fetch` against a server that accepts the
connection and never answers."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from _ingest_util import GOOD, counts, report_text, write
from xlt_claims.cli import app
from xlt_claims.store import open_store


@pytest.fixture
def full_disk():
    """Every SQLite connection opened from now on may not grow its database past `limit[0]` pages
    (SQLite then fails with SQLITE_FULL, "database or disk is full", as on a full disk)."""
    limit = [None]

    def _cap(dbapi_conn, _rec):  # noqa: ANN001
        if limit[0] is not None and "sqlite" in type(dbapi_conn).__module__:
            dbapi_conn.execute(f"PRAGMA max_page_count = {limit[0]}")

    event.listen(Engine, "connect", _cap)
    yield limit
    event.remove(Engine, "connect", _cap)


def test_full_disk_during_ingest_is_a_clear_error_and_changes_nothing(tmp_path, full_disk):
    db = tmp_path / "claims.db"
    first = write(tmp_path / "in" / "a.txt", report_text(GOOD))
    big = write(tmp_path / "in2" / "big.txt", report_text(
        [(f"Method {i} improves XNLI accuracy by {i % 7}.5 points on the test set, variant {i}.", "\u2713", "0.5")
         for i in range(1500)]))
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(first), "--db", str(db)]).exit_code == 0
    store = open_store(db)
    try:
        before = counts(store)
        with store.engine.connect() as conn:
            pages = conn.execute(text("PRAGMA page_count")).scalar_one()
    finally:
        store.close()
    full_disk[0] = pages + 1
    r = runner.invoke(app, ["ingest", str(big), "--db", str(db)])
    full_disk[0] = None
    assert r.exit_code == 1, r.output
    out = " ".join(r.output.split())  # the line wraps at 80 columns
    assert "big.txt: not stored: the store's disk is full" in out and "nothing of this file was written" in out
    assert "INSERT INTO" not in r.output and "Traceback" not in r.output  # one line, not the SQL
    store = open_store(db)
    try:
        assert counts(store) == before
    finally:
        store.close()
    # with space again the same file goes in
    r = runner.invoke(app, ["ingest", str(big), "--db", str(db)])
    assert r.exit_code == 0, r.output


class _SilentServer:
    """Accepts TCP connections and never answers (a hung HTTP server); counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/query"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop = True
        self.thread.join(5)
        for c in self.accepted:
            c.close()
        self.sock.close()


@pytest.fixture
def silent():
    s = _SilentServer()
    yield s
    s.close()


def _bounded(fn, limit_s: float = 60.0):
    """Run fn in a thread; a hang shows as a failure after limit_s (a hang detector, not a timing)."""
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("r", fn()), daemon=True)
    t.start()
    t.join(limit_s)
    assert not t.is_alive(), f"still waiting after {limit_s} s: a hang"
    return out["r"]


def test_fetch_from_a_server_that_never_answers(store, silent):
    from xlt_claims.papers import fetch_papers

    notes: list[tuple[str, str]] = []
    res = _bounded(lambda: fetch_papers(store, ["2104.08645", "1911.03070"], url=silent.url, num_retries=3,
                                        timeout=0.5, delay_seconds=0, page_size=1, pdf=False,
                                        progress=lambda pid, msg: notes.append((pid, msg))))
    assert set(res.failed) == {"2104.08645", "1911.03070"} and not res.fetched
    assert "no answer within 0.5 s" in res.failed["2104.08645"] and "2 attempt(s)" in res.failed["2104.08645"]
    assert res.failed["1911.03070"].startswith("not tried:")  # the endpoint is down: no second wait
    assert len(silent.accepted) == 2  # one request and one retry, not 1 + num_retries
    assert any("retry 1 of 1" in msg for _, msg in notes)  # the wait is announced, never silent


def test_cli_fetch_from_a_server_that_never_answers(db_path, silent):
    r = _bounded(lambda: CliRunner().invoke(app, ["papers", "fetch", "2104.08645", "--url", silent.url, "--timeout",
                                                  "0.5", "--delay", "0", "--no-pdf", "--db", str(db_path)]))
    assert r.exit_code == 2, r.output
    assert "unreachable" in r.output and "no answer within 0.5 s" in r.output and "Traceback" not in r.output
