"""Experiment kind "task-suite": the same arms x seeds on SEVERAL tasks through the shared train loop,
judged by a rule that looks across tasks (e.g. "improves all four tasks", "the best fusion layer
differs between tasks"). Used for report 004's feature-aggregation claims and the OT sweep.

File layout (reproductions/*.toml)::

    kind = "task-suite"
    [task]
    proxy = "logt-cls"                          # required by the registry; the suite's tasks are below
    [params]
    tasks = ["logt-cls", "logt-pair"]           # offline (proxy) tasks, used with --proxy
    real_tasks = ["xnli", "pawsx"]              # the claims' own: each replaces the proxy task at the same
                                                # position when it is reachable (embedded or registered;
                                                # all of them from DIR with --data DIR)
    task_options = {}                           # passed to load_task for every task
    [params.skip_real.quick]                    # optional: per profile, real tasks NOT read by default,
    pawsx = "why (shown in --dry-run and on the verdict)"  # the proxy at their position runs instead;
                                                # --data DIR and other profiles still read them
    [[arms]]                                    # as in training experiments
    name = "baseline"
    method = "baseline"
    [[arms]]
    name = "aif-L6"
    method = "aif"
    params = { layer = 6 }
    [run]
    seeds = [1, 2, 3]
    profile = "quick"
    [decision]
    rule = "best-gain"                          # one of RULES below, with its own keys
    ...

Every (task, arm, seed) is one Run (arm stored as "<task>/<arm>"). Its config hash covers the task,
data fingerprint, model, method (+ params), profile, overrides and seed -- not the experiment -- so
identical runs are shared between suites (the baseline of the aggregation suite is the OT sweep's).

Rules (pre-registered in the file's [decision] with `rule = ...`): best-gain (the best dev-selected
candidate against the baseline on every task), best-layer-differs (the best layer per task, chosen on
dev and confirmed on test by a crossover), gate-differs (AIF's lower-layer weight differs between two
tasks and varies across inputs). Their statistics, guards and documentation are in
xlt_claims.verdict.task_suite; this module validates the file, plans the units and runs them.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any, Callable, Optional

from ..experiment import Experiment, TaskSpec
from ..guards import label_stats
from ...experiments.calibrate import run_work
from ...experiments.profiles import hash_extras
from ...experiments.data import bitext_folder
from ...experiments.data.real import TATOEBA_LANGS
from ..tasks import TaskError, benchmark_for, check_data_folder, is_real_set, load_source
from . import ExperimentKind, Planned, RunOutput, Unit, benchmark_row, unique_differences

CONFIG_SCHEMA = 1
RULES = ("best-gain", "best-layer-differs", "gate-differs")
_PARAM_KEYS = {"tasks", "real_tasks", "task_options", "skip_real"}
_RULE_KEYS = {
    "best-gain": {"baseline", "candidates", "metric", "select_metric", "min_effect", "range", "expected_effect",
                  "alpha", "min_seeds"},
    "best-layer-differs": {"candidates", "metric", "select_metric", "margin", "expected_effect", "alpha", "min_seeds"},
    "gate-differs": {"candidates", "tasks", "min_difference", "min_input_spread", "alpha", "min_seeds",
                     "expected_effect"},
}


def suite_arms(exp: Experiment) -> list[dict[str, Any]]:
    """The file's [[arms]] as plain dicts (name, method, params, overrides)."""
    raw = (exp.raw or {}).get("arms") or []
    out = []
    for a in raw:
        if not isinstance(a, dict) or "name" not in a:
            raise ValueError("every [[arms]] entry needs a 'name'")
        extra = set(a) - {"name", "method", "params", "overrides"}
        if extra:
            raise ValueError(f"unknown arm key {sorted(extra)[0]!r}")
        out.append({"name": a["name"], "method": a.get("method", "baseline"), "params": dict(a.get("params", {})),
                    "overrides": dict(a.get("overrides", {}))})
    return out


def suite_decision(exp: Experiment) -> dict[str, Any]:
    """The file's [decision] table as written (the rule and its keys)."""
    return dict((exp.raw or {}).get("decision") or {})


def skipped_real(exp: Experiment, profile: Optional[str]) -> dict[str, str]:
    """{real task: reason} the file's [params.skip_real.<profile>] keeps from running by default."""
    return dict(((exp.params.get("skip_real") or {}).get(profile or "") or {}))


