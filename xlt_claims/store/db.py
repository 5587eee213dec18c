"""Opening the claim store: URL checks, SQLite pragmas (WAL, busy timeout), integrity and migrations.

Migrations are Alembic revisions shipped in `store/migrations/versions/` (ids "0001", "0002", ...:
the integer is the schema version). `open_store` applies the missing ones in one transaction and
records each schema version in `schemaversion` as well, the table that stores made before Alembic
(schema version 1, no `alembic_version` table) carry: such a store is stamped at revision 0001 and
upgraded like any other.

Opening never changes a file it then refuses: the schema version, the file's permissions and (for
commands that write) `PRAGMA quick_check` are read first; WAL mode is switched on afterwards.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
from urllib.parse import quote
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlmodel import Session, create_engine, select

from . import models
from .models import SchemaVersion

DEFAULT_DB = "claims.db"
ENV_VAR = "XLT_CLAIMS_DB"
BUSY_TIMEOUT_MS = 60_000
READ_ONLY = "xlt_read_only"  # execution option: begin deferred (see Store.read)
PG_CONNECT_TIMEOUT_S = 10
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
_OUR_TABLES = {"report", "claim", "reference", "claimevent", "schemaversion"}


class JSONText(str):
    """A value already serialised as JSON text (ingest serialises in its parser processes): the
    store's JSON serializer writes it unchanged instead of encoding it again."""

    __slots__ = ()


def store_json(value) -> str:
    """SQLite engines' `json_serializer` (SQLAlchemy's public hook for JSON columns)."""
    if value.__class__ is JSONText:
        # as a plain str: sqlite3 binds a str subclass only after looking for adapters (__adapt__,
        # __conform__: two failed attribute look-ups per value, about 8% of ingest's write time)
        return str(value)
    return json.dumps(value)


class StoreError(RuntimeError):
    """The store cannot be used: a bad URL, a damaged or read-only file, a newer schema, ..."""


def resolve_url(db: str | os.PathLike | None = None) -> str:
    """A path or any SQLAlchemy URL; default `$XLT_CLAIMS_DB`, then `./claims.db`."""
    db = db if db not in (None, "") else os.environ.get(ENV_VAR) or DEFAULT_DB
    db = str(db)
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def display_url(url: str | URL) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)


