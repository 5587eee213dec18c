"""`ingest_paths`: literature reports -> claim store, one transaction per report.

* Idempotent by content hash: the same bytes (under any name or path) store nothing new.
* A changed file with the same key (file stem) becomes a new Report version; the previous version's
  `is_latest` flips. Its claims are matched to the claims of all earlier versions of that report
  (exact normalized text first, then fuzzy: difflib ratio >= 0.85, or one is a prefix of the other
  when either looks truncated) so a claim keeps its id; claims missing from the new version are
  marked `retired`; every version a claim appears in gets a ClaimSource row (verbatim text, row,
  line, mark, confidence).
* Claim ids: the first 6 hex chars of sha256(report key, normalized text), one more char at a time
  on collision. Re-ingesting never changes an id because matching comes before id assignment.
* Parsing and field extraction are pure functions (`prepare_report`) run in worker processes for
  large ingests; the database writes are bulk inserts inside each report's transaction.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import json
import os
import re
import time
from collections import namedtuple
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session

from ..store import Store, set_status
from ..store.models import UNVERIFIED, Claim, ClaimEvent, ClaimSource, Flag, Reference, Report, utcnow
from .fields import LEXICON_WORDS, ClaimFields, extract_fields
from .parser import ParsedReport, ParseError, parse_report
from .text import normalize_text
from .truncation import Truncation, analyze_table

FUZZY_MIN_RATIO = 0.85
PREFIX_MIN_CHARS = 30
ID_MIN_LEN = 6
# folder documentation next to the reports is not a report
_DOC_NAMES = ("readme", "license", "licence", "changelog", "notice", "copying", "authors", "contributing")
PARALLEL_MIN_FILES = 64


class Raw(str):
    """A value already in its database form (a JSON text, a datetime string): `_bulk_insert`
    passes it through without the column's bind processor. JSON is serialized in the parser
    processes, so the writer only moves strings."""

    __slots__ = ()


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # json.dumps(**kw) builds one per call


try:  # the C encoder built once (JSONEncoder.encode builds one per call); no cycle check: acyclic data
    from json.encoder import c_make_encoder as _c_make_encoder, encode_basestring as _encode_basestring

    _C_ENCODE = _c_make_encoder(None, _ENCODER.default, _encode_basestring, None, ":", ",", False, False, True)
except ImportError:  # pragma: no cover
    _C_ENCODE = None
_JSON_PLAIN = re.compile(r'[^"\\\x00-\x1f]*\Z')  # strings the encoder writes unchanged


def _json(v: Any) -> str:
    """JSON text as stored (plain str: it pickles cheaply back from the parser processes). Lists of
    plain strings (datasets, languages, tasks) are joined directly: the same text the encoder gives."""
    if v.__class__ is list:
        if not v:
            return "[]"
        if all(x.__class__ is str for x in v):
            j = '","'.join(v)
            if _JSON_PLAIN.match(j):
                return '["' + j + '"]'
    if _C_ENCODE is not None and v.__class__ is dict:
        return "".join(_C_ENCODE(v, 0))
    return _ENCODER.encode(v)


@dataclass
class PreparedClaim:
    row: int
    line: int
    text: str
    normalized: str
    mark: Optional[bool]
    confidence: Optional[float]
    fields: Optional[ClaimFields]  # None once db_tail holds the values
    truncation: Truncation
    id_hash: str  # full sha256 hex; the id is its shortest free prefix (>= 6 chars)
    json_cols: dict[str, Optional[str]] = field(default_factory=dict)  # datasets, languages, tasks, extraction
    db_tail: tuple = ()  # the claim row's values in _CLAIM_TAIL order, already in SQLite form
    flag_message: Optional[str] = None


@dataclass
class PreparedReport:
    report: ParsedReport
    claims: list[PreparedClaim]


@dataclass
class FileOutcome:
    path: str
    status: str  # "new" | "version" | "unchanged" | "failed" | "skipped"
    key: Optional[str] = None
    version: Optional[int] = None
    report_id: Optional[int] = None
    claims: int = 0
    new_claims: int = 0
    matched_exact: int = 0
    matched_fuzzy: int = 0
    retired: int = 0
    references: int = 0
    truncated: int = 0
    same_as: Optional[str] = None
    error: Optional[str] = None
    line: Optional[int] = None
    warnings: list[str] = field(default_factory=list)
    claim_ids: list[str] = field(default_factory=list)
    title: Optional[str] = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IngestResult:
    files: list[FileOutcome]
    dry_run: bool = False
    elapsed_s: float = 0.0

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def claims_stored(self) -> int:
        return sum(f.claims for f in self.files if f.status in ("new", "version"))

    @property
    def new_claims(self) -> int:
        return sum(f.new_claims for f in self.files)

    @property
    def references_stored(self) -> int:
        return sum(f.references for f in self.files if f.status in ("new", "version"))

    @property
    def nothing_new(self) -> bool:
        return not any(f.status in ("new", "version") for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "ok": self.ok, "elapsed_s": round(self.elapsed_s, 4),
            "reports_stored": self.count("new") + self.count("version"), "new_reports": self.count("new"),
            "new_versions": self.count("version"), "unchanged": self.count("unchanged"),
            "failed": len(self.failed), "skipped": self.count("skipped"), "claims_stored": self.claims_stored,
            "new_claims": self.new_claims, "references_stored": self.references_stored,
            "files": [f.to_dict() for f in self.files],
        }


class _DryRun(Exception):
    pass


_RT, _CT = Report.__table__, Claim.__table__
_SEL_BY_HASH = select(_RT.c.id, _RT.c.key, _RT.c.version).where(_RT.c.content_hash == bindparam("h"))
_SEL_PREV = (select(_RT.c.id, _RT.c.version, _RT.c.source_path).where(_RT.c.key == bindparam("k"))
             .order_by(_RT.c.version.desc()).limit(1))
_UPD_LATEST = update(_RT).where(_RT.c.key == bindparam("k"), _RT.c.is_latest.is_(True)).values(is_latest=False)
_SEL_IDS = select(_CT.c.id).where(_CT.c.id.in_(bindparam("ids", expanding=True)))
# the same two look-ups for the SQLite driver cursor
_RAW_SEL_BY_HASH = 'SELECT "id", "key", "version" FROM "report" WHERE "content_hash" = ?'
_RAW_SEL_PREV = 'SELECT "id", "version", "source_path" FROM "report" WHERE "key" = ? ORDER BY "version" DESC LIMIT 1'
_HashRow = namedtuple("_HashRow", "id key version")
_PrevRow = namedtuple("_PrevRow", "id version source_path")
_SEL_OLD = (select(_CT.c.id, _CT.c.normalized, _CT.c.looks_truncated, _CT.c.retired, _CT.c.status,
                   _CT.c.confidence, _CT.c.report_confidence)
            .where(_CT.c.report_key == bindparam("k")))


# --- pure part: parse + fields + truncation -----------------------------------------------------

def _id_hash(key: str, normalized: str, occurrence: int) -> str:
    payload = f"{key}\x1f{normalized}" + (f"\x1f{occurrence}" if occurrence > 1 else "")
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def prepare_report(path: str | Path) -> PreparedReport:
    """Parse a report and compute everything stored for its claims. Raises ParseError."""
    rep = parse_report(path)
    return prepare_parsed(rep)


def prepare_parsed(rep: ParsedReport) -> PreparedReport:
    context = [rep.title or "", rep.research_question or "", rep.abstract or ""]
    context += [s.text() for s in rep.sections if s.canonical not in ("claims", "references")]
    texts = [c.text for c in rep.claims]
    truncs = analyze_table(texts, context, LEXICON_WORDS)
    seen: dict[str, int] = {}
    out = []
    for c, tr in zip(rep.claims, truncs):
        norm = normalize_text(c.text)
        seen[norm] = seen.get(norm, 0) + 1
        if seen[norm] == 2:
            rep.warnings.append(f"line {c.line}: claim repeats an earlier row of the table; stored as a separate claim")
        f = extract_fields(c.text)
        ext = dict(f.extraction)
        if tr.truncated:
            ext["truncation"] = tr.as_detail()
        out.append(PreparedClaim(row=c.row, line=c.line, text=c.text, normalized=norm, mark=c.mark,
                                 confidence=c.confidence, fields=f, truncation=tr,
                                 id_hash=_id_hash(rep.key, norm, seen[norm]),
                                 json_cols={"datasets": _json(f.datasets), "languages": _json(f.languages),
                                            "tasks": _json(f.tasks), "extraction": _json(ext),
                                            "truncation": _json(tr.as_detail()) if tr.truncated else None}))
    if rep.warnings:
        rep.meta["warnings"] = list(rep.warnings)
    rep.meta["truncated_claims"] = sum(1 for t in truncs if t.truncated)
    for pc in out:
        f, j = pc.fields, pc.json_cols
        pc.db_tail = (pc.row, pc.line, pc.text, pc.normalized, None if pc.mark is None else int(pc.mark), pc.confidence,
                      int(pc.truncation.truncated), None, f.kind, j["datasets"], j["languages"], f.metric, f.value,
                      f.comparator, f.model, f.method, f.value_high, f.unit, f.direction, j["tasks"], j["extraction"],
                      UNVERIFIED, pc.confidence, None, None, 0)
        if pc.truncation.truncated:
            pc.flag_message = _trunc_message(pc)
    # what the writer does not need stays here (less to pickle back from parser processes)
    rep.sections, rep.full_text, rep.claims = [], "", []
    for pc in out:
        pc.fields = None  # everything is in db_tail now
    return PreparedReport(rep, out)


def _prepare_safe(path: str) -> PreparedReport | ParseError:
    try:
        return prepare_report(path)
    except ParseError as exc:
        return exc
    except Exception as exc:  # a parser bug must not take the other files down
        return ParseError(path, None, f"internal error while parsing: {exc.__class__.__name__}: {exc}")


# --- file discovery -------------------------------------------------------------------------------

def expand_paths(paths: Iterable[str | Path]) -> tuple[list[str], list[FileOutcome]]:
    """Files to ingest, plus outcomes for paths that cannot be (missing) or are not reports
    (hidden files and folder documentation inside a directory)."""
    files: list[str] = []
    notes: list[FileOutcome] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for q in sorted(x for x in p.rglob("*") if x.is_file()):
                rel = q.relative_to(p)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if q.stem.lower() in _DOC_NAMES or q.name.lower().startswith(_DOC_NAMES):
                    notes.append(FileOutcome(path=str(q), status="skipped", error="folder documentation, not a report"))
                    continue
                files.append(str(q))
        elif p.is_file():
            files.append(str(p))
        elif p.exists():
            notes.append(FileOutcome(path=str(p), status="failed", error="not a regular file"))
        else:
            notes.append(FileOutcome(path=str(p), status="failed", error="no such file or directory"))
    return files, notes


def _prepared_stream(files: Sequence[str], workers: Optional[int]) -> Iterator[PreparedReport | ParseError]:
    n = len(files)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if n >= PARALLEL_MIN_FILES else 1
    if workers <= 1 or n < 2:
        for f in files:
            yield _prepare_safe(f)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_prepare_safe, files, chunksize=max(1, min(32, n // (workers * 8) or 1)))


# --- the write part -------------------------------------------------------------------------------

def ingest_paths(store: Store, paths: Iterable[str | Path], dry_run: bool = False, *,
                 progress: Optional[Callable[[FileOutcome], None]] = None,
                 workers: Optional[int] = None) -> IngestResult:
    """Ingest report files and folders; each report in its own transaction. Never raises for a bad
    file: its outcome has status "failed" with the error (file:line: message)."""
    t0 = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # ingest allocates many short-lived acyclic objects; cyclic GC passes only cost time
    try:
        return _ingest_paths(store, paths, dry_run, progress, workers, t0)
    finally:
        if gc_was_enabled:
            gc.enable()


def _ingest_paths(store, paths, dry_run, progress, workers, t0) -> IngestResult:
    files, notes = expand_paths(paths)
    if store.path is not None:  # the claim store itself may sit in the folder being ingested
        own = {str(Path(str(store.path) + sfx).resolve()) for sfx in ("", "-wal", "-shm", "-journal")}
        kept = [f for f in files if str(Path(f).resolve()) not in own]
        notes += [FileOutcome(path=f, status="skipped", error="the claim store's own database file")
                  for f in files if f not in kept]
        files = kept
    outcomes: list[FileOutcome] = []
    for n in notes:
        outcomes.append(n)
        if progress:
            progress(n)
    known = _known_hashes(store, files)
    todo = [f for f in files if f not in known]
    stream = iter(_prepared_stream(todo, workers))
    for path in files:
        if path in known:
            key, version, rid = known[path]
            out = FileOutcome(path=path, status="unchanged", key=key, version=version, report_id=rid,
                              same_as=f"{key} v{version}")
            outcomes.append(out)
            if progress:
                progress(out)
            continue
        prep = next(stream)
        if isinstance(prep, ParseError):
            out = FileOutcome(path=path, status="failed", error=str(prep), line=prep.line)
        else:
            try:
                out = ingest_prepared(store, prep, dry_run=dry_run)
            except Exception as exc:  # database errors: this report rolled back, others go on
                out = FileOutcome(path=path, status="failed", key=prep.report.key,
                                  error=f"{path}: not stored: {exc.__class__.__name__}: {exc}")
        outcomes.append(out)
        if progress:
            progress(out)
    return IngestResult(files=outcomes, dry_run=dry_run, elapsed_s=time.perf_counter() - t0)


def _known_hashes(store: Store, files: Sequence[str]) -> dict[str, tuple[str, int, int]]:
    """Files whose exact bytes are already stored (checked again inside each transaction)."""
    digests: dict[str, str] = {}
    for f in files:
        try:
            digests[f] = hashlib.sha256(Path(f).read_bytes()).hexdigest()
        except OSError:
            continue
    if not digests:
        return {}
    rt = Report.__table__
    found: dict[str, tuple[str, int, int]] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(sorted(set(digests.values())), 500):
            for r in conn.execute(select(rt.c.content_hash, rt.c.key, rt.c.version, rt.c.id)
                                  .where(rt.c.content_hash.in_(chunk))):
                found[r.content_hash] = (r.key, r.version, r.id)
    return {f: found[h] for f, h in digests.items() if h in found}


def ingest_prepared(store: Store, prep: PreparedReport, dry_run: bool = False) -> FileOutcome:
    holder: list[FileOutcome] = []
    try:
        with store.session() as s:
            holder.append(_write(s, prep))
            if dry_run and holder[0].status in ("new", "version"):
                raise _DryRun
    except _DryRun:
        pass
    return holder[0]


def _write(s: Session, prep: PreparedReport) -> FileOutcome:
    rep = prep.report
    out = FileOutcome(path=rep.path, status="new", key=rep.key, title=rep.title, warnings=list(rep.warnings))
    conn = s.connection()
    rt = Report.__table__
    fast = _fast(conn)
    # SQLite: statements go straight to the driver cursor (same connection, same transaction),
    # skipping SQLAlchemy's per-statement execution context
    cur = conn.connection.driver_connection.cursor() if fast else None
    if cur is not None:
        same = cur.execute(_RAW_SEL_BY_HASH, (rep.content_hash,)).fetchone()
        same = _HashRow(*same) if same is not None else None
    else:
        same = conn.execute(_SEL_BY_HASH, {"h": rep.content_hash}).first()
    if same is not None:
        if cur is not None:
            cur.close()
        out.status, out.report_id, out.same_as = "unchanged", same.id, f"{same.key} v{same.version}"
        out.version = same.version
        out.key = same.key
        return out
    if cur is not None:
        prev = cur.execute(_RAW_SEL_PREV, (rep.key,)).fetchone()
        prev = _PrevRow(*prev) if prev is not None else None
    else:
        prev = conn.execute(_SEL_PREV, {"k": rep.key}).first()
    version = (prev.version + 1) if prev else 1
    now = utcnow()
    if prev is not None:
        out.status = "version"
        if prev.source_path != rep.path:
            out.warnings.append(f"new version of report '{rep.key}' (same file stem); v{prev.version} came from "
                                f"{prev.source_path}")
        conn.execute(_UPD_LATEST, {"k": rep.key})
    fields = rep.report_fields()
    report_id = _insert_one(conn, rt, {**fields, "version": version, "is_latest": True, "ingested_at": now}, cur)
    out.report_id, out.version = report_id, version

    if rep.references:
        _bulk_insert(conn, Reference.__table__, cur=cur, rows=[
            {"report_id": report_id, "position": r.position, "arxiv_id": r.arxiv_id, "version": r.version,
             "cited_as": r.cited_as, "line": r.line} for r in rep.references])
    out.references = len(rep.references)

    # match against every earlier claim of this report key
    ct = Claim.__table__
    old_rows = conn.execute(_SEL_OLD, {"k": rep.key}).all() if prev is not None else []
    assigned: dict[int, str] = {}  # index in prep.claims -> existing claim id
    how: dict[int, str] = {}
    if old_rows:
        assigned, how = _match(prep.claims, old_rows)
    # ids for new claims
    new_idx = [i for i in range(len(prep.claims)) if i not in assigned]
    new_ids = _assign_ids(conn, [prep.claims[i].id_hash for i in new_idx], cur)
    ids = dict(assigned)
    ids.update(zip(new_idx, new_ids))
    out.claim_ids = [ids[i] for i in range(len(prep.claims))]

    claim_rows, event_rows, flag_rows = [], [], []
    now_db = _db_datetime(conn, now)
    key_json = json.dumps(rep.key, ensure_ascii=False)
    key = rep.key
    if fast:
        claims = prep.claims
        claim_rows = [(ids[i], key, report_id) + claims[i].db_tail + (now_db, now_db) for i in new_idx]
        event_rows = [(ids[i], now_db, "ingest", None, UNVERIFIED, None, claims[i].confidence,
                       f'{{"report":{key_json},"version":{version},"row":{claims[i].row}}}') for i in new_idx]
        _exec_tuples(cur, "claim", _CLAIM_COLS, claim_rows)
    else:
        for i in new_idx:
            c = prep.claims[i]
            cid = ids[i]
            claim_rows.append(_claim_row(c, cid, rep.key, report_id, now, raw=False))
            event_rows.append({"claim_id": cid, "at": now, "cause": "ingest", "old_status": None,
                               "new_status": UNVERIFIED, "old_confidence": None, "new_confidence": c.confidence,
                               "detail": {"report": rep.key, "version": version, "row": c.row}})
        _bulk_insert(conn, ct, claim_rows)
    if assigned:
        _update_matched(s, conn, prep, assigned, how, {r.id: r for r in old_rows}, rep.key, report_id, version,
                        now, now_db)
        out.matched_exact = sum(1 for v in how.values() if v == "exact")
        out.matched_fuzzy = len(assigned) - out.matched_exact
        matched_ids = set(assigned.values())
        to_retire = [r.id for r in old_rows if r.id not in matched_ids and not r.retired]
        if to_retire:
            for chunk in _chunks(to_retire, 500):
                conn.execute(update(ct).where(ct.c.id.in_(chunk)).values(retired=True, updated_at=now))
        out.retired = len(to_retire)
        conn.execute(delete(Flag.__table__).where(Flag.__table__.c.claim_id.in_(list(matched_ids)),
                                                  Flag.__table__.c.kind == "truncated"))
    if fast:
        flag_rows = [(key, ids[i], "truncated", "claim text", c.flag_message, c.json_cols["truncation"], now_db)
                     for i, c in enumerate(prep.claims) if c.truncation.truncated]
        _exec_tuples(cur, "claimsource", _SOURCE_COLS, [
            (ids[i], report_id, c.row, c.line, c.text, c.db_tail[4], c.confidence) for i, c in enumerate(prep.claims)])
        _exec_tuples(cur, "claimevent", _EVENT_COLS, event_rows)
        _exec_tuples(cur, "flag", _FLAG_COLS, flag_rows)
        cur.close()
    else:
        for i, c in enumerate(prep.claims):
            if c.truncation.truncated:
                flag_rows.append({"report_key": rep.key, "claim_id": ids[i], "kind": "truncated",
                                  "subject": "claim text", "message": c.flag_message,
                                  "detail": json.loads(c.json_cols["truncation"]), "created_at": now})
        _bulk_insert(conn, ClaimSource.__table__, [
            {"claim_id": ids[i], "report_id": report_id, "row": c.row, "line": c.line, "text": c.text,
             "report_mark": c.mark, "report_confidence": c.confidence} for i, c in enumerate(prep.claims)])
        _bulk_insert(conn, ClaimEvent.__table__, event_rows)
        _bulk_insert(conn, Flag.__table__, flag_rows)
    out.claims = len(prep.claims)
    out.new_claims = len(new_idx)
    out.truncated = len(flag_rows)
    return out


def _db_datetime(conn, now) -> Any:
    if not _fast(conn):
        return now
    proc = Claim.__table__.c.created_at.type._cached_bind_processor(conn.dialect)
    return Raw(proc(now)) if proc else now


def _trunc_message(c: PreparedClaim) -> str:
    t = c.truncation
    why = []
    if "incomplete-word" in t.signals:
        why.append(f"last word '{t.last_token}' is not a word of the report but starts '{t.completion}'")
    if "dangling-word" in t.signals:
        why.append(f"ends on '{t.last_token or c.text.rstrip()[-1:]}', which cannot end a sentence")
    if "at-cut-length" in t.signals:
        why.append(f"no final punctuation at the table's cut length of {t.cut_length} characters")
    return "claim looks truncated: " + "; ".join(why)


_JSON_COLS = ("datasets", "languages", "tasks", "extraction", "text_verdict_detail")
_BOOL_COLS = ("report_mark", "looks_truncated", "retired")


def _claim_row(c: PreparedClaim, cid: str, key: str, report_id: int, now, raw: bool = True) -> dict[str, Any]:
    """The claim row as a dict (from the prepared database tuple): JSON columns as `Raw` text for the
    SQLite path, decoded for SQLAlchemy's own types otherwise."""
    row = dict(zip(_CLAIM_TAIL, c.db_tail))
    for k in _JSON_COLS:
        if row[k] is not None:
            row[k] = Raw(row[k]) if raw else json.loads(row[k])
    if not raw:
        for k in _BOOL_COLS:
            if row[k] is not None:
                row[k] = bool(row[k])
    return {"id": cid, "report_key": key, "report_id": report_id, **row, "created_at": now, "updated_at": now}


