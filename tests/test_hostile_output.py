"""Hostile data through every output path (issue 15, items 2, 4, 5): rich markup, terminal escape
sequences, bidi overrides and HTML in claim text, title, report key, file name, flags, papers and
evidence reach `list`, `show`, `reports`, `flags`, `ingest`, `reproduce --dry-run`, `link`, `papers`,
`db copy` and the HTML / Markdown / JSON report. Every verb must exit 0 with no traceback, print no raw
control character, and show the data as text (not drop it, not obey it)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from _ingest_util import counts, report_text, write
from xlt_claims.cli import app
from xlt_claims.sanitise import for_markdown, for_terminal, has_raw_controls, json_text, visible
from xlt_claims.store import open_store
from xlt_claims.store.models import Claim, Evidence, Flag, Paper

MARKUP = "[/bold]"
LINK = "[link=http://evil]x[/link]"
CLEAR = "\x1b[2J"
TITLE = "\x1b]0;title\x07"
OSC8 = "\x1b]8;;http://evil\x1b\\x\x1b]8;;\x1b\\"
BIDI = "\u202e"
IMG = "<img src=x onerror=alert(1)>"
PAYLOAD = " ".join((MARKUP, LINK, CLEAR, TITLE, OSC8, BIDI, IMG))
# a file name cannot hold "/": the closing tag is left out there ("[bold]" alone is markup too)
NAME_PAYLOAD = " ".join(("[bold]", "[red]", CLEAR, TITLE, BIDI, IMG))
# what must still be visible (as text) wherever the payload was shown in full
SHOWN = (MARKUP, LINK, "\u241b[2J", "\u241b]0;title\u2407", "<U+202E>", IMG)


def _json_strict(text: str):
    def _reject(c):
        raise ValueError(f"non-finite number {c} in JSON")
    return json.loads(text, parse_constant=_reject)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A store with two hostile reports (one with a hostile file name), a flag, a paper and evidence."""
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "claims.db"
    folder = tmp / "reports"
    text = report_text([("Robust training improves XNLI accuracy by 1.5 points. " + PAYLOAD, "\u2713", "0.40"),
                        ("mBERT transfers worse to Thai than to German. " + PAYLOAD, "\u00d7", "0.20")],
                       title="A Report " + PAYLOAD)
    write(folder / "plain.txt", report_text([("XLM-R beats mBERT on PAWS-X by 2 points.", "\u2713", "0.5")]))
    write(folder / f"{NAME_PAYLOAD}.txt", text)
    write(folder / "zz_last.txt", report_text([("Adapters help Swahili NER by 3 F1.", "\u2713", "0.5")],
                                              title="Last"))
    r = CliRunner().invoke(app, ["ingest", str(folder), "--db", str(db)], catch_exceptions=False)
    ingest_out = r.output
    assert r.exit_code == 0, r.output
    store = open_store(db)
    with store.session() as s:
        claims = s.exec(select(Claim)).all()
        key = next(c.report_key for c in claims if "[bold]" in c.report_key)
        cid = next(c.id for c in claims if c.report_key == key)
        s.add(Paper(arxiv_id="2104.08645", version=2, title="Paper " + PAYLOAD, authors=["A " + PAYLOAD],
                    abstract="Abstract " + PAYLOAD, source="import:" + PAYLOAD, last_error=PAYLOAD))
        s.flush()
        s.add(Flag(report_key=key, claim_id=cid, kind="invented-entity", subject="Ent " + PAYLOAD,
                   message="msg " + PAYLOAD))
        s.add(Evidence(claim_id=cid, arxiv_id="2104.08645", paper_version=2, section="Sec " + PAYLOAD,
                       sentence_index=0, char_start=0, char_end=5, quote="Quote " + PAYLOAD, score=0.5,
                       stance="support", stance_detail={"rank": 1, "role": "decisive " + PAYLOAD,
                                                        "rule": "rule " + PAYLOAD}, model_id="m"))
        c = s.get(Claim, cid)
        c.text_verdict = "supported-by-source"
        c.text_verdict_detail = {"verdict": "supported-by-source", "checked_against": "abstract",
                                 "reason": "because " + PAYLOAD, "papers_unavailable": [PAYLOAD]}
        s.add(c)
    store.close()
    return {"db": db, "tmp": tmp, "key": key, "cid": cid, "ingest_out": ingest_out, "folder": folder}


