"""Large stores (issue 15): `list --json` and `report` stream their claims (a chunk at a time) instead
of holding them all. Checked structurally on a small store: the streamed output is the same text as
the built-in-memory one, with chunks of 2 claims so that every chunk boundary is crossed. The memory
it saves is measured in benchmarks/bench_large_store.py, not here. Also: a report that cannot be
written (a full disk) is a clear error that leaves no temporary file and keeps the old report."""

from __future__ import annotations

import errno
import json
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from _report_util import build_demo_store
from xlt_claims.cli import app
from xlt_claims.ingest import list_claims
from xlt_claims.report import build_report, render, render_chunks, stream_report
from xlt_claims.report import data as report_data


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from xlt_claims.store import open_store

    db = tmp_path_factory.mktemp("stream") / "claims.db"
    store = open_store(db)
    try:
        build_demo_store(store)
    finally:
        store.close()
    return db


@pytest.mark.parametrize("fmt", ["json", "md", "html"])
def test_streamed_report_is_the_built_one(demo, monkeypatch, fmt):
    from xlt_claims.store import open_store

    monkeypatch.setattr(report_data, "CHUNK", 2)
    at = datetime(2026, 1, 2, tzinfo=timezone.utc)
    store = open_store(demo, read_only=True)
    try:
        built = build_report(store, generated_at=at)
        streamed = stream_report(store, generated_at=at)
        assert not isinstance(streamed["claims"], list)  # a stream, read again when rendered
        chunks = list(render_chunks(streamed, fmt))
        assert len(chunks) > 3
        assert "".join(chunks) == render(built, fmt)
        if fmt == "json":
            assert json.loads("".join(chunks))["claims"] == json.loads(json.dumps(built["claims"], default=str))
    finally:
        store.close()


def test_list_json_streams_the_same_text(demo, monkeypatch, tmp_path):
    from xlt_claims.store import open_store

    store = open_store(demo, read_only=True)
    try:
        rows = list_claims(store, include_retired=True)
    finally:
        store.close()
    r = CliRunner().invoke(app, ["list", "--json", "--retired", "--db", str(demo)])
    assert r.exit_code == 0
    assert r.stdout == json.dumps(rows, indent=2, ensure_ascii=False, default=str) + "\n"
    empty = CliRunner().invoke(app, ["list", "--json", "--db", str(tmp_path / "empty.db")])
    assert empty.exit_code == 0 and empty.stdout == "[]\n"


def test_report_on_a_full_disk_is_a_clear_error(demo, monkeypatch, tmp_path):
    import xlt_claims.report as report_pkg

    out = tmp_path / "report.md"
    out.write_text("the old report\n", encoding="utf-8")

    def full_disk(data, fmt):
        yield "# half a report\n"
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report_pkg, "render_chunks", full_disk)  # the verb imports it when it runs
    r = CliRunner().invoke(app, ["report", "-f", "md", "-o", str(out), "--db", str(demo)])
    assert r.exit_code == 1, r.output
    assert "No space left on device" in r.output and "report.md" in r.output and "Traceback" not in r.output
    assert out.read_text(encoding="utf-8") == "the old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary file left
