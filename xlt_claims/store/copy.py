"""Copy a whole claim store between databases (SQLite <-> PostgreSQL): `claims db copy SRC DST`.

A group starts on a laptop's `claims.db` and moves to a shared server (or takes a snapshot back).
Every row of every table is copied with its ids, in foreign-key order, through SQLAlchemy Core (each
column's own type: JSON, timestamps, booleans, bytes), in ONE transaction on the destination. Before
that transaction commits, a content hash of every table is computed on both sides over the same
canonical form of the rows; any difference rolls the copy back, so the destination is either the
complete copy or untouched. The source is read in one snapshot (a read transaction), so a store in
use is copied consistently.

The schema is the tool's own (the destination is created/migrated by `open_store`); the migration
bookkeeping table is not copied.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Optional

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from . import models  # noqa: F401  (registers every table on SQLModel.metadata)
from .db import Store, StoreError, display_url, is_postgres, open_store

BATCH = 2000
_SKIP_TABLES = {"schemaversion", "alembic_version"}


class CopyError(StoreError):
    """The copy was refused or did not verify; the destination is unchanged."""


@dataclass
class TableCopy:
    table: str
    rows_src: int = 0
    rows_dst: int = 0
    hash_src: str = ""
    hash_dst: str = ""

    @property
    def same(self) -> bool:
        return self.rows_src == self.rows_dst and self.hash_src == self.hash_dst


@dataclass
class CopyResult:
    src: str
    dst: str
    tables: list[TableCopy] = field(default_factory=list)
    replaced_rows: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows_src for t in self.tables)

    @property
    def identical(self) -> bool:
        return all(t.same for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {"src": self.src, "dst": self.dst, "rows": self.rows, "identical": self.identical,
                "replaced_rows": self.replaced_rows, "seconds": round(self.seconds, 3),
                "tables": [{"table": t.table, "rows_src": t.rows_src, "rows_dst": t.rows_dst, "hash_src": t.hash_src,
                            "hash_dst": t.hash_dst, "same": t.same} for t in self.tables]}


def data_tables() -> list[Table]:
    """The store's tables in foreign-key order (parents first), without migration bookkeeping."""
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in _SKIP_TABLES]


def _canonical(v: Any) -> Any:
    """One form for a value read from either database (JSON-serialisable, stable)."""
    if isinstance(v, datetime):
        if v.tzinfo is not None:
            v = v.astimezone(timezone.utc).replace(tzinfo=None)
        return {"$dt": v.isoformat()}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, float):
        return repr(v) if not math.isfinite(v) else v
    if isinstance(v, dict):
        return {str(k): _canonical(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_canonical(x) for x in v]
    return v


def _ordered(table: Table):
    return select(table).order_by(*table.primary_key.columns)


def _batches(conn: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    result = conn.execution_options(yield_per=BATCH).execute(_ordered(table))
    for part in result.mappings().partitions(BATCH):
        yield [dict(r) for r in part]


def table_hash(conn: Connection, table: Table) -> tuple[int, str]:
    """(row count, sha256 over the rows in primary-key order, each row as canonical JSON)."""
    h = hashlib.sha256()
    n = 0
    cols = [c.name for c in table.columns]
    for batch in _batches(conn, table):
        for row in batch:
            h.update(json.dumps([_canonical(row[c]) for c in cols], sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False).encode())
            h.update(b"\n")
            n += 1
    return n, h.hexdigest()


def store_hashes(store: Store) -> dict[str, tuple[int, str]]:
    """{table: (rows, content hash)} of a whole store, read in one snapshot."""
    with store.reader.connect() as conn:
        with conn.begin():
            return {t.name: table_hash(conn, t) for t in data_tables()}


def _count_rows(conn: Connection) -> dict[str, int]:
    out = {}
    for t in data_tables():
        n = conn.execute(select(func.count()).select_from(t)).scalar() or 0
        if n:
            out[t.name] = n
    return out


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: explicit ids were inserted, so each serial's next value must follow the largest id."""
    for t in data_tables():
        pk = list(t.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": t.name, "c": pk[0].name}).scalar()
        if seq:
            conn.execute(text(f'SELECT setval(:s, COALESCE((SELECT MAX("{pk[0].name}") FROM "{t.name}"), 0) + 1, false)'),
                         {"s": seq})


def copy_store(src_url: str, dst_url: str, *, replace: bool = False,
               progress: Optional[Callable[[str, int, int], None]] = None) -> CopyResult:
    """Copy every row of SRC into DST (see the module doc). `replace` empties a non-empty destination
    first (in the same transaction); without it a non-empty destination is refused."""
    import time

    t0 = time.perf_counter()
    src = open_store(src_url)
    dst = open_store(dst_url)
    try:
        if _same_database(src, dst):
            raise CopyError(f"source and destination are the same store ({display_url(src.url)})")
        if src.schema_version() != dst.schema_version():
            raise CopyError(f"schema versions differ: source v{src.schema_version()}, destination "
                            f"v{dst.schema_version()}")
        res = CopyResult(display_url(src.url), display_url(dst.url))
        tables = data_tables()
        with src.reader.connect() as sconn, dst.engine.connect() as dconn:
            if is_postgres(src.engine):
                sconn = sconn.execution_options(isolation_level="REPEATABLE READ")  # one snapshot for all tables
            with sconn.begin(), dconn.begin() as dtx:
                present = _count_rows(dconn)
                if present and not replace:
                    listing = ", ".join(f"{k} {v}" for k, v in sorted(present.items()))
                    raise CopyError(f"destination {display_url(dst.url)} is not empty ({listing}); "
                                    "pass --replace to overwrite it")
                for t in reversed(tables):  # children first
                    if present.get(t.name):
                        dconn.execute(t.delete())
                res.replaced_rows = sum(present.values())
                totals = {t.name: sconn.execute(select(func.count()).select_from(t)).scalar() or 0 for t in tables}
                for t in tables:
                    done = 0
                    for batch in _batches(sconn, t):
                        dconn.execute(t.insert(), batch)
                        done += len(batch)
                        if progress:
                            progress(t.name, done, totals[t.name])
                    if progress and not totals[t.name]:
                        progress(t.name, 0, 0)
                if is_postgres(dst.engine):
                    _reset_sequences(dconn)
                for t in tables:  # verify before committing: a mismatch leaves the destination untouched
                    n_s, h_s = table_hash(sconn, t)
                    n_d, h_d = table_hash(dconn, t)
                    res.tables.append(TableCopy(t.name, n_s, n_d, h_s, h_d))
                if not res.identical:
                    bad = ", ".join(f"{x.table} ({x.rows_src} -> {x.rows_dst} rows)" for x in res.tables if not x.same)
                    dtx.rollback()
                    raise CopyError(f"the copy differs from the source in {bad}; nothing was written")
        res.seconds = time.perf_counter() - t0
        return res
    finally:
        src.close()
        dst.close()


def _same_database(a: Store, b: Store) -> bool:
    if a.path is not None and b.path is not None:
        return a.path.resolve() == b.path.resolve()
    ua, ub = a.engine.url, b.engine.url
    return (ua.get_backend_name(), ua.host, ua.port, ua.database) == (ub.get_backend_name(), ub.host, ub.port, ub.database)
