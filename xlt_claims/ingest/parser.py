"""Parser for the machine-written literature-report format.

The family: a title line, a byline and a date, then sections with plain-text headings ("2
Methodology") or Markdown headings ("## 2 Methodology"): Abstract, Introduction (with "Research
question: ...?"), Methodology / Results (stated paper, claim and verified counts, a quality score
"7.7/10"), Limitations, Extracted Claims (a table `Claim<TAB>Verified<TAB>Confidence` with ✓ / ×
marks, or the same as a Markdown pipe table) and References (arXiv URLs with versions).

Everything except the claims table is optional: a missing section leaves its fields empty and adds
a warning. Anything wrong with the table or the file itself raises `ParseError`, which names the
file and the line.
"""

from __future__ import annotations

import codecs
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date as _date
from pathlib import Path
from typing import Any, Optional

from .text import has_terminal_punctuation


class ParseError(ValueError):
    """A report that cannot be ingested. `str()` is `path:line: message`."""

    def __init__(self, path: str | Path, line: Optional[int], message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # pickled back from the parser processes with its three fields
        return (self.__class__, (self.path, self.line, self.message))


@dataclass
class ParsedClaim:
    row: int  # 1-based row in the claims table
    line: int  # 1-based line in the file
    text: str
    mark: Optional[bool]
    confidence: Optional[float]


@dataclass
class ParsedReference:
    position: int
    line: int
    arxiv_id: str
    version: Optional[int]
    cited_as: str


@dataclass
class Section:
    title: str
    canonical: Optional[str]
    line: int  # line of the heading
    body: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    def text(self) -> str:
        paras: list[str] = []
        cur: list[str] = []
        for _, ln in self.body:
            if ln.strip():
                cur.append(ln.strip())
            elif cur:
                paras.append(" ".join(cur))
                cur = []
        if cur:
            paras.append(" ".join(cur))
        return "\n\n".join(paras)


@dataclass
class ParsedReport:
    path: str
    key: str
    file_name: str
    content_hash: str
    title: Optional[str] = None
    date: Optional[str] = None
    abstract: Optional[str] = None
    research_question: Optional[str] = None
    stated_paper_count: Optional[int] = None
    stated_claims_count: Optional[int] = None
    stated_verified_count: Optional[int] = None
    quality_score: Optional[float] = None
    claims: list[ParsedClaim] = field(default_factory=list)
    references: list[ParsedReference] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    full_text: str = ""

    def report_fields(self) -> dict[str, Any]:
        return {
            "key": self.key, "file_name": self.file_name, "source_path": self.path,
            "content_hash": self.content_hash, "title": self.title, "date": self.date,
            "research_question": self.research_question, "abstract": self.abstract,
            "stated_paper_count": self.stated_paper_count, "stated_claims_count": self.stated_claims_count,
            "stated_verified_count": self.stated_verified_count, "quality_score": self.quality_score,
            "meta": self.meta,
        }


# --- vocabulary of the format --------------------------------------------------------------------

_SECTION_NAMES = {
    "abstract": "abstract", "summary": "abstract",
    "introduction": "introduction", "background": "background", "related work": "related-work",
    "method": "methodology", "methods": "methodology", "methodology": "methodology", "approach": "methodology",
    "results": "results", "findings": "results", "discussion": "discussion",
    "limitations": "limitations", "conclusion": "conclusion", "conclusions": "conclusion",
    "references": "references", "bibliography": "references", "sources": "references",
    "works cited": "references", "cited papers": "references",
}
_CLAIM_COLS = {"claim", "claims", "claim text", "statement", "extracted claim", "extracted claims"}
_MARK_COLS = {"verified", "verification", "supported", "status", "mark", "check"}
_CONF_COLS = {"confidence", "conf", "confidence score", "score", "probability"}

_TRUE_MARKS = {"\u2713", "\u2714", "\u2611", "\u2705", "yes", "y", "true", "verified", "supported", "1"}
_FALSE_MARKS = {"\u00d7", "\u2717", "\u2718", "\u2612", "\u274c", "\u2715", "\u2716", "x", "no", "n", "false",
                "unverified", "not verified", "unsupported", "0"}
_NONE_MARKS = {"-", "\u2013", "\u2014", "?", "n/a", "na", "unknown"}

# Patterns run on lines of untrusted files: none has two unbounded quantifiers that can match the
# same characters next to each other (the cause of cubic time on a few KB of spaces). The parts that
# need such a split (trailing '#'s of a heading, the cells of a separator row, the text up to a
# period) are done in Python. tests/test_ingest_hostile.py checks every pattern for linear time.
_MD_HEADING_OPEN = re.compile(r"[ \t]{0,3}(#{1,6})(?:[ \t]|$)")
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+(\S.*)$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_PIPE_SEP_CELL = re.compile(r":?-{3,}:?")
_LOOSE_ROW = re.compile(
    r"(?:[\u2713\u2714\u2611\u2705\u00d7\u2717\u2718\u2612\u274c]\s*(?:[,;]\s*)?(?:\.\d+|\d+(?:\.\d+)?%?)\s*$)"
    r"|(?:\S\s{2,}(?:\d*\.\d+|[01])\s*$)"
)
_NUM = re.compile(r"^[+]?(\d+(?:\.\d*)?|\.\d+)\s*(%?)$")
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], 1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_DATE_MDY = re.compile(r"\b([A-Z][a-z]{2,8})\.?\s+(\d{1,2}),?\s+(\d{4})\b")
_DATE_DMY = re.compile(r"\b(\d{1,2})\s+([A-Z][a-z]{2,8})\.?,?\s+(\d{4})\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

_RQ = re.compile(r"research question\s*[:\-\u2013\u2014]\s*(.+?)(?:(?<=\?)|\n|$)", re.IGNORECASE | re.DOTALL)
_EXAMINES = re.compile(r"this (?:paper|report|review|synthesis) examines[ \t]*(?::[ \t]*)?([^\n]*)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_PAPERS = re.compile(r"\b(\d{1,6})\s+(?:papers|articles|studies|sources|publications|documents)\b", re.IGNORECASE)
_CLAIMS_N = re.compile(r"\b(\d{1,6})\s+claims?\b(?!\s+(?:were\s+)?(?:independently\s+)?verified)", re.IGNORECASE)
_VERIFIED_N = re.compile(r"\b(\d{1,6})\s+(?:claims?\s+)?(?:were\s+|are\s+)?(?:independently\s+|successfully\s+)?verified\b",
                         re.IGNORECASE)
_QUALITY = re.compile(r"quality(?:\s+review)?\s+score(?:\s+(?:of|was|is)\b)?\s*(?:[:=]\s*)?(\d+(?:\.\d+)?)(?:\s*/\s*(\d+(?:\.\d+)?))?",
                      re.IGNORECASE)
_ARXIV = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv\s*:\s*)"
    r"(\d{4}\.\d{4,5}|[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v(\d+))?",
    re.IGNORECASE,
)
_ABSTRACT_INLINE = re.compile(r"^[ \t]*abstract[ \t]*[:.\-\u2014][ \t]*(\S[^\n]*)$", re.IGNORECASE | re.MULTILINE)
_ARXIV_BARE = re.compile(r"(?<![\w./])(\d{4}\.\d{4,5})(?:v(\d+))?(?![\w/])")


