"""`claims reproduce --executor slurm`: the pending runs of a plan as one SLURM job array (submitit).

Interface to the runner (reproduce.runner): the plan (`build_plans`), the slot claim
(`claim_slot`, atomic across processes and hosts on a shared store), the run itself (`execute_slot`,
heartbeats included); the verdicts come from the judge the caller passes (verdict.judge.judge_plans,
a layer above). Nothing here trains or judges by itself.

  submit   every runnable slot of the plan (pending, killed, failed, stale; not the ones another
           process is running) becomes one task of ONE job array. Each task gets the whole list and
           claims the first slot that is still free (starting at its own index), runs it, and
           writes the result to the shared store; so a task never runs a slot twice and a slot
           finished meanwhile (another array, another process) is skipped.
  wait     the submitting command follows the store (runs finished / failed / killed) and the
           queue (`squeue`) with progress until every task has left the queue, or returns at once
           with --no-wait (the submission is recorded in the job folder; `claims reproduce
           --status` shows where it stands, and running the same command again waits and judges).
  machine  --precision, --threads and --jobs go to every task as given (in its pickled options, and as a
           comment line of the sbatch script); left at auto, each node decides by its own calibration
           and load, never by the submitting machine's. A task is one run: --jobs N tells it that N runs
           share its node, so it takes 1/N of the cores it may run on (its allocation's cpuset).
  killed   a task that the scheduler cancels, preempts or times out gets SIGTERM (USR2 before a
           time limit): the run is marked KILLED. A task killed outright (SIGKILL, a node that
           dies) leaves a RUNNING row: when its task has left the queue the sweep marks it KILLED;
           on another host a stale heartbeat does the same. KILLED runs never count and are
           re-run by the next submission.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from sqlmodel import select

from ..store.db import ENV_VAR, Store, display_url, open_store, resolve_url
from ..store.models import Run, utcnow
from .machine import decide_jobs
from .runner import (HOST, ExperimentPlan, Options, ReproduceError, ReproduceResult, Reporter, Slot, _device_type,
                     build_plans, claim_slot, execute_slot, refresh_states)

RUNNABLE = ("pending", "stale", "killed", "failed")
DONE = ("finished", "reuse")
CONFIG_KEYS = {"partition": str, "gpus_per_task": int, "cpus_per_task": int, "mem_gb": (int, float),
               "time_min": int, "array_parallelism": int, "setup": list, "sbatch": dict, "folder": str,
               "python": str, "poll_s": (int, float), "job_name": str}


class SlurmError(ReproduceError):
    """Submission or scheduler failure, named; nothing was written to the store."""


@dataclass
class SlurmOptions:
    partition: Optional[str] = None
    gpus_per_task: int = 0
    cpus_per_task: int = 1
    mem_gb: Optional[float] = None
    time_min: int = 60
    array_parallelism: Optional[int] = None
    setup: list[str] = field(default_factory=list)  # shell lines before each task (module load, venv)
    sbatch: dict[str, str] = field(default_factory=dict)  # extra #SBATCH options (key without --)
    folder: str = "slurm-jobs"  # submitit's job folder: must be on a filesystem the nodes share
    python: Optional[str] = None  # the interpreter on the nodes [default: this one]
    poll_s: float = 5.0
    job_name: str = "xlt-claims"
    wait: bool = True


def load_slurm_config(path: str | os.PathLike) -> dict[str, Any]:
    """The `[slurm]` table of a TOML file, checked key by key (errors name the file and the key)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SlurmError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SlurmError(f"{p}: not valid TOML: {exc}") from None
    table = data.get("slurm")
    if not isinstance(table, dict):
        raise SlurmError(f"{p}: no [slurm] table")
    for k, v in table.items():
        if k not in CONFIG_KEYS:
            raise SlurmError(f"{p}: [slurm] {k}: unknown key (known: {', '.join(sorted(CONFIG_KEYS))})")
        if not isinstance(v, CONFIG_KEYS[k]) or isinstance(v, bool):
            raise SlurmError(f"{p}: [slurm] {k} = {v!r}: wrong type")
    if "sbatch" in table:
        table["sbatch"] = {str(k): str(v) for k, v in table["sbatch"].items()}
    return table


