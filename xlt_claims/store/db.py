"""Opening the claim store: URL resolution, SQLite pragmas (WAL, busy timeout) and migrations.

Migrations are an explicit, ordered list of functions. `open_store` applies the missing ones in a
single transaction and records each in `schemaversion`, so a later schema change appends one
function here and existing databases upgrade on next open.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine, select

from . import models
from .models import SchemaVersion

DEFAULT_DB = "claims.db"
ENV_VAR = "XLT_CLAIMS_DB"
BUSY_TIMEOUT_MS = 60_000
READ_ONLY = "xlt_read_only"  # execution option: begin deferred (see Store.read)


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
    return create_engine(url)


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
    engine = make_engine(url)
    try:
        migrate(engine)
    except StoreError:
        raise
    except Exception as exc:  # a file that is not a database, a read-only path, ...
        raise StoreError(f"cannot open claim store {url}: {exc.__class__.__name__}: {exc}") from exc
    return Store(url, engine)


def get_one(session: Session, model, **where):
    stmt = select(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    return session.exec(stmt).first()