# Caps on what one report may hold (each with a clear error): a report is a few KB with tens of
# claims and references; hostile files with millions of either must not fill the store.
MAX_FILE_BYTES = 5 * 1024 * 1024  # override: ingest_paths(max_file_bytes=...), --max-file-size, $XLT_CLAIMS_MAX_FILE_BYTES
MAX_REFERENCES = 1000
MAX_CLAIMS = 2000
MAX_CLAIM_CHARS = 10_000
MAX_CITED_AS_CHARS = 300  # a reference stores its source line up to this length (a window around the id)
MAX_NUMBER_DIGITS = 15  # a float keeps 15-17 significant digits; longer numbers are not data


def _finite(digits: str) -> Optional[float]:
    """A stated number as a float, or None when it has more digits than a float holds (a
    400-digit "score" would be stored as infinity, which strict JSON cannot carry)."""
    if len(digits.replace(".", "")) > MAX_NUMBER_DIGITS:
        return None
    v = float(digits)
    return v if math.isfinite(v) else None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _encoding(data: bytes) -> str:
    """UTF-8 unless a byte-order mark says UTF-16/32, or the NUL bytes sit where UTF-16 text without
    a mark has them (every other byte, for ASCII text)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return enc
    head = data[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 3:
        odd, even = head[1::2].count(0), head[0::2].count(0)
        if odd >= 0.9 * (len(head) // 2) and even == 0:
            return "utf-16-le"
        if even >= 0.9 * (len(head) // 2) and odd == 0:
            return "utf-16-be"
    return "utf-8"


def _decode(data: bytes, path: str) -> str:
    if not data.strip():
        raise ParseError(path, None, "empty file" if not data else "empty file (only whitespace)")
    enc = _encoding(data)
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        if enc == "utf-8":
            nul = data.find(b"\x00")  # not text at all: say binary, not "not UTF-8"
            if nul >= 0:
                line = data.count(b"\n", 0, nul) + 1
                raise ParseError(path, line, f"binary file: NUL byte at offset {nul}; not a literature report") from None
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise ParseError(path, line, f"not UTF-8: invalid byte 0x{data[exc.start]:02x} at column {col} "
                                         f"(re-save the file as UTF-8)") from None
        line = data[:exc.start].decode(enc, "replace").count("\n") + 1
        raise ParseError(path, line, f"not valid {enc.upper().replace('-SIG', '')}: invalid bytes at offset "
                                     f"{exc.start} (re-save the file as UTF-8)") from None
    if enc.startswith("utf-16") or enc == "utf-32":
        text = text.lstrip("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:  # anywhere in the file, not only in its first 64 KiB
        line = text.count("\n", 0, nul) + 1
        where = f"offset {nul}" if enc == "utf-8" else f"character {nul}"
        raise ParseError(path, line, f"binary file: NUL byte at {where}; not a literature report")
    if not text.strip():
        raise ParseError(path, None, "empty file (only whitespace)")
    return text


def display_path(path: str | Path) -> str:
    """A path as text that can be stored and printed: bytes of a file name that are not UTF-8 (kept
    by Python as lone surrogates) become backslash escapes ("caf\\xe9.txt")."""
    s = str(path)
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def max_file_bytes(override: Optional[int] = None) -> int:
    """The size cap for one report file: the override, else $XLT_CLAIMS_MAX_FILE_BYTES, else MAX_FILE_BYTES."""
    if override is not None:
        return override
    env = os.environ.get("XLT_CLAIMS_MAX_FILE_BYTES", "").strip()
    return int(env) if env.isdigit() else MAX_FILE_BYTES


def _md_heading(line: str) -> Optional[str]:
    """The text of an ATX heading line ("## 2 Methods ##"), else None."""
    m = _MD_HEADING_OPEN.match(line)
    if m is None:
        return None
    rest = line[m.end():].strip()
    text = rest.rstrip("#").rstrip()  # a closing run of '#'s
    return (text or rest) or None


def _is_pipe_separator(line: str) -> bool:
    """`|---|:---:|`: every cell of a Markdown table's separator row is dashes with optional colons."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|"):
        s = s[:-1]
    return all(_PIPE_SEP_CELL.fullmatch(c.strip()) for c in s.split("|"))