def slurm_options(config: Optional[dict[str, Any]] = None, **flags: Any) -> SlurmOptions:
    """Config-file values, then flags (a flag left None keeps the file's value)."""
    merged = {**(config or {})}
    extra = dict(merged.pop("sbatch", {}) or {})
    for k, v in flags.items():
        if k == "sbatch":
            extra.update(v or {})
        elif v is not None:
            merged[k] = v
    return SlurmOptions(**merged, sbatch=extra)


def parse_sbatch_flags(values: Optional[list[str]]) -> dict[str, str]:
    """`--sbatch account=abc --sbatch qos=high` -> {"account": "abc", "qos": "high"}."""
    out = {}
    for v in values or []:
        k, sep, val = v.partition("=")
        k = k.strip().lstrip("-")
        if not sep or not k:
            raise SlurmError(f"--sbatch {v!r}: write an sbatch option as KEY=VALUE (e.g. account=mygroup)")
        out[k] = val
    return out


# --- scheduler queries (plain SLURM client commands: work without accounting storage) --------------

def _slurm_cmd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    exe = shutil.which(args[0])
    if exe is None:
        raise SlurmError(f"`{args[0]}` is not on PATH: --executor slurm needs the SLURM client commands "
                         "(sbatch, squeue, sinfo, scancel) on this machine; use --executor local otherwise")
    return subprocess.run([exe, *args[1:]], capture_output=True, text=True, timeout=timeout)


def check_partition(partition: Optional[str]) -> None:
    r = _slurm_cmd("sinfo", "-h", "-o", "%P")
    if r.returncode != 0:
        raise SlurmError(f"sinfo failed (is the SLURM controller reachable?): {r.stderr.strip()[:500]}")
    known = [p.rstrip("*") for p in r.stdout.split()]
    if partition and partition not in known:
        raise SlurmError(f"SLURM partition {partition!r} does not exist (this cluster has: {', '.join(known) or 'none'})")


def queue_states(job_id: str) -> dict[int, str]:
    """{array task index: state} of the array's tasks still in the queue (PENDING, RUNNING, ...)."""
    r = _slurm_cmd("squeue", "-h", "-r", "-j", str(job_id), "-o", "%i|%T")
    out: dict[int, str] = {}
    if r.returncode != 0:  # a job that left the queue long ago: "Invalid job id specified"
        if "invalid job id" in r.stderr.lower():
            return out
        raise SlurmError(f"squeue failed: {r.stderr.strip()[:500]}")
    for line in r.stdout.splitlines():
        jid, _, state = line.partition("|")
        if "_" in jid:
            idx = jid.split("_", 1)[1]
            if idx.isdigit():
                out[int(idx)] = state.strip()
    return out


# --- the array task (runs on a compute node) --------------------------------------------------------

@dataclass
class TaskPayload:
    db_url: str
    items: list[tuple[ExperimentPlan, Slot]]
    opts: Options
    job_label: str


class SchedulerStop(KeyboardInterrupt):
    """The scheduler asked this task to stop (scancel, preemption, time limit)."""


def _on_scheduler_signal(signum, frame):  # noqa: ANN001
    raise SchedulerStop(f"SLURM sent {signal.Signals(signum).name}")


def _task_db_url(masked: str) -> str:
    """The store's URL inside a task. The job folder's pickles carry it without its password; the
    full URL comes through the task's environment (sbatch exports the submitter's), or the password
    from ~/.pgpass when the environment does not carry it."""
    env = os.environ.get(ENV_VAR)
    if env and display_url(resolve_url(env)) == masked:
        return resolve_url(env)
    if "***" in masked:
        return masked.replace(":***@", "@", 1)  # psycopg then reads the password from ~/.pgpass
    return masked