def is_postgres(url_or_engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(str(url_or_engine))
    return url.get_backend_name() == "postgresql"


def _postgres_url(url: str):
    """`postgresql://` and `postgres://` mean psycopg (v3), the driver this project declares."""
    u = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return u


def check_url(url: str) -> URL:
    """The parsed URL of a database this tool can use, or a StoreError that says why not."""
    try:
        u = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    except ArgumentError:
        raise StoreError(f"--db {url!r} is neither a file path nor a database URL "
                         f"(sqlite:///PATH or postgresql://USER@HOST/DB)") from None
    backend = u.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        what = {"mysql": "MySQL", "mariadb": "MariaDB", "mssql": "SQL Server", "oracle": "Oracle"}.get(backend)
        if what:
            raise StoreError(f"{what} is not supported as a claim store ({display_url(u)}); "
                             f"use a SQLite file or PostgreSQL (postgresql://USER@HOST/DB)")
        raise StoreError(f"--db {display_url(u)}: '{backend}' is not a database this tool can use; "
                         f"give a file path, sqlite:///PATH or postgresql://USER@HOST/DB")
    return u


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # per connection and read-only: nothing here changes the file (WAL is switched on in open_store)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _damaged_file_error(ctx) -> None:
    """SQLite's "database disk image is malformed" / "file is not a database" met while reading or
    writing: a StoreError that says what it means, instead of a raw DatabaseError."""
    orig = ctx.original_exception
    msg = str(orig)
    if isinstance(orig, sqlite3.DatabaseError) and ("malformed" in msg or "not a database" in msg):
        path = sqlite_path(str(ctx.engine.url)) if ctx.engine is not None else None
        raise StoreError(f"claim store {path or ''} is damaged ({msg}); restore a backup, or salvage it with "
                         f"`sqlite3 FILE .recover | sqlite3 recovered.db`") from orig


def make_engine(url: str, *, read_only_file: bool = False) -> Engine:
    u = check_url(url)
    if u.get_backend_name() == "sqlite":
        if read_only_file and u.database and u.database != ":memory:":
            # a file we may not write: SQLite's read-only mode (reads a WAL store without creating -shm)
            u = u.set(database=f"file:{quote(u.database)}?mode=ro", query={**u.query, "uri": "true"})
        try:
            engine = create_engine(u, json_serializer=store_json,
                                   connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        except (ImportError, NoSuchModuleError) as exc:  # sqlite+SOMEDRIVER:// that is not installed
            raise StoreError(f"--db {display_url(u)}: the database driver '{u.get_driver_name()}' is not "
                             f"installed ({exc.__class__.__name__}: {exc})") from None
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers locking; take the write lock at BEGIN so that
        # concurrent writers wait on busy_timeout instead of failing on lock upgrade. Read-only work
        # (Store.read / Store.reader) begins deferred: a WAL reader neither waits for nor blocks a writer.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            ro = read_only_file or conn.get_execution_options().get(READ_ONLY)
            conn.exec_driver_sql("BEGIN" if ro else "BEGIN IMMEDIATE")

        event.listen(engine, "handle_error", _damaged_file_error)
        return engine
    return _make_postgres_engine(url)


def _make_postgres_engine(url: str) -> Engine:
    """READ COMMITTED with explicit locks where a check-then-write must be atomic (see `lock_key`);
    timestamps are written and read in UTC whatever the server's time zone; a dead server is found
    within PG_CONNECT_TIMEOUT_S instead of hanging."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise StoreError("a PostgreSQL store needs the psycopg driver: pip install 'xlt-claims[postgres]'") from None
    u = _postgres_url(url)
    try:
        engine = create_engine(u, pool_pre_ping=True, json_serializer=json_dumps_strict,
                               json_deserializer=json_loads_strict,
                               connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S, "options": "-c timezone=UTC",
                                             "application_name": "xlt-claims"})
    except (ImportError, NoSuchModuleError) as exc:  # e.g. postgresql+psycopg2:// without psycopg2
        raise StoreError(f"--db {display_url(u)}: the database driver '{u.get_driver_name()}' is not installed "
                         f"({exc.__class__.__name__}: {exc}); the default driver is psycopg: "
                         f"pip install 'xlt-claims[postgres]'") from None

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001 - read verbs: the server refuses any write in their transaction
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


_NONFINITE_TAG = "$xlt_float"  # {"$xlt_float": "inf"}: how PostgreSQL's strict JSON holds inf / nan


def _tag_nonfinite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return {_NONFINITE_TAG: repr(obj)}
    if isinstance(obj, dict):
        return {k: _tag_nonfinite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tag_nonfinite(v) for v in obj]
    return obj


def json_dumps_strict(obj) -> str:
    """JSON that PostgreSQL accepts: a non-finite float (a CI bound of inf, a nan guard value) is
    written as a tagged object and read back as the same float by `json_loads_strict`, so a verdict's
    detail reads the same from SQLite and from PostgreSQL. Ingest's JSON text (finite by
    construction) passes unchanged."""
    if obj.__class__ is JSONText:
        return str(obj)  # a plain str, as in store_json
    try:
        return json.dumps(obj, allow_nan=False)
    except ValueError:
        return json.dumps(_tag_nonfinite(obj), allow_nan=False)


def _untag(d: dict):
    if len(d) == 1 and _NONFINITE_TAG in d:
        return float(d[_NONFINITE_TAG])
    return d


def json_loads_strict(text_: str):
    return json.loads(text_, object_hook=_untag)


def _lock_id(name: str) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks, stable across processes and hosts."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_key(session_or_conn, name: str, *, wait: bool = True) -> bool:
    """Serialise a check-then-write on `name` across processes for the rest of this transaction.

    SQLite: every write transaction already begins with BEGIN IMMEDIATE (one writer at a time), so
    this is a no-op. PostgreSQL: a transaction-scoped advisory lock on the name; with wait=False
    it returns False at once when another transaction holds it (the SKIP LOCKED behaviour for a
    row that may not exist yet, e.g. the first run of a slot)."""
    bind = session_or_conn.get_bind() if hasattr(session_or_conn, "get_bind") else session_or_conn
    if bind.dialect.name != "postgresql":
        return True
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    got = session_or_conn.execute(text(f"SELECT {fn}(:k)"), {"k": _lock_id(name)}).scalar()
    return True if wait else bool(got)


# --- migrations -------------------------------------------------------------------------------

def _alembic_config(conn: Optional[Connection] = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


@lru_cache(maxsize=1)
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())


def head_revision() -> str:
    return _script().get_current_head()


def known_revisions() -> set[str]:
    return {s.revision for s in _script().walk_revisions()}


SCHEMA_VERSION = int(head_revision())


def _stored_state(conn: Connection) -> tuple[Optional[str], int, set[str]]:
    """(Alembic revision or None, highest `schemaversion` entry or 0, table names)."""
    tables = set(inspect(conn).get_table_names())
    rev = None
    if "alembic_version" in tables:
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    v = 0
    if "schemaversion" in tables:
        v = int(conn.execute(text("SELECT MAX(version) FROM schemaversion")).scalar() or 0)
    return rev, v, tables


def current_version(conn: Connection) -> int:
    """The store's integer schema version (0 for an empty database)."""
    rev, v, _ = _stored_state(conn)
    return max(int(rev) if rev and rev.isdigit() else 0, v)


def _check_schema(rev: Optional[str], v: int, tables: set[str], url: str) -> bool:
    """Raise StoreError for a store this code cannot use; True when it needs an upgrade."""
    if (rev is not None and rev not in known_revisions()) or v > SCHEMA_VERSION:
        have = rev if rev is not None else f"{v:04d}"
        raise StoreError(f"claim store {display_url(url)} has schema version {int(have) if have.isdigit() else have}, "
                         f"newer than this xlt-claims (schema version {SCHEMA_VERSION}); upgrade the tool "
                         f"(nothing was changed)")
    if rev is None and v == 0 and tables & _OUR_TABLES:
        raise StoreError(f"claim store {display_url(url)} has claim-store tables but no schema version; "
                         f"not opened (nothing was changed)")
    return rev != head_revision() or v < SCHEMA_VERSION


def _run_upgrade(conn: Connection, target: str = "head") -> None:
    """Inside the caller's transaction: stamp a pre-Alembic store, upgrade to `target`, log versions."""
    from alembic import command

    rev, v, _ = _stored_state(conn)  # again, under the write lock: another process may have upgraded
    cfg = _alembic_config(conn)
    if rev is None and v >= 1:  # made before Alembic: its schema is revision 0001's
        command.stamp(cfg, f"{v:04d}")
    command.upgrade(cfg, target)
    now = int(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
    for n in range(max(v, 0) + 1, now + 1):
        conn.execute(SchemaVersion.__table__.insert().values(
            version=n, description=_script().get_revision(f"{n:04d}").doc or "", applied_at=models.utcnow()))


def migrate(engine: Engine, target: str = "head") -> int:
    """Apply pending migrations in one transaction; return the resulting version. `target` (a
    revision id) stops earlier than head: the migration tests build old stores with it."""
    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:
        rev, v, tables = _stored_state(conn)
        conn.rollback()
    if not _check_schema(rev, v, tables, str(engine.url)) and target == "head":
        return SCHEMA_VERSION
    if engine.dialect.name == "sqlite":
        # SQLite alters a table by copying it (batch mode); foreign keys are checked once at the end
        # (the documented procedure: PRAGMA foreign_keys cannot change inside a transaction)
        with engine.connect() as conn:
            driver = conn.connection.driver_connection  # outside any transaction: the pragma is a no-op inside one
            driver.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    _run_upgrade(conn, target)
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if bad:
                        raise StoreError(f"migration would leave {len(bad)} broken foreign key(s), e.g. {bad[0]}; "
                                         f"rolled back")
            finally:
                driver.execute("PRAGMA foreign_keys=ON")
    else:
        with engine.begin() as conn:
            lock_key(conn, "xlt-claims:migrate")  # several processes opening a fresh server store at once
            _run_upgrade(conn, target)
    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:
        return current_version(conn)


class Store:
    """Handle on one claim store. Use `with store.session() as s:` for one transaction."""

    def __init__(self, url: str, engine: Engine, read_only: bool = False):
        self.url = url
        self.engine = engine
        self.read_only = read_only  # opened for reading (no integrity check; maybe a read-only file)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @property
    def reader(self) -> Engine:
        """The engine for read-only connections (`store.reader.connect()`): no write lock is taken."""
        return self.engine.execution_options(**{READ_ONLY: True})

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction for the read verbs (list, show, report): it takes no write lock, so
        it runs beside a long `claims reproduce`. Changing a row through it is an error (nothing is
        written); loaded objects stay usable after it ends."""
        with Session(self.reader, expire_on_commit=False, autoflush=False) as s:
            try:
                yield s
                if s.new or s.deleted or any(s.is_modified(o) for o in s.dirty):
                    raise StoreError("a read-only session (Store.read) tried to change the store; use Store.session")
                s.commit()  # ends the deferred read transaction; there is nothing to write
            except BaseException:
                s.rollback()
                raise

    @property
    def path(self) -> Path | None:
        return sqlite_path(self.url)

    def schema_version(self) -> int:
        with self.reader.connect() as conn:
            return current_version(conn)

    def close(self) -> None:
        self.engine.dispose()


def sqlite_path(url: str) -> Optional[Path]:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    try:
        u = make_url(url)
    except ArgumentError:
        return None
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _writable(path: Path) -> bool:
    """Can this process write the store file, and create its -wal/-shm files beside it?"""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
    return os.access(path.parent, os.W_OK | os.X_OK)


def quick_check(engine: Engine) -> list[str]:
    """SQLite's `PRAGMA quick_check` (structure of every page and index; not a full index scan):
    [] for a sound file, else its complaints."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check(20)")]
        conn.rollback()
    return [] if rows == ["ok"] else rows