def _run(monkeypatch, *args):
    monkeypatch.setenv("COLUMNS", "3000")  # one line per row: the payload is never wrapped apart
    r = CliRunner().invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output and "MarkupError" not in r.output, r.output
    return r


def _clean(out: str, *, full: bool = True) -> None:
    assert not has_raw_controls(out), repr(out)
    if full:
        for piece in SHOWN:
            assert piece in out, (piece, out)


def test_ingest_batch_shows_hostile_file_name_and_stores_every_file(hostile):
    out = hostile["ingest_out"]
    _clean(out, full=False)
    assert "[bold] [red] \u241b[2J" in out and IMG in out  # the file name as text
    assert "zz_last.txt" in out  # the files after the hostile one were stored too
    store = open_store(hostile["db"], read_only=True)
    try:
        assert counts(store)["report"] == 3
    finally:
        store.close()


@pytest.mark.parametrize("verb", [["list"], ["reports"], ["flags"], ["papers", "list"], ["papers", "show", "2104.08645"],
                                  ["link"], ["reproduce", "--dry-run", "--all"]])
def test_read_verbs(hostile, monkeypatch, verb):
    r = _run(monkeypatch, *verb, "--db", str(hostile["db"]))
    assert r.exit_code == 0, r.output
    # list/reports/link/dry-run cut long cells; the start of the payload (the markup) is always shown
    _clean(r.output, full=verb[0] in ("flags", "papers"))
    if verb[0] != "link":  # link shows experiment descriptions and claim ids, no report data
        assert MARKUP in r.output or "[bold]" in r.output


def test_show_every_block(hostile, monkeypatch):
    r = _run(monkeypatch, "show", hostile["cid"], "--db", str(hostile["db"]))
    assert r.exit_code == 0, r.output
    _clean(r.output)
    for block in ("because ", "Quote ", "rule ", "[bold] [red] \u241b[2J"):  # verdict, evidence, rule, file name
        assert block in r.output, block


def test_json_outputs_are_strict_and_escape_bidi(hostile, monkeypatch):
    for verb in (["list"], ["reports"], ["show", hostile["cid"]], ["flags"], ["papers", "list"]):
        r = _run(monkeypatch, *verb, "--json", "--db", str(hostile["db"]))
        assert r.exit_code == 0, r.output
        _json_strict(r.stdout)
        assert not has_raw_controls(r.stdout), verb
    rows = _json_strict(_run(monkeypatch, "list", "--json", "--db", str(hostile["db"])).stdout)
    assert any(PAYLOAD in row["text"] for row in rows)  # the data itself is unchanged


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(a for a, _ in attrs)