def machine_flags(opts: Options) -> list[str]:
    """The machine flags the user gave (`--precision bf16`, `--threads 1`, `--jobs 2`), none for auto."""
    out = []
    for flag, v in (("--precision", opts.precision), ("--threads", opts.threads), ("--jobs", opts.jobs)):
        if v is not None and v != "auto":
            out += [flag, str(v)]
    return out


def task_options(opts: Options) -> Options:
    """The options of one array task on its node: --jobs N resolved here (this node's cores split N
    ways), auto left to this node's calibration (a task runs one slot: nothing side by side)."""
    if opts.jobs is None or opts.jobs == "auto":
        return replace(opts, side_by_side=None)
    runs, each, why = decide_jobs(opts.jobs, device_type=_device_type(opts.device))
    return replace(opts, side_by_side={"runs": runs, "threads": each, "why": f"{why} (this node)"})


def run_array_task(payload: TaskPayload) -> dict[str, Any]:
    """One array task: claim the first free slot (from this task's index on), run it, report it.

    Raises when the run failed or was stopped, so the scheduler and the submitter see the task as
    failed with the reason."""
    for sig in (signal.SIGTERM, signal.SIGUSR2, signal.SIGINT):  # over submitit's bypass/requeue handlers
        signal.signal(sig, _on_scheduler_signal)
    job_id = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID", "?")
    idx = int(os.environ.get("SLURM_ARRAY_TASK_ID", "0"))
    executor = {"executor": "slurm", "job_id": job_id, "array_task": idx, "node": HOST,
                "slurm_job_id": os.environ.get("SLURM_JOB_ID")}
    opts = task_options(payload.opts)
    store = open_store(_task_db_url(payload.db_url))
    try:
        n = len(payload.items)
        for k in range(n):
            plan, sl = payload.items[(idx + k) % n]
            state, rid = claim_slot(store, sl, opts, executor=executor)
            if state != "claimed":
                continue
            execute_slot(store, plan, sl, rid, opts, executor=executor)
            if sl.state == "failed":
                raise RuntimeError(f"run {rid} ({sl.label()}) FAILED: {sl.error}")
            return {"task": idx, "run_id": rid, "slot": sl.label(), "state": "finished", "wall_s": sl.wall_s}
        return {"task": idx, "run_id": None, "slot": None, "state": "nothing left to run"}
    finally:
        store.close()


# --- submission records (for --no-wait and --status) ------------------------------------------------

@dataclass
class Submission:
    job_id: str
    n_tasks: int
    folder: str
    db: str  # the store's URL without its password
    submitted_at: str
    slots: list[dict[str, Any]]  # experiment, arm, seed, config_hash
    targets: list[str] = field(default_factory=list)
    task_files: list[dict[str, str]] = field(default_factory=list)  # per task: submitit's result and log files
    machine_flags: list[str] = field(default_factory=list)  # --precision/--threads/--jobs given to the tasks

    def path(self) -> Path:
        return Path(self.folder) / "submissions" / f"{self.job_id}.json"

    def save(self) -> Path:
        p = self.path()
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(p)
        return p