def suite_sources(exp: Experiment, data_dir: Optional[str], use_proxy: bool = False,
                  profile: Optional[str] = None) -> list[dict[str, Any]]:
    """The suite's tasks under these options, each as reproduce.tasks.benchmark_for describes it. Positional:
    real_tasks[i] replaces tasks[i] when it is reachable (embedded or registered), else tasks[i] (the proxy)
    runs, with a note; --data DIR reads every real task from DIR; --proxy runs the proxy tasks. A real task
    that [params.skip_real.<profile>] names is not read by default in that profile: the proxy at its
    position runs, with the file's reason as the note (and a stated difference, see plan)."""
    proxies = list(exp.params["tasks"])
    reals = list(exp.params.get("real_tasks") or [])
    if data_dir:
        if not reals:
            raise TaskError(f"experiment {exp.name} has no real_tasks; run it without --data")
        return [benchmark_for(r, None, data_dir, use_proxy) for r in reals]
    skip = skipped_real(exp, profile)
    out = []
    for i in range(max(len(proxies), len(reals))):
        real, proxy = reals[i] if i < len(reals) else None, proxies[i] if i < len(proxies) else None
        src = benchmark_for(real, proxy, None, use_proxy)
        if real in skip and src["benchmark"] == "real":
            src = {**benchmark_for(real, proxy, None, use_proxy=True), "note": skip[real], "skipped_real": real}
        if src["name"] is not None and src["name"] not in [o["name"] for o in out]:
            out.append(src)
    return out


def suite_tasks(exp: Experiment, data_dir: Optional[str], use_proxy: bool = False,
                profile: Optional[str] = None) -> list[str]:
    return [s["name"] for s in suite_sources(exp, data_dir, use_proxy, profile)]


def load_suite_task(exp: Experiment, name: str, data_dir: Optional[str]):
    """Task `name` with the suite's task options: a real set from `data_dir` (else its registered folder or
    embedded copy), or a proxy task."""
    spec = TaskSpec(proxy=name, real=None, options=dict(exp.params.get("task_options") or {}))
    return load_source(replace(exp, task=spec), {"name": name, "data_dir": data_dir, "proxy_spec": not is_real_set(name)})


def real_method_params(method: str, params: dict[str, Any], task: Any, data_dir: Optional[str]) -> dict[str, Any]:
    """A method's parameters on a real task: OT alignment reads real parallel text (Tatoeba, in the task's
    test languages that Tatoeba has) instead of the LibreOffice bitext, unless the file names a bitext."""
    if method != "ot-align" or task.proxy or "bitext" in params:
        return params
    langs = [lg for lg in sorted(task.test) if lg != "en" and lg in TATOEBA_LANGS]
    out = {**params, "bitext": "tatoeba", "langs": langs}
    folder = bitext_folder("tatoeba", data_dir)  # DIR's Tatoeba files; a DIR without them: the embedded copy
    if folder:
        check_data_folder("tatoeba", folder)  # a damaged file stops the command before any run
        out["bitext_dir"] = folder
    return out


def _validate_skip_real(skip: Any, tasks: list[str], reals: list[str]) -> None:
    """[params.skip_real]: {profile: {real task: reason}}; each real task needs a proxy at its position."""
    from ..experiment import PROFILES

    if skip is None:
        return
    if not isinstance(skip, dict):
        raise ValueError("params.skip_real must map a profile to a table {real task = \"reason\"}")
    for prof, table in skip.items():
        if prof not in PROFILES:
            raise ValueError(f"params.skip_real: unknown profile {prof!r} (profiles: {', '.join(PROFILES)})")
        if not isinstance(table, dict):
            raise ValueError(f"params.skip_real.{prof} must be a table {{real task = \"reason\"}}")
        for name, why in table.items():
            if name not in reals:
                raise ValueError(f"params.skip_real.{prof}: {name!r} is not one of real_tasks {reals}")
            if reals.index(name) >= len(tasks):
                raise ValueError(f"params.skip_real.{prof}: {name!r} has no proxy task at its position in tasks")
            if not isinstance(why, str) or not why.strip():
                raise ValueError(f"params.skip_real.{prof}.{name}: give the reason (a non-empty string)")


