"""`claims reproduce`: plan, run (resumable, concurrency-safe) and judge linked experiments.

Run life cycle, one short transaction per step (SQLite WAL; every transaction starts with
BEGIN IMMEDIATE, so check-then-insert is atomic across processes):

  claim     find a FINISHED run with the same config_hash -> reuse it (copy it when it belongs to
            another experiment); else find a RUNNING one: alive -> someone else runs it (wait),
            dead pid / stale heartbeat -> mark it KILLED; else insert our RUNNING row (pid, host).
  run       train_and_evaluate in this process; a heartbeat thread refreshes heartbeat_at.
  finish    FINISHED with config, manifest, metrics (per language and per language pair), guards;
            an exception -> FAILED with the error; Ctrl-C / SIGTERM -> KILLED.

Judging the finished runs is the verdict layer's (xlt_claims.verdict.judge.judge_plans): callers run
`reproduce(...)` and then judge its result. Every kind (train, task suite, probe) goes through the same
steps; what differs is in its ExperimentKind (reproduce/kinds/). A KILLED or FAILED run never counts;
the next invocation re-runs it.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from sqlmodel import select

from ..experiments.models import resolve_device
from ..store.db import Store, lock_key
from ..store.models import Claim, ExperimentLink, Run, utcnow
from .experiment import Experiment
from .guards import check_run
from .kinds import ReproduceError, Unit, get_kind
from .links import report_context, resolve_claim, sync_links, untestable_reason
from .machine import decide_jobs, estimate_run_s, load_calibration, machine_settings, rates
from .recipe import recipe_warning
from .registry import Registry
from .tasks import DataGuardRefused, TaskError, task_source

HOST = socket.gethostname()
_ACTIVE: set[int] = set()  # run ids this process is executing right now
TO_RUN = ("pending", "stale", "killed", "failed")  # slot states that still need a run


@dataclass
class Options:
    seeds: Optional[list[int]] = None  # explicit seed list (overrides the file)
    n_seeds: Optional[int] = None  # or: the first N seeds (1..N when the file lists fewer)
    profile: Optional[str] = None
    model: Optional[str] = None
    data_dir: Optional[str] = None
    proxy: bool = False  # run the offline proxy tasks even where the claim's own benchmark is at hand
    device: str = "auto"
    extended: bool = False  # also run "extended"-tier experiments linked to the targets
    heartbeat_s: float = 15.0
    stale_after_s: float = 300.0  # a RUNNING row whose heartbeat is older is considered dead
    poll_s: float = 1.0
    overrides: dict[str, Any] = field(default_factory=dict)  # extra train-loop overrides (all arms)
    # this machine's settings (reproduce.machine): "auto" = by calibration (threads also by load, before
    # every run), a value = as given (--precision fp32|bf16, --threads N), None = the profile's / torch's.
    # Not part of a run's config hash (like the device): recorded in its manifest as "machine".
    precision: Optional[str] = None
    threads: Any = None
    runtime: dict[str, Any] = field(default_factory=dict)  # what the next run gets (set by the runner)
    # runs side by side in worker processes: "auto" (calibration and load), N, or None (one at a time);
    # build_plans resolves it into side_by_side = {"runs": n, "threads": per run, "why": ...}
    jobs: Any = None
    side_by_side: Optional[dict[str, Any]] = None


@dataclass
class Slot:
    experiment: str
    arm: str
    seed: int
    config: dict[str, Any]
    config_hash: str
    state: str = "pending"  # pending | finished | reuse | running | stale | failed | killed
    run_id: Optional[int] = None
    estimate_s: Optional[float] = None
    estimate_source: str = ""
    wall_s: Optional[float] = None
    error: Optional[str] = None
    unit: Optional[Unit] = None  # what the experiment's kind planned for this run

    def label(self) -> str:
        return f"{self.experiment}/{self.arm}/seed {self.seed}"


@dataclass
class ExperimentPlan:
    experiment: Experiment
    claims: list[str]
    task_name: str
    proxy_data: bool
    model: str
    profile: str
    seeds: list[int]
    slots: list[Slot] = field(default_factory=list)
    data_guard: Optional[str] = None
    error: Optional[str] = None
    scripts: dict[str, str] = field(default_factory=dict)
    label_stats: Optional[dict[str, Any]] = None
    differences: list[dict[str, Any]] = field(default_factory=list)  # the data's stated substitutes
    warnings: list[str] = field(default_factory=list)  # said before anything runs (a recipe not chosen for the model)
    claim_texts: dict[str, str] = field(default_factory=dict)
    # which benchmark each task reads: [{task, benchmark ("real" | "proxy"), where, note, claim_dataset}]
    benchmarks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.name, "tier": self.experiment.tier,
            "description": self.experiment.description, "claims": self.claims, "task": self.task_name,
            "proxy_data": self.proxy_data, "benchmarks": self.benchmarks, "model": self.model, "claim_model": self.experiment.model.claim,
            "profile": self.profile, "seeds": self.seeds, "data_guard": self.data_guard, "error": self.error,
            "decision": {"metric": self.experiment.decision.metric, "baseline": self.experiment.decision.baseline,
                         "treatment": self.experiment.decision.treatment},
            "runs": [{"arm": s.arm, "seed": s.seed, "state": s.state, "run_id": s.run_id, "config_hash": s.config_hash,
                      "estimate_s": s.estimate_s, "estimate_source": s.estimate_source, "wall_s": s.wall_s,
                      "error": s.error} for s in self.slots],
            "estimate_s": sum(s.estimate_s or 0 for s in self.slots if s.state in TO_RUN),
            "claim_texts": self.claim_texts, "warnings": self.warnings,
        }


# --- helpers ---------------------------------------------------------------------------------------

def _aware(dt: Optional[datetime]) -> Optional[datetime]:
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def pid_alive(pid: Optional[int]) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a SIGKILLed child that nobody reaped yet is a zombie: dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return True


def is_stale(run: Run, stale_after_s: float) -> Optional[str]:
    """Why a RUNNING row is dead (None if it may still be running)."""
    if run.host == HOST:
        if run.pid == os.getpid():
            return None if run.id in _ACTIVE else "left RUNNING by an earlier call in this process"
        if not pid_alive(run.pid):
            return f"process {run.pid} on {run.host} is gone"
    beat = _aware(run.heartbeat_at) or _aware(run.started_at)
    age = (utcnow() - beat).total_seconds() if beat else float("inf")
    if age > stale_after_s:
        return f"no heartbeat for {age:.0f} s (limit {stale_after_s:.0f} s)"
    return None


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


# --- planning --------------------------------------------------------------------------------------

def targets_to_experiments(store: Store, registry: Registry, targets: list[str], *, all_claims: bool,
                           extended: bool) -> tuple[dict[str, list[str]], list[str]]:
    """{experiment: [claim ids]} and the claim ids that have no experiment."""
    with store.session() as s:
        sync_links(s, registry)
    exp_claims: dict[str, list[str]] = {}
    unlinked: list[str] = []
    with store.session() as s:
        if all_claims:
            claim_ids = [c.id for c in s.exec(select(Claim).where(Claim.retired == False).order_by(Claim.report_key, Claim.row)).all()]  # noqa: E712
        else:
            claim_ids = []
            for t in targets:
                if t in registry.experiments:
                    exp_claims.setdefault(t, [])
                    for l in s.exec(select(ExperimentLink).where(ExperimentLink.experiment == t, ExperimentLink.active == True)).all():  # noqa: E712
                        if l.claim_id not in exp_claims[t]:
                            exp_claims[t].append(l.claim_id)
                    continue
                claim_ids.append(resolve_claim(s, t).id)
        for cid in claim_ids:
            links = s.exec(select(ExperimentLink).where(ExperimentLink.claim_id == cid, ExperimentLink.active == True)).all()  # noqa: E712
            names = [l.experiment for l in links if l.experiment in registry.experiments
                     and (extended or registry.experiments[l.experiment].tier == "core")]
            if not names:
                unlinked.append(cid)
            for n in names:
                exp_claims.setdefault(n, [])
                if cid not in exp_claims[n]:
                    exp_claims[n].append(cid)
    return exp_claims, unlinked


def _seeds(exp: Experiment, opts: Options) -> list[int]:
    if opts.seeds:
        return list(opts.seeds)
    if opts.n_seeds:
        base = list(exp.seeds)
        extra = [s for s in range(1, 10_000) if s not in base]
        return (base + extra)[: opts.n_seeds]
    return list(exp.seeds)


def plan_experiment(store: Store, exp: Experiment, claims: list[str], opts: Options) -> ExperimentPlan:
    """The experiment's runs under these options, with their states in the store and time estimates."""
    profile = opts.profile or exp.profile
    model = opts.model or exp.model.default
    seeds = _seeds(exp, opts)
    try:
        task_name = task_source(exp, opts.data_dir, opts.proxy)["name"]
    except TaskError:
        # the kind's plan says what is wrong, if anything (a suite reads its tasks from [params])
        task_name = exp.task.proxy
    plan = ExperimentPlan(exp, claims, task_name, True, model, profile, seeds)
    kind = get_kind(exp.kind)
    try:
        planned = kind.plan(exp, opts, model, profile, seeds)
    except DataGuardRefused as exc:
        plan.data_guard = str(exc)
        return plan
    except (TaskError, ReproduceError) as exc:
        plan.error = str(exc)
        return plan
    plan.proxy_data = planned.proxy_data
    plan.scripts = dict(planned.scripts)
    plan.label_stats = planned.label_stats
    plan.differences = list(planned.differences)
    if kind.trains and planned.units:
        warn = recipe_warning(exp.name, model, profile, planned.units[0].config.get("overrides"))
        if warn:
            plan.warnings.append(warn)
    plan.benchmarks = list(planned.benchmarks)
    for u in planned.units:
        cfg = {**u.config, "experiment": exp.name, "arm": u.arm, "decision_digest": exp.decision_digest(),
               "device_requested": opts.device}
        plan.slots.append(Slot(exp.name, u.arm, u.seed, cfg, config_hash(u.config), unit=u))
    refresh_states(store, plan, opts)
    with store.read() as s:
        finished = s.exec(select(Run).where(Run.status == "FINISHED")).all()
    kind.estimate([(sl.unit, sl) for sl in plan.slots], finished, exp.name)
    calibrated_estimates(plan, opts)
    return plan