def open_store(db: str | os.PathLike | None = None, *, read_only: bool = False) -> Store:
    """Open (creating and upgrading as needed) the claim store at `db`.

    Writers (the default) get a StoreError for a store they cannot safely write: a read-only file,
    or one that fails `PRAGMA quick_check`. `read_only=True` (the read verbs) skips the integrity
    check and opens a file without write permission in SQLite's read-only mode."""
    url = resolve_url(db)
    path = sqlite_path(url)
    ro_file = path is not None and not _writable(path)
    if ro_file and not path.exists():
        raise StoreError(f"cannot create claim store {path}: its folder is not writable")
    if ro_file and not read_only:
        raise StoreError(f"claim store {path} is read-only (no write permission): this command writes to it; "
                         f"the read verbs (list, show, reports, report) work")
    engine = make_engine(url, read_only_file=ro_file)
    try:
        if ro_file:
            with engine.connect() as conn:  # the engine of a read-only file begins deferred
                rev, v, tables = _stored_state(conn)
                conn.rollback()
            if _check_schema(rev, v, tables, url):
                raise StoreError(f"claim store {path} is read-only and has schema version {v or rev}: it must be "
                                 f"upgraded to {SCHEMA_VERSION} by a command with write access")
            return Store(url, engine, read_only=True)
        if path is not None and not read_only and path.exists() and path.stat().st_size:
            problems = quick_check(engine)
            if problems:
                raise StoreError(f"claim store {path} is damaged (PRAGMA quick_check: {'; '.join(problems[:3])}); "
                                 f"nothing was written. Restore a backup, or salvage it with "
                                 f"`sqlite3 {path.name} .recover | sqlite3 recovered.db`")
        migrate(engine)
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:  # after the checks: a refused store stays as it was
                if path is not None:  # outside a transaction (SQLite refuses to switch inside one)
                    conn.connection.driver_connection.execute("PRAGMA journal_mode=WAL")
    except StoreError:
        engine.dispose()
        raise
    except Exception as exc:  # a file that is not a database, a read-only path, an unreachable server, ...
        engine.dispose()
        raise StoreError(f"cannot open claim store {display_url(url)}: {describe_db_error(exc)}") from exc
    return Store(url, engine, read_only=read_only)


def describe_db_error(exc: BaseException) -> str:
    """One readable line from a driver error (psycopg's messages span several lines and repeat the
    host); never the password."""
    orig = getattr(exc, "orig", None) or exc
    msg = " ".join(str(orig).split())
    low = msg.lower()
    if "password authentication failed" in low:
        user = msg.split('for user "', 1)[1].split('"', 1)[0] if 'for user "' in msg else "?"
        return f"the server refused the password for user {user!r} (password authentication failed)"
    if "connection refused" in low:
        return f"nothing accepts connections there (connection refused): {msg[:200]}"
    if "timeout expired" in low or "timed out" in low:
        return f"no answer within {PG_CONNECT_TIMEOUT_S} s (connection timed out): {msg[:200]}"
    if "does not exist" in low and "database" in low:
        return f"{msg[:200]} (create it first, e.g. createdb)"
    return f"{type(orig).__name__}: {msg[:300]}"


def get_one(session: Session, model, **where):
    stmt = select(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    return session.exec(stmt).first()
