"""Papers: fetch cited arXiv papers (metadata, abstract, versions, PDF text) into the claim store.

Library API (the CLI in `commands.py` is a thin wrapper):
  fetch_papers(store, ids=None, report=None, ...) -> FetchResult
  import_atom(store, path) -> list[str]           (air-gapped: an arXiv API Atom response file)
  paper_text(paper, source) -> str                 (the exact string Evidence offsets index)
  list_papers(store) / paper_info(store, arxiv_id)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from sqlmodel import select

from ..store.models import Paper, Reference, Report, utcnow
from .pdftext import pdf_to_text

ARXIV_ID = re.compile(r"^(?:arxiv:)?(?P<id>\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d+))?$", re.I)


class PapersError(RuntimeError):
    """A user-facing error (bad id, unreadable file)."""


def split_id(raw: str) -> tuple[str, Optional[int]]:
    """"2104.08645v2" -> ("2104.08645", 2); also accepts abs/pdf URLs."""
    s = raw.strip()
    s = re.sub(r"^https?://(?:export\.)?arxiv\.org/(?:abs|pdf)/", "", s)
    s = s.removesuffix(".pdf")
    m = ARXIV_ID.match(s)
    if not m:
        raise PapersError(f"not an arXiv id: {raw!r}")
    return m.group("id"), int(m.group("v")) if m.group("v") else None


def clean_abstract(summary: str) -> str:
    """arXiv abstracts carry hard line breaks and leading blanks; evidence quotes need plain sentences."""
    return re.sub(r"\s+", " ", summary or "").strip()


def paper_text(paper: Paper, source: Optional[str] = None) -> str:
    """The exact text that Evidence offsets (char_start, char_end) index for this paper and text source."""
    source = source or ("full-text" if paper.full_text else "abstract")
    if source == "full-text":
        return paper.full_text or ""
    return paper.abstract or ""


# --- storing results ----------------------------------------------------------------------------

def _apply_result(paper: Paper, result: Any, source: str) -> Paper:
    pid, version = split_id(result.get_short_id())
    paper.arxiv_id = pid
    new_version = version
    if paper.version and new_version and paper.version != new_version and paper.full_text:
        # the PDF text belongs to an older version: drop it, evidence must not mix versions
        paper.full_text = None
        paper.sections = []
        paper.pdf_status = f"stale: text was of v{paper.version}"
        paper.text_source = "abstract"
    paper.version = new_version
    paper.title = re.sub(r"\s+", " ", result.title or "").strip()
    paper.authors = [a.name for a in result.authors]
    paper.abstract = clean_abstract(result.summary)
    paper.published = result.published
    paper.updated = result.updated
    paper.categories = list(result.categories or [])
    paper.primary_category = result.primary_category or None
    paper.comment = result.comment or None
    paper.journal_ref = result.journal_ref or None
    paper.doi = result.doi or None
    paper.pdf_url = result.pdf_url
    vs: list[dict[str, Any]] = []
    if new_version:
        for v in range(1, new_version + 1):
            date = None
            if v == 1 and result.published:
                date = result.published.isoformat()
            if v == new_version and result.updated:
                date = result.updated.isoformat()
            vs.append({"version": v, "date": date})
    paper.versions = vs
    paper.source = source
    paper.fetched_at = utcnow()
    paper.last_error = None
    return paper


def _upsert(session, result: Any, source: str) -> Paper:
    pid, _ = split_id(result.get_short_id())
    paper = session.get(Paper, pid) or Paper(arxiv_id=pid)
    _apply_result(paper, result, source)
    session.add(paper)
    return paper


# --- import -------------------------------------------------------------------------------------

def parse_atom(content: bytes) -> list[Any]:
    """arxiv.Result objects from an arXiv API Atom response, through the `arxiv` package's own parser."""
    try:
        from arxiv import _feed  # arxiv >= 3: lxml-based parser used by Client
    except ImportError:  # pragma: no cover - arxiv 2.x parses with feedparser
        import arxiv
        import feedparser

        feed = feedparser.parse(content)
        if feed.bozo and not feed.entries:
            raise PapersError(f"not an Atom feed: {feed.bozo_exception}")
        return [arxiv.Result._from_feed_entry(e) for e in feed.entries]
    parsed = _feed.parse(content)
    if parsed.malformed and not parsed.results:
        raise PapersError(f"not an Atom feed: {parsed.error}")
    return list(parsed.results)