def _examines(text: str) -> Optional[str]:
    """What "This paper examines ..." names, up to the end of its sentence (on the same line)."""
    pos = 0
    while True:
        m = _EXAMINES.search(text, pos)
        if m is None:
            return None
        rest = m.group(1)
        # the period ends the sentence when whitespace or the end of the line follows it
        end = _SENTENCE_END.search(rest, 1)  # at least one character before it
        if end is not None:
            return rest[:end.start()].strip()
        pos = m.end() + 1  # none on this line: a later mention on another line may have one


def _cells(line: str) -> tuple[Optional[str], list[str]]:
    """('tsv'|'pipe'|None, cells) for a table-looking line."""
    if "\t" in line:
        return "tsv", [c.strip() for c in line.rstrip("\r\n").split("\t")]
    s = line.strip()
    if s.startswith("|") and s.count("|") >= 2:
        inner = s[1:-1] if s.endswith("|") and not s.endswith("\\|") else s[1:]
        parts = re.split(r"(?<!\\)\|", inner)
        return "pipe", [p.strip().replace("\\|", "|") for p in parts]
    return None, []


def _canonical_section(title: str) -> Optional[str]:
    t = title.strip().strip("*_").strip()
    m = _NUMBERED.match(t)
    if m:
        t = m.group(1)
    t = re.sub(r"[:.]\s*$", "", t).strip().lower()
    if t in _SECTION_NAMES:
        return _SECTION_NAMES[t]
    if "claim" in t:
        return "claims"
    if t.startswith("reference"):
        return "references"
    return None


