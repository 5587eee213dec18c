"""`ingest_paths`: literature reports -> claim store; every report is stored whole or not at all.

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
  large ingests; the database writes are bulk inserts.
* Transactions: consecutive reports share one transaction (up to BATCH_REPORTS reports or
  BATCH_SECONDS; a commit per report was a third of the write time), and a file's outcome is
  reported only once its transaction committed. A database error rolls the whole batch back and
  writes its reports again one transaction each, so the failing file fails alone, with nothing of
  it written, and the others are stored as before. A killed ingest leaves whole reports only.
  (A SQLite batch holds the write lock, including while the next file is parsed when parsing runs
  in this process; other writers wait for it on the busy timeout.)
"""

from __future__ import annotations

import ctypes
import difflib
import errno
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from sqlalchemy import JSON, Table, bindparam, delete, insert, null, select, update
from sqlmodel import Session

from ..store import JSONText, Store, set_status
from ..store.models import UNVERIFIED, Claim, ClaimEvent, ClaimSource, Flag, Reference, Report, utcnow
from .fields import LEXICON_WORDS, ClaimFields, extract_fields
from .parser import ParsedReport, ParseError, display_path, max_file_bytes, parse_report
from .text import normalize_text
from .truncation import Truncation, analyze_table, load_word_lists

FUZZY_MIN_RATIO = 0.85
PREFIX_MIN_CHARS = 30
ID_MIN_LEN = 6
# folder documentation next to the reports is not a report
_DOC_NAMES = ("readme", "license", "licence", "changelog", "notice", "copying", "authors", "contributing")
PARALLEL_MIN_FILES = 64
BATCH_REPORTS = 64  # reports per write transaction at most ...
BATCH_SECONDS = 0.25  # ... and at most this long since its first write (progress stays live, the lock short)
_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


# json.dumps(**kw) builds an encoder per call; ingest's values are never circular (no id bookkeeping)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
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
    return _ENCODER.encode(v)


@dataclass
class PreparedClaim:
    row: int
    line: int
    text: str
    normalized: str
    mark: Optional[bool]
    confidence: Optional[float]
    fields: Optional[ClaimFields]  # None once `values` holds them
    truncation: Truncation
    id_hash: str  # full sha256 hex; the id is its shortest free prefix (>= 6 chars)
    json_cols: dict[str, Optional[str]] = field(default_factory=dict)  # datasets, languages, tasks, extraction, truncation
    values: dict[str, Any] = field(default_factory=dict)  # the claim row's columns (CLAIM_VALUE_COLUMNS)
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

    def __post_init__(self) -> None:
        self.path = display_path(self.path)  # a file name that is not UTF-8 still prints and stores

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
_SEL_OLD = (select(_CT.c.id, _CT.c.normalized, _CT.c.looks_truncated, _CT.c.retired, _CT.c.status,
                   _CT.c.confidence, _CT.c.report_confidence)
            .where(_CT.c.report_key == bindparam("k")))
# The claim columns a prepared claim fills (from the table, so a new column is never forgotten);
# the writer adds the identity and time columns.
_CLAIM_WRITER_COLUMNS = ("id", "report_key", "report_id", "created_at", "updated_at")
CLAIM_VALUE_COLUMNS = tuple(c.name for c in _CT.c if c.name not in _CLAIM_WRITER_COLUMNS)
# what a new version of a report rewrites on a matched claim: its text, place and parsed fields, never
# its state (status and confidence change only through set_status; text verdict and repair stay)
_MATCH_UPDATE_COLUMNS = ("row", "line", "text", "normalized", "report_mark", "report_confidence", "looks_truncated",
                         "kind", "datasets", "languages", "metric", "value", "comparator", "model", "method",
                         "value_high", "unit", "direction", "tasks", "extraction")
_JSON_COLUMNS = frozenset(c.name for c in _CT.c if isinstance(c.type, JSON))