def _device_type(device: Optional[str]) -> str:
    """cpu | cuda for the runs' --device ("auto" asks torch what this machine has; a device that is not
    there is the run's error to report, not the plan's)."""
    if device in (None, "", "auto"):
        return resolve_device("auto")
    return str(device).split(":")[0]


def calibrated_estimates(plan: ExperimentPlan, opts: Options) -> None:
    """Where this machine is calibrated, every unit whose kind states its work (steps, tokens, examples
    evaluated) is estimated from the calibration at the setting the run will use, not from earlier runs
    (those may have run under another load, or on another machine sharing the store)."""
    if (opts.precision is None and opts.threads is None) or not any(sl.unit is not None and sl.unit.work
                                                                    for sl in plan.slots):
        return  # the library default (no machine settings) keeps the kinds' own estimates
    ms = machine_settings(opts.precision or "auto", opts.threads or "auto", calibrate_if_missing=False, load={},
                          device_type=_device_type(opts.device))
    if ms.estimate is None:
        return
    rate = ms.estimate
    runs = int((opts.side_by_side or {}).get("runs") or 1)
    cal = load_calibration() if runs > 1 else None
    if cal:
        rate = rates(cal, rate["precision"], rate["threads"], side_by_side=runs)
    basis = (f"calibrated ({rate['precision']}, {rate['threads']} thread{'s' if rate['threads'] > 1 else ''}"
             f"{f', {runs} side by side' if rate.get('side_by_side', 1) > 1 else ''})")
    for sl in plan.slots:
        if sl.unit is not None and sl.unit.work:
            sl.estimate_s = round(estimate_run_s(sl.unit.work, rate, sl.unit.cost_factor), 1)
            sl.estimate_source = basis


