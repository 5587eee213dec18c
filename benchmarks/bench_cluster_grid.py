"""A 12-task SLURM job array and 4 concurrent `claims reproduce` processes on ONE PostgreSQL store,
all after the same 12-run grid at the same time, with kills; then a resubmission finishes the grid.

Counts (issue 17): runs executed twice (must be 0), lost rows (slots without a FINISHED run, rows
left RUNNING: must be 0), killed runs re-run (must be all). Tiny-model runs (tests/_reproduce_util.py)
so the bookkeeping, not training, is what is exercised; a throw-away PostgreSQL server and a
one-node SLURM cluster are started from the Debian packages (tests/_servers.py; needs root).

    python benchmarks/bench_cluster_grid.py [--seeds 6] [--kill-array 1] [--kill-local 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from sqlmodel import select  # noqa: E402

from _reproduce_util import add_claim, make_neighbours, make_task, make_tiny_model, write_experiment  # noqa: E402
from _servers import start_postgres, start_slurm  # noqa: E402
from xlt_claims.reproduce import Options, load_registry  # noqa: E402
from xlt_claims.reproduce.slurm import SlurmOptions, reproduce_on_slurm, wait  # noqa: E402
from xlt_claims.store import open_store  # noqa: E402
from xlt_claims.verdict.judge import judge_plans  # noqa: E402
from xlt_claims.store.models import Run, Verdict  # noqa: E402

CLAIM = "Our tiny keyword method improves transfer."


def local_process(url: str, exp_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "xlt_claims.cli", "reproduce", "c1", "--db", url,
                             "--reproductions", str(exp_dir), "--json"], env=env, cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def runs(store) -> list[Run]:
    with store.read() as s:
        return list(s.exec(select(Run).order_by(Run.id)).all())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6, help="seeds per arm (2 arms): the array has 2 x seeds tasks")
    ap.add_argument("--kill-array", type=int, default=1, help="array tasks to scancel while they run")
    ap.add_argument("--kill-local", type=int, default=1, help="local processes to SIGKILL while they run")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-grid-"))
    pg, why = start_postgres()
    if pg is None:
        sys.exit(why)
    cluster, why = start_slurm()
    if cluster is None:
        pg.stop()
        sys.exit(why)
    os.environ["SLURM_CONF"] = str(cluster.conf)
    t_start = time.time()
    try:
        exp_dir = tmp / "reproductions"
        exp_dir.mkdir()
        make_task(exp_dir / "task.json")
        make_neighbours(exp_dir / "nb.json")
        model = make_tiny_model(tmp / "bert")
        write_experiment(exp_dir, "grid", model=model, seeds=tuple(range(1, args.seeds + 1)),
                         treatment={"method": "rs-da", "params": {"copies": 2, "neighbours_file": str(exp_dir / "nb.json")}},
                         overrides={"max_steps": 60, "eval_every": 30})
        url = pg.create_database("grid")
        store = open_store(url)
        add_claim(store, "c1", CLAIM)
        reg = load_registry([exp_dir])
        sopts = SlurmOptions(partition=cluster.partition, folder=str(tmp / "jobs"), poll_s=1.0, time_min=30, wait=False)
        out = reproduce_on_slurm(store, reg, ["c1"], Options(), sopts)
        sub = out.submission
        print(f"submitted array {sub.job_id}: {sub.n_tasks} tasks; starting 4 local `claims reproduce` processes")
        locals_ = [local_process(url, exp_dir) for _ in range(4)]
        local_pids = {p.pid for p in locals_}
        killed_array, killed_local = set(), set()
        deadline = time.time() + 900
        while (len(killed_array) < args.kill_array or len(killed_local) < args.kill_local) and time.time() < deadline:
            for r in runs(store):
                if r.status != "RUNNING":
                    continue
                ex = (r.manifest or {}).get("executor") or {}
                if ex.get("executor") == "slurm" and len(killed_array) < args.kill_array and r.id not in killed_array:
                    cluster.run("scancel", f"{sub.job_id}_{ex['array_task']}", check=False)
                    killed_array.add(r.id)
                    print(f"scancel {sub.job_id}_{ex['array_task']} while it ran run {r.id} ({r.arm}/seed {r.seed})")
                elif r.pid in local_pids and len(killed_local) < args.kill_local and r.id not in killed_local:
                    os.kill(r.pid, signal.SIGKILL)
                    killed_local.add(r.id)
                    print(f"kill -9 local process {r.pid} while it ran run {r.id} ({r.arm}/seed {r.seed})")
            time.sleep(0.2)
        wait(store, sub, SlurmOptions(poll_s=1.0))
        outs = [p.communicate(timeout=900) for p in locals_]
        codes = [p.returncode for p in locals_]
        print(f"array left the queue; local processes exited with {codes}")
        sopts.wait = True
        out2 = reproduce_on_slurm(store, reg, ["c1"], Options(), sopts, judge=judge_plans)
        print(f"resubmission: {out2.submission.n_tasks if out2.submission else 0} task(s); "
              f"unfinished {len(out2.unfinished)}; verdict {[v.get('outcome', v.get('skipped')) for v in out2.result.verdicts]}")
        rows = runs(store)
        slots = {(r.arm, r.seed) for r in rows}
        executed = [r for r in rows if r.reused_from is None and r.status in ("FINISHED", "KILLED", "FAILED")]
        finished = [r for r in rows if r.status == "FINISHED"]
        per_slot = {s: sum(1 for r in finished if (r.arm, r.seed) == s) for s in slots}
        twice = sum(n - 1 for n in per_slot.values() if n > 1)
        lost = (2 * args.seeds - sum(1 for n in per_slot.values() if n >= 1)) + sum(r.status == "RUNNING" for r in rows)
        killed = [r for r in rows if r.status == "KILLED"]
        rerun = [r for r in killed if any(f.arm == r.arm and f.seed == r.seed and f.id > r.id for f in finished)]
        by = {"slurm": 0, "local": 0}
        for r in finished:
            by["slurm" if ((r.manifest or {}).get("executor") or {}).get("executor") == "slurm" else "local"] += 1
        with store.read() as s:
            verdicts = s.exec(select(Verdict)).all()
            counted = set(verdicts[-1].run_ids) if verdicts else set()
        ran_local = sum(json.loads(o).get("ran", 0) for (o, _), c in zip(outs, codes) if c == 0 and o.strip())
        load = os.getloadavg()
        print(f"grid {2 * args.seeds} runs; rows {len(rows)}; executed {len(executed)} (finished by SLURM {by['slurm']}, "
              f"by local processes {by['local']}; local processes reported {ran_local} ran)")
        print(f"runs executed twice: {twice}; lost rows: {lost}; killed {len(killed)} "
              f"({len(killed_array)} by scancel, {len(killed_local)} by kill -9), re-run {len(rerun)}/{len(killed)}; "
              f"killed runs counted by the verdict: {len(counted & {r.id for r in killed})}; verdicts stored {len(verdicts)}")
        print(f"wall {time.time() - t_start:.0f} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        store.close()
        if twice or lost or len(rerun) != len(killed):
            sys.exit(1)
    finally:
        cluster.stop()
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
