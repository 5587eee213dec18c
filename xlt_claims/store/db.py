"""Opening the claim store: URL resolution, SQLite pragmas (WAL, busy timeout) and migrations.

Migrations are an explicit, ordered list of functions. `open_store` applies the missing ones in a
single transaction and records each in `schemaversion`, so a later schema change appends one
function here and existing databases upgrade on next open.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, SQLModel, create_engine, select

from . import models
from .models import SchemaVersion

DEFAULT_DB = "claims.db"
ENV_VAR = "XLT_CLAIMS_DB"
BUSY_TIMEOUT_MS = 60_000
READ_ONLY = "xlt_read_only"  # execution option: begin deferred (see Store.read)
PG_CONNECT_TIMEOUT_S = 10


class StoreError(RuntimeError):
    """The store could not be opened or is newer than this version of the tool."""


def resolve_url(db: str | os.PathLike | None = None) -> str:
    """A path or any SQLAlchemy URL; default `$XLT_CLAIMS_DB`, then `./claims.db`."""
    db = db if db not in (None, "") else os.environ.get(ENV_VAR) or DEFAULT_DB
    db = str(db)
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def is_postgres(url_or_engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(str(url_or_engine))
    return url.get_backend_name() == "postgresql"


def display_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _postgres_url(url: str):
    """`postgresql://` and `postgres://` mean psycopg (v3), the driver this project declares."""
    u = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return u


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers locking; take the write lock at BEGIN so that
        # concurrent writers wait on busy_timeout instead of failing on lock upgrade. Read-only work
        # (Store.read / Store.reader) begins deferred: a WAL reader neither waits for nor blocks a writer.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    if is_postgres(url):
        return _make_postgres_engine(url)
    return create_engine(url)


def _make_postgres_engine(url: str) -> Engine:
    """READ COMMITTED with explicit locks where a check-then-write must be atomic (see `lock_key`);
    timestamps are written and read in UTC whatever the server's time zone; a dead server is found
    within PG_CONNECT_TIMEOUT_S instead of hanging."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise StoreError("a PostgreSQL store needs the psycopg driver: pip install 'xlt-claims[postgres]'") from None
    engine = create_engine(_postgres_url(url), pool_pre_ping=True, json_serializer=json_dumps_strict,
                           json_deserializer=json_loads_strict,
                           connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S, "options": "-c timezone=UTC",
                                         "application_name": "xlt-claims"})

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
    detail reads the same from SQLite and from PostgreSQL."""
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

def _m1_initial(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn)


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema: reports, references, claims, events, flags, papers, evidence, runs, verdicts", _m1_initial),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schemaversion"):
        return 0
    v = conn.execute(text("SELECT MAX(version) FROM schemaversion")).scalar()
    return int(v or 0)


def migrate(engine: Engine) -> int:
    """Apply pending migrations in one transaction; return the resulting version."""
    with engine.begin() as conn:
        lock_key(conn, "xlt-claims:migrate")  # several processes opening a fresh server store at once
        have = current_version(conn)
        if have > SCHEMA_VERSION:
            raise StoreError(
                f"database schema v{have} is newer than this xlt-claims (v{SCHEMA_VERSION}); upgrade the tool"
            )
        for version, description, fn in MIGRATIONS:
            if version > have:
                if version == 1:
                    SchemaVersion.__table__.create(conn, checkfirst=True)
                fn(conn)
                conn.execute(
                    SchemaVersion.__table__.insert().values(version=version, description=description,
                                                           applied_at=models.utcnow())
                )
        return current_version(conn)


class Store:
    """Handle on one claim store. Use `with store.session() as s:` for one transaction."""

    def __init__(self, url: str, engine: Engine):
        self.url = url
        self.engine = engine

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
        if self.url.startswith("sqlite:///"):
            return Path(self.url[len("sqlite:///"):])
        return None

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return current_version(conn)

    def close(self) -> None:
        self.engine.dispose()


def open_store(db: str | os.PathLike | None = None) -> Store:
    url = resolve_url(db)
    try:
        engine = make_engine(url)
        migrate(engine)
    except StoreError:
        raise
    except Exception as exc:  # a file that is not a database, a read-only path, an unreachable server, ...
        raise StoreError(f"cannot open claim store {display_url(url)}: {describe_db_error(exc)}") from exc
    return Store(url, engine)


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