def refresh_states(store: Store, plan: ExperimentPlan, opts: Options) -> None:
    with store.read() as s:
        for sl in plan.slots:
            rows = s.exec(select(Run).where(Run.config_hash == sl.config_hash).order_by(Run.id)).all()
            mine = [r for r in rows if r.experiment == sl.experiment and r.arm == sl.arm]
            fin = [r for r in mine if r.status == "FINISHED"]
            if fin:
                sl.state, sl.run_id, sl.wall_s = "finished", fin[-1].id, fin[-1].wall_s
                continue
            other_fin = [r for r in rows if r.status == "FINISHED"]
            if other_fin:
                sl.state, sl.run_id, sl.wall_s = "reuse", other_fin[-1].id, other_fin[-1].wall_s
                continue
            running = [r for r in rows if r.status == "RUNNING"]
            if running:
                why = is_stale(running[-1], opts.stale_after_s)
                sl.state, sl.run_id = ("stale" if why else "running"), running[-1].id
                continue
            last = mine[-1] if mine else None
            sl.state = {"FAILED": "failed", "KILLED": "killed"}.get(last.status, "pending") if last else "pending"
            sl.run_id = last.id if last else None


# --- running ---------------------------------------------------------------------------------------

class _Heartbeat(threading.Thread):
    def __init__(self, store: Store, run_id: int, every: float):
        super().__init__(daemon=True)
        self.store, self.run_id, self.every = store, run_id, every
        self.stop_evt = threading.Event()

    def run(self) -> None:
        while not self.stop_evt.wait(self.every):
            try:
                with self.store.session() as s:
                    r = s.get(Run, self.run_id)
                    if r is not None and r.status == "RUNNING":
                        r.heartbeat_at = utcnow()
                        s.add(r)
            except Exception:  # noqa: BLE001 - a missed beat is not fatal
                pass

    def stop(self) -> None:
        self.stop_evt.set()