def _heading(lines: list[str], i: int) -> Optional[str]:
    """The heading text if line i is a section heading, else None."""
    line = lines[i]
    h = _md_heading(line)
    if h is not None:
        return h
    s = line.strip()
    if not s or "\t" in line or len(s) > 80 or s.startswith(("|", "-", "*", "+", ">")) and not s.startswith("**"):
        return None
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if _SETEXT.match(nxt) and nxt.strip() and i + 1 < len(lines):
        return s
    prev_blank = i == 0 or not lines[i - 1].strip()
    next_blank = i + 1 >= len(lines) or not nxt.strip()
    if not (prev_blank and next_blank):
        return None
    bare = s.strip("*_").strip()
    if bare.endswith((".", ",", ";", "?", "!")) or bare.endswith(":") and _canonical_section(bare) is None:
        return None
    if _canonical_section(bare) is not None:
        return bare
    m = _NUMBERED.match(bare)
    if m and len(m.group(1).split()) <= 8 and m.group(1)[:1].isupper():
        return bare
    return None


def _parse_mark(raw: str) -> tuple[bool, Optional[bool]]:
    v = raw.strip().lower()
    if v in _TRUE_MARKS or raw.strip() in _TRUE_MARKS:
        return True, True
    if v in _FALSE_MARKS or raw.strip() in _FALSE_MARKS:
        return True, False
    if v in _NONE_MARKS:
        return True, None
    return False, None


def _parse_date(s: str) -> Optional[str]:
    for rx, order in ((_DATE_ISO, "ymd"), (_DATE_MDY, "mdy"), (_DATE_DMY, "dmy")):
        m = rx.search(s)
        if not m:
            continue
        try:
            if order == "ymd":
                y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
            elif order == "mdy":
                mo = _MONTHS.get(m.group(1).lower())
                d, y = int(m.group(2)), int(m.group(3))
            else:
                mo = _MONTHS.get(m.group(2).lower())
                d, y = int(m.group(1)), int(m.group(3))
            if mo is None:
                continue
            return _date(y, mo, d).isoformat()
        except ValueError:
            continue
    return None


