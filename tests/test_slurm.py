"""`claims reproduce --executor slurm` on a real one-node SLURM cluster (tests/_servers.py: munged,
slurmctld, slurmd on localhost) with a real PostgreSQL claim store, tiny-model runs (seconds each).

The main test walks the whole life cycle: a job array submitted without waiting, one running task
cancelled with `scancel` and one worker killed with SIGKILL, the array's end followed, the killed
runs KILLED and never counted (no verdict from an incomplete grid), then a resubmission that re-runs
exactly the killed runs and judges from FINISHED runs only. Then the bad input: a partition that
does not exist, sbatch missing from PATH, an array whose tasks all fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from conftest import ROOT
from _reproduce_util import add_claim, make_neighbours, make_task, make_tiny_model, write_experiment

from xlt_claims.reproduce import Options, load_registry
from xlt_claims.reproduce.slurm import (SlurmError, SlurmOptions, latest_submission, load_slurm_config,
                                        reproduce_on_slurm, slurm_options, status, wait)
from xlt_claims.store import open_store
from xlt_claims.store.models import EXPERIMENT_STATUSES, Claim, Run, Verdict

CLAIM = "Our tiny keyword method improves transfer."

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model") / "bert")


@pytest.fixture
def exp_dir(tmp_path) -> Path:
    d = tmp_path / "reproductions"
    d.mkdir()
    make_task(d / "task.json")
    make_neighbours(d / "nb.json")
    return d


@pytest.fixture
def pg_store(pg_url):
    s = open_store(pg_url)
    yield s
    s.close()


def _sopts(cluster, tmp_path: Path, **kw) -> SlurmOptions:
    return SlurmOptions(partition=cluster.partition, folder=str(tmp_path / "jobs"), poll_s=0.5, time_min=10, **kw)


def _runs(store) -> list[Run]:
    with store.read() as s:
        return list(s.exec(select(Run).order_by(Run.id)).all())


def _wait_for(pred, timeout: float, what: str, cluster=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen within {timeout} s\n{cluster.log_tail() if cluster else ''}")


def test_array_scancel_and_sigkill_then_resubmission_finishes_the_grid(slurm_cluster, pg_server, pg_store, exp_dir,
                                                                      tiny_model, tmp_path):
    write_experiment(exp_dir, "better", model=tiny_model, seeds=(1, 2), extra_decision="min_seeds = 2",
                     treatment={"method": "rs-da", "params": {"copies": 2, "neighbours_file": str(exp_dir / "nb.json")}},
                     overrides={"max_steps": 60, "eval_every": 30})
    add_claim(pg_store, "c1", CLAIM, confidence=0.3)
    reg = load_registry([exp_dir])
    sopts = _sopts(slurm_cluster, tmp_path)
    sopts.wait = False
    out = reproduce_on_slurm(pg_store, reg, ["c1"], Options(), sopts)
    sub = out.submission
    assert sub is not None and sub.n_tasks == 4 and not out.judged
    assert latest_submission(sopts.folder).job_id == sub.job_id
    job_files = [f for f in Path(sopts.folder).rglob("*") if f.is_file()]
    assert job_files and not [f for f in job_files if pg_server.password.encode() in f.read_bytes()]

    # two runs start (2 CPUs: two tasks at a time): cancel one task, SIGKILL the other's worker
    running = _wait_for(lambda: [r for r in _runs(pg_store) if r.status == "RUNNING"][:2] if len(
        [r for r in _runs(pg_store) if r.status == "RUNNING"]) >= 2 else None, 120, "two RUNNING runs", slurm_cluster)
    cancelled, sigkilled = running
    ex = cancelled.manifest["executor"]
    assert ex["executor"] == "slurm" and ex["job_id"] == sub.job_id
    slurm_cluster.run("scancel", f"{sub.job_id}_{ex['array_task']}")
    os.kill(sigkilled.pid, signal.SIGKILL)

    st = wait(pg_store, sub, sopts)  # follows the array until all four tasks left the queue
    assert st["left_queue"] == 4 and not st["queue"]
    rows = {r.id: r for r in _runs(pg_store)}
    assert rows[cancelled.id].status == "KILLED" and "SIGTERM" in rows[cancelled.id].error
    assert rows[sigkilled.id].status == "KILLED" and "left the queue" in rows[sigkilled.id].error
    assert sorted(r.status for r in rows.values()) == ["FINISHED", "FINISHED", "KILLED", "KILLED"]
    with pg_store.read() as s:
        assert not s.exec(select(Verdict)).all()

    # --status through the CLI, on the shared store
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "xlt_claims.cli", "reproduce", "--status", "--json", "--slurm-folder",
                        sopts.folder, "--db", pg_store.url, "--reproductions", str(exp_dir)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["job_id"] == sub.job_id and st["runs"] == {"FINISHED": 2, "KILLED": 2} and st["left_queue"] == 4

    # resubmission: exactly the two killed slots run again; the verdict counts FINISHED runs only
    r = subprocess.run([sys.executable, "-m", "xlt_claims.cli", "reproduce", "c1", "--executor", "slurm", "--partition",
                        slurm_cluster.partition, "--time-min", "10", "--slurm-folder", sopts.folder, "--json",
                        "--db", pg_store.url, "--reproductions", str(exp_dir)],
                       env=env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stderr[-3000:]
    out2 = json.loads(r.stdout)
    assert out2["slurm"]["tasks"] == 2 and out2["slurm"]["judged"] and not out2["slurm"]["unfinished"]
    assert not out2["slurm"]["task_errors"] and out2["ran"] == 2
    runs = _runs(pg_store)
    fin = [r for r in runs if r.status == "FINISHED"]
    assert sorted((r.arm, r.seed) for r in fin) == [(a, s) for a in ("baseline", "treatment") for s in (1, 2)]
    assert len(runs) == 6 and sum(r.status == "KILLED" for r in runs) == 2
    killed_slots = {(rows[i].arm, rows[i].seed) for i in (cancelled.id, sigkilled.id)}
    assert {(r.arm, r.seed) for r in runs if r.id > max(rows)} == killed_slots  # re-run, nothing else
    v = out2["verdicts"][0]
    assert v["outcome"] in EXPERIMENT_STATUSES and v["n_seeds"] == 2, v  # both seeds paired: the grid is whole
    with pg_store.read() as s:
        verdict = s.exec(select(Verdict)).one()
        assert set(verdict.run_ids) == {r.id for r in fin}
        assert s.get(Claim, "c1").status == v["outcome"]
    assert all(r.manifest["executor"]["executor"] == "slurm" for r in fin)


def test_unknown_partition_is_refused_before_submitting(slurm_cluster, pg_store, exp_dir, tiny_model, tmp_path):
    write_experiment(exp_dir, "better", model=tiny_model, seeds=(1,))
    add_claim(pg_store, "c2", CLAIM)
    sopts = _sopts(slurm_cluster, tmp_path)
    sopts.partition = "no-such-partition"
    with pytest.raises(SlurmError, match=r"partition 'no-such-partition' does not exist \(this cluster has: debug\)"):
        reproduce_on_slurm(pg_store, load_registry([exp_dir]), ["c2"], Options(), sopts)
    assert not _runs(pg_store) and latest_submission(sopts.folder) is None


def test_sbatch_missing_from_path_is_named(slurm_cluster, pg_store, exp_dir, tiny_model, tmp_path, monkeypatch):
    write_experiment(exp_dir, "better", model=tiny_model, seeds=(1,))
    add_claim(pg_store, "c3", CLAIM)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(SlurmError, match=r"`sbatch` is not on PATH.*--executor local"):
        reproduce_on_slurm(pg_store, load_registry([exp_dir]), ["c3"], Options(), _sopts(slurm_cluster, tmp_path))
    assert not _runs(pg_store)


def test_array_whose_tasks_all_fail_is_a_named_error_and_writes_nothing(slurm_cluster, pg_store, exp_dir, tiny_model,
                                                                         tmp_path):
    write_experiment(exp_dir, "better", model=tiny_model, seeds=(1,),
                     treatment={"method": "rs-da", "params": {"copies": 2, "neighbours_file": str(exp_dir / "nb.json")}})
    add_claim(pg_store, "c4", CLAIM)
    reg = load_registry([exp_dir])
    sopts = _sopts(slurm_cluster, tmp_path, python=str(tmp_path / "no-such-python"))
    with pytest.raises(SlurmError, match=r"all 2 task\(s\) of job array \d+ failed \(task 0: .*no-such-python") as ei:
        reproduce_on_slurm(pg_store, reg, ["c4"], Options(), sopts)
    assert "no run was stored as finished" in str(ei.value)
    assert not _runs(pg_store)  # nothing half written
    with pg_store.session() as s:  # the store is still usable
        assert s.get(Claim, "c4").status == "unverified"


def test_slurm_config_table_and_flags(tmp_path):
    cfg = tmp_path / "cluster.toml"
    cfg.write_text('[slurm]\npartition = "gpu"\ngpus_per_task = 1\ntime_min = 240\narray_parallelism = 8\n'
                   'setup = ["module load cuda"]\n[slurm.sbatch]\naccount = "nlp"\n')
    opts = slurm_options(load_slurm_config(cfg), partition="gpu-long", sbatch={"qos": "high"})
    assert (opts.partition, opts.gpus_per_task, opts.time_min, opts.array_parallelism) == ("gpu-long", 1, 240, 8)
    assert opts.sbatch == {"account": "nlp", "qos": "high"} and opts.setup == ["module load cuda"]
    cfg.write_text('[slurm]\npartitoin = "gpu"\n')
    with pytest.raises(SlurmError, match=r"cluster.toml: \[slurm\] partitoin: unknown key"):
        load_slurm_config(cfg)
    cfg.write_text('[slurm]\ngpus_per_task = "two"\n')
    with pytest.raises(SlurmError, match=r"gpus_per_task = 'two': wrong type"):
        load_slurm_config(cfg)


# --- the machine flags reach the array tasks (no cluster: sbatch, sinfo and squeue are stand-ins) -------

_FAKE_SBATCH = """#!/bin/sh
# stand-in for sbatch: keep the script it was given, answer like sbatch
cp "$1" "{keep}/script.$(date +%s%N).sh"
echo "Submitted batch job 4242"
"""


def _fake_slurm_bin(tmp_path: Path) -> Path:
    b = tmp_path / "fake-slurm-bin"
    keep = tmp_path / "sbatch-scripts"
    b.mkdir()
    keep.mkdir()
    for name, text in {"sbatch": _FAKE_SBATCH.format(keep=keep), "sinfo": "#!/bin/sh\necho 'debug*'\n",
                       "squeue": "#!/bin/sh\nexit 0\n", "scancel": "#!/bin/sh\nexit 0\n"}.items():
        (b / name).write_text(text)
        (b / name).chmod(0o755)
    return b


def _submitted_payload(folder: Path):
    """The pickled options and sbatch script of the one array submitted into `folder`."""
    import pickle

    pkls = sorted(folder.glob("4242/*_submitted.pkl"))
    assert pkls, f"no pickled task in {sorted(str(p) for p in folder.rglob('*'))}"
    with open(pkls[0], "rb") as fh:
        delayed = pickle.load(fh)
    return delayed.args[0]


@pytest.mark.parametrize("flags,expected", [
    (["--precision", "bf16", "--threads", "1", "--jobs", "2"], ("bf16", 1, 2)),
    ([], ("auto", "auto", "auto")),
])
def test_cli_slurm_submission_carries_precision_threads_and_jobs(tmp_path, exp_dir, flags, expected):
    """`claims reproduce --executor slurm` hands --precision/--threads/--jobs to every task (its pickled
    options, and a comment line of the sbatch script) only when given; left at auto, each node resolves
    them by its own calibration (the tasks get "auto", nothing resolved on the submitting machine)."""
    from xlt_claims.reproduce.machine import usable_cores
    from xlt_claims.reproduce.slurm import task_options

    model = make_tiny_model(tmp_path / "bert")
    write_experiment(exp_dir, "better", model=model, seeds=(1,))
    db = tmp_path / "claims.db"
    store = open_store(str(db))
    add_claim(store, "c9", CLAIM)
    store.close()
    fake = _fake_slurm_bin(tmp_path)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "XLT_CLAIMS_CACHE": str(tmp_path / "cache")}
    folder = tmp_path / "jobs"
    r = subprocess.run([sys.executable, "-m", "xlt_claims.cli", "reproduce", "c9", "--executor", "slurm", "--no-wait",
                        "--slurm-folder", str(folder), "--reproductions", str(exp_dir), "--db", str(db), *flags],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "submitted job array 4242" in r.stdout
    scripts = list((tmp_path / "sbatch-scripts").glob("script.*.sh"))
    assert len(scripts) == 1
    text = scripts[0].read_text()
    assert "-m submitit.core._submit" in text  # the task's command: it reads the pickled options below
    payload = _submitted_payload(folder)
    opts = payload.opts
    assert (opts.precision, opts.threads, opts.jobs) == expected
    assert opts.side_by_side is None and opts.runtime == {}  # nothing resolved on the submitting machine
    on_node = task_options(opts)
    if flags:
        assert "# xlt-claims machine flags: --precision bf16 --threads 1 --jobs 2" in text
        assert on_node.side_by_side["runs"] == 2
        assert on_node.side_by_side["threads"] == max(1, usable_cores() // 2)
        assert latest_submission(folder).machine_flags == flags
    else:
        assert "xlt-claims machine flags" not in text
        assert on_node.side_by_side is None
        assert latest_submission(folder).machine_flags == []
