"""Memory and time of the read verbs on a large store (issue 15: under 500 MB on 100k claims).

    python benchmarks/bench_large_store.py [--claims 100000] [--reports 400] [--keep DIR] [--reference REV]

Builds a store of synthetic reports (xlt_claims.ingest.synthetic, the ingest benchmark's generator),
then runs each command in its own process and prints that process's peak resident memory (os.wait4's
ru_maxrss) and wall time: `list --json`, `report -f json`, `report -f md`, `report -f html` (output to
a file). `--keep DIR` keeps the store there and reuses it on the next run. `--reference REV` also runs
the same commands with the `xlt_claims` of a git revision of this repository (e.g. the commit before
streaming) on the same store, and prints the ratios side by side. Wall times depend on the machine's
load (printed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMANDS = [
    ("list --json", ["list", "--json"], True),
    ("report -f json", ["report", "-f", "json", "-o", "{out}.json"], False),
    ("report -f md", ["report", "-f", "md", "-o", "{out}.md"], False),
    ("report -f html", ["report", "-f", "html", "-o", "{out}.html"], False),
]


def build_store(db: Path, work: Path, n_claims: int, n_reports: int) -> None:
    from xlt_claims.ingest import ingest_paths
    from xlt_claims.ingest.synthetic import generate_corpus
    from xlt_claims.store import open_store

    corpus = work / "corpus"
    generate_corpus(corpus, n_reports=n_reports, claims_per_report=max(1, n_claims // n_reports), seed=5)
    store = open_store(db)
    try:
        t = time.perf_counter()
        res = ingest_paths(store, [corpus])
        print(f"built {db}: {res.to_dict()['claims_stored']} claims in {time.perf_counter() - t:.0f} s", flush=True)
    finally:
        store.close()


def run(code_root: Path, args: list[str], db: Path, out: Path, stdout_to_file: bool) -> tuple[float, float, int]:
    """(peak RSS in MB, wall seconds, exit status) of one CLI command in its own process."""
    env = dict(os.environ, PYTHONPATH=str(code_root), COLUMNS="80")
    cmd = [sys.executable, "-m", "xlt_claims.cli", *[a.format(out=out) for a in args], "--db", str(db)]
    with open(f"{out}.stdout", "w") as so:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=so if stdout_to_file else subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env, cwd=out.parent)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, wall, proc.returncode


def reference_tree(rev: str, tmp: Path) -> Path:
    dst = tmp / f"ref-{rev.replace('/', '_')}"
    dst.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "xlt_claims"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dst)], input=archive, check=True)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--reports", type=int, default=400)
    ap.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the store in this folder")
    ap.add_argument("--reference", default=None, help="a git revision to measure side by side")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-large-") as tmpd:
        tmp = Path(tmpd)
        work = args.keep or tmp
        work.mkdir(parents=True, exist_ok=True)
        db = work / f"large-{args.claims}.db"
        if not db.exists():
            build_store(db, tmp, args.claims, args.reports)
        trees = [("this tree", ROOT)] + ([(args.reference, reference_tree(args.reference, tmp))] if args.reference else [])
        results: dict[str, dict[str, tuple[float, float, int]]] = {}
        for label, root in trees:
            for name, cmd, to_file in COMMANDS:
                out = tmp / f"out-{len(results)}-{name.replace(' ', '_')}"
                results.setdefault(name, {})[label] = run(root, cmd, db, out, to_file)
                rss, wall, rc = results[name][label]
                size = sum(p.stat().st_size for p in tmp.glob(out.name + "*")) / 2**20
                print(f"  {label:<12} {name:<16} peak RSS {rss:7.0f} MB  {wall:6.1f} s  exit {rc}  output {size:.0f} MB",
                      flush=True)
        load = os.getloadavg()
        print(f"\n{args.claims} claims in {args.reports} reports; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"on {os.cpu_count()} CPUs")
        head = f"{'command':<16} {'peak RSS MB':>12} {'s':>7}"
        if args.reference:
            head += f" {'ref RSS MB':>11} {'ref s':>7} {'RSS ratio':>9} {'time ratio':>10}"
        print(head)
        for name, _, _ in COMMANDS:
            rss, wall, _ = results[name]["this tree"]
            line = f"{name:<16} {rss:12.0f} {wall:7.1f}"
            if args.reference:
                rrss, rwall, _ = results[name][args.reference]
                line += f" {rrss:11.0f} {rwall:7.1f} {rss / rrss:9.2f} {wall / rwall:10.2f}"
            print(line)


if __name__ == "__main__":
    main()