class _BulkInsert:
    """`insert(table)` of every column but the table's autoincrement key, compiled once for a
    dialect and run as one `Connection.exec_driver_sql` executemany. Each value goes through its
    column type's own bind processor (`TypeEngine.dialect_impl(dialect).bind_processor`, the
    public hook `insert()` itself uses), so the stored values are those of a Core insert; the
    per-row parameter processing of a Core executemany (32% of the write time) is left out, and
    values that are the same for every row of a report (its id and key, the timestamp) are
    processed once. A None value is SQL NULL in every column (JSON columns included: their
    values are JSON text, passed to the store's serializer as `JSONText`)."""

    def __init__(self, table: Table, dialect) -> None:
        auto = table.autoincrement_column
        self.columns = [c for c in table.columns if c is not auto]
        keys = [c.key for c in self.columns]
        # inline(): no implicit RETURNING of the generated keys (PostgreSQL adds one otherwise)
        compiled = insert(table).inline().compile(dialect=dialect, column_keys=keys)
        self.sql = compiled.string
        self.positional = compiled.positional  # SQLite: "?" parameters in positiontup's order
        self.order = list(compiled.positiontup) if compiled.positional else keys
        assert sorted(self.order) == sorted(keys), (table.name, self.order)
        self.procs: dict[str, Callable[[Any], Any]] = {}
        self.json = frozenset(c.key for c in self.columns if isinstance(c.type, JSON))
        for c in self.columns:
            proc = c.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                self.procs[c.key] = proc

    def _value(self, key: str, v: Any) -> Any:
        if v is None:
            return None
        if key in self.json:
            v = JSONText(v)
        proc = self.procs.get(key)
        return v if proc is None else proc(v)

    def execute(self, conn, rows: Sequence[dict[str, Any]], same: dict[str, Any]) -> None:
        """Insert `rows` (dicts of column values), each completed by `same` (values of every row).
        Every column must be given: a column added to the model without a value here is a KeyError,
        not a silently missing value. (Processed a column at a time: one list comprehension per
        column instead of a Python loop per value.)"""
        if not rows:
            return
        cols: list[Iterable[Any]] = []
        for k in self.order:
            if k in same:
                cols.append(itertools.repeat(self._value(k, same[k]), len(rows)))
                continue
            vals = [r[k] for r in rows]
            if k in self.json:
                vals = [None if v is None else JSONText(v) for v in vals]
            proc = self.procs.get(k)
            if proc is not None:
                vals = [None if v is None else proc(v) for v in vals]
            cols.append(vals)
        params = list(zip(*cols)) if self.positional else [dict(zip(self.order, t)) for t in zip(*cols)]
        conn.exec_driver_sql(self.sql, params)


_BULK: "weakref.WeakKeyDictionary[Any, dict[str, _BulkInsert]]" = weakref.WeakKeyDictionary()


def _bulk(conn, table: Table) -> _BulkInsert:
    """The compiled bulk insert of `table` for this connection's dialect (compiled once per engine)."""
    per = _BULK.get(conn.dialect)
    if per is None:
        per = _BULK[conn.dialect] = {}
    b = per.get(table.name)
    if b is None:
        b = per[table.name] = _BulkInsert(table, conn.dialect)
    return b


# --- pure part: parse + fields + truncation -----------------------------------------------------

def _id_hash(key: str, normalized: str, occurrence: int) -> str:
    payload = f"{key}\x1f{normalized}" + (f"\x1f{occurrence}" if occurrence > 1 else "")
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def prepare_report(path: str | Path, max_bytes: Optional[int] = None) -> PreparedReport:
    """Parse a report and compute everything stored for its claims. Raises ParseError."""
    rep = parse_report(path, max_bytes)
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
        pc.values = _claim_values(pc)
        if pc.truncation.truncated:
            pc.flag_message = _trunc_message(pc)
    # what the writer does not need stays here (less to pickle back from parser processes)
    rep.sections, rep.full_text, rep.claims = [], "", []
    for pc in out:
        pc.fields = None  # everything is in `values` now, the JSON columns included
        pc.json_cols = {"truncation": pc.json_cols["truncation"]}  # a flag's detail
    return PreparedReport(rep, out)