def _fast(conn) -> bool:
    """Driver-level executemany with database-ready values (sqlite3's qmark style); any other
    database goes through SQLAlchemy Core with the columns' own types."""
    return conn.dialect.paramstyle == "qmark"


_INSERT_SQL: dict[tuple, tuple[str, list]] = {}
_CLAIM_TAIL = ("row", "line", "text", "normalized", "report_mark", "report_confidence", "looks_truncated",
               "repaired_text", "kind", "datasets", "languages", "metric", "value", "comparator", "model", "method",
               "value_high", "unit", "direction", "tasks", "extraction", "status", "confidence", "text_verdict",
               "text_verdict_detail", "retired")
_CLAIM_COLS = ("id", "report_key", "report_id") + _CLAIM_TAIL + ("created_at", "updated_at")
_SOURCE_COLS = ("claim_id", "report_id", "row", "line", "text", "report_mark", "report_confidence")
_EVENT_COLS = ("claim_id", "at", "cause", "old_status", "new_status", "old_confidence", "new_confidence", "detail")
_FLAG_COLS = ("report_key", "claim_id", "kind", "subject", "message", "detail", "created_at")
_TUPLE_SQL: dict[tuple, str] = {}


def _exec_tuples(cur, table: str, cols: tuple, rows: list[tuple]) -> None:
    """SQLite fast path: rows already hold database values in `cols` order; `cur` is the driver
    cursor of the report's transaction."""
    if not rows:
        return
    sql = _TUPLE_SQL.get((table, cols))
    if sql is None:
        sql = (f'INSERT INTO "{table}" (' + ", ".join(f'"{c}"' for c in cols) + ") VALUES (" +
               ", ".join("?" for _ in cols) + ")")
        _TUPLE_SQL[(table, cols)] = sql
    cur.executemany(sql, rows)