def latest_submission(folder: str | os.PathLike) -> Optional[Submission]:
    subs = sorted((Path(folder) / "submissions").glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not subs:
        return None
    return Submission(**json.loads(subs[-1].read_text(encoding="utf-8")))


# --- submit / wait / status -------------------------------------------------------------------------

def _make_executor(sopts: SlurmOptions, flags: Optional[list[str]] = None):
    import submitit

    ex = submitit.SlurmExecutor(folder=str(Path(sopts.folder) / "%j"), python=sopts.python)
    # the flags themselves travel in the tasks' pickled options; the comment shows them in the script
    setup = list(sopts.setup) + ([f"# xlt-claims machine flags: {' '.join(flags)}"] if flags else [])
    params: dict[str, Any] = {"job_name": sopts.job_name, "time": sopts.time_min, "cpus_per_task": sopts.cpus_per_task,
                              "setup": setup, "additional_parameters": dict(sopts.sbatch),
                              "signal_delay_s": 60}
    if sopts.partition:
        params["partition"] = sopts.partition
    if sopts.gpus_per_task:
        params["gpus_per_task"] = sopts.gpus_per_task
    if sopts.mem_gb:
        params["mem"] = f"{int(sopts.mem_gb * 1024)}M"
    if sopts.array_parallelism:
        params["array_parallelism"] = sopts.array_parallelism
    ex.update_parameters(**params)
    return ex


def runnable_items(result: ReproduceResult) -> list[tuple[ExperimentPlan, Slot]]:
    return [(p, sl) for p in result.plans if not (p.error or p.data_guard) for sl in p.slots if sl.state in RUNNABLE]


def submit(store: Store, result: ReproduceResult, opts: Options, sopts: SlurmOptions,
           targets: Optional[list[str]] = None) -> Optional[Submission]:
    """Submit the runnable slots as one job array; None when there is nothing to submit."""
    items = runnable_items(result)
    if not items:
        return None
    if not shutil.which("sbatch"):
        _slurm_cmd("sbatch")  # raises the named error
    check_partition(sopts.partition)
    import submitit

    # the user's options as given: nothing this machine resolved (side-by-side split, runtime settings)
    payload = TaskPayload(display_url(store.url), items, replace(opts, side_by_side=None, runtime={}), "")
    ex = _make_executor(sopts, machine_flags(opts))
    old_env = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = store.url  # to the tasks through sbatch's exported environment, not a file
    try:
        jobs = ex.map_array(run_array_task, [payload] * len(items))
    except (submitit.core.utils.FailedJobError, subprocess.CalledProcessError, OSError) as exc:
        raise SlurmError(f"sbatch refused the job array: {' '.join(str(exc).split())[:800]}") from None
    finally:
        if old_env is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = old_env
    job_id = str(jobs[0].job_id).split("_", 1)[0]
    sub = Submission(job_id=job_id, n_tasks=len(jobs), folder=str(Path(sopts.folder).resolve()),
                     db=display_url(store.url), submitted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     slots=[{"experiment": sl.experiment, "arm": sl.arm, "seed": sl.seed, "config_hash": sl.config_hash}
                            for _, sl in items], targets=list(targets or []),
                     task_files=[{"result": str(j.paths.result_pickle), "stderr": str(j.paths.stderr)} for j in jobs],
                     machine_flags=machine_flags(opts))
    sub.save()
    return sub


def sweep_lost_runs(store: Store, job_id: str, in_queue: dict[int, str]) -> list[int]:
    """RUNNING rows of this array whose task has left the queue (SIGKILL, node failure) -> KILLED."""
    lost = []
    with store.session() as s:
        for r in s.exec(select(Run).where(Run.status == "RUNNING").with_for_update()).all():
            ex = (r.manifest or {}).get("executor") or {}
            if ex.get("executor") != "slurm" or str(ex.get("job_id")) != str(job_id):
                continue
            if ex.get("array_task") in in_queue:
                continue
            r.status, r.finished_at = "KILLED", utcnow()
            r.error = (f"killed: SLURM task {job_id}_{ex.get('array_task')} left the queue without finishing this run "
                       "(cancelled, preempted, out of time, or its node died)")
            s.add(r)
            lost.append(r.id)
    return lost


def _task_errors(sub: Submission) -> dict[int, str]:
    """The error each failed task reported, one line each: the exception submitit pickled, else the
    last error line of the task's stderr (a task that never reached Python: bad interpreter, setup)."""
    import pickle

    out = {}
    for i, files in enumerate(sub.task_files):
        res, err = Path(files["result"]), Path(files["stderr"])
        if res.exists():
            try:
                with res.open("rb") as fh:
                    kind, value = pickle.load(fh)
            except Exception as exc:  # noqa: BLE001
                out[i] = f"unreadable result file {res}: {exc}"
                continue
            if kind == "error":
                lines = [ln for ln in str(value).strip().splitlines() if ln.strip()]
                out[i] = lines[-1].strip()[:400] if lines else "error"
        elif err.exists():
            lines = [ln.strip() for ln in err.read_text(errors="replace").splitlines() if ln.strip()]
            bad = [ln for ln in lines if "error" in ln.lower() or "no such file" in ln.lower()]
            out[i] = (bad[0] if bad else (lines[-1] if lines else "no output"))[:400] + \
                " (no result: the task never finished Python)"
        else:
            out[i] = "no result and no log (the task never started, or its node died)"
    return out


def slot_states(store: Store, sub: Submission) -> dict[str, int]:
    """Counts of the submitted slots by the state of their latest run in the store."""
    counts: dict[str, int] = {}
    with store.read() as s:
        for d in sub.slots:
            rows = s.exec(select(Run).where(Run.config_hash == d["config_hash"], Run.experiment == d["experiment"],
                                            Run.arm == d["arm"]).order_by(Run.id)).all()
            if any(r.status == "FINISHED" for r in rows):
                st = "FINISHED"
            else:
                st = rows[-1].status if rows else "not started"
            counts[st] = counts.get(st, 0) + 1
    return counts


def status(store: Store, sub: Submission) -> dict[str, Any]:
    q = queue_states(sub.job_id)
    lost = sweep_lost_runs(store, sub.job_id, q)
    by_state: dict[str, int] = {}
    for st in q.values():
        by_state[st] = by_state.get(st, 0) + 1
    return {"job_id": sub.job_id, "tasks": sub.n_tasks, "submitted_at": sub.submitted_at, "db": sub.db,
            "queue": by_state, "left_queue": sub.n_tasks - len(q), "runs": slot_states(store, sub),
            "marked_killed": lost, "folder": sub.folder,
            "machine_flags": " ".join(sub.machine_flags) or "auto (each node's calibration)"}


def wait(store: Store, sub: Submission, sopts: SlurmOptions, reporter: Optional[Reporter] = None) -> dict[str, Any]:
    """Follow the array until every task has left the queue; progress over the submitted runs."""
    rep = reporter or Reporter()
    rep.start(len(sub.slots))
    done_before = 0
    last_line = ""
    try:
        while True:
            q = queue_states(sub.job_id)
            runs = slot_states(store, sub)
            done = runs.get("FINISHED", 0) + runs.get("FAILED", 0)
            for _ in range(max(0, done - done_before)):
                rep.advance(f"array {sub.job_id}: {runs.get('FINISHED', 0)} finished, {runs.get('FAILED', 0)} failed")
            done_before = max(done, done_before)
            counts: dict[str, int] = {}
            for st in q.values():
                counts[st] = counts.get(st, 0) + 1
            line = (f"array {sub.job_id}: " + ", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items()))
                    if counts else f"array {sub.job_id}: all {sub.n_tasks} task(s) left the queue")
            if line != last_line:
                rep.note(line)
                last_line = line
            if not q:
                break
            time.sleep(sopts.poll_s)
    finally:
        rep.stop()
    return status(store, sub)


@dataclass
class SlurmOutcome:
    result: ReproduceResult
    submission: Optional[Submission]
    status: Optional[dict[str, Any]] = None
    task_errors: dict[int, str] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)  # slot labels not finished (killed / never run)
    judged: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = self.result.to_dict()
        out["slurm"] = {"job_id": self.submission.job_id if self.submission else None,
                        "tasks": self.submission.n_tasks if self.submission else 0, "status": self.status,
                        "task_errors": {str(k): v for k, v in self.task_errors.items()},
                        "unfinished": self.unfinished, "judged": self.judged}
        return out