def _prepare_safe(path: str, max_bytes: Optional[int] = None) -> PreparedReport | ParseError:
    try:
        return prepare_report(path, max_bytes)
    except ParseError as exc:
        return exc
    except Exception as exc:  # a parser bug must not take the other files down
        return ParseError(display_path(path), None, f"internal error while parsing: {exc.__class__.__name__}: {exc}")


def _worker_init(parent_pid: int) -> None:
    """A parser process dies with the ingest that started it and holds none of its output open
    (a killed `claims ingest | tee log` must end), and leaves Ctrl-C to the parent."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()  # any platform
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


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


def _prepared_stream(files: Sequence[str], workers: Optional[int],
                     max_bytes: Optional[int] = None) -> Iterator[PreparedReport | ParseError]:
    """The prepared reports of `files`, in order. With workers > 1, parser processes prepare them
    beside the writer: file i goes to process i % workers, which sends each result down its own
    pipe, read by the caller's thread itself (no pool threads in the writer's process). The writer
    gets its first report after one file is parsed (multiprocessing.Pool's chunks of up to 32 files
    kept it idle at the start); a pipe holds up to _PIPE_BYTES, so a parser runs at most that far
    ahead and then leaves the CPU to the writer; a parser process that dies (killed, out of memory)
    leaves its remaining files to be parsed here instead of hanging the ingest."""
    n = len(files)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if n >= PARALLEL_MIN_FILES else 1
    if workers <= 1 or n < 2:
        for f in files:
            yield _prepare_safe(f, max_bytes)
        return
    workers = min(workers, n)
    fork = sys.platform.startswith("linux")
    if fork:
        load_word_lists()  # once here, shared by the forked parsers (each would read its own)
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    procs: list = []
    conns: list = []
    try:
        for k in range(workers):
            r, w = ctx.Pipe(duplex=False)
            _grow_pipe(w)
            p = ctx.Process(target=_parser_process, args=(files[k::workers], max_bytes, w, os.getpid()),
                            daemon=True, name=f"xlt-claims-parser-{k}")
            p.start()
            w.close()  # the parser holds the only write end: its exit is EOF here
            procs.append(p)
            conns.append(r)
        for i, f in enumerate(files):
            c = conns[i % workers]
            if c is not None:
                try:
                    yield c.recv()
                    continue
                except (EOFError, OSError):  # the parser process died
                    conns[i % workers] = None
                    c.close()
            yield _prepare_safe(f, max_bytes)
    finally:  # Ctrl-C, an error in the writer, the consumer stopped early, or done
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join()
        for c in conns:
            if c is not None:
                c.close()


_PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size; about 40 pickled reports of 25 claims


def _grow_pipe(conn) -> None:
    """A larger pipe buffer (Linux) lets a parser run further ahead of the writer."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # another platform, or over the user's pipe quota
        pass


def _parser_process(files: Sequence[str], max_bytes: Optional[int], conn, parent_pid: int) -> None:
    _worker_init(parent_pid)
    try:
        for f in files:
            conn.send(_prepare_safe(f, max_bytes))
    except (BrokenPipeError, EOFError, OSError):  # the ingest stopped reading
        pass
    finally:
        conn.close()


# --- the write part -------------------------------------------------------------------------------

def ingest_paths(store: Store, paths: Iterable[str | Path], dry_run: bool = False, *,
                 progress: Optional[Callable[[FileOutcome], None]] = None,
                 workers: Optional[int] = None, max_file_bytes: Optional[int] = None) -> IngestResult:
    """Ingest report files and folders; each report in its own transaction. Never raises for a bad
    file: its outcome has status "failed" with the error (file:line: message). `max_file_bytes`
    raises the size cap of one report (parser.MAX_FILE_BYTES)."""
    t0 = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # ingest allocates many short-lived acyclic objects; cyclic GC passes only cost time
    try:
        return _ingest_paths(store, paths, dry_run, progress, workers, t0, max_file_bytes)
    finally:
        if gc_was_enabled:
            gc.enable()