def _bulk_insert(conn, table, rows: list[dict[str, Any]], cur=None) -> None:
    """executemany straight to the driver with the columns' own bind processors (JSON, datetime,
    bool), skipping SQLAlchemy's per-statement compilation; other dialects use Core insert."""
    if not rows:
        return
    dialect = conn.dialect
    if not _fast(conn):
        conn.execute(insert(table), rows)
        return
    names = tuple(rows[0])
    key = (table.name, names)
    if key not in _INSERT_SQL:
        cols = [table.c[n] for n in names]
        sql = (f'INSERT INTO "{table.name}" (' + ", ".join(f'"{c.name}"' for c in cols) + ") VALUES (" +
               ", ".join("?" for _ in cols) + ")")
        _INSERT_SQL[key] = (sql, [c.type._cached_bind_processor(dialect) for c in cols])
    sql, procs = _INSERT_SQL[key]
    params = [tuple(v if p is None or v is None or v.__class__ is Raw else p(v) for p, v in zip(procs, r.values()))
              for r in rows]
    if cur is not None:
        cur.executemany(sql, params)
    else:
        conn.exec_driver_sql(sql, params)


def _insert_one(conn, table, row: dict[str, Any], cur=None) -> int:
    if not _fast(conn):
        return conn.execute(insert(table).values(**row)).inserted_primary_key[0]
    names = tuple(row)
    key = (table.name, names)
    if key not in _INSERT_SQL:
        cols = [table.c[n] for n in names]
        sql = (f'INSERT INTO "{table.name}" (' + ", ".join(f'"{c.name}"' for c in cols) + ") VALUES (" +
               ", ".join("?" for _ in cols) + ")")
        _INSERT_SQL[key] = (sql, [c.type._cached_bind_processor(conn.dialect) for c in cols])
    sql, procs = _INSERT_SQL[key]
    params = tuple(v if p is None or v is None or v.__class__ is Raw else p(v) for p, v in zip(procs, row.values()))
    if cur is not None:
        return cur.execute(sql, params).lastrowid
    return conn.exec_driver_sql(sql, params).lastrowid