def parse_report(path: str | Path, max_bytes: Optional[int] = None) -> ParsedReport:
    """Parse one report file. Raises ParseError (file + line) for anything that cannot be ingested."""
    p = Path(path)
    shown = display_path(p)
    limit = max_file_bytes(max_bytes)
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)  # never more than the cap, whatever the file claims to be
    except IsADirectoryError:
        raise ParseError(shown, None, "is a directory") from None
    except OSError as exc:
        raise ParseError(shown, None, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ParseError(shown, None, f"file larger than the {_size(limit)} limit for one report; a larger limit: "
                                      f"--max-file-size BYTES (or $XLT_CLAIMS_MAX_FILE_BYTES)")
    return parse_bytes(data, p)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def parse_bytes(data: bytes, path: str | Path) -> ParsedReport:
    p = Path(path)
    text = _decode(data, display_path(p))
    return parse_text(text, p, content_hash(data))


def parse_text(text: str, path: str | Path, digest: Optional[str] = None) -> ParsedReport:
    p = Path(path)
    spath = display_path(p)
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    rep = ParsedReport(path=spath, key=display_path(p.stem), file_name=display_path(p.name),
                       content_hash=digest or content_hash(text.encode("utf-8")), full_text=text)

    # -- sections --------------------------------------------------------------------------------
    front = Section(title="", canonical="front", line=1)
    cur = front
    heads: dict[int, str] = {}
    for i in range(len(lines)):
        h = _heading(lines, i)
        if h is not None:
            heads[i] = h
    title_idx: Optional[int] = None
    for i, ln in enumerate(lines):
        if ln.strip():
            title_idx = i
            break
    if title_idx is not None:
        h = _md_heading(lines[title_idx])
        cand = (h if h is not None else lines[title_idx]).strip().strip("*_").strip()
        if _canonical_section(cand) is None and "\t" not in lines[title_idx] and len(cand) <= 300:
            rep.title = cand
            heads.pop(title_idx, None)
        else:
            title_idx = None
    sections = [front]
    skip_next = False
    for i, ln in enumerate(lines):
        if skip_next:
            skip_next = False
            continue
        if i == title_idx:
            continue
        if i in heads:
            cur = Section(title=heads[i], canonical=_canonical_section(heads[i]), line=i + 1)
            sections.append(cur)
            if i + 1 < len(lines) and _SETEXT.match(lines[i + 1]) and lines[i + 1].strip():
                skip_next = True
            continue
        cur.body.append((i + 1, ln))
    rep.sections = [s for s in sections if s.canonical != "front" or any(t.strip() for _, t in s.body)]
    by_name: dict[str, Section] = {}
    for s in sections:
        if s.canonical and s.canonical not in by_name:
            by_name[s.canonical] = s
    rep.meta["sections"] = [s.title for s in sections if s.canonical != "front"]

    # -- front matter: byline and date ------------------------------------------------------------
    byline = []
    for ln_no, ln in front.body:
        s = ln.strip()
        if not s:
            continue
        d = _parse_date(s)
        if d and rep.date is None and len(s) <= 40:
            rep.date = d
            rep.meta["date_as_printed"] = s
        else:
            byline.append(s)
    if byline:
        rep.meta["byline"] = byline[:5]
    if rep.date is None:
        for ln in lines[:60]:
            d = _parse_date(ln)
            if d:
                rep.date, rep.meta["date_as_printed"] = d, ln.strip()
                break

    # -- abstract -------------------------------------------------------------------------------
    if "abstract" in by_name:
        rep.abstract = by_name["abstract"].text() or None
    else:
        m = _ABSTRACT_INLINE.search(text)
        if m:
            rep.abstract = m.group(1).strip()
    if rep.abstract:
        rep.meta["abstract_looks_truncated"] = not has_terminal_punctuation(rep.abstract)
    else:
        rep.warnings.append("no abstract found")

    # -- research question, focus paper -----------------------------------------------------------
    m = _RQ.search(text)
    if m:
        rq = re.sub(r"\s+", " ", m.group(1)).strip()
        rep.research_question = rq.rstrip(" .") if not rq.endswith("?") else rq
    else:
        rep.warnings.append("no 'Research question:' sentence found")
    examines = _examines(text)
    if examines:
        rep.meta["examines"] = examines

    # -- stated counts and quality score: Results first, then Methodology, then anywhere ---------
    scopes = [by_name[k].text() for k in ("results", "methodology") if k in by_name] + [text]

    def _stated(rx: re.Pattern, conv=int):
        found = []
        for sc in scopes:
            found += [conv(mm.group(1)) for mm in rx.finditer(sc)]
            if found:
                break
        return found

    papers = _stated(_PAPERS)
    claims_n = _stated(_CLAIMS_N)
    verified = _stated(_VERIFIED_N)
    if papers:
        rep.stated_paper_count = papers[0]
    all_papers = sorted({int(mm.group(1)) for sc in scopes[:-1] for mm in _PAPERS.finditer(sc)})
    if len(all_papers) > 1:
        rep.meta["stated_paper_counts"] = all_papers
        rep.warnings.append(f"report states different paper counts: {all_papers}")
    if claims_n:
        rep.stated_claims_count = claims_n[0]
    if verified:
        rep.stated_verified_count = verified[0]
    for sc in scopes:
        mq = _QUALITY.search(sc)
        if mq:
            score, scale = _finite(mq.group(1)), _finite(mq.group(2)) if mq.group(2) else None
            if score is None or (mq.group(2) and scale is None):
                rep.warnings.append(f"quality score '{mq.group(0)[:60]}' is not a number that can be stored; ignored")
                break
            rep.quality_score = score
            if scale is not None:
                rep.meta["quality_scale"] = scale
            break

    # -- claims table -----------------------------------------------------------------------------
    _parse_claims(lines, heads, by_name, rep)

    # -- references -----------------------------------------------------------------------------
    _parse_references(lines, by_name, rep)

    # -- consistency with the report's own numbers ------------------------------------------------
    n = len(rep.claims)
    if rep.stated_claims_count is not None and rep.stated_claims_count != n:
        rep.warnings.append(f"report states {rep.stated_claims_count} claims but its table has {n} rows")
    n_true = sum(1 for c in rep.claims if c.mark is True)
    if rep.stated_verified_count is not None and rep.stated_verified_count != n_true:
        rep.warnings.append(f"report states {rep.stated_verified_count} verified claims but its table marks {n_true} with \u2713")
    if rep.warnings:
        rep.meta["warnings"] = list(rep.warnings)
    return rep


def _header_columns(cells: list[str]) -> Optional[dict[str, int]]:
    cols: dict[str, int] = {}
    for j, c in enumerate(cells):
        k = c.strip().strip("*_").strip().lower()
        if k in _CLAIM_COLS and "claim" not in cols:
            cols["claim"] = j
        elif k in _MARK_COLS and "mark" not in cols:
            cols["mark"] = j
        elif k in _CONF_COLS and "confidence" not in cols:
            cols["confidence"] = j
    if "claim" in cols and len(cols) >= 2:
        return cols
    return None


def _parse_claims(lines: list[str], heads: dict[int, str], by_name: dict[str, Section], rep: ParsedReport) -> None:
    path = rep.path
    header_idx = None
    fmt = None
    cols: dict[str, int] = {}
    ncells = 0
    for i, ln in enumerate(lines):
        f, cells = _cells(ln)
        if f and (c := _header_columns(cells)):
            header_idx, fmt, cols, ncells = i, f, c, len(cells)
            break
    if header_idx is None:
        # a table without a header, or rows whose tabs were lost, deserve a precise message
        for i, ln in enumerate(lines):
            f, cells = _cells(ln)
            if f == "tsv" and len(cells) >= 2 and _parse_mark(cells[-2] if len(cells) > 2 else cells[-1])[0]:
                raise ParseError(path, i + 1, "claims table has no header row (expected 'Claim<TAB>Verified<TAB>Confidence')")
        sec = by_name.get("claims")
        where = f" (section '{sec.title}' at line {sec.line} has none)" if sec else ""
        raise ParseError(path, sec.line if sec else None,
                         f"missing claims table{where}: expected a header row 'Claim<TAB>Verified<TAB>Confidence' "
                         f"or a Markdown table '| Claim | Verified | Confidence |'")
    rep.meta["claims_table"] = {"format": fmt, "line": header_idx + 1,
                                "columns": [k for k, _ in sorted(cols.items(), key=lambda kv: kv[1])]}
    i = header_idx + 1
    if fmt == "pipe" and i < len(lines) and _is_pipe_separator(lines[i]):
        i += 1
    row = 0
    names = {"claim": "Claim", "mark": "Verified", "confidence": "Confidence"}
    while i < len(lines):
        ln = lines[i]
        if not ln.strip():
            i += 1
            continue
        if i in heads and "\t" not in ln:
            break
        f, cells = _cells(ln)
        if f is None:
            if _LOOSE_ROW.search(ln):
                raise ParseError(path, i + 1, f"malformed row: cells are not {'tab' if fmt == 'tsv' else '|'}-separated "
                                              f"(expected {ncells} cells: {', '.join(names[k] for k in cols)})")
            break
        if f != fmt:
            raise ParseError(path, i + 1, f"malformed row: mixes a {f} row into a {fmt} table")
        if fmt == "pipe" and _is_pipe_separator(ln):
            i += 1
            continue
        while len(cells) > ncells and cells[-1] == "":
            cells.pop()
        if len(cells) != ncells:
            raise ParseError(path, i + 1, f"malformed row: expected {ncells} cells "
                                          f"({', '.join(names[k] for k in sorted(cols, key=cols.get))}), found {len(cells)}")
        row += 1
        if row > MAX_CLAIMS:
            raise ParseError(path, i + 1, f"more than {MAX_CLAIMS} claims in the table; not a literature report "
                                          f"(the limit keeps matching and the store small)")
        text = cells[cols["claim"]].strip()
        if not text:
            raise ParseError(path, i + 1, "malformed row: empty claim text")
        if len(text) > MAX_CLAIM_CHARS:
            raise ParseError(path, i + 1, f"claim text of {len(text):,} characters; a claim holds at most "
                                          f"{MAX_CLAIM_CHARS:,}")
        mark = None
        if "mark" in cols:
            ok, mark = _parse_mark(cells[cols["mark"]])
            if not ok:
                raise ParseError(path, i + 1, f"malformed row: Verified cell {cells[cols['mark']]!r} is not \u2713 or \u00d7")
        conf = None
        if "confidence" in cols:
            raw = cells[cols["confidence"]].strip()
            if raw.lower() not in _NONE_MARKS:
                m = _NUM.match(raw.replace(",", ".") if re.fullmatch(r"\d+,\d+", raw) else raw)
                if not m:
                    if re.fullmatch(r"-\s*\d+(?:\.\d+)?", raw):
                        raise ParseError(path, i + 1, f"confidence {raw} outside [0, 1]")
                    raise ParseError(path, i + 1, f"malformed row: Confidence cell {raw!r} is not a number")
                conf = float(m.group(1)) / (100.0 if m.group(2) else 1.0)
                if not 0.0 <= conf <= 1.0:
                    raise ParseError(path, i + 1, f"confidence {raw} outside [0, 1]")
        rep.claims.append(ParsedClaim(row=row, line=i + 1, text=text, mark=mark, confidence=conf))
        i += 1
    if not rep.claims:
        raise ParseError(path, header_idx + 1, "claims table has a header but no rows")
    # a second claims table later in the file is not silently dropped
    for j in range(i, len(lines)):
        f, cells = _cells(lines[j])
        if f and _header_columns(cells):
            rep.warnings.append(f"line {j + 1}: a second claims table was ignored; only the first is ingested")
            break


def _cited_as(line: str, start: int, end: int) -> str:
    """The reference's source line, or a window of it around the id when the line is long (one line
    with thousands of ids must not be stored thousands of times)."""
    if len(line) <= MAX_CITED_AS_CHARS:
        return line
    side = max(0, (MAX_CITED_AS_CHARS - (end - start)) // 2)
    a, b = max(0, start - side), min(len(line), end + side)
    return ("\u2026" if a > 0 else "") + line[a:b] + ("\u2026" if b < len(line) else "")


def _parse_references(lines: list[str], by_name: dict[str, Section], rep: ParsedReport) -> None:
    sec = by_name.get("references")
    body: list[tuple[int, str]]
    if sec is not None:
        body = sec.body
        bare_ok = True
    else:
        body = [(i + 1, ln) for i, ln in enumerate(lines)]
        bare_ok = False
        rep.warnings.append("no References section; arXiv links collected from the whole text")
    other = []
    pos = 0
    for ln_no, ln in body:
        s = ln.strip()
        if not s:
            continue
        found = list(_ARXIV.finditer(s))
        if not found and bare_ok:
            found = list(_ARXIV_BARE.finditer(s))
        if not found:
            if sec is not None:
                other.append({"line": ln_no, "text": s})
            continue
        for m in found:
            pos += 1
            if pos > MAX_REFERENCES:
                raise ParseError(rep.path, ln_no, f"more than {MAX_REFERENCES} arXiv references; not a literature "
                                                  f"report (the limit keeps the store small)")
            version = m.group(2)
            if version is not None and len(version) > 4:  # v00000000000000000000000001: no arXiv version
                rep.warnings.append(f"line {ln_no}: arXiv version 'v{version[:12]}...' is not a version; ignored")
                version = None
            rep.references.append(ParsedReference(position=pos, line=ln_no, arxiv_id=m.group(1),
                                                  version=int(version) if version else None,
                                                  cited_as=_cited_as(s, m.start(), m.end())))
    if other:
        rep.meta["other_references"] = other
        rep.warnings.append(f"{len(other)} reference line(s) without an arXiv id were not stored as references")
    if sec is not None and not rep.references:
        rep.warnings.append(f"References section at line {sec.line} lists no arXiv paper")