def _ingest_paths(store, paths, dry_run, progress, workers, t0, max_bytes=None) -> IngestResult:
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
    known = _known_hashes(store, files, max_file_bytes(max_bytes))
    todo = [f for f in files if f not in known]
    stream = _prepared_stream(todo, workers, max_bytes)
    batch = _Batch(store, outcomes, progress)
    try:
        for path in files:
            if path in known:
                key, version, rid = known[path]
                batch.done(FileOutcome(path=path, status="unchanged", key=key, version=version, report_id=rid,
                                       same_as=f"{key} v{version}"))
                continue
            prep = next(stream)
            if isinstance(prep, ParseError):
                batch.done(FileOutcome(path=path, status="failed", error=str(prep), line=prep.line))
            elif dry_run:
                batch.done(_write_alone(store, prep, path, dry_run=True))
            else:
                batch.write(prep, path)
        batch.commit()
    finally:
        batch.close()  # an error or Ctrl-C: the open batch is rolled back, its files were not reported
        stream.close()  # the parser processes end with the loop, whatever ended it
    return IngestResult(files=outcomes, dry_run=dry_run, elapsed_s=time.perf_counter() - t0)


def _write_alone(store: Store, prep: PreparedReport, path: str, dry_run: bool = False) -> FileOutcome:
    """One report in its own transaction; a database error is this file's failed outcome."""
    try:
        return ingest_prepared(store, prep, dry_run=dry_run)
    except Exception as exc:  # database errors: this report rolled back, others go on
        return FileOutcome(path=path, status="failed", key=prep.report.key,
                           error=f"{display_path(path)}: not stored: {_store_error(exc)}")


class _Batch:
    """Consecutive reports written in one transaction (see the module's docstring). Outcomes are
    kept in file order and handed to `outcomes` / `progress` when the transaction commits."""

    def __init__(self, store: Store, outcomes: list[FileOutcome],
                 progress: Optional[Callable[[FileOutcome], None]]) -> None:
        self.store, self.outcomes, self.progress = store, outcomes, progress
        self.session: Optional[Session] = None
        self.started = 0.0
        self.pending: list[tuple[FileOutcome, Optional[PreparedReport], str]] = []  # (outcome, written report, path)

    def done(self, out: FileOutcome) -> None:
        """An outcome without a write (unchanged, parse error), in its place in file order."""
        if self.session is None:
            self._emit(out)
        else:
            self.pending.append((out, None, out.path))

    def write(self, prep: PreparedReport, path: str) -> None:
        if self.session is None:
            self.session = Session(self.store.engine, expire_on_commit=False)
            self.started = time.perf_counter()
        else:
            self.session.expire_all()  # claims an earlier report of the batch loaded may have changed since
        try:
            out = _write(self.session, prep)
        except Exception:
            self._replay((prep, path))
            return
        self.pending.append((out, prep, path))
        if len(self.pending) >= BATCH_REPORTS or time.perf_counter() - self.started >= BATCH_SECONDS:
            self.commit()

    def commit(self) -> None:
        if self.session is None:
            return
        try:
            self.session.commit()
        except Exception:
            self._replay()
            return
        self.session.close()
        self.session = None
        pending, self.pending = self.pending, []
        for out, _, _ in pending:
            self._emit(out)

    def _replay(self, failing: Optional[tuple[PreparedReport, str]] = None) -> None:
        """A database error: nothing of the batch stays; each of its reports is written again in a
        transaction of its own, so only the file that fails is reported failed."""
        self.close()
        pending, self.pending = self.pending, []
        if failing is not None:
            pending.append((None, *failing))  # type: ignore[arg-type]
        for out, prep, path in pending:
            self._emit(out if prep is None else _write_alone(self.store, prep, path))

    def _emit(self, out: FileOutcome) -> None:
        self.outcomes.append(out)
        if self.progress:
            self.progress(out)

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.rollback()
            finally:
                self.session.close()
                self.session = None