def _chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _assign_ids(conn, hashes: list[str], cur=None) -> list[str]:
    """Shortest free prefix (>= ID_MIN_LEN) of each hash, free in the store and in this batch."""
    ids: list[Optional[str]] = [None] * len(hashes)
    length = {i: ID_MIN_LEN for i in range(len(hashes))}
    taken_batch: set[str] = set()
    pending = list(range(len(hashes)))
    ct = Claim.__table__
    while pending:
        cands = {i: hashes[i][:length[i]] for i in pending}
        in_db: set[str] = set()
        for chunk in _chunks(list(set(cands.values())), 500):
            if cur is not None:
                sql = 'SELECT "id" FROM "claim" WHERE "id" IN (' + ",".join("?" * len(chunk)) + ")"
                in_db.update(r[0] for r in cur.execute(sql, chunk))
            else:
                in_db.update(r[0] for r in conn.execute(_SEL_IDS, {"ids": chunk}))
        nxt = []
        for i in pending:
            c = cands[i]
            if c in in_db or c in taken_batch:
                length[i] += 1
                nxt.append(i)
            else:
                ids[i] = c
                taken_batch.add(c)
        pending = nxt
    return ids  # type: ignore[return-value]


def _match(new: list[PreparedClaim], old_rows: list) -> tuple[dict[int, str], dict[int, str]]:
    """One-to-one matching of this version's claims to earlier claims of the same report."""
    assigned: dict[int, str] = {}
    how: dict[int, str] = {}
    by_norm: dict[str, list] = {}
    for r in old_rows:
        by_norm.setdefault(r.normalized, []).append(r)
    used: set[str] = set()
    for i, c in enumerate(new):
        for r in by_norm.get(c.normalized, []):
            if r.id not in used:
                assigned[i], how[i] = r.id, "exact"
                used.add(r.id)
                break
    rest_new = [i for i in range(len(new)) if i not in assigned]
    rest_old = [r for r in old_rows if r.id not in used]
    if not rest_new or not rest_old:
        return assigned, how
    pairs = []
    for i in rest_new:
        a = new[i].normalized
        sm = difflib.SequenceMatcher(None, autojunk=False)
        sm.set_seq2(a)  # seq2 is the one SequenceMatcher indexes; compare each old claim against it
        for r in rest_old:
            b = r.normalized
            short, long_ = (a, b) if len(a) <= len(b) else (b, a)
            if (new[i].truncation.truncated or r.looks_truncated) and len(short) >= PREFIX_MIN_CHARS \
                    and long_.startswith(short):
                pairs.append((1.0, "prefix", i, r.id))
                continue
            sm.set_seq1(b)
            if sm.real_quick_ratio() < FUZZY_MIN_RATIO or sm.quick_ratio() < FUZZY_MIN_RATIO:
                continue
            ratio = sm.ratio()
            if ratio >= FUZZY_MIN_RATIO:
                pairs.append((ratio, "fuzzy", i, r.id))
    pairs.sort(key=lambda p: -p[0])
    for score, kind, i, rid in pairs:
        if i in assigned or rid in used:
            continue
        assigned[i], how[i] = rid, f"{kind}:{score:.3f}"
        used.add(rid)
    return assigned, how