def import_atom(store, path: str | Path) -> list[str]:
    """Store every entry of an arXiv API Atom response file; one transaction. Returns the arXiv ids."""
    p = Path(path)
    try:
        content = p.read_bytes()
    except OSError as exc:
        raise PapersError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        results = parse_atom(content)
    except PapersError as exc:
        raise PapersError(f"{p}: {exc}") from exc
    if not results:
        raise PapersError(f"{p}: no arXiv entries in this file (is it an arXiv API Atom response?)")
    ids = []
    with store.session() as s:
        for r in results:
            paper = _upsert(s, r, f"import:{p.name}")
            ids.append(paper.arxiv_id)
    return ids


def import_paths(store, paths: Iterable[str | Path]) -> dict[str, list[str]]:
    """import_atom for files, and for every *.atom file of a folder. {file: ids}."""
    out: dict[str, list[str]] = {}
    for raw in paths:
        p = Path(raw)
        files = sorted(p.glob("*.atom")) if p.is_dir() else [p]
        if p.is_dir() and not files:
            raise PapersError(f"{p}: no *.atom files in this folder")
        for f in files:
            out[str(f)] = import_atom(store, f)
    return out


# --- fetch --------------------------------------------------------------------------------------

@dataclass
class FetchResult:
    fetched: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # id -> one-line reason
    pdf: dict[str, str] = field(default_factory=dict)  # id -> "ok: N pages" | "unavailable: ..." | "skipped"
    kept: list[str] = field(default_factory=list)  # failed ids that still have a stored copy

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"fetched": self.fetched, "failed": self.failed, "pdf": self.pdf, "kept_from_store": self.kept}


def referenced_ids(store, report: Optional[str] = None) -> list[str]:
    """arXiv ids cited by the latest version of every report (or of one report, by key or id)."""
    with store.session() as s:
        q = select(Reference.arxiv_id, Report.key, Report.id).join(Report, Reference.report_id == Report.id)
        q = q.where(Report.is_latest == True)  # noqa: E712
        rows = s.exec(q).all()
    if report is not None:
        rows = [r for r in rows if r[1] == report or str(r[2]) == str(report)]
        if not rows:
            raise PapersError(f"no report {report!r} with references in the store")
    seen: list[str] = []
    for aid, _, _ in rows:
        if aid not in seen:
            seen.append(aid)
    return seen


class _EndpointDown(Exception):
    """The endpoint did not answer an earlier batch: this one is not tried (bounded total time)."""