def _store_error(exc: BaseException) -> str:
    """One short line for a database error while storing a report (not the SQL and its thousands of
    parameters): a full disk says so, anything else names the driver's error."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().split("\n")[0]
    if getattr(orig, "errno", None) == errno.ENOSPC or "disk is full" in text or "No space left" in text \
            or getattr(orig, "sqlite_errorname", "") == "SQLITE_FULL":
        return (f"the store's disk is full ({text}); nothing of this file was written: free some space "
                f"and ingest it again")
    return f"{type(orig).__name__}: {text[:300]} (rolled back: nothing of this file was written)"


def _known_hashes(store: Store, files: Sequence[str], limit: int) -> dict[str, tuple[str, int, int]]:
    """Files whose exact bytes are already stored (checked again inside each transaction); files
    over the size cap are left to the parser, which says so."""
    digests: dict[str, str] = {}
    for f in files:
        try:
            if Path(f).stat().st_size > limit:
                continue
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


def _claim_values(c: PreparedClaim) -> dict[str, Any]:
    """Every column of the claim row except `_CLAIM_WRITER_COLUMNS`, JSON as text (see `_json`)."""
    f, j = c.fields, c.json_cols
    v = {"row": c.row, "line": c.line, "text": c.text, "normalized": c.normalized, "report_mark": c.mark,
         "report_confidence": c.confidence, "looks_truncated": c.truncation.truncated, "repaired_text": None,
         "kind": f.kind, "datasets": j["datasets"], "languages": j["languages"], "metric": f.metric, "value": f.value,
         "comparator": f.comparator, "model": f.model, "method": f.method, "value_high": f.value_high, "unit": f.unit,
         "direction": f.direction, "tasks": j["tasks"], "extraction": j["extraction"], "status": UNVERIFIED,
         "confidence": c.confidence, "text_verdict": None, "text_verdict_detail": None, "retired": False}
    return v


def _db_values(values: dict[str, Any]) -> dict[str, Any]:
    """The prepared values as insert parameters: JSON text passes through the store's serializer
    unchanged (`JSONText`), a missing JSON value is SQL NULL."""
    row = dict(values)
    for k in _JSON_COLUMNS:
        if k in row:
            v = row[k]
            row[k] = null() if v is None else JSONText(v)
    return row


def _write(s: Session, prep: PreparedReport) -> FileOutcome:
    """One report version in the session's transaction, with SQLAlchemy Core statements only
    (executemany per table), so the same code writes SQLite and PostgreSQL."""
    rep = prep.report
    out = FileOutcome(path=rep.path, status="new", key=rep.key, title=rep.title, warnings=list(rep.warnings))
    conn = s.connection()
    same = conn.execute(_SEL_BY_HASH, {"h": rep.content_hash}).first()
    if same is not None:
        out.status, out.report_id, out.same_as = "unchanged", same.id, f"{same.key} v{same.version}"
        out.version = same.version
        out.key = same.key
        return out
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
    fields["meta"] = JSONText(_json(fields["meta"]))
    report_id = conn.execute(insert(_RT), {**fields, "version": version, "is_latest": True, "ingested_at": now}
                             ).inserted_primary_key[0]
    out.report_id, out.version = report_id, version

    _bulk(conn, Reference.__table__).execute(conn, [
        {"position": r.position, "arxiv_id": r.arxiv_id, "version": r.version, "cited_as": r.cited_as, "line": r.line}
        for r in rep.references], {"report_id": report_id})
    out.references = len(rep.references)

    # match against every earlier claim of this report key
    old_rows = conn.execute(_SEL_OLD, {"k": rep.key}).all() if prev is not None else []
    assigned: dict[int, str] = {}  # index in prep.claims -> existing claim id
    how: dict[int, str] = {}
    if old_rows:
        assigned, how = _match(prep.claims, old_rows)
    # ids for new claims
    new_idx = [i for i in range(len(prep.claims)) if i not in assigned]
    new_ids = _assign_ids(conn, [prep.claims[i].id_hash for i in new_idx])
    ids = dict(assigned)
    ids.update(zip(new_idx, new_ids))
    out.claim_ids = [ids[i] for i in range(len(prep.claims))]

    claims, key = prep.claims, rep.key
    key_json = _json(key)
    _bulk(conn, _CT).execute(conn, [{**claims[i].values, "id": ids[i]} for i in new_idx],
                             {"report_key": key, "report_id": report_id, "created_at": now, "updated_at": now})
    if assigned:
        _update_matched(s, conn, prep, assigned, how, {r.id: r for r in old_rows}, key, report_id, version, now)
        out.matched_exact = sum(1 for v in how.values() if v == "exact")
        out.matched_fuzzy = len(assigned) - out.matched_exact
        matched_ids = set(assigned.values())
        to_retire = [r.id for r in old_rows if r.id not in matched_ids and not r.retired]
        for chunk in _chunks(to_retire, 500):
            conn.execute(update(_CT).where(_CT.c.id.in_(chunk)).values(retired=True, updated_at=now))
        out.retired = len(to_retire)
        ft = Flag.__table__
        for chunk in _chunks(sorted(matched_ids), 500):
            conn.execute(delete(ft).where(ft.c.claim_id.in_(chunk), ft.c.kind == "truncated"))
    _bulk(conn, ClaimSource.__table__).execute(conn, [
        {"claim_id": ids[i], "row": c.row, "line": c.line, "text": c.text, "report_mark": c.mark,
         "report_confidence": c.confidence} for i, c in enumerate(claims)], {"report_id": report_id})
    _bulk(conn, ClaimEvent.__table__).execute(conn, [
        {"claim_id": ids[i], "new_confidence": claims[i].confidence,
         "detail": f'{{"report":{key_json},"version":{version},"row":{claims[i].row}}}'} for i in new_idx],
        {"at": now, "cause": "ingest", "old_status": None, "new_status": UNVERIFIED, "old_confidence": None})
    flag_rows = [{"claim_id": ids[i], "message": c.flag_message, "detail": c.json_cols["truncation"]}
                 for i, c in enumerate(claims) if c.truncation.truncated]
    _bulk(conn, Flag.__table__).execute(conn, flag_rows, {"report_key": key, "kind": "truncated",
                                                          "subject": "claim text", "created_at": now})
    out.claims = len(claims)
    out.new_claims = len(new_idx)
    out.truncated = len(flag_rows)
    return out


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


def _chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _assign_ids(conn, hashes: list[str]) -> list[str]:
    """Shortest free prefix (>= ID_MIN_LEN) of each hash, free in the store and in this batch."""
    ids: list[Optional[str]] = [None] * len(hashes)
    length = {i: ID_MIN_LEN for i in range(len(hashes))}
    taken_batch: set[str] = set()
    pending = list(range(len(hashes)))
    while pending:
        cands = {i: hashes[i][:length[i]] for i in pending}
        in_db: set[str] = set()
        for chunk in _chunks(sorted(set(cands.values())), 500):
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


def _update_matched(s: Session, conn, prep: PreparedReport, assigned: dict[int, str], how: dict[int, str],
                    old_by_id: dict[str, Any], key: str, report_id: int, version: int, now) -> None:
    """Matched claims take this version's text, position and fields (one executemany); their
    status and confidence change only through set_status."""
    stmt = update(_CT).where(_CT.c.id == bindparam("b_id")).values(
        {k: bindparam(f"b_{k}") for k in ("report_id", *_MATCH_UPDATE_COLUMNS, "retired", "updated_at")})
    rows = []
    for i, cid in assigned.items():
        v = _db_values(prep.claims[i].values)
        row = {f"b_{k}": v[k] for k in _MATCH_UPDATE_COLUMNS}
        row.update(b_id=cid, b_report_id=report_id, b_retired=False, b_updated_at=now)
        rows.append(row)
    conn.execute(stmt, rows)
    # the report's own confidence moved: follow it while nothing but ingest has touched the claim
    for i, cid in assigned.items():
        c, old = prep.claims[i], old_by_id[cid]
        if c.confidence != old.report_confidence and old.status == UNVERIFIED and old.confidence == old.report_confidence:
            claim = s.get(Claim, cid)
            set_status(s, claim, cause="ingest", confidence=c.confidence,
                       detail={"report": key, "version": version, "row": c.row, "match": how[i],
                               "reason": "report confidence changed"})
    s.flush()