def test_markdown_report_renders_data_as_text(hostile, monkeypatch):
    from markdown_it import MarkdownIt

    out = hostile["tmp"] / "r.md"
    r = _run(monkeypatch, "report", "-f", "md", "-o", str(out), "--db", str(hostile["db"]))
    assert r.exit_code == 0, r.output
    md = out.read_text(encoding="utf-8")
    assert not has_raw_controls(md)
    html = MarkdownIt("commonmark").enable("table").render(md)
    p = _Tags()
    p.feed(html)
    assert "img" not in p.tags and "onerror" not in p.attrs
    assert not re.search(r"<a [^>]*href=\"http://evil", html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown, as text
    # no data inside a code span: every `...` holds a hash or id we made (hex)
    for span in re.findall(r"`([^`]*)`", md):
        assert re.fullmatch(r"[0-9a-f]*", span), span
    key_line = next(line for line in md.splitlines() if line.startswith("key ") and "[bold]" in line.replace("\\", ""))
    assert "\\[bold\\]" in key_line and "&lt;img" in key_line


def test_html_report_escapes(hostile, monkeypatch):
    out = hostile["tmp"] / "r.html"
    r = _run(monkeypatch, "report", "-f", "html", "-o", str(out), "--db", str(hostile["db"]))
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert IMG not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not has_raw_controls(html)
    p = _Tags()
    p.feed(html)
    assert "img" not in p.tags and "onerror" not in p.attrs


def test_json_report_strict(hostile, monkeypatch):
    r = _run(monkeypatch, "report", "-f", "json", "-o", "-", "--db", str(hostile["db"]))
    assert r.exit_code == 0
    d = _json_strict(r.stdout)
    assert not has_raw_controls(r.stdout)
    assert any(PAYLOAD in c["text"] for c in d["claims"])


def test_db_copy_hostile_paths(hostile, monkeypatch):
    dst = hostile["tmp"] / f"copy {NAME_PAYLOAD}.db"
    r = _run(monkeypatch, "db", "copy", str(hostile["db"]), str(dst))
    assert r.exit_code == 0, r.output
    _clean(r.output, full=False)
    assert "%5Bbold%5D" in r.output  # the destination URL, percent-encoded


def test_reporter_notes_keep_their_colour_not_the_data_markup(capsys):
    from xlt_claims.cli.common import message
    from xlt_claims.cli.verify import RichPipelineReporter

    assert message("[red]" + PAYLOAD).startswith("[red]") and message("[red]" + PAYLOAD).endswith("[/]")
    RichPipelineReporter().note("[yellow]file " + PAYLOAD)
    err = capsys.readouterr().err
    assert not has_raw_controls(err) and MARKUP in err and LINK in err


def test_sanitiser_units():
    assert visible("a\x1b[2Jb") == "a\u241b[2Jb" and visible("x\u202ey") == "x<U+202E>y"
    assert for_terminal("[/bold]") == "\\[/bold]"
    # a backslash before "[" whose "]" comes from markup after the field (found by test_fuzz): printed as written
    from rich.markup import render
    assert render("\\[" + for_terminal("\\[arXiv:2104.08645v2") + "]").plain == "[\\[arXiv:2104.08645v2]"
    assert render("[red]" + for_terminal("a\\\\[b") + "[/]").plain == "a\\\\[b"
    assert for_markdown("- item") == "\\- item" and for_markdown("1. x") == "1\\. x"
    assert for_markdown("a *b* [c](d) <i>") == "a \\*b\\* \\[c\\](d) &lt;i&gt;"
    assert json.loads(json_text(json.dumps("\u202e\x85", ensure_ascii=False))) == "\u202e\x85"
    assert not has_raw_controls(json_text(json.dumps("\u202e\x85", ensure_ascii=False)))


@pytest.mark.parametrize("verb,fields", [(["list"], ["text"]), (["flags"], ["message", "subject"]),
                                         (["papers", "list"], ["title", "source", "last_error"])])
def test_listings_read_in_80_columns(hostile, monkeypatch, verb, fields):
    """Each row is its key, one line of what it is, and its long text wrapped under it at full width: a
    long text squeezed into the last of many columns took a line per word or two."""
    monkeypatch.setenv("COLUMNS", "80")
    r = CliRunner().invoke(app, [*verb, "--db", str(hostile["db"])])
    assert r.exit_code == 0, r.output
    rows = json.loads(CliRunner().invoke(app, [*verb, "--json", "--db", str(hostile["db"])]).stdout)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert max(map(len, lines)) <= 80
    assert len(lines) <= 2 + sum(2 + sum(len(row[f] or "") for f in fields) // 60 for row in rows), r.output