def claim_slot(store: Store, sl: Slot, opts: Options, *, executor: Optional[dict[str, Any]] = None,
               claim: bool = True) -> tuple[str, Optional[int]]:
    """One transaction: ('finished'|'reused'|'busy'|'claimed'|'pending', run_id).

    `executor` (e.g. the SLURM job and array task) is kept on the RUNNING row's manifest, so a run
    whose task left the queue can be found; claim=False only reuses or copies a finished run and
    never starts one ('pending').

    Atomic across processes: SQLite's BEGIN IMMEDIATE admits one writer at a time; on PostgreSQL a
    transaction-scoped lock on the slot's config hash does (taken without waiting: a slot another
    process is claiming right now is 'busy', as with SKIP LOCKED), and the slot's rows are read
    FOR UPDATE so a stale RUNNING row is marked KILLED by exactly one process."""
    with store.session() as s:
        if not lock_key(s, f"xlt-claims:slot:{sl.config_hash}", wait=False):
            return "busy", None
        rows = s.exec(select(Run).where(Run.config_hash == sl.config_hash).order_by(Run.id).with_for_update()).all()
        for r in rows:
            if r.status == "FINISHED" and r.experiment == sl.experiment and r.arm == sl.arm:
                return "finished", r.id
        src = next((r for r in rows if r.status == "FINISHED"), None)
        if src is not None:  # identical run of another experiment: copy, do not recompute
            cp = Run(experiment=sl.experiment, arm=sl.arm, seed=sl.seed, config_hash=sl.config_hash, status="FINISHED",
                     config=sl.config, manifest=src.manifest, metrics=src.metrics, device=src.device, pid=os.getpid(),
                     host=HOST, started_at=utcnow(), finished_at=utcnow(), wall_s=src.wall_s, reused_from=src.id,
                     valid=src.valid, invalid_reason=src.invalid_reason)
            s.add(cp)
            s.flush()
            return "reused", cp.id
        for r in rows:
            if r.status != "RUNNING":
                continue
            why = is_stale(r, opts.stale_after_s)
            if why:
                r.status, r.error, r.finished_at = "KILLED", f"killed: {why} (found by pid {os.getpid()} on {HOST})", utcnow()
                s.add(r)
            else:
                return "busy", r.id
        if not claim:
            return "pending", None
        new = Run(experiment=sl.experiment, arm=sl.arm, seed=sl.seed, config_hash=sl.config_hash, status="RUNNING",
                  config=sl.config, pid=os.getpid(), host=HOST, started_at=utcnow(), heartbeat_at=utcnow(),
                  manifest={"executor": executor} if executor else None)
        s.add(new)
        s.flush()
        _ACTIVE.add(new.id)
        return "claimed", new.id


def _finish(store: Store, run_id: int, **fields_: Any) -> None:
    with store.session() as s:
        r = s.get(Run, run_id)
        for k, v in fields_.items():
            setattr(r, k, v)
        r.finished_at = utcnow()
        s.add(r)


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


