"""One hostile input through the whole tool, checked (issue 15): the fuzz tests, the fixed corpus and
benchmarks/bench_hostile.py all use `check_files`.

For report files ingested into a store, it runs `ingest`, `list`, `show`, `reports` and `report`
(HTML, Markdown, JSON) through typer's runner and returns the problems found (an empty list is a
pass):

* every command exits 0 (ingest: 0, or 1 with a clean `file[:line]: reason` line per failed file),
  with no traceback;
* a failed ingest changes no row;
* every JSON output parses strictly (no NaN / Infinity);
* no terminal output and no Markdown holds a raw control character (`sanitise.has_raw_controls`);
* a claim's text is shown by `show` as text (so markup in it was escaped, not obeyed or dropped);
* the Markdown, rendered by markdown-it, and the HTML have no tag or attribute that data could have
  put there (img, script with src, iframe, on* attributes, links out of the page).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Optional

from typer.testing import CliRunner

from _ingest_util import counts, report_text
from xlt_claims.cli import app
from xlt_claims.sanitise import has_raw_controls, visible
from xlt_claims.store import open_store

HOSTILE_DIR = Path(__file__).parent / "data" / "hostile"

# pieces the fuzzer mixes into every field
FRAGMENTS = [
    "[/bold]", "[bold]", "[/]", "[link=http://evil]x[/link]", "[red]", "\\[", "\\", "[", "]",
    "\x1b[2J", "\x1b]0;title\x07", "\x1b]8;;http://evil\x1b\\x\x1b]8;;\x1b\\", "\x9b31m", "\x07", "\x08", "\r",
    "\u202e", "\u2066", "\u200b", "\ufeff", "\u2028",
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:alert(1))", "![i](http://evil/i.png)",
    "`", "``", "*", "_", "|", "# ", "- ", "1. ", "> ", "&amp;", "&#x3c;", "<", ">", "&",
    "\t", "  ", "\u2713", "\u00d7", "0.4", "1e999", "nan", "-inf", "9" * 40, "arXiv:2104.08645v2",
    "http://arxiv.org/abs/2104.08645v2", "XNLI", "improves", "by 1.5 points", "🤖", "e\u0301", ":smile:",
]

_ALLOWED_MD_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "strong", "em", "code", "pre",
                    "blockquote", "table", "thead", "tbody", "tr", "th", "td", "a", "details", "summary", "br", "hr"}
_BAD_HTML_TAGS = {"img", "iframe", "object", "embed", "frame", "base", "form", "input", "meta-refresh"}
_FAILED_LINE = re.compile(r"^\u2717 (?P<where>.+?): ")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, Optional[str]]]]] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.append((tag, attrs))


def _tags(html: str) -> list[tuple[str, list[tuple[str, Optional[str]]]]]:
    p = _Tags()
    p.feed(html)
    p.close()
    return p.tags


def strict_json(text: str):
    def _reject(c):  # noqa: ANN001
        raise ValueError(f"non-finite number {c}")
    return json.loads(text, parse_constant=_reject)


def _flat(s: str) -> str:
    return " ".join(s.split())


class Checker:
    """Runs the verbs against one store; `problems` collects what went wrong (with the command)."""

    def __init__(self, db: Path, show_limit: int = 1) -> None:
        self.db = db
        self.show_limit = show_limit
        self.runner = CliRunner()
        self.problems: list[str] = []
        self.report_ids: list[int] = []
        self._only: tuple[str, ...] = ()

    def run(self, *args: str, codes: Iterable[int] = (0,), width: int = 200):
        from xlt_claims.cli.common import console, err_console

        saved = console._width, err_console._width
        console.width = err_console.width = width  # wide enough that a claim is not wrapped apart
        try:
            r = self.runner.invoke(app, [*args, "--db", str(self.db)])
        finally:
            console._width, err_console._width = saved
        what = " ".join(a if len(a) < 40 else a[:37] + "..." for a in args[:3])
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            self.problems.append(f"{what}: {type(r.exception).__name__}: {r.exception}")
        elif r.exit_code not in codes:
            self.problems.append(f"{what}: exit {r.exit_code}: {r.output[-300:]!r}")
        if "Traceback" in r.output:
            self.problems.append(f"{what}: traceback in the output")
        return r

    def terminal(self, what: str, text: str) -> None:
        if has_raw_controls(text):
            self.problems.append(f"{what}: raw control character in the output")

    def json(self, what: str, text: str):
        try:
            return strict_json(text)
        except ValueError as exc:
            self.problems.append(f"{what}: not strict JSON: {exc}")
            return None

    def _counts(self) -> dict[str, int]:
        store = open_store(self.db)
        try:
            return counts(store)
        finally:
            store.close()

    def ingest(self, files: list[Path]) -> bool:
        """Ingest the files; True when every one was stored (then `self.report_ids` holds their ids)."""
        before = self._counts()
        r = self.run("ingest", *map(str, files), codes=(0, 1))
        self.terminal("ingest", r.output)
        after = self._counts()
        if r.exit_code != 0:
            failed = [ln for ln in r.output.splitlines() if ln.startswith("\u2717")]
            if not failed:
                self.problems.append(f"ingest: exit {r.exit_code} without a failed-file line: {r.output[-300:]!r}")
            for ln in failed:
                m = _FAILED_LINE.match(ln)
                if m is None or not any(_flat(visible(f.name)) in _flat(m.group("where")) for f in files):
                    self.problems.append(f"ingest: failed-file line names no file: {ln[:200]!r}")
            if len(files) == 1 and after != before:
                self.problems.append(f"ingest failed but rows changed: {before} -> {after}")
        reports = self.json("reports --json", self.run("reports", "--json").stdout) or []
        names = {f.name for f in files}
        self.report_ids = [r["id"] for r in reports if r["file_name"] in names and r["is_latest"]]
        return r.exit_code == 0

    def read_all(self, report_id: Optional[int] = None) -> None:
        """Every read verb and report format, on one report (its id) or the whole store."""
        only = ("--report", str(report_id)) if report_id is not None else ()
        r = self.run("list", "--json", *only)
        rows = self.json("list --json", r.stdout) or []
        self.terminal("list", self.run("list", *only).output)
        # the claims with the most punctuation, controls and symbols first
        for row in sorted(rows, key=lambda x: (-sum(not ch.isalnum() for ch in x["text"]), x["id"]))[:self.show_limit]:
            r = self.run("show", row["id"], width=max(200, len(visible(row["text"])) + 40))
            self.terminal("show", r.output)
            if _flat(visible(row["text"])) not in _flat(r.output):
                self.problems.append(f"show {row['id']}: the claim text is not shown as text")
            self.json("show --json", self.run("show", row["id"], "--json").stdout)
        self.terminal("reports", self.run("reports").output)
        self._only = only
        self.report_md()
        self.report_html()
        r = self.run("report", "-f", "json", "-o", "-", *only)
        self.terminal("report json", r.stdout)
        self.json("report json", r.stdout)

    def report_md(self) -> None:
        from markdown_it import MarkdownIt

        md = self.run("report", "-f", "md", "-o", "-", *self._only).stdout
        self.terminal("report md", md)
        html = MarkdownIt("commonmark").enable("table").render(md)
        for tag, attrs in _tags(html):
            if tag not in _ALLOWED_MD_TAGS:
                self.problems.append(f"report md: renders a <{tag}> tag")
            for name, value in attrs:
                if name.startswith("on") or (name == "href" and not (value or "").startswith("#")) or name == "src":
                    self.problems.append(f"report md: renders attribute {name}={value!r} on <{tag}>")

    def report_html(self) -> None:
        html = self.run("report", "-f", "html", "-o", "-", *self._only).stdout
        self.terminal("report html", html)
        for tag, attrs in _tags(html):
            if tag in _BAD_HTML_TAGS or (tag == "script" and any(n == "src" for n, _ in attrs)):
                self.problems.append(f"report html: a <{tag}> tag")
            for name, value in attrs:
                if name.startswith("on"):
                    self.problems.append(f"report html: attribute {name}= on <{tag}>")
                if name in ("href", "src") and value and not value.startswith(("#", "data:")):
                    self.problems.append(f"report html: {name}={value[:60]!r} on <{tag}>")


def check_files(db: Path, files: list[Path], show_limit: int = 1) -> list[str]:
    """Ingest the files into the store at db, then every read verb and report format on each report
    stored (a failed ingest has nothing new to read: its check is that no row changed)."""
    c = Checker(db, show_limit)
    c.ingest(files)
    for rid in c.report_ids:
        c.read_all(rid)
    return c.problems


def generated_cases(folder: Path) -> list[Path]:
    """The large and odd-named hostile files, made at run time (too big or too odd for git)."""
    from _ingest_util import GOOD

    folder.mkdir(parents=True, exist_ok=True)
    ids = " ".join(f"arXiv:{2000 + i % 99:04d}.{i:05d}" for i in range(3000))
    cases = {
        "spaces_100k.txt": " " * 100_000,
        "examines_100k.txt": report_text(GOOD, results="This paper examines" + " " * 100_000 + "word"),
        "heading_100k.md": report_text(GOOD, markdown=True, results="# a" + " " * 100_000 + "b"),
        "quality_100k.txt": report_text(GOOD, results="quality score" + " " * 100_000 + "x"),
        "row_no_tabs_100k.txt": report_text(GOOD, table="Claim Verified Confidence\nRobust training" + " " * 100_000
                                            + "\u2713 0.4"),
        "ids_one_line.txt": report_text(GOOD, refs=("http://arxiv.org/abs/2104.08645v2",), results=ids),
        "markup_100k.txt": report_text(GOOD, results="[b]" * 33_000),
        "escapes_100k.txt": report_text(GOOD, results="\x1b[2J\x1b]0;t\x07" * 10_000),
        "table_300_rows.txt": report_text([(f"Method {i} improves XNLI by {i % 7}.5 points.", "\u2713", "0.5")
                                           for i in range(300)]),
        "[bold] \x1b[2J \x1b]0;t\x07 \u202e <img src=x onerror=alert(1)>.txt": report_text(GOOD),
    }
    out = []
    for name, text in cases.items():
        p = folder / name
        p.write_text(text, encoding="utf-8")
        out.append(p)
    nul = report_text(GOOD, results="x" * 70_000).encode("utf-8")
    p = folder / "nul_after_64k.txt"
    p.write_bytes(nul[:-200] + b"\x00" + nul[-200:])
    out.append(p)
    return out


def corpus_cases(folder: Path) -> list[Path]:
    """Every case: the checked-in corpus, then the generated ones."""
    return sorted(HOSTILE_DIR.iterdir()) + generated_cases(folder)


# run in a child process by the corpus test and the benchmark: one JSON line per case
CHILD = r"""
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from _hostile_check import Checker, corpus_cases
work = Path(sys.argv[2])
db = work / "claims.db"
for path in corpus_cases(work / "generated"):
    print(json.dumps({"start": path.name}), flush=True)
    t0, c0 = time.perf_counter(), time.process_time()
    c = Checker(db)
    stored = c.ingest([path])
    t1, c1 = time.perf_counter(), time.process_time()
    for rid in c.report_ids:
        c.read_all(rid)
    print(json.dumps({"case": path.name, "size": path.stat().st_size, "problems": c.problems, "stored": stored,
                      "ingest_s": t1 - t0, "ingest_cpu_s": c1 - c0, "total_s": time.perf_counter() - t0}), flush=True)
print(json.dumps({"done": True, "cpu_s": time.process_time()}), flush=True)
"""
