"""Kind "train" (the default): a baseline arm and one or more treatment arms, fine-tuned over seeds on one
task through the shared train loop, compared per seed by the pre-registered paired rule.

A file of this kind needs [[arms]] (at least two) and a [decision] with baseline, treatment and metric
(documented in docs/verdicts.md). One Unit per (arm, seed); its config is everything that determines
the run's result (task, data fingerprint, data folder, model, method with its parameters, seed,
profile, train-loop overrides), not the experiment, so identical runs are shared between files.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from ...metrics import parse_metric
from ..experiment import DIRECTIONS, PROFILES, TIERS, Arm, DecisionRule, Experiment, SourceFile
from ..guards import label_stats
from ..tasks import TaskError, load_source, load_task_for, task_source
from ...experiments.calibrate import run_work
from ...experiments.profiles import hash_extras
from . import ExperimentKind, Planned, ReproduceError, RunOutput, Unit, benchmark_row, unique_differences

CONFIG_SCHEMA = 1
_FALLBACK_S = {"quick": 60.0, "paper": 3600.0}


def make_method(arm: Arm):
    """A fresh instance of the arm's registered method (xlt_claims.experiments.methods registry)."""
    from ...experiments.methods import get_method  # method modules import torch

    try:
        return get_method(arm.method, **arm.params)
    except KeyError as exc:
        raise ReproduceError(f"arm {arm.name!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ReproduceError(f"arm {arm.name!r}: bad params for method {arm.method!r}: {exc}") from None


def describe_method(method: Any) -> dict[str, Any]:
    """The method's description (name + params) as plain JSON values, as hashed into the config."""
    return json.loads(json.dumps(method.describe(), sort_keys=True, default=str))


class PairedTraining(ExperimentKind):
    required_keys = ("name", "description", "match", "task", "arms", "decision")
    default_seeds = (1, 2, 3)

    # --- the file ---------------------------------------------------------------------------------
    def parse(self, src: SourceFile, data: dict[str, Any], common: dict[str, Any]) -> Experiment:
        arms = _parse_arms(src, data["arms"])
        names = [a.name for a in arms]
        run = data.get("run", {})
        seeds = run.get("seeds", list(self.default_seeds))
        if isinstance(seeds, int):
            seeds = list(range(1, seeds + 1))
        if not seeds or not all(isinstance(s, int) for s in seeds):
            raise src.error("seeds", "'seeds' must be a positive count or a list of integers")
        profile = run.get("profile", "quick")
        if profile not in PROFILES:
            raise src.error("profile", f"profile {profile!r} not in {PROFILES}")
        overrides = run.get("overrides", {})
        if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
            raise src.error("overrides", "[run.overrides] must map a profile name to a table of overrides")
        decision = _parse_decision(src, data["decision"], names)
        tier = data.get("tier", "core")
        if tier not in TIERS:
            raise src.error("tier", f"tier must be one of {TIERS}")
        return Experiment(**common, arms=arms, seeds=list(seeds), profile=profile, decision=decision, tier=tier,
                          paper=data.get("paper"), notes=str(data.get("notes", "")).strip(), overrides=overrides,
                          params=dict(data.get("params", {})))

    # --- units ------------------------------------------------------------------------------------
    def plan(self, exp: Experiment, opts: Any, model: str, profile: str, seeds: list[int]) -> Planned:
        src = task_source(exp, opts.data_dir, getattr(opts, "proxy", False))
        task = load_source(exp, src)
        if parse_metric(exp.decision.metric)[0] == "test_pairs" and not task.test_pairs:
            raise TaskError(f"{exp.name}: the rule reads {exp.decision.metric} but task {task.name!r} has no "
                            "cross-language pairs; ask for them with [task] options pair_langs (e.g. \"auto\")")
        fp = task.fingerprint()
        units = []
        method_diffs: list[dict[str, Any]] = []
        for arm in exp.arms:
            method = make_method(arm)
            desc = describe_method(method)
            method_diffs += [{**d, "source": "method", "arm": arm.name} for d in method.stated_differences(profile)]
            overrides = {**exp.overrides.get(profile, {}), **arm.overrides, **opts.overrides}
            work = run_work(task, profile, overrides)
            for seed in seeds:
                core = {"schema": CONFIG_SCHEMA, "task": task.name, "proxy": bool(task.proxy), "data_fingerprint": fp,
                        "data_dir": src["data_dir"], "model": model, "method": desc, "seed": seed, "profile": profile,
                        "overrides": overrides, **hash_extras(profile, task.name, task.task_type, overrides)}
                units.append(Unit(arm.name, seed, core, cost_factor=method.cost_factor(profile), work=work))
        return Planned(units, proxy_data=bool(task.proxy), scripts=dict(task.scripts or {}), label_stats=label_stats(task),
                       differences=list((task.provenance or {}).get("deviations") or []) + unique_differences(method_diffs),
                       benchmarks=[benchmark_row(task.name, src, exp.task.claim_dataset)])

    def execute(self, exp: Experiment, unit: Unit, opts: Any,
                progress: Optional[Callable[..., None]] = None) -> RunOutput:
        from ...experiments.train import RunSpec, train_and_evaluate  # the train loop imports torch

        c = unit.config
        task = load_task_for(exp, opts.data_dir, getattr(opts, "proxy", False))
        method = make_method(exp.arm(unit.arm))
        spec = RunSpec(model=c["model"], profile=c["profile"], seed=unit.seed, device=opts.device,
                       overrides={**c["overrides"], **opts.runtime})
        result = train_and_evaluate(spec, task, method, progress=progress)
        return RunOutput(result.metrics, dict(result.manifest or {}), list(result.history or []))

    def estimate(self, units: list[tuple[Unit, Any]], finished: list[Any], experiment: str) -> None:
        """Per run: the median wall time of finished runs with the same task/model/method/profile
        (measured), else the same method with other params, else other arms scaled by the method's
        declared cost factor, else a rough guess."""
        done = [r for r in finished if r.reused_from is None and r.wall_s is not None]
        for unit, sl in units:
            c = unit.config
            same = [r.wall_s for r in done if r.config.get("task") == c["task"] and r.config.get("model") == c["model"]
                    and r.config.get("profile") == c["profile"] and r.config.get("method") == c["method"]
                    and r.config.get("overrides") == c["overrides"]]
            if same:
                sl.estimate_s, sl.estimate_source = sorted(same)[len(same) // 2], f"measured ({len(same)} run(s))"
                continue
            near = [r.wall_s for r in done if r.config.get("task") == c["task"] and r.config.get("model") == c["model"]
                    and r.config.get("profile") == c["profile"]
                    and (r.config.get("method") or {}).get("method") == (c["method"] or {}).get("method")]
            if near:
                sl.estimate_s, sl.estimate_source = sorted(near)[len(near) // 2], "same method, other params/settings"
                continue
            base = [r.wall_s for r in done if r.config.get("task") == c["task"] and r.config.get("model") == c["model"]
                    and r.config.get("profile") == c["profile"]]
            if base:
                sl.estimate_s, sl.estimate_source = sorted(base)[len(base) // 2] * unit.cost_factor, "scaled from other arms"
            else:
                sl.estimate_s = _FALLBACK_S.get(c["profile"], 600.0) * unit.cost_factor
                sl.estimate_source = "rough guess (no finished run to measure from)"


def _parse_arms(src: SourceFile, arms_raw: Any) -> list[Arm]:
    if not isinstance(arms_raw, list) or len(arms_raw) < 2:
        raise src.error("arms", "need at least two [[arms]] (a baseline and a method)")
    arms: list[Arm] = []
    for a in arms_raw:
        if "name" not in a:
            raise src.error("arms", "every [[arms]] entry needs a 'name'")
        extra = set(a) - {"name", "method", "params", "overrides"}
        if extra:
            raise src.error(sorted(extra)[0], f"unknown arm key '{sorted(extra)[0]}'")
        arms.append(Arm(name=a["name"], method=a.get("method", "baseline"), params=dict(a.get("params", {})),
                        overrides=dict(a.get("overrides", {}))))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise src.error("arms", f"duplicate arm names in {names}")
    return arms


def _parse_decision(src: SourceFile, d: dict[str, Any], names: list[str]) -> DecisionRule:
    missing = {"baseline", "treatment", "metric"} - set(d)
    if missing:
        raise src.error("decision", f"[decision] lacks {sorted(missing)}")
    extra = set(d) - set(DecisionRule.__dataclass_fields__)
    if extra:
        raise src.error(sorted(extra)[0], f"unknown decision key '{sorted(extra)[0]}'")
    decision = DecisionRule(**d)
    if decision.baseline not in names:
        raise src.error("baseline", f"decision.baseline {decision.baseline!r} is not an arm ({names})")
    if not decision.treatments or not all(isinstance(t, str) and t in names and t != decision.baseline
                                          for t in decision.treatments):
        raise src.error("treatment", f"decision.treatment {decision.treatment!r} is not an arm ({names}) "
                                     "other than the baseline")
    if len(decision.treatments) > 1:
        try:
            sp = parse_metric(decision.select_metric)
        except ValueError as exc:
            raise src.error("select_metric", str(exc)) from None
        if sp[0] != "dev":
            raise src.error("select_metric", "select_metric must use the dev split (choosing on test is biased)")
    if decision.direction not in DIRECTIONS:
        raise src.error("direction", f"direction must be one of {list(DIRECTIONS)}")
    if not (isinstance(decision.min_effect, (int, float)) and decision.min_effect > 0):
        raise src.error("min_effect", "min_effect must be > 0 (a zero bar would let identical arms pass)")
    if not (0 < decision.magnitude_fraction <= 1):
        raise src.error("magnitude_fraction", "magnitude_fraction must be in (0, 1]")
    if decision.claimed is not None and decision.claimed != "claim" and not isinstance(decision.claimed, (int, float)):
        raise src.error("claimed", "claimed must be a number or \"claim\"")
    if not (0 < decision.alpha < 0.5):
        raise src.error("alpha", "alpha must be in (0, 0.5)")
    if decision.min_seeds < 2:
        raise src.error("min_seeds", "min_seeds must be >= 2 (a paired comparison needs a variance)")
    try:
        parse_metric(decision.metric)
    except ValueError as exc:
        raise src.error("metric", str(exc)) from None
    return decision
