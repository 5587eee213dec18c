"""This machine's precision and thread count, chosen by measurement, and the load it is under.

The calibration (xlt_claims.experiments.calibrate: matmul, one training step and one inference forward
of the bundled encoder in fp32 and bf16 autocast, with 1 and 2 threads) runs once per machine and is
cached under the project's cache dir (`$XLT_CLAIMS_CACHE/machine/`), keyed by the CPU model, the CPU's
flags, the core count and the torch version. A run then uses the faster setting (`choose`); before
each run the runner looks at the load (`sense_load`, recorded in the manifest) and, where OpenMP
threads spin-wait, drops to as many threads as there are free cores (`adapt`): a spinning thread takes
the core a competitor needs and a descheduled one stalls the team. With OMP_WAIT_POLICY=PASSIVE (what
`claims` sets) the team is kept, which measured faster under load. `--precision` / `--threads`
override both choices.

    from xlt_claims.reproduce.machine import machine_settings
    ms = machine_settings("auto", "auto")        # calibrates on the first call on this machine
    ms.precision, ms.threads, ms.why, ms.to_dict()
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from ..paths import cache_dir

PRECISIONS = ("fp32", "bf16")
CALIBRATION_VERSION = 2  # 2: runs side by side measured
# precision: bf16 must be at least this much faster than fp32 to be chosen (fp32 is exact: a tie goes to it)
BF16_MIN_GAIN = 1.10
# threads: more threads must be at least this much faster (a second thread that barely helps only adds
# a thread to be descheduled under load)
THREAD_MIN_GAIN = 1.15
# load: other processes using at least this many cores leave too little for a thread team
BUSY_CORE = 0.5
# runs side by side (--jobs auto): together they must get through training steps at least this much
# faster than one run with all the threads, and not lose on inference (the evaluation)
JOBS_MIN_GAIN = 1.15
JOBS_MIN_EVAL_GAIN = 0.95


class MachineError(ValueError):
    """A bad --precision / --threads value."""


# ------------------------------------------------------------------------------- identity and cache
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return ""


def torch_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "none"


def machine_identity() -> dict[str, Any]:
    """What the calibration is valid for: CPU model (+ a hash of its flags: the same marketing name comes
    with and without avx512_bf16), core count, torch version."""
    flags = _cpu_flags()
    return {"cpu": cpu_model(), "cpu_flags_sha": hashlib.sha256(flags.encode()).hexdigest()[:12],
            "bf16_flags": sorted({"avx512_bf16", "amx_bf16"} & set(flags.split())), "cores": os.cpu_count() or 1,
            "torch": torch_version(), "version": CALIBRATION_VERSION}


def machine_key(identity: Optional[dict[str, Any]] = None) -> str:
    ident = identity or machine_identity()
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def calibration_path(identity: Optional[dict[str, Any]] = None) -> Path:
    return cache_dir("machine") / f"calibration-{machine_key(identity)}.json"


def load_calibration() -> Optional[dict[str, Any]]:
    """This machine's cached calibration, or None (never measured, or written for another CPU/torch)."""
    ident = machine_identity()
    p = calibration_path(ident)
    if not p.exists():
        return None
    try:
        cal = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return cal if cal.get("identity") == ident else None