def execute_slot(store: Store, plan: ExperimentPlan, sl: Slot, run_id: int, opts: Options,
                 progress: Optional[Callable[..., None]] = None, *, executor: Optional[dict[str, Any]] = None) -> None:
    """Run one claimed unit through its kind; always leaves the row FINISHED, FAILED or KILLED.
    `executor` (e.g. the SLURM job and array task) is recorded on the run's manifest."""
    exp = plan.experiment
    ms = None
    sbs = opts.side_by_side if (opts.side_by_side or {}).get("runs", 1) > 1 else None
    if opts.precision is not None or opts.threads is not None or sbs:
        # the calibration measures the bundled encoder: only its runs wait a minute to calibrate a new machine
        model = str((sl.unit.config if sl.unit else {}).get("model") or "")
        ms = machine_settings(opts.precision, sbs["threads"] if sbs else opts.threads,
                              calibrate_if_missing=model.startswith("offline:"), device_type=_device_type(opts.device))
        if sbs:  # the thread count is the side-by-side split, not a --threads flag
            ms.threads_source = "side-by-side"
            ms.why = [w for w in ms.why if not w.endswith("--threads")] + [sbs["why"]]
        pinned = set((sl.unit.config.get("overrides") or {}) if sl.unit else {})  # an experiment file's own setting wins
        runtime = {k: v for k, v in ms.overrides().items()
                   if k not in pinned or getattr(ms, f"{k}_source") == "flag"}
        opts = replace(opts, runtime=runtime)
    hb = _Heartbeat(store, run_id, opts.heartbeat_s)
    hb.start()
    t0 = time.time()
    try:
        result = get_kind(exp.kind).execute(exp, sl.unit, opts, progress)
    except (KeyboardInterrupt, SystemExit) as exc:
        hb.stop()
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        _finish(store, run_id, status="KILLED", error=f"interrupted ({why})", wall_s=time.time() - t0)
        _ACTIVE.discard(run_id)
        raise
    except Exception as exc:  # noqa: BLE001 - a run that crashes is recorded FAILED with its traceback, never lost
        hb.stop()
        tb = traceback.format_exc(limit=6)
        sl.error = f"{type(exc).__name__}: {exc}"
        _finish(store, run_id, status="FAILED", error=f"{sl.error}\n{tb}"[-4000:], wall_s=time.time() - t0)
        _ACTIVE.discard(run_id)
        sl.state = "failed"
        return
    hb.stop()
    wall = time.time() - t0
    metrics = _jsonable(result.metrics)
    manifest = _jsonable(dict(result.manifest or {}))
    manifest["label_stats"] = plan.label_stats
    manifest["history"] = _jsonable(list(result.history or []))[-200:]
    manifest["reproduce"] = {"pid": os.getpid(), "host": HOST, "experiment": exp.name, "arm": sl.arm,
                             "experiment_file": str(exp.path)}
    if executor:
        manifest["executor"] = executor
    if ms is not None:
        manifest["machine"] = _jsonable({**ms.to_dict(), "applied": opts.runtime, "side_by_side": opts.side_by_side})
    g = check_run(metrics, plan.label_stats)
    device = manifest.get("device") if isinstance(manifest.get("device"), str) else opts.device
    _finish(store, run_id, status="FINISHED", metrics=metrics, manifest=manifest, wall_s=wall, device=device,
            valid=g["valid"], invalid_reason="; ".join(g["reasons"]) or None, error=None)
    _ACTIVE.discard(run_id)
    sl.state, sl.run_id, sl.wall_s = "finished", run_id, wall


@dataclass
class ReproduceResult:
    plans: list[ExperimentPlan]
    unlinked: dict[str, str]  # claim id -> reason no experiment applies
    unlinked_texts: dict[str, str] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    ran: int = 0
    reused: int = 0
    failed: int = 0
    side_by_side: Optional[dict[str, Any]] = None  # how many runs at a time, and why (build_plans)

    def estimate_s(self) -> float:
        """Wall-clock estimate of what is left to run: the runs' estimates, divided among the runs
        side by side."""
        total = sum(p.to_dict()["estimate_s"] for p in self.plans if not (p.error or p.data_guard))
        return total / int((self.side_by_side or {}).get("runs") or 1)

    def to_dict(self) -> dict[str, Any]:
        return {"experiments": [p.to_dict() for p in self.plans], "untestable": self.unlinked,
                "untestable_texts": self.unlinked_texts, "side_by_side": self.side_by_side,
                "estimate_s": round(self.estimate_s(), 1),
                "verdicts": self.verdicts, "ran": self.ran, "reused": self.reused, "failed": self.failed}


