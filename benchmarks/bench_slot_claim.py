"""Slot-claim overhead per run: what the runner adds around a training run in the store.

Per run the runner does: claim (one transaction: read the slot's rows, lock, insert RUNNING), one
heartbeat, finish (one transaction: FINISHED with metrics and manifest). This times exactly those
calls (reproduce.runner.claim_slot, the heartbeat update, runner._finish) on SQLite and on a
PostgreSQL server, for N slots in one process, then with 4 worker processes claiming from the same
list at once (each takes the first free slot, as SLURM array tasks do), and reports ms per run.

Targets (issue 17): < 50 ms per run on PostgreSQL, < 20 ms on SQLite.

    python benchmarks/bench_slot_claim.py [--runs 200] [--pg postgresql://user:pw@host/db]

Without --pg a throw-away PostgreSQL server is started from the Debian packages (tests/_servers.py).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from xlt_claims.reproduce.runner import _ACTIVE, Options, Slot, _finish, claim_slot, config_hash  # noqa: E402
from xlt_claims.store import open_store  # noqa: E402
from xlt_claims.store.models import Run, utcnow  # noqa: E402

METRICS = {"test": {lang: {"accuracy": 0.5 + i / 100, "n": 400} for i, lang in enumerate(("en", "de", "fr", "zh", "ar"))},
           "dev": {"en": {"accuracy": 0.8, "n": 400}}}
MANIFEST = {"history": [{"step": s, "loss": 1.0 / (s + 1)} for s in range(0, 200, 10)], "device": "cpu"}


def make_slots(n: int, tag: str) -> list[Slot]:
    out = []
    for i in range(n):
        core = {"schema": 1, "task": "bench", "seed": i, "tag": tag, "method": {"method": "baseline"}}
        out.append(Slot("bench", f"arm{i % 2}", i, {**core, "experiment": "bench", "arm": f"arm{i % 2}"},
                        config_hash(core)))
    return out


def one_run(store, sl: Slot, opts: Options) -> tuple[str, float]:
    """(state, seconds of store work) for one slot: claim, one heartbeat, finish."""
    t0 = time.perf_counter()
    state, rid = claim_slot(store, sl, opts)
    if state != "claimed":
        return state, time.perf_counter() - t0
    with store.session() as s:  # the heartbeat thread's update
        r = s.get(Run, rid)
        r.heartbeat_at = utcnow()
        s.add(r)
    _finish(store, rid, status="FINISHED", metrics=METRICS, manifest=MANIFEST, wall_s=1.0, valid=True)
    _ACTIVE.discard(rid)
    return state, time.perf_counter() - t0


def single_process(url: str, n: int, tag: str) -> list[float]:
    store = open_store(url)
    opts = Options()
    times = [one_run(store, sl, opts)[1] for sl in make_slots(n, tag)]
    store.close()
    return times


def _worker(url: str, n: int, tag: str, k: int, q) -> None:
    store = open_store(url)
    opts = Options()
    slots = make_slots(n, tag)
    mine, spent, c0 = [], 0.0, time.process_time()
    for j in range(n):  # every worker walks the whole list from its own offset, like an array task
        sl = slots[(k * n // 4 + j) % n]
        state, dt = one_run(store, sl, opts)
        spent += dt  # skipped slots (finished or busy) cost store time too
        if state == "claimed":
            mine.append(dt)
    store.close()
    q.put((mine, spent, time.process_time() - c0))


def four_workers(url: str, n: int, tag: str) -> tuple[list[float], float]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(url, n, tag, k, q)) for k in range(4)]
    for p in procs:
        p.start()
    got = [q.get() for _ in procs]
    for p in procs:
        p.join()
    return ([t for g, _, _ in got for t in g], time.perf_counter() - t0, sum(x for _, x, _ in got),
            sum(c for _, _, c in got))


def check(url: str, tag: str, n: int) -> tuple[int, int]:
    """(slots with exactly one FINISHED run, rows in total) for the tag."""
    store = open_store(url)
    from sqlmodel import select

    with store.read() as s:
        rows = [r for r in s.exec(select(Run)).all() if r.config.get("tag") == tag]
    store.close()
    per = {}
    for r in rows:
        per[r.config_hash] = per.get(r.config_hash, 0) + (r.status == "FINISHED")
    return sum(1 for v in per.values() if v == 1), len(rows)


def report(name: str, times: list[float], target_ms: float) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(f"  {name:<34} {len(ms):>4} runs  median {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  "
          f"mean {statistics.mean(ms):6.1f} ms  target < {target_ms:.0f} ms: "
          f"{'met' if statistics.median(ms) < target_ms else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--pg", help="PostgreSQL URL of an empty database (default: start a throw-away server)")
    args = ap.parse_args()
    server = None
    pg_url = args.pg
    if not pg_url:
        from _servers import start_postgres

        server, why = start_postgres()
        if server is None:
            sys.exit(f"no PostgreSQL server: {why}")
        pg_url = server.create_database("bench")
    tmp = Path(tempfile.mkdtemp(prefix="bench-claim-"))
    sqlite_url = str(tmp / "claims.db")
    load = os.getloadavg()
    print(f"slot-claim overhead (claim + 1 heartbeat + finish), {args.runs} slots; CPU {_cpu()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    try:
        for name, url, target in (("SQLite (WAL)", sqlite_url, 20.0), ("PostgreSQL", pg_url, 50.0)):
            print(name)
            open_store(url).close()
            report("1 process", single_process(url, args.runs, f"{name}-1"), target)
            times, wall, spent, cpu = four_workers(url, args.runs, f"{name}-4")
            report("4 processes, same slot list", times, target)
            once, rows = check(url, f"{name}-4", args.runs)
            print(f"  4 processes: {args.runs} slots in {wall:.1f} s wall; all store time incl. skipped slots "
                  f"{1000 * spent / args.runs:.1f} ms per run, CPU {1000 * cpu / args.runs:.1f} ms per run")
            print(f"  slots run exactly once: {once}/{args.runs}; rows {rows} "
                  f"(run twice: {rows - once}, lost: {args.runs - once})")
    finally:
        if server is not None:
            server.stop()


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"{os.cpu_count()} cores"


if __name__ == "__main__":
    main()