_UPDATE_COLS = ("report_id", "row", "line", "text", "normalized", "report_mark", "report_confidence",
                "looks_truncated", "kind", "datasets", "languages", "metric", "value", "comparator", "model",
                "method", "value_high", "unit", "direction", "tasks", "extraction")


def _update_matched(s: Session, conn, prep: PreparedReport, assigned: dict[int, str], how: dict[int, str],
                    old_by_id: dict[str, Any], key: str, report_id: int, version: int, now, now_db) -> None:
    """Matched claims take this version's text, position and fields (one executemany); their
    status and confidence change only through set_status."""
    qmark = _fast(conn)
    rows = []
    for i, cid in assigned.items():
        r = _claim_row(prep.claims[i], cid, key, report_id, now_db if qmark else now, raw=qmark)
        rows.append({**{k: r[k] for k in _UPDATE_COLS}, "retired": False, "updated_at": r["updated_at"], "id": cid})
    if qmark:
        names = tuple(rows[0])
        cols = [_CT.c[n] for n in names]
        procs = [c.type._cached_bind_processor(conn.dialect) for c in cols]
        sql = 'UPDATE "claim" SET ' + ", ".join(f'"{n}" = ?' for n in names[:-1]) + ' WHERE "id" = ?'
        conn.exec_driver_sql(sql, [tuple(v if p is None or v is None or v.__class__ is Raw else p(v)
                                         for p, v in zip(procs, r.values())) for r in rows])
    else:
        stmt = update(_CT).where(_CT.c.id == bindparam("b_id")).values(
            {k: bindparam(f"b_{k}") for k in rows[0] if k != "id"})
        conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])
    # the report's own confidence moved: follow it while nothing but ingest has touched the claim
    for i, cid in assigned.items():
        c, old = prep.claims[i], old_by_id[cid]
        if c.confidence != old.report_confidence and old.status == UNVERIFIED and old.confidence == old.report_confidence:
            claim = s.get(Claim, cid)
            set_status(s, claim, cause="ingest", confidence=c.confidence,
                       detail={"report": key, "version": version, "row": c.row, "match": how[i],
                               "reason": "report confidence changed"})
    s.flush()
