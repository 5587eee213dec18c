"""Fuzzing harness (issue 15): hostile report files and field values through `ingest`, `list`, `show`,
`reports` and `report` (HTML, Markdown, JSON). The checks are in tests/_hostile_check.py: exit 0 or a
clean `file[:line]: reason`, no traceback, no row changed by a failed ingest, strict JSON, no raw
control character in terminal or Markdown output, markup in data shown as text, no tag or attribute
from data in the rendered Markdown or the HTML.

* `test_hostile_corpus`: every file of tests/data/hostile/ plus large and odd-named ones made at run
  time (100 KB runs of spaces after parser triggers, 3,000 arXiv ids on one line, a NUL after 64 KiB,
  100 KB of markup and escapes, a 300-row table, a file name full of markup and escapes), in a child
  process. A case that gives no answer within CASE_TIMEOUT_S (60 s) is reported as a hang; this is a
  hang detector, not a time limit (per-case times: `python benchmarks/bench_hostile.py`).
* `test_fuzz_generated_reports` and `test_fuzz_field_values`: property-based (hypothesis). The default
  run is small (8 examples each, about 20 s in all). A longer fuzz on demand:

      XLT_CLAIMS_FUZZ_EXAMPLES=500 python -m pytest -q tests/test_fuzz.py -k fuzz

  Examples are random on every run (no example database is written); a failure prints the
  falsifying example, and hypothesis' `--hypothesis-seed=N` replays a run.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text as sql

from conftest import ROOT
from _hostile_check import CHILD, FRAGMENTS, HOSTILE_DIR, Checker, check_files
from _ingest_util import report_text, write

CASE_TIMEOUT_S = 60
EXAMPLES = int(os.environ.get("XLT_CLAIMS_FUZZ_EXAMPLES", "8"))

# cases whose outcome is known: stored (True) or a clean error with nothing stored (False)
EXPECTED = {
    "payload_everywhere.txt": True, "markup_in_fields.txt": True, "terminal_escapes.txt": True,
    "bidi_and_invisible.txt": True, "html_and_markdown.md": True, "markdown_block_starts.txt": True,
    "utf16_bom.txt": True, "crlf.txt": True, "examines_spaces.txt": True, "heading_spaces.md": True,
    "quality_spaces.txt": True, "huge_quality_score.txt": True, "arxiv_version_30_digits.txt": True,
    "nested_brackets.txt": True, "backslashes.txt": True, "astral_and_combining.txt": True,
    "examines_100k.txt": True, "heading_100k.md": True, "quality_100k.txt": True, "ids_one_line.txt": True,
    "markup_100k.txt": True, "escapes_100k.txt": True, "table_300_rows.txt": True,
    "[bold] \x1b[2J \x1b]0;t\x07 \u202e <img src=x onerror=alert(1)>.txt": True,
    "empty.txt": False, "only_newlines.txt": False, "only_spaces.txt": False, "spaces_100k.txt": False,
    "nul_early.txt": False, "nul_after_64k.txt": False, "invalid_utf8.txt": False, "lone_surrogate_bytes.txt": False,
    "no_claims_table.txt": False, "many_columns.txt": False, "table_only_marks.txt": False,
}


def test_hostile_corpus(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(Path(__file__).parent), str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    current, results, done = "(start-up)", [], False
    try:
        while not done:
            if not sel.select(timeout=CASE_TIMEOUT_S):
                pytest.fail(f"hostile case {current!r}: no answer within {CASE_TIMEOUT_S} s (a hang)")
            line = proc.stdout.readline()
            if not line:
                break
            d = json.loads(line)
            current = d.get("start", current)
            done = d.get("done", False)
            if "case" in d:
                results.append(d)
    finally:
        if proc.poll() is None:
            proc.kill()
        err = proc.stderr.read()
        proc.wait()
    assert done, f"the child stopped during {current!r}: {err[-2000:]}"
    names = {d["case"] for d in results}
    assert len(results) >= len(list(HOSTILE_DIR.iterdir())) + 10 and set(EXPECTED) <= names, set(EXPECTED) - names
    problems = {d["case"]: d["problems"] for d in results if d["problems"]}
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=True)
    wrong = {d["case"]: d["stored"] for d in results if d["case"] in EXPECTED and d["stored"] != EXPECTED[d["case"]]}
    assert not wrong, f"stored (True) / failed (False) unlike expected: {wrong}"


# --- property-based ---------------------------------------------------------------------------------

_free = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
field = st.lists(st.one_of(st.sampled_from(FRAGMENTS), _free), max_size=6).map("".join)
_claim = st.tuples(st.sampled_from(["Robust training improves XNLI accuracy by 1.5 points.",
                                    "mBERT transfers worse to Thai than to German.", ""]), field).map(" ".join)
_mark = st.one_of(st.sampled_from(["\u2713", "\u00d7", "", "?"]), field)
_conf = st.one_of(st.sampled_from(["0.4", "1", "0", "nan", "1e999", "-0.5", ""]),
                  st.floats(allow_nan=True, allow_infinity=True).map(str), field)
_name = field.map(lambda s: "".join(ch for ch in s if ch not in "/\x00")[:60].strip() or "r") \
    .filter(lambda s: s not in (".", "..") and len(s.encode("utf-8", "surrogatepass")) < 200)


@st.composite
def report_files(draw):
    """(file name, content): a report built from hostile fields, or raw text / bytes."""
    name = draw(_name) + draw(st.sampled_from([".txt", ".md", ""]))
    kind = draw(st.sampled_from(["report", "report", "report", "text", "bytes"]))
    if kind == "text":
        return name, draw(st.text(max_size=400))
    if kind == "bytes":
        return name, draw(st.binary(max_size=400))
    rows = draw(st.lists(st.tuples(_claim, _mark, _conf), max_size=4))
    refs = tuple("http://arxiv.org/abs/2104.08645v2" + f for f in draw(st.lists(field, min_size=1, max_size=2)))
    return name, report_text(rows, markdown=draw(st.booleans()), title=draw(field), refs=refs, results=draw(field))


# the default run does not shrink a failure (each example costs about a second); a long run does
_fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                 phases=[Phase.generate] + ([Phase.shrink] if "XLT_CLAIMS_FUZZ_EXAMPLES" in os.environ else []),
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                        HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def fuzz_dir():
    with tempfile.TemporaryDirectory(prefix="xlt-fuzz-") as d:
        yield Path(d)


@_fuzz
@given(case=report_files())
def test_fuzz_generated_reports(fuzz_dir, case):
    """A generated report file (or raw text / bytes) through ingest and every read verb."""
    name, content = case
    folder = Path(tempfile.mkdtemp(dir=fuzz_dir))
    path = write(folder / name, content)
    problems = check_files(fuzz_dir / "claims.db", [path])
    assert not problems, problems


@_fuzz
@given(values=st.lists(field, min_size=6, max_size=6))
def test_fuzz_field_values(fuzz_dir, values):
    """Hostile values written straight into a stored report's fields (key, file name, title, claim
    text, flag, paper title), past anything the parser would normalise, then every read verb."""
    from xlt_claims.store import open_store

    key, file_name, title, claim, flag, paper = values
    key = key or "k"
    folder = Path(tempfile.mkdtemp(dir=fuzz_dir))
    db = folder / "claims.db"
    path = write(folder / "r.txt", report_text([("Robust training improves XNLI accuracy by 1.5 points.",
                                                 "\u2713", "0.4")]))
    c = Checker(db)
    assert c.ingest([path]), c.problems
    store = open_store(db)
    try:
        with store.engine.begin() as conn:
            conn.execute(sql("UPDATE report SET key = :k, file_name = :f, title = :t"), {"k": key, "f": file_name,
                                                                                       "t": title})
            for table in ("claim", "flag"):
                conn.execute(sql(f"UPDATE {table} SET report_key = :k"), {"k": key})
            conn.execute(sql("UPDATE claim SET text = :c"), {"c": claim})
            cid = conn.execute(sql("SELECT id FROM claim")).scalar_one()
            conn.execute(sql("INSERT INTO paper (arxiv_id, title, authors, categories, text_source, source, versions, "
                             "sections) VALUES ('2104.08645', :p, '[]', '[]', 'abstract', :p, '[]', '[]')"), {"p": paper})
            conn.execute(sql("INSERT INTO flag (report_key, claim_id, kind, subject, message, created_at) "
                             "VALUES (:k, :c, 'invented-entity', :f, :f, '2026-01-01')"), {"k": key, "c": cid, "f": flag})
    finally:
        store.close()
    c.read_all()
    for extra in (["flags"], ["papers", "list"], ["papers", "show", "2104.08645"]):
        c.terminal(extra[0], c.run(*extra).output)
    assert not c.problems, c.problems


@settings(max_examples=max(200, EXAMPLES), deadline=None, database=None)
@given(text=st.one_of(st.text(alphabet="\\[]/ab#@=B: \t\x1b\u202e", max_size=14), field),
       template=st.sampled_from(["{}", "[red]{}[/]", "x{}y", "[bold]a[/] {} [dim]b[/]", "\\[{}]"]))
def test_fuzz_terminal_field_renders_as_itself(text, template):
    """Any data put into our markup through `safe()` renders as exactly its visible text (markup in
    it shown, backslashes kept, our own tags around it still working), with no raw control byte."""
    import io

    from xlt_claims.cli.common import SafeConsole, safe
    from xlt_claims.sanitise import has_raw_controls, visible

    con = SafeConsole(file=io.StringIO(), width=1000, highlight=False)
    con.print(template.format(safe(text)), soft_wrap=True)
    out = con.file.getvalue()[:-1]
    want = template.replace("[red]", "").replace("[/]", "").replace("[bold]", "").replace("[dim]", "")
    want = want.replace("\\[", "[").format(visible(text).replace("\t", " "))
    assert out == want and not has_raw_controls(out)
