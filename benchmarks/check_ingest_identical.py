"""Does this tree's ingest store exactly what a reference revision's ingest stores?

    python benchmarks/check_ingest_identical.py --reference REV [--reports 400] [--claims 25] [--extra DIR ...]

Each tree (REV, taken with `git archive`, and this working tree) runs in its own subprocess on the
same files at the same paths: the synthetic corpus (xlt_claims/ingest/synthetic.py), the reports in
examples/reports, the hostile inputs of tests/data/hostile (bad input: their outcomes and error
messages are compared) and any --extra folder (e.g. /work/shared/seeds). Each tree ingests them into
a fresh store with automatic workers and again with one process, then re-ingests after changing 10%
of the synthetic files (new versions, claim matching, retired claims). Compared: every row of every
table of every store, and every file outcome. Ignored: the wall-clock timestamps (ingested_at,
created_at, updated_at, at, applied_at) and the outcome's elapsed time; autoincrement ids are compared
(the same files in the same order get the same ids).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_COLUMNS = {"ingested_at", "created_at", "updated_at", "at", "applied_at"}

# run by each tree with its own `xlt_claims` first on sys.path: argv = work dir, store dir, workers
_RUN = r"""
import json, sys
from pathlib import Path
from xlt_claims.ingest import ingest_paths
from xlt_claims.store import open_store
work, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), (None if sys.argv[3] == "auto" else int(sys.argv[3]))
folders = sorted(str(p) for p in work.iterdir())
store = open_store(out / "store.db")
results = [ingest_paths(store, folders, workers=workers).to_dict()]
syn = sorted((work / "synthetic").glob("*.txt"))
for p in syn[::10]:
    txt = p.read_text(encoding="utf-8").replace(" in setting ", " in the setting ").replace("\u2713\t0.", "\u2713\t0.0", 3)
    p.write_text(txt, encoding="utf-8")
results.append(ingest_paths(store, folders, workers=workers).to_dict())
store.close()
for r in results:
    r.pop("elapsed_s")
(out / "outcomes.json").write_text(json.dumps(results, indent=1, sort_keys=True), encoding="utf-8")
"""


def dump(db: Path) -> dict[str, list]:
    """Every row of every table, in rowid order, without the timestamp columns."""
    con = sqlite3.connect(db)
    out = {}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
        keep = [c for c in cols if c not in TIME_COLUMNS]
        sel = ", ".join(f'"{c}"' for c in keep)
        out[name] = [keep] + [list(r) for r in con.execute(f'SELECT {sel} FROM "{name}" ORDER BY rowid')]
    con.close()
    return out


def run_tree(tree: Path, pristine: Path, work: Path, out: Path, workers: str) -> tuple[dict, list]:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(pristine, work)
    out.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", _RUN, str(work), str(out), workers], cwd=tree, check=True,
                   env={**os.environ, "PYTHONPATH": str(tree)})
    return dump(out / "store.db"), json.loads((out / "outcomes.json").read_text(encoding="utf-8"))


def compare(label: str, a: dict, b: dict) -> int:
    bad = 0
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name), b.get(name)
        if ra == rb:
            continue
        bad += 1
        if ra is None or rb is None:
            print(f"  {label}: table {name} only in one store")
            continue
        print(f"  {label}: table {name}: {len(ra) - 1} vs {len(rb) - 1} rows")
        for i, (x, y) in enumerate(zip(ra[1:], rb[1:]), 1):
            if x != y:  # the first row that differs: its differing columns
                print(f"    row {i}:")
                for col, u, v in zip(ra[0], x, y):
                    if u != v:
                        print(f"      {col}: {str(u)[:60]!r}\n      {' ' * len(col)}  {str(v)[:60]!r}")
                break
    return bad


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True, metavar="REV", help="git revision to compare against")
    ap.add_argument("--reports", type=int, default=400)
    ap.add_argument("--claims", type=int, default=25)
    ap.add_argument("--extra", nargs="*", default=[], help="more folders of reports (e.g. /work/shared/seeds)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from xlt_claims.ingest.synthetic import generate_corpus

    tmp = Path(tempfile.mkdtemp(prefix="ingest-identical-"))
    try:
        pristine = tmp / "pristine"
        generate_corpus(pristine / "synthetic", args.reports, args.claims, seed=1)
        shutil.copytree(ROOT / "examples" / "reports", pristine / "examples")
        shutil.copytree(ROOT / "tests" / "data" / "hostile", pristine / "hostile")
        for k, extra in enumerate(args.extra):
            shutil.copytree(extra, pristine / f"extra{k}")
        ref = tmp / "reference"
        ref.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.reference, "xlt_claims"], check=True,
                                 capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(ref)], input=archive.stdout, check=True)
        work = tmp / "work"  # both trees ingest the files at this same path
        bad = 0
        rows = 0
        for workers in ("auto", "1"):
            before = run_tree(ref, pristine, work, tmp / f"out-ref-{workers}", workers)
            after = run_tree(ROOT, pristine, work, tmp / f"out-new-{workers}", workers)
            rows += sum(len(t) - 1 for t in after[0].values())
            bad += compare(f"workers={workers}", before[0], after[0])
            if before[1] != after[1]:
                bad += 1
                print(f"  workers={workers}: file outcomes differ")
        print(f"{'IDENTICAL' if not bad else 'DIFFERENT'}: {rows:,} rows of two stores per tree "
              f"(reference {args.reference} vs this tree; timestamps ignored), file outcomes "
              f"{'identical' if not bad else 'see above'}")
        sys.exit(1 if bad else 0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