def build_plans(store: Store, registry: Registry, targets: list[str], opts: Options, *,
                all_claims: bool = False) -> ReproduceResult:
    if opts.jobs is not None and opts.side_by_side is None:
        runs, each, why = decide_jobs(opts.jobs, device_type=_device_type(opts.device))
        opts = replace(opts, side_by_side={"runs": runs, "threads": each, "why": why})
    exp_claims, unlinked = targets_to_experiments(store, registry, targets, all_claims=all_claims, extended=opts.extended)
    plans = [plan_experiment(store, registry.get(name), cl, opts) for name, cl in sorted(exp_claims.items())]
    seen: dict[str, str] = {}
    for p in plans:  # identical runs planned by two experiments run once and are copied to the other
        for sl in p.slots:
            if sl.state in TO_RUN and sl.config_hash in seen:
                sl.state, sl.estimate_s, sl.estimate_source = "shared", 0.0, f"same run as {seen[sl.config_hash]}"
            seen.setdefault(sl.config_hash, sl.label())
    reasons: dict[str, str] = {}
    texts: dict[str, str] = {}
    with store.read() as s:
        for p in plans:
            for cid in p.claims:
                c = s.get(Claim, cid)
                p.claim_texts[cid] = c.text if c else ""
        cache: dict = {}
        for cid in unlinked:
            c = s.get(Claim, cid)
            texts[cid] = c.text
            links = s.exec(select(ExperimentLink).where(ExperimentLink.claim_id == cid)).all()
            if any(l.active and l.experiment in registry.experiments for l in links):
                reasons[cid] = "linked only to extended-tier experiments (run with --extended)"
            elif any(not l.active for l in links):
                reasons[cid] = "unlinked by hand (`claims link --reset` restores the rule)"
            else:
                reasons[cid] = untestable_reason(c, registry, report_context(s, c, cache))
    return ReproduceResult(plans=plans, unlinked=reasons, unlinked_texts=texts, side_by_side=opts.side_by_side)


def run_plans(store: Store, result: ReproduceResult, opts: Options, *, reporter: Optional["Reporter"] = None) -> ReproduceResult:
    rep = reporter or Reporter()
    todo = _runnable_slots(result.plans)
    rep.start(len(todo))
    for p in result.plans:
        if p.error:
            rep.note(f"[red]{p.experiment.name}: {p.error}")
        for w in p.warnings:
            rep.note(f"[yellow]warning: {w}")
    if "auto" in (opts.precision, opts.threads) and load_calibration() is None and _device_type(opts.device) == "cpu" and any(
            str((sl.unit.config if sl.unit else {}).get("model") or "").startswith("offline:")
            and sl.state in TO_RUN for _, sl in todo):
        rep.note("calibrating this machine once (precision and threads by measurement, about a minute)")
        machine_settings(opts.precision, opts.threads, load={})
    sbs = result.side_by_side
    if sbs is not None:
        opts = replace(opts, side_by_side=sbs)
    workers = []
    if sbs and sbs["runs"] > 1 and any(sl.state in TO_RUN for _, sl in todo):
        rep.note(f"{sbs['why']}: running {sbs['runs']} at a time")
        workers = start_side_workers(store, result, opts, sbs["runs"] - 1)
    ok = False
    try:
        _run_loop(store, result, todo, opts, rep, side=bool(workers))
        ok = True
    finally:
        stop_side_workers(workers, interrupted=not ok)
    rep.stop()
    return result


def _runnable_slots(plans: list) -> list:
    """(plan, slot) of every plan that can run (no error, no data-guard refusal), longest estimate first:
    with runs side by side, a long run started last would leave the other cores idle at the end
    (longest-processing-time-first scheduling). Equal estimates keep the plans' order."""
    slots = [(p, sl) for p in plans if not (p.error or p.data_guard) for sl in p.slots]
    return sorted(slots, key=lambda ps: -(ps[1].estimate_s or 0.0))