def run_calibration(progress: Optional[Callable[..., None]] = None, **kw: Any) -> dict[str, Any]:
    """Measure now and cache (written whole, then renamed: a killed calibration leaves no half file)."""
    from ..experiments.calibrate import calibrate  # imports torch

    ident = machine_identity()
    load_before = sense_load(sample_s=0.5)
    cores = ident["cores"]
    kw.setdefault("side_by_side_procs", 2 if cores >= 2 else 0)
    kw.setdefault("side_by_side_threads", max(1, cores // 2))
    cal = calibrate(threads=sorted({1, min(2, cores), cores}), progress=progress, **kw)
    cal.update(identity=ident, key=machine_key(ident), measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               load=load_before, omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"))
    p = calibration_path(ident)
    tmp = p.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cal, indent=1, sort_keys=True))
    os.replace(tmp, p)
    cal["path"] = str(p)
    return cal


def calibration(recalibrate: bool = False, progress: Optional[Callable[..., None]] = None) -> dict[str, Any]:
    cal = None if recalibrate else load_calibration()
    if cal is None:
        cal = run_calibration(progress)
    cal.setdefault("path", str(calibration_path()))
    return cal


# ------------------------------------------------------------------------------------ load
def usable_cores() -> int:
    """The cores this process may run on (taskset / cgroup cpusets), else the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _proc_stat() -> Optional[tuple[int, int]]:
    """(busy, total) jiffies over all CPUs from /proc/stat (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals[:8]) - idle, sum(vals[:8])


def sense_load(sample_s: float = 1.0) -> dict[str, Any]:
    """How busy the machine is without us: the 1-minute load average, and (Linux) the cores that other
    processes kept busy over `sample_s` seconds (all CPU time in /proc/stat minus this process's own).
    Called between runs, when this process is idle."""
    cores = usable_cores()
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        load1 = None
    out: dict[str, Any] = {"cores": cores, "loadavg_1m": None if load1 is None else round(load1, 2)}
    a = _proc_stat()
    if a is not None and sample_s > 0:
        own0 = sum(os.times()[:2])
        time.sleep(sample_s)
        b = _proc_stat()
        own = sum(os.times()[:2]) - own0
        if b is not None and b[1] > a[1]:
            frac = (b[0] - a[0]) / (b[1] - a[1])
            own_cores = own / sample_s
            out["others_busy_cores"] = round(max(0.0, frac * (os.cpu_count() or cores) - own_cores), 2)
    if "others_busy_cores" not in out and load1 is not None:
        out["others_busy_cores"] = round(load1, 2)  # no /proc/stat: the load average is the best we have
    return out


# ------------------------------------------------------------------------------------ choice
@dataclass
class MachineSettings:
    """What a run uses and why (stored in its manifest as "machine")."""

    precision: Optional[str]  # fp32 | bf16 | None = the profile's own setting
    threads: Optional[int]  # None = torch's default
    why: list[str] = field(default_factory=list)
    precision_source: str = "profile"  # flag | calibration | profile
    threads_source: str = "default"  # flag | calibration | load | default
    calibrated_threads: Optional[int] = None  # what the quiet calibration chose, before load adaptation
    calibration_key: Optional[str] = None
    load: Optional[dict[str, Any]] = None
    estimate: Optional[dict[str, Any]] = None  # per-token rates of the chosen setting (for time estimates)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY")
        return d

    def overrides(self) -> dict[str, Any]:
        """The train-loop settings a run gets (only what was decided here)."""
        out: dict[str, Any] = {}
        if self.precision is not None:
            out["precision"] = self.precision
        if self.threads is not None:
            out["threads"] = self.threads
        return out


def parse_precision(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    v = str(value).lower()
    v = {"float32": "fp32", "bfloat16": "bf16"}.get(v, v)
    if v not in ("auto", *PRECISIONS):
        raise MachineError(f"--precision {value!r}: use auto, fp32 or bf16")
    return v


def _auto_or_count(value: Any, flag: str) -> Any:
    """None, "auto" or an integer >= 1 (the value of --threads / --jobs); else a MachineError."""
    if value is None:
        return None
    if str(value).lower() == "auto":
        return "auto"
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise MachineError(f"{flag} {value!r}: use auto or a number >= 1") from None
    if n < 1:
        raise MachineError(f"{flag} {value!r}: use auto or a number >= 1")
    return n


def parse_threads(value: Any) -> Any:
    return _auto_or_count(value, "--threads")


def _fmt(s: float) -> str:
    return f"{s * 1000:.0f} ms"


def choose(cal: dict[str, Any]) -> tuple[str, int, str, str]:
    """(precision, threads, why the precision, why the threads) from a calibration: the fastest training step, with ties going to fp32
    and to fewer threads."""
    steps = cal.get("step_s") or {}
    best_t: dict[str, tuple[float, int]] = {}
    for p, by_t in steps.items():
        ts = sorted((int(t), s) for t, s in by_t.items())
        t_best, s_best = ts[0]
        for t, s in ts[1:]:
            if s_best / s >= THREAD_MIN_GAIN:
                t_best, s_best = t, s
        best_t[p] = (s_best, t_best)
    if "fp32" not in best_t:
        raise MachineError("calibration has no fp32 measurement; run `claims machine --recalibrate`")
    prec = "fp32"
    s32, t32 = best_t["fp32"]
    if "bf16" in best_t:
        s16, _ = best_t["bf16"]
        gain = s32 / s16
        if gain >= BF16_MIN_GAIN:
            prec = "bf16"
            pwhy = f"bf16 autocast: step {_fmt(s16)} vs fp32 {_fmt(s32)} ({gain:.2f}x faster)"
        else:
            pwhy = f"fp32: bf16 step {_fmt(s16)} vs fp32 {_fmt(s32)} (gain {gain:.2f}x < {BF16_MIN_GAIN}x)"
    else:
        pwhy = f"fp32: bf16 not measured ({(cal.get('skipped') or {}).get('bf16', 'not requested')})"
    by_t = {int(t): s for t, s in steps[prec].items()}
    threads = best_t[prec][1]
    twhy = f"{threads} thread(s): the only count measured"
    if len(by_t) > 1:
        one = by_t.get(1)
        if threads == 1 and one:
            more = {t: s for t, s in by_t.items() if t > 1}
            t2, s2 = min(more.items(), key=lambda kv: kv[1])
            twhy = (f"1 thread: {t2} threads {_fmt(s2)} vs 1 thread {_fmt(one)} "
                    f"({one / s2:.2f}x < {THREAD_MIN_GAIN}x)")
        elif one:
            twhy = (f"{threads} threads: step {_fmt(by_t[threads])} vs 1 thread {_fmt(one)} "
                    f"({one / by_t[threads]:.2f}x)")
    busy = (cal.get("load") or {}).get("others_busy_cores")
    if busy is not None and busy >= BUSY_CORE and len(by_t) > 1:
        # two threads beside other processes lose to one: that comparison says nothing about a quiet machine
        threads = max(by_t)
        twhy = (f"{threads} threads: the calibration ran beside other processes ({busy:.1f} cores busy), so its "
                "thread comparison is not used; every run adapts to the load it finds")
    return prec, threads, pwhy, twhy


def wait_policy() -> str:
    """OpenMP's wait policy for torch in this process (`claims` sets PASSIVE before torch loads)."""
    return (os.environ.get("OMP_WAIT_POLICY") or "default (spin)").upper()


def adapt(threads: int, load: dict[str, Any], policy: Optional[str] = None) -> tuple[int, Optional[str]]:
    """Threads for the next run given the load of other processes: with fewer free cores than threads,
    as many threads as there are free cores, at least one -- where OpenMP threads spin. With PASSIVE
    threads the team is kept: beside one and two CPU-bound competitors (load average 12-14) two
    PASSIVE threads ran 4.2-5.0 s/step against 5.6-8.5 s/step for one thread (docs/performance.md)."""
    busy = load.get("others_busy_cores")
    cores = int(load.get("cores") or 1)
    if busy is None or threads <= 1:
        return threads, None
    free = cores - busy
    if free >= threads - 1 + BUSY_CORE:  # e.g. 2 threads need 1.5 free cores
        return threads, None
    if (policy or wait_policy()) == "PASSIVE":
        return threads, (f"{threads} threads kept beside other processes ({busy:.1f} of {cores} cores busy, "
                         f"load average {load.get('loadavg_1m')}): OpenMP threads sleep (PASSIVE)")
    n = max(1, min(threads, int(free + 1 - BUSY_CORE)))
    return n, (f"{n} thread(s), not {threads}: other processes keep {busy:.1f} of {cores} cores busy "
               f"(load average {load.get('loadavg_1m')})")


def rates(cal: dict[str, Any], precision: str, threads: int, side_by_side: int = 1) -> dict[str, Any]:
    """Seconds per training token and per evaluated token of one setting (nearest measured thread count);
    side_by_side > 1: of one of that many runs running at the same time (as measured by the calibration)."""
    shape = cal["shape"]
    tokens = shape["batch"] * shape["seq"]
    sbs = (cal.get("side_by_side") or {}).get(precision) or {}
    if side_by_side > 1 and sbs.get("procs") == side_by_side and "step_s" in sbs:
        return {"train_s_per_token": sbs["step_s"] / tokens, "eval_s_per_token": sbs["forward_s"] / tokens,
                "load_s": cal.get("load_s", 0.0), "precision": precision, "threads": int(sbs["threads"]),
                "side_by_side": side_by_side, "step_flops_per_token": (cal.get("step_flops") or 0) / tokens}
    steps = cal["step_s"].get(precision) or cal["step_s"]["fp32"]
    fwd = cal["forward_s"].get(precision) or cal["forward_s"]["fp32"]
    t = min((int(k) for k in steps), key=lambda k: (abs(k - threads), k))
    return {"train_s_per_token": steps[str(t)] / tokens, "eval_s_per_token": fwd[str(t)] / tokens,
            "load_s": cal.get("load_s", 0.0), "precision": precision, "threads": t, "side_by_side": 1,
            "step_flops_per_token": (cal.get("step_flops") or 0) / tokens}


def parse_jobs(value: Any) -> Any:
    """--jobs: "auto" (by calibration and load), a number >= 1, or None (one run at a time)."""
    return _auto_or_count(value, "--jobs")


def choose_jobs(cal: dict[str, Any]) -> tuple[int, int, str]:
    """(runs at a time, threads each, why) from a calibration: the measured side-by-side processes when
    together they train >= JOBS_MIN_GAIN x faster than one run with the chosen threads and evaluate no
    slower (>= JOBS_MIN_EVAL_GAIN); else one run at a time with the chosen threads."""
    prec, threads, _, _ = choose(cal)
    sbs = (cal.get("side_by_side") or {}).get(prec)
    if not sbs or "step_s" not in sbs:
        why = (sbs or {}).get("error") or "not measured (`claims machine --recalibrate`)"
        return 1, threads, f"one run at a time: runs side by side {why}"
    n, t_each = int(sbs["procs"]), int(sbs["threads"])
    one_step, one_fwd = cal["step_s"][prec][str(threads)], cal["forward_s"][prec][str(threads)]
    g_train, g_eval = n * one_step / sbs["step_s"], n * one_fwd / sbs["forward_s"]
    what = (f"{n} runs x {t_each} thread{'s' if t_each > 1 else ''} side by side: training {g_train:.2f}x, "
            f"evaluation {g_eval:.2f}x the throughput of one run x {threads} thread{'s' if threads > 1 else ''}")
    if g_train >= JOBS_MIN_GAIN and g_eval >= JOBS_MIN_EVAL_GAIN:
        return n, t_each, what
    return 1, threads, f"one run at a time: {what} (needs >= {JOBS_MIN_GAIN}x and >= {JOBS_MIN_EVAL_GAIN}x)"


def decide_jobs(jobs: Any, *, device_type: str = "cpu", load: Optional[dict[str, Any]] = None) -> tuple[int, Optional[int], str]:
    """(runs at a time, threads per run or None, why) for --jobs. auto: the calibration's choice on a
    quiet machine, one run at a time where other processes keep cores busy (the side-by-side runs were
    measured on free cores) or on a GPU; a number: as given, the cores split between the runs."""
    jobs = parse_jobs(jobs)
    if jobs is None or jobs == 1:
        return 1, None, "one run at a time"
    if jobs != "auto":
        each = max(1, usable_cores() // jobs)
        return jobs, each, f"{jobs} runs side by side (--jobs), {each} thread(s) each"
    if device_type != "cpu":
        return 1, None, f"one run at a time on {device_type}"
    cal = load_calibration()
    if cal is None:
        return 1, None, "one run at a time (this machine is not calibrated: `claims machine`)"
    n, each, why = choose_jobs(cal)
    if n > 1:
        load = load if load is not None else sense_load()
        busy = load.get("others_busy_cores")
        if busy is not None and busy >= BUSY_CORE:
            return 1, None, (f"one run at a time: other processes keep {busy:.1f} of {load.get('cores')} cores busy "
                             f"(calibrated: {why})")
    return n, (each if n > 1 else None), why


def machine_settings(precision: Optional[str] = "auto", threads: Any = "auto", *, calibrate_if_missing: bool = True,
                     load: Optional[dict[str, Any]] = None, device_type: str = "cpu",
                     progress: Optional[Callable[..., None]] = None) -> MachineSettings:
    """The settings for the next run. precision/threads: "auto" (calibration, then load), a value (the
    flag: used as given), or None (leave it to the profile / torch); "auto" applies to CPU runs only. With calibrate_if_missing=False an
    uncalibrated machine keeps the profile's precision and one thread per core, adapted to the load
    (a dry run, or a run of another model than the calibrated one, never spends a minute measuring)."""
    precision, threads = parse_precision(precision), parse_threads(threads)
    ms = MachineSettings(precision=None, threads=None)
    if device_type != "cpu":  # the calibration measures the CPU: a GPU run keeps the profile's policy
        ms.why.append(f"on {device_type}: the profile's precision and torch's threads (the calibration is the CPU's)")
        precision = None if precision == "auto" else precision
        threads = None if threads == "auto" else threads
    cal = None
    if "auto" in (precision, threads):
        cal = load_calibration()
        if cal is None and calibrate_if_missing:
            try:
                cal = run_calibration(progress)
            except Exception as exc:  # noqa: BLE001 - a machine that cannot be measured still runs, as before
                ms.why.append(f"calibration failed ({type(exc).__name__}: {exc})")
    chosen = choose(cal) if cal else None
    if cal:
        ms.calibration_key = cal.get("key")
    if precision == "auto":
        if chosen:
            ms.precision, ms.precision_source = chosen[0], "calibration"
            ms.why.append(chosen[2])
        else:
            ms.why.append("precision: the profile's (this machine is not calibrated: `claims machine`)")
    elif precision is not None:
        ms.precision, ms.precision_source = precision, "flag"
        ms.why.append(f"{precision}: --precision")
    if threads == "auto":
        if chosen:
            ms.threads = ms.calibrated_threads = chosen[1]
            ms.threads_source = "calibration"
            ms.why.append(chosen[3])
        else:  # not calibrated: torch's default (one thread per core), still adapted to the load
            ms.threads, ms.threads_source = usable_cores(), "default"
            ms.why.append(f"{ms.threads} thread(s): one per core (this machine is not calibrated: `claims machine`)")
        ms.load = load if load is not None else sense_load()
        n, reason = adapt(ms.threads, ms.load)
        if reason:
            if n != ms.threads:
                ms.threads, ms.threads_source = n, "load"
            ms.why.append(reason)
    elif threads is not None:
        ms.threads, ms.threads_source = threads, "flag"
        ms.why.append(f"{threads} thread(s): --threads")
    if cal:
        ms.estimate = rates(cal, ms.precision or chosen[0], ms.threads or chosen[1])
    elif ms.threads is None and ms.precision is None:
        ms.why.append("the profile's settings")
    return ms


def estimate_run_s(work: dict[str, Any], rate: dict[str, Any], cost_factor: float = 1.0) -> float:
    """Seconds one run takes at a calibrated rate: the encoder load, training tokens (x the method's
    declared cost factor) and evaluated tokens.

    With frozen bottom layers (`freeze_layers` = K, the share f = K / L in work["frozen_fraction"]) a
    training token costs (1 - f) of a calibrated training token, and each distinct training text's frozen
    part is computed once at the evaluation rate (a forward without backward); a dev text is
    evaluated in full the first time and at (1 - f) afterwards (its frozen states are kept); test texts
    are read once, in full."""
    f = float(work.get("frozen_fraction") or 0.0)
    train_tokens = work["steps"] * work["batch"] * work["length"]
    eval_length = work.get("eval_length", work["length"])
    eval_tokens = work["eval_examples"] * eval_length
    train_s = train_tokens * rate["train_s_per_token"] * cost_factor * (1.0 - f)
    eval_s = eval_tokens * rate["eval_s_per_token"]
    if f:
        train_s += work["distinct_train"] * work["length"] * rate["eval_s_per_token"] * f
        eval_s -= work["repeated_dev"] * eval_length * rate["eval_s_per_token"] * f
    return rate["load_s"] + train_s + eval_s