def fetch_papers(
    store,
    ids: Optional[Iterable[str]] = None,
    report: Optional[str] = None,
    *,
    url: Optional[str] = None,
    pdf: bool = True,
    pdf_url: Optional[str] = None,
    delay_seconds: float = 3.0,
    num_retries: int = 3,
    timeout: float = 30.0,
    page_size: int = 100,
    refresh_pdf: bool = False,
    progress: Optional[Callable[[str, str], None]] = None,
) -> FetchResult:
    """Fetch metadata + abstract (+ PDF text) for the given ids, a report's references, or all references.

    Each batch of metadata is stored in one transaction; a paper that cannot be reached keeps whatever the
    store already had (only its `last_error` is updated). Never raises for network failures: they are
    listed in `FetchResult.failed`, one reason per paper.
    """
    from .client import PoliteClient, describe_error, pdf_base_url  # the arXiv/requests clients load only to fetch

    wanted: list[str] = []
    for raw in (ids if ids else referenced_ids(store, report)):
        pid, _ = split_id(raw)
        if pid not in wanted:
            wanted.append(pid)
    res = FetchResult()
    if not wanted:
        return res
    import arxiv
    import requests

    note = progress or (lambda _id, _msg: None)
    batch: list[str] = []
    client = PoliteClient(url, page_size=page_size, delay_seconds=delay_seconds, num_retries=num_retries,
                          timeout=timeout, on_retry=lambda msg: note(batch[0] if batch else "arXiv", msg))
    down: Optional[str] = None  # the endpoint did not answer: later batches are not tried
    for i in range(0, len(wanted), page_size):
        batch = wanted[i:i + page_size]
        try:
            if down is not None:
                raise _EndpointDown(down)
            results = list(client.results(arxiv.Search(id_list=batch, max_results=len(batch))))
        except Exception as exc:  # network / HTTP: every paper of the batch is unreachable
            reason = str(exc) if isinstance(exc, _EndpointDown) else describe_error(exc, timeout)
            if isinstance(exc, requests.exceptions.Timeout):
                reason = f"{reason} from {client.url} ({client.attempts} attempt(s))"
            if isinstance(exc, (requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
                down = f"not tried: {reason} for an earlier batch"
            for pid in batch:
                res.failed[pid] = reason
                note(pid, f"unreachable: {reason}")
            _record_errors(store, {pid: reason for pid in batch}, res)
            continue
        got = {}
        for r in results:
            pid, _ = split_id(r.get_short_id())
            got[pid] = r
        with store.session() as s:
            for pid in batch:
                if pid in got:
                    _upsert(s, got[pid], "arxiv-api")
                    res.fetched.append(pid)
                    note(pid, "metadata stored")
        missing = {pid: "not found in the arXiv API response" for pid in batch if pid not in got}
        for pid, reason in missing.items():
            res.failed[pid] = reason
            note(pid, reason)
        _record_errors(store, missing, res)
    if pdf:
        base = pdf_base_url(pdf_url)
        for pid in res.fetched:
            res.pdf[pid] = _fetch_pdf(store, client, pid, base, refresh_pdf)
            note(pid, f"pdf {res.pdf[pid]}")
    return res


def _record_errors(store, errors: dict[str, str], res: FetchResult) -> None:
    if not errors:
        return
    with store.session() as s:
        for pid, reason in errors.items():
            paper = s.get(Paper, pid)
            if paper is not None:  # keep everything stored; remember why the refresh failed
                paper.last_error = f"{utcnow().isoformat(timespec='seconds')}: {reason}"
                s.add(paper)
                res.kept.append(pid)


def _fetch_pdf(store, client, pid: str, base: Optional[str], refresh: bool) -> str:
    from .client import describe_error  # the arXiv/requests clients load only to fetch

    with store.session() as s:
        paper = s.get(Paper, pid)
        version, current_url, has_text = paper.version, paper.pdf_url, bool(paper.full_text)
        status = paper.pdf_status
    if has_text and not refresh and status and status.startswith("ok"):
        return "kept: " + status
    vtag = f"v{version}" if version else ""
    target = f"{base}/{pid}{vtag}" if base else current_url
    if not target:
        return _set_pdf(store, pid, "unavailable: no PDF link")
    try:
        resp = client.get(target)
    except Exception as exc:
        return _set_pdf(store, pid, f"unavailable: {describe_error(exc)}")
    if resp.status_code != 200:
        return _set_pdf(store, pid, f"unavailable: HTTP {resp.status_code}")
    try:
        text, sections, n_pages = pdf_to_text(resp.content)
    except Exception as exc:  # a broken or image-only PDF: keep the abstract
        return _set_pdf(store, pid, f"unreadable: {exc.__class__.__name__}: {exc}"[:300])
    with store.session() as s:
        paper = s.get(Paper, pid)
        paper.full_text = text
        paper.sections = sections
        paper.text_source = "full-text"
        paper.pdf_status = f"ok: {n_pages} pages, {len(text)} chars"
        s.add(paper)
        return paper.pdf_status


def _set_pdf(store, pid: str, status: str) -> str:
    with store.session() as s:
        paper = s.get(Paper, pid)
        if paper is not None:
            paper.pdf_status = status
            s.add(paper)
    return status


# --- reading ------------------------------------------------------------------------------------

def paper_dict(p: Paper, with_text: bool = False) -> dict[str, Any]:
    d = {
        "arxiv_id": p.arxiv_id,
        "version": p.version,
        "title": p.title,
        "authors": p.authors,
        "published": p.published.isoformat() if p.published else None,
        "updated": p.updated.isoformat() if p.updated else None,
        "versions": p.versions,
        "categories": p.categories,
        "primary_category": p.primary_category,
        "comment": p.comment,
        "journal_ref": p.journal_ref,
        "doi": p.doi,
        "pdf_url": p.pdf_url,
        "text_source": "full-text" if p.full_text else "abstract",
        "pdf_status": p.pdf_status,
        "source": p.source,
        "fetched_at": p.fetched_at.isoformat() if p.fetched_at else None,
        "last_error": p.last_error,
        "abstract": p.abstract,
        "full_text_chars": len(p.full_text or ""),
        "sections": [s["name"] for s in (p.sections or [])],
    }
    if with_text:
        d["full_text"] = p.full_text
    return d


def list_papers(store) -> list[Paper]:
    with store.read() as s:
        return list(s.exec(select(Paper).order_by(Paper.arxiv_id)).all())


def get_paper(store, raw_id: str) -> Paper:
    pid, _ = split_id(raw_id)
    with store.read() as s:
        p = s.get(Paper, pid)
    if p is None:
        raise PapersError(f"paper {pid} is not in the store (run `claims papers fetch {pid}` or `claims papers import`)")
    return p
