"""Papers: fetch through the real `arxiv` client against a local fixtures server, import, offline behaviour.
Nothing here touches the network: every URL is on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from _evidence_util import ARXIV_FIXTURES, arxiv_server, closed_port_url, feed_for, load_seeds, make_pdf
from xlt_claims.cli import app
from xlt_claims.papers import (
    PapersError,
    fetch_papers,
    get_paper,
    import_atom,
    paper_text,
    referenced_ids,
    split_id,
)
from xlt_claims.papers.client import PoliteClient, effective_delay
from xlt_claims.papers.pdftext import normalise_pages, pdf_to_text
from xlt_claims.store.models import Paper

ALL_IDS = sorted(p.stem for p in ARXIV_FIXTURES.glob("*.atom"))
runner = CliRunner()


def test_split_id_accepts_versions_and_urls():
    assert split_id("2104.08645v2") == ("2104.08645", 2)
    assert split_id("http://arxiv.org/abs/1911.03070v4") == ("1911.03070", 4)
    assert split_id("2205.08497") == ("2205.08497", None)
    with pytest.raises(PapersError):
        split_id("not-an-id")


def test_fetch_all_fixtures_through_real_client(store):
    pdf = make_pdf([
        "1 Introduction",
        "Feature aggregation fuses the hidden states of several mBERT layers.",
        "We call the fusion module DLFA in this toy text and use two convolution",
        "layers to compress the features.",
        "References",
        "A. Author. Some cited work. 2020.",
    ])
    with arxiv_server(pdfs={"2205.08497v1": pdf}) as (api, pdf_base, log):
        res = fetch_papers(store, ALL_IDS, url=api, pdf_url=pdf_base, delay_seconds=0)
    assert res.ok and sorted(res.fetched) == ALL_IDS
    # one batched API request for all seven ids, in the arXiv query format
    api_calls = [r for r in log if "/api/query" in r]
    assert len(api_calls) == 1 and "id_list=" in api_calls[0]
    with store.session() as s:
        papers = {p.arxiv_id: p for p in s.exec(select(Paper)).all()}
    p = papers["2104.08645"]
    assert p.title == "Improving Zero-Shot Cross-Lingual Transfer Learning via Robust Training"
    assert p.version == 2 and [v["version"] for v in p.versions] == [1, 2]
    assert p.authors[0] == "Kuan-Hao Huang" and p.comment == "EMNLP 2021"
    assert p.fetched_at is not None and p.fetched_at.tzinfo is not None
    assert p.abstract.startswith("Pre-trained multilingual language encoders") and "\n" not in p.abstract
    assert p.source == "arxiv-api" and p.text_source == "abstract"
    assert papers["1911.03070"].version == 4
    # the PDF that could be downloaded was read; the others were skipped gracefully
    fa = papers["2205.08497"]
    assert fa.text_source == "full-text" and fa.pdf_status.startswith("ok: 1 pages")
    assert "two convolution layers to compress" in fa.full_text  # hyphenless line join
    assert [s["name"] for s in fa.sections] == ["1 Introduction", "References"]
    assert papers["2104.08645"].pdf_status == "unavailable: HTTP 404"
    assert res.pdf["2104.08645"] == "unavailable: HTTP 404"


def test_fetch_report_references_only(store):
    load_seeds(store)
    assert sorted(referenced_ids(store, "000_29b9937d0813450b")) == ["1911.03070", "2104.08645", "2106.01732"]
    with arxiv_server() as (api, _, _):
        res = fetch_papers(store, report="000_29b9937d0813450b", url=api, pdf=False, delay_seconds=0)
    assert sorted(res.fetched) == ["1911.03070", "2104.08645", "2106.01732"]
    with pytest.raises(PapersError, match="no report"):
        referenced_ids(store, "no-such-report")


def test_offline_fetch_explains_each_paper_and_keeps_store(store, db_path):
    for f in ARXIV_FIXTURES.glob("*.atom"):
        import_atom(store, f)
    before = {p.arxiv_id: (p.abstract, p.title, p.version) for p in _papers(store)}
    dead = closed_port_url()
    res = fetch_papers(store, ["2104.08645", "1911.03070"], url=dead, num_retries=0, pdf=False)
    assert not res.ok and set(res.failed) == {"2104.08645", "1911.03070"}
    assert all("offline" in r for r in res.failed.values())
    after = {p.arxiv_id: (p.abstract, p.title, p.version) for p in _papers(store)}
    assert after == before  # nothing stored was lost
    assert get_paper(store, "2104.08645").last_error.endswith("offline: connection refused")
    # the CLI: one line per unreachable paper, non-zero exit
    r = runner.invoke(app, ["papers", "fetch", "2104.08645", "1911.03070", "9999.99999", "--url", dead,
                            "--retries", "0", "--no-pdf", "--db", str(db_path)])
    assert r.exit_code != 0
    lines = [l for l in r.output.splitlines() if l.startswith("unreachable")]
    assert len(lines) == 3
    assert any("2104.08645" in l and "stored copy kept" in l for l in lines)
    assert any("9999.99999" in l and "nothing stored yet" in l for l in lines)
    assert {p.arxiv_id: (p.abstract, p.title, p.version) for p in _papers(store)} == before


def _papers(store):
    with store.session() as s:
        return list(s.exec(select(Paper)).all())


def test_retries_with_backoff_then_succeeds(store):
    calls = []

    class Flaky(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            calls.append(self.path)
            if len(calls) == 1:
                self.send_response(503)
                self.end_headers()
                return
            body = feed_for(["2104.08645"])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        res = fetch_papers(store, ["2104.08645"], url=f"http://127.0.0.1:{srv.server_address[1]}/api/query",
                           delay_seconds=0.05, num_retries=2, pdf=False)
    finally:
        srv.shutdown()
        srv.server_close()
    assert res.ok and res.fetched == ["2104.08645"] and len(calls) == 2


def test_polite_delay_floor_for_remote_hosts():
    assert effective_delay("https://export.arxiv.org/api/query", 0.5) == 3.0
    assert effective_delay("http://127.0.0.1:8000/api/query", 0.0) == 0.0
    c = PoliteClient("https://export.arxiv.org/api/query", delay_seconds=1, num_retries=2)
    assert c.delay_seconds == 3.0 and c.num_retries == 2 and c.query_url_format.startswith("https://export")


def test_import_cli_list_show_json(db_path):
    files = [str(f) for f in sorted(ARXIV_FIXTURES.glob("*.atom"))]
    r = runner.invoke(app, ["papers", "import", *files, "--db", str(db_path)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["papers", "list", "--json", "--db", str(db_path)])
    rows = json.loads(r.output)
    assert sorted(x["arxiv_id"] for x in rows) == ALL_IDS
    assert all(x["source"].startswith("import:") for x in rows)
    r = runner.invoke(app, ["papers", "show", "2110.02887", "--json", "--db", str(db_path)])
    d = json.loads(r.output)
    assert "Optimal Transport" in d["title"] and d["version"] == 1 and d["text_source"] == "abstract"
    r = runner.invoke(app, ["papers", "show", "1234.56789", "--db", str(db_path)])
    assert r.exit_code == 1 and "not in the store" in r.output


def test_import_rejects_a_non_atom_file(tmp_path, db_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("just some notes")
    r = runner.invoke(app, ["papers", "import", str(bad), "--db", str(db_path)])
    assert r.exit_code == 1 and "notes.txt" in r.output


def test_new_version_drops_stale_full_text(store):
    pdf = make_pdf(["Introduction", "Some body text of version one that is long enough."])
    with arxiv_server(pdfs={"2205.08497v1": pdf}) as (api, pdf_base, _):
        fetch_papers(store, ["2205.08497"], url=api, pdf_url=pdf_base, delay_seconds=0)
    assert get_paper(store, "2205.08497").full_text
    # pretend the stored copy was of an older version: the next fetch (v1 again) must not keep mixed text
    with store.session() as s:
        p = s.get(Paper, "2205.08497")
        p.version = 0 + 3
        s.add(p)
    with arxiv_server() as (api, pdf_base, _):
        fetch_papers(store, ["2205.08497"], url=api, pdf_url=pdf_base, delay_seconds=0)
    p = get_paper(store, "2205.08497")
    assert p.version == 1 and p.full_text is None and p.text_source == "abstract"
    assert paper_text(p) == p.abstract


def test_pdf_normalisation_dehyphenates_and_records_sections():
    text, sections = normalise_pages([
        "Abstract\nWe study multi-\nlingual transfer.\n\n1 Introduction\nCross-lingual\nwork is old.",
        "2.1 Method Details\nWe fuse layers.\nReferences\n[1] A. B. Title. 2020.",
    ])
    assert "multilingual transfer." in text and "Cross-lingual work is old." in text
    names = [s["name"] for s in sections]
    assert names == ["Abstract", "1 Introduction", "2.1 Method Details", "References"]
    for s in sections:
        assert text[s["start"]:s["heading_end"]] == s["name"]
    with pytest.raises(Exception):
        pdf_to_text(b"%PDF-1.4 broken")


def test_import_a_folder_of_responses(db_path):
    r = runner.invoke(app, ["papers", "import", str(ARXIV_FIXTURES), "--json", "--db", str(db_path)])
    assert r.exit_code == 0, r.output
    imported = json.loads(r.output)["imported"]
    assert sorted(i for ids in imported.values() for i in ids) == ALL_IDS


def test_cli_fetch_uses_the_configured_endpoint(db_path):
    with arxiv_server() as (api, pdf_base, log):
        r = runner.invoke(app, ["papers", "fetch", "2104.08645", "2110.02887", "--delay", "0", "--db", str(db_path)],
                          env={"XLT_CLAIMS_ARXIV_URL": api, "XLT_CLAIMS_ARXIV_PDF_URL": pdf_base})
    assert r.exit_code == 0, r.output
    assert "fetched 2104.08645" in r.output and "unavailable: HTTP 404" in r.output  # no PDF served: abstract kept
    assert any("/pdf/2104.08645v2" in p for p in log)