class TaskSuite(ExperimentKind):
    default_seeds = (1,)

    def validate(self, exp: Experiment) -> None:
        from ...experiments.methods import get_method  # method modules import torch

        bad = set(exp.params) - _PARAM_KEYS
        if bad:
            raise ValueError(f"unknown params {sorted(bad)} (allowed: {sorted(_PARAM_KEYS)})")
        tasks = exp.params.get("tasks")
        if not isinstance(tasks, list) or len(tasks) < 1 or not all(isinstance(t, str) for t in tasks):
            raise ValueError("params.tasks must be a list of task names")
        _validate_skip_real(exp.params.get("skip_real"), tasks, list(exp.params.get("real_tasks") or []))
        arms = suite_arms(exp)
        names = [a["name"] for a in arms]
        if len(arms) < 2 or len(set(names)) != len(names):
            raise ValueError(f"need at least two [[arms]] with distinct names (got {names})")
        for a in arms:
            get_method(a["method"], **a["params"])  # unknown method / bad params fail at load time
        dec = suite_decision(exp)
        rule = dec.get("rule")
        if rule not in RULES:
            raise ValueError(f"decision.rule must be one of {RULES} (got {rule!r})")
        extra = set(dec) - _RULE_KEYS[rule] - {"rule"}
        if extra:
            raise ValueError(f"unknown decision key(s) {sorted(extra)} for rule {rule!r}")
        cands = dec.get("candidates")
        if not isinstance(cands, list) or not cands or not set(cands) <= set(names):
            raise ValueError(f"decision.candidates must list arms of this file ({names})")
        if rule in ("best-gain", "best-layer-differs"):
            sel = dec.get("select_metric", "dev:en:accuracy")
            if not (str(sel).startswith("dev:") or sel == "summary.dev_en"):
                raise ValueError("select_metric must use the dev split (choosing on test is biased)")
        if rule == "best-layer-differs" and not float(dec.get("margin", 1.0)) > 0:
            raise ValueError("margin must be > 0 (points)")
        if rule == "best-gain":
            if dec.get("baseline") not in names or dec.get("baseline") in cands:
                raise ValueError("decision.baseline must be an arm that is not a candidate")
            if float(dec.get("min_effect", 1.0)) <= 0:
                raise ValueError("min_effect must be > 0")
            rng = dec.get("range")
            if rng is not None and not (isinstance(rng, list) and len(rng) == 2 and 0 < rng[0] < rng[1]):
                raise ValueError("range must be [lo, hi] with 0 < lo < hi (points)")
        if rule in ("best-layer-differs", "gate-differs"):
            by = {a["name"]: a for a in arms}
            if any("layer" not in by[c]["params"] for c in cands):
                raise ValueError(f"rule {rule!r}: every candidate arm needs params.layer")
            if len(tasks) < 2:
                raise ValueError(f"rule {rule!r} compares tasks: params.tasks needs at least two")

    # --- units ------------------------------------------------------------------------------------
    def plan(self, exp: Experiment, opts: Any, model: str, profile: str, seeds: list[int]) -> Planned:
        from ...experiments.methods import get_method  # method modules import torch

        data_dir = opts.data_dir
        run_over = (exp.raw.get("run") or {}).get("overrides") or {}
        units = []
        differences: list[dict[str, Any]] = []
        benchmarks: list[dict[str, Any]] = []
        for src in suite_sources(exp, data_dir, getattr(opts, "proxy", False), profile):
            tname = src["name"]
            task = load_suite_task(exp, tname, src["data_dir"])
            benchmarks.append(benchmark_row(task.name, src, exp.task.claim_dataset))
            if src.get("skipped_real"):  # stated on the verdict; the proxy's loss of weight is the data difference's
                title = src.get("stands_for") or src["skipped_real"]
                differences.append({"aspect": "benchmark", "paper": title, "ours": f"{task.name} (proxy) in the "
                                    f"{profile} profile, {title} not run", "weight": 1.0, "why": src["note"],
                                    "source": "experiment file", "task": task.name})
            differences += [{**d, "task": task.name} for d in (task.provenance or {}).get("deviations") or []]
            fp = task.fingerprint()
            for a in suite_arms(exp):
                params = real_method_params(a["method"], a["params"], task, src["data_dir"])
                method = get_method(a["method"], **params)
                differences += [{**d, "source": "method", "arm": a["name"], "task": task.name}
                                for d in method.stated_differences(profile)]
                desc = json.loads(json.dumps(method.describe(), sort_keys=True, default=str))
                overrides = {**run_over.get(profile, {}), **a["overrides"], **(opts.overrides or {})}
                work = run_work(task, profile, overrides)
                for seed in seeds:
                    cfg = {"schema": CONFIG_SCHEMA, "kind": exp.kind, "model": model, "seed": int(seed),
                           "task": task.name, "task_spec": tname, "proxy": bool(task.proxy), "data_fingerprint": fp,
                           "data_dir": src["data_dir"], "method": desc, "method_name": a["method"],
                           "method_params": params, "profile": profile, "overrides": overrides, "suite_arm": a["name"],
                           **hash_extras(profile, task.name, task.task_type, overrides)}
                    units.append(Unit(f"{task.name}/{a['name']}", int(seed), cfg, estimate_s=60.0,
                                      cost_factor=method.cost_factor(profile), work=work))
        return Planned(units, proxy_data=any(b["benchmark"] == "proxy" for b in benchmarks),
                       differences=unique_differences(differences), benchmarks=benchmarks)

    def execute(self, exp: Experiment, unit: Unit, opts: Any,
                progress: Optional[Callable[..., None]] = None) -> RunOutput:
        from ...experiments.methods import get_method  # method modules import torch
        from ...experiments.train import RunSpec, train_and_evaluate  # the train loop imports torch

        c = unit.config
        cpu0 = time.process_time()
        task = load_suite_task(exp, c.get("task_spec", c["task"]), c.get("data_dir"))
        method = get_method(c["method_name"], **c["method_params"])
        model = opts.model or exp.model.default
        spec = RunSpec(model=model, profile=c["profile"], seed=unit.seed, device=opts.device or "auto",
                       overrides={**c["overrides"], **opts.runtime})
        res = train_and_evaluate(spec, task, method, progress=progress)
        manifest = dict(res.manifest)
        manifest["suite"] = {"task": task.name, "arm": c["suite_arm"], "label_stats": label_stats(task),
                             "cpu_s": round(time.process_time() - cpu0, 2)}
        # the suite keeps no per-step history on the Run row (the manifest has the timings)
        return RunOutput(res.metrics, manifest)