def _attach(store: Store, result: ReproduceResult, opts: Options, sopts: SlurmOptions,
            reporter: Optional[Reporter]) -> None:
    """Slots another process or an earlier array is running: wait for them like the local runner."""
    waiting = [sl for p in result.plans for sl in p.slots if sl.state == "running"]
    if not waiting:
        return
    if reporter:
        reporter.note(f"waiting for {len(waiting)} run(s) held by other processes or an earlier array")
    while True:
        for p in result.plans:
            refresh_states(store, p, opts)
        if not [sl for p in result.plans for sl in p.slots if sl.state == "running"]:
            return
        time.sleep(max(opts.poll_s, sopts.poll_s))


def reproduce_on_slurm(store: Store, registry, targets: list[str], opts: Options, sopts: SlurmOptions, *,
                       all_claims: bool = False, reporter: Optional[Reporter] = None,
                       judge: Optional[Callable[[Store, ReproduceResult], list]] = None) -> SlurmOutcome:
    """Plan, submit one array, wait (unless sopts.wait is False), then judge the experiments whose runs
    all finished with `judge` (verdict.judge.judge_plans, passed in by the caller: judging sits in a
    layer above this one)."""
    result = build_plans(store, registry, targets, opts, all_claims=all_claims)
    prior = latest_submission(sopts.folder)
    if prior is not None:  # runs a killed earlier array left RUNNING become KILLED before planning anew
        if sweep_lost_runs(store, prior.job_id, queue_states(prior.job_id)):
            for p in result.plans:
                refresh_states(store, p, opts)
    if store.path is not None and reporter and runnable_items(result):
        reporter.note("[yellow]the store is a SQLite file: fine on one node, unsafe on a network filesystem; "
                      "use a postgresql:// store on a cluster")
    sub = submit(store, result, opts, sopts, targets)
    out = SlurmOutcome(result, sub)
    if sub is not None and reporter:
        reporter.note(f"submitted job array {sub.job_id} ({sub.n_tasks} task(s)) to "
                      f"{sopts.partition or 'the default partition'}; jobs folder {sub.folder}")
    if not sopts.wait:
        return out
    if sub is not None:
        out.status = wait(store, sub, sopts, reporter)
        out.task_errors = _task_errors(sub)
    _attach(store, result, opts, sopts, reporter)
    finalize(store, result, opts)
    out.unfinished = [sl.label() for p in result.plans if not (p.error or p.data_guard) for sl in p.slots
                      if sl.state not in DONE and sl.state != "failed"]
    result.failed = sum(1 for p in result.plans for sl in p.slots if sl.state == "failed")
    submitted = {(d["experiment"], d["arm"], d["config_hash"]) for d in (sub.slots if sub else [])}
    done = [sl for p in result.plans for sl in p.slots if sl.state in DONE]
    result.ran = sum(1 for sl in done if (sl.experiment, sl.arm, sl.config_hash) in submitted)
    result.reused = len(done) - result.ran
    if sub is not None and out.task_errors and len(out.task_errors) == sub.n_tasks and not any(
            sl.state in DONE for p in result.plans for sl in p.slots):
        listing = "; ".join(f"task {i}: {e}" for i, e in sorted(out.task_errors.items())[:5])
        raise SlurmError(f"all {sub.n_tasks} task(s) of job array {sub.job_id} failed ({listing}); "
                         f"logs in {sub.folder}/{sub.job_id}_*; no run was stored as finished")
    complete = ReproduceResult(plans=[p for p in result.plans if p.error or all(sl.state in DONE or sl.state == "failed"
                                                                               for sl in p.slots)],
                               unlinked=result.unlinked)
    if judge is not None:
        judge(store, complete)
    result.verdicts = complete.verdicts + [
        {"experiment": p.experiment.name, "skipped": f"{sum(sl.state not in DONE for sl in p.slots)} run(s) not finished "
                                                    "(killed or never started); submit again to re-run them"}
        for p in result.plans if p not in complete.plans]
    out.judged = judge is not None
    return out


def finalize(store: Store, result: ReproduceResult, opts: Options) -> None:
    """Refresh the plan from the store; a slot identical to one finished elsewhere gets its copy."""
    for p in result.plans:
        if p.error or p.data_guard:
            continue
        refresh_states(store, p, opts)
        for sl in p.slots:
            if sl.state in ("reuse", "shared", "pending"):
                state, rid = claim_slot(store, sl, opts, claim=False)
                if state in ("finished", "reused"):
                    sl.state, sl.run_id = ("finished" if state == "finished" else "reuse"), rid
