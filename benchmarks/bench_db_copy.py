"""`claims db copy` at scale: a store of 10,000 claims with their events, SQLite -> PostgreSQL ->
SQLite, row counts and content hashes compared per table on all three stores.

    python benchmarks/bench_db_copy.py [--claims 10000] [--pg postgresql://user:pw@host/db]

The store is filled by ingesting synthetic reports (xlt_claims.ingest.synthetic: claims, sources,
references, flags, ingest events), then every claim gets one more status event (as evidence or a
verdict would add). Without --pg a throw-away PostgreSQL server is started (tests/_servers.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sqlmodel import select  # noqa: E402

from xlt_claims.ingest import ingest_paths  # noqa: E402
from xlt_claims.ingest.synthetic import generate_corpus  # noqa: E402
from xlt_claims.store import open_store, set_status  # noqa: E402
from xlt_claims.store.copy import copy_store, store_hashes  # noqa: E402
from xlt_claims.store.models import Claim  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=10_000)
    ap.add_argument("--pg", help="PostgreSQL URL of an empty database (default: start a throw-away server)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-copy-"))
    server = None
    try:
        pg_url = args.pg
        if not pg_url:
            from _servers import start_postgres

            server, why = start_postgres()
            if server is None:
                sys.exit(f"no PostgreSQL server: {why}")
            pg_url = server.create_database("copy")
        per_report = 25
        paths = generate_corpus(tmp / "corpus", n_reports=-(-args.claims // per_report), claims_per_report=per_report)
        src = tmp / "src.db"
        store = open_store(src)
        t = time.perf_counter()
        ingest_paths(store, paths)
        with store.session() as s:
            for i, c in enumerate(s.exec(select(Claim)).all()):
                set_status(s, c, cause="evidence", status="supported-by-source" if i % 3 else "not-in-cited-sources",
                           confidence=round(0.1 + (i % 9) / 10, 2), detail={"bench": i, "checked": "abstract"})
        fill_s = time.perf_counter() - t
        before = store_hashes(store)
        store.close()
        load = os.getloadavg()
        print(f"store: {before['claim'][0]} claims, {before['claimevent'][0]} events, "
              f"{sum(n for n, _ in before.values())} rows in all (filled in {fill_s:.1f} s); "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        t = time.perf_counter()
        a = copy_store(str(src), pg_url)
        t1 = time.perf_counter() - t
        t = time.perf_counter()
        b = copy_store(pg_url, str(tmp / "back.db"))
        t2 = time.perf_counter() - t
        pg = open_store(pg_url)
        on_pg = store_hashes(pg)
        pg.close()
        back = open_store(tmp / "back.db")
        on_back = store_hashes(back)
        back.close()
        print(f"{'table':<16}{'rows':>8}  sha256 (first 16)  SQLite -> PostgreSQL -> SQLite")
        for name, (n, h) in before.items():
            same = on_pg[name] == (n, h) and on_back[name] == (n, h)
            print(f"{name:<16}{n:>8}  {h[:16]}   {'identical' if same else 'DIFFERENT'}")
        print(f"SQLite -> PostgreSQL: {a.rows} rows in {t1:.1f} s (verified: {a.identical})")
        print(f"PostgreSQL -> SQLite: {b.rows} rows in {t2:.1f} s (verified: {b.identical})")
        ok = before == on_pg == on_back
        print(f"row counts and content hashes identical both ways: {'yes' if ok else 'NO'}")
        if not ok:
            sys.exit(1)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