def _run_loop(store: Store, result: ReproduceResult, todo: list, opts: Options, rep: "Reporter",
              side: bool = False) -> None:
    """Claim and run every slot of `todo`; slots another process holds are waited for. side: worker
    processes of this invocation run beside this one, so a slot that was to do and is found finished
    was run by one of them."""
    pending = list(todo)
    last_wait = -1
    # Runs found finished (a resumed job) or identical to a finished run (suites sharing arms) are
    # counted per experiment and told in one line each at the end: dozens of lines said nothing else.
    not_run: dict[str, dict[str, list[int]]] = {}
    while pending:
        waiting = []
        for p, sl in pending:
            was_todo = sl.state in TO_RUN
            state, rid = claim_slot(store, sl, opts)
            if state in ("finished", "reused"):
                sl.state, sl.run_id = ("finished" if state == "finished" else "reuse"), rid
                if side and was_todo and state == "finished":
                    result.ran += 1
                    rep.advance(f"{sl.label()}: finished by a side-by-side process (run {rid})")
                    continue
                result.reused += 1
                why = "already finished" if state == "finished" else "reused from identical finished runs"
                not_run.setdefault(p.experiment.name, {}).setdefault(why, []).append(rid)
                rep.advance(None)
                continue
            if state == "busy":
                waiting.append((p, sl))
                continue
            sl.run_id = rid
            rep.begin_run(sl)
            execute_slot(store, p, sl, rid, opts, progress=rep.train_progress)
            if sl.state == "failed":
                result.failed += 1
                rep.advance(f"[red]{sl.label()}: FAILED {sl.error}")
            else:
                result.ran += 1
                rep.advance(f"{sl.label()}: finished in {sl.wall_s:.0f} s (run {rid})")
        if waiting:
            if len(waiting) != last_wait:
                rep.note(f"waiting for {len(waiting)} run(s) held by other processes")
                last_wait = len(waiting)
            time.sleep(opts.poll_s)
        pending = waiting
    for name, reasons in not_run.items():
        for why, rids in reasons.items():
            rep.note(f"{name}: {len(rids)} run(s) {why} ({_id_ranges(rids)})")


def _id_ranges(ids: list[int]) -> str:
    """'runs 38-67, 70' for sorted run ids: short enough for one line."""
    ids = sorted(ids)
    spans: list[list[int]] = []
    for i in ids:
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    text = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in spans)
    return f"run{'s' if len(ids) > 1 else ''} {text}"


# --- runs side by side ------------------------------------------------------------------------------
def _side_worker(url: str, plans: list, opts: Options) -> None:
    """A worker process: claims and runs the same plans' slots as the main process (the store's slot
    claims keep each run to one process); SIGTERM marks its current run KILLED, like Ctrl-C."""
    from ..store.db import open_store

    def _term(signum, frame):  # noqa: ANN001
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _term)
    store = open_store(url)
    try:
        _run_loop(store, ReproduceResult(plans=plans, unlinked={}), _runnable_slots(plans), opts, Reporter())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        store.close()


def start_side_workers(store: Store, result: ReproduceResult, opts: Options, n: int) -> list:
    """Start n worker processes (spawn: a fresh interpreter, no copy of this process's torch threads)."""
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_side_worker, args=(store.url, result.plans, opts), daemon=False,
                           name=f"claims-side-{i + 1}") for i in range(n)]
    for w in workers:
        w.start()
    return workers


def stop_side_workers(workers: list, *, interrupted: bool, timeout_s: float = 60.0) -> None:
    """Wait for the workers (they end when no slot is left: the main loop returns only then too); when
    the main process was interrupted they are sent SIGTERM, which marks their current runs KILLED."""
    for w in workers:
        if interrupted and w.is_alive():
            w.terminate()
    for w in workers:
        w.join(timeout=timeout_s)
        if w.is_alive():
            w.kill()
            w.join(timeout=5)


def reproduce(store: Store, registry: Registry, targets: list[str], opts: Options, *, all_claims: bool = False,
              dry_run: bool = False, reporter: Optional["Reporter"] = None) -> ReproduceResult:
    """Plan the targets' experiments and (unless dry_run) run every unit that is not finished yet.
    Judging is separate: xlt_claims.verdict.judge.judge_plans(store, result)."""
    result = build_plans(store, registry, targets, opts, all_claims=all_claims)
    if dry_run:
        return result
    run_plans(store, result, opts, reporter=reporter)
    return result


# --- progress ---------------------------------------------------------------------------------------

class Reporter:
    """No-op progress sink; the CLI passes a rich implementation."""

    def start(self, total: int) -> None: ...
    def begin_run(self, slot: Slot) -> None: ...
    def advance(self, message: Optional[str]) -> None: ...  # None: count the run, print nothing
    def note(self, message: str) -> None: ...
    def stop(self) -> None: ...

    def train_progress(self, *args: Any, **kwargs: Any) -> None: ...
