"""Experiment kind "task-suite": the same arms x seeds on SEVERAL tasks through the shared train loop,
judged by a rule that looks across tasks (e.g. "improves all four tasks", "the best fusion layer
differs between tasks"). Used for report 004's feature-aggregation claims and the OT sweep.

File layout (reproductions/*.toml)::

    kind = "task-suite"
    [task]
    proxy = "logt-cls"                          # required by the registry; the suite's tasks are below
    [params]
    tasks = ["logt-cls", "logt-pair"]           # offline (proxy) tasks
    real_tasks = ["xnli", "pawsx"]              # used instead with --data DIR (optional)
    task_options = {}                           # passed to load_task for every task
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

Rules (all pre-registered in the file; metrics are "summary.<key>" or "<split>:<selector>:<measure>"
as in training experiments, effects in points = 100 x accuracy):

best-gain
    Per task, the candidate arm with the best mean ``select_metric`` (English dev; never test) is
    compared with ``baseline`` on ``metric`` (paired over seeds; mean, bootstrap/t CI). Per task:
    reproduced (CI > 0 and mean >= min_effect; with ``range = [lo, hi]``: lo <= mean <= hi),
    partially-reproduced (CI > 0, magnitude short of / outside the bar), not-reproduced (CI high <
    min_effect, or < lo), inconclusive otherwise. Across tasks (the claims say "all tasks"):
    not-reproduced if any validly measured task is (the conjunction fails whatever the others show);
    else invalid if any task is invalid; reproduced if all are; partially-reproduced if all are
    reproduced or partially; else inconclusive. The headline effect/CI is the weakest valid task's.
best-layer-differs
    Per task, the fusion layer (``layer`` param of the candidate arms) with the best mean ``metric``;
    seeds are bootstrapped (per task) to get P(the tasks' best layers are not all equal).
    reproduced: best layers differ and P >= ``min_probability`` (0.8); not-reproduced: they are equal
    and P(equal) >= 0.8; else inconclusive.
gate-differs
    AIF's learned weight on the lower layer (metrics["fusion"]["lower_weight_mean"], measured on test
    items after training) compared between two tasks, per fused layer, paired over seeds, Holm across
    layers. reproduced: some layer's difference is significant with |mean| >= ``min_difference`` and
    the gate varies across inputs (mean across-example std >= ``min_input_spread``); not-reproduced:
    every layer's CI lies inside +-min_difference, or the gate does not vary across inputs; else
    inconclusive.

Guards: a run that collapsed (one predicted label) or is invalid by the verdict guards never counts;
any such run makes the verdict invalid. Evidence is proxy when a task is a proxy or the model is not
the claim's. Confidence: the documented Bayesian update of xlt_claims.verdict.confidence, with the
likelihood from ``directional_log_bf`` (H0 = no effect or the opposite direction); best-gain
sums the per-task log Bayes factors (cap +-ln 100); the two structural rules use the bootstrap
probability as a likelihood ratio P/(1-P), clipped to [1/20, 20] (a heuristic, stated on the verdict).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from typing import Any, Optional

from ..reproduce.kinds import ExperimentKind, Unit, register_kind

RULES = ("best-gain", "best-layer-differs", "gate-differs")
_PARAM_KEYS = {"tasks", "real_tasks", "task_options"}
_RULE_KEYS = {
    "best-gain": {"baseline", "candidates", "metric", "select_metric", "min_effect", "range", "expected_effect",
                  "alpha", "min_seeds", "n_boot"},
    "best-layer-differs": {"candidates", "metric", "min_probability", "n_boot", "min_seeds"},
    "gate-differs": {"candidates", "tasks", "min_difference", "min_input_spread", "alpha", "min_seeds", "n_boot",
                     "expected_effect"},
}
LR_CLIP = 20.0
RULES_VERSION = 2  # part of every verdict's decision digest: a change of the judging code is a new verdict


def decision_digest(exp: Any) -> str:
    import hashlib

    raw = json.dumps({"kind": exp.kind, "decision": (exp.raw or {}).get("decision"), "rules_version": RULES_VERSION},
                     sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _arms(exp: Any) -> list[dict[str, Any]]:
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


def _decision(exp: Any) -> dict[str, Any]:
    return dict((exp.raw or {}).get("decision") or {})


def _tasks(exp: Any, data_dir: Optional[str]) -> list[str]:
    if data_dir:
        real = exp.params.get("real_tasks")
        if not real:
            raise ValueError(f"experiment {exp.name} has no real_tasks; run it without --data")
        return list(real)
    return list(exp.params["tasks"])


def _load_task(exp: Any, name: str, data_dir: Optional[str]):
    from ..reproduce.registry import TaskSpec
    from ..reproduce.tasks import load_task_for

    spec = TaskSpec(proxy=name, real=name, options=dict(exp.params.get("task_options") or {}))
    return load_task_for(replace(exp, task=spec), data_dir)


@register_kind("task-suite")
class TaskSuite(ExperimentKind):
    proxy_task = True

    def validate(self, exp: Any) -> None:
        bad = set(exp.params) - _PARAM_KEYS
        if bad:
            raise ValueError(f"unknown params {sorted(bad)} (allowed: {sorted(_PARAM_KEYS)})")
        tasks = exp.params.get("tasks")
        if not isinstance(tasks, list) or len(tasks) < 1 or not all(isinstance(t, str) for t in tasks):
            raise ValueError("params.tasks must be a list of task names")
        arms = _arms(exp)
        names = [a["name"] for a in arms]
        if len(arms) < 2 or len(set(names)) != len(names):
            raise ValueError(f"need at least two [[arms]] with distinct names (got {names})")
        from .methods import get_method

        for a in arms:
            get_method(a["method"], **a["params"])  # unknown method / bad params fail at load time
        dec = _decision(exp)
        rule = dec.get("rule")
        if rule not in RULES:
            raise ValueError(f"decision.rule must be one of {RULES} (got {rule!r})")
        extra = set(dec) - _RULE_KEYS[rule] - {"rule"}
        if extra:
            raise ValueError(f"unknown decision key(s) {sorted(extra)} for rule {rule!r}")
        cands = dec.get("candidates")
        if not isinstance(cands, list) or not cands or not set(cands) <= set(names):
            raise ValueError(f"decision.candidates must list arms of this file ({names})")
        if rule == "best-gain":
            if dec.get("baseline") not in names or dec.get("baseline") in cands:
                raise ValueError("decision.baseline must be an arm that is not a candidate")
            sel = dec.get("select_metric", "dev:en:accuracy")
            if not (str(sel).startswith("dev:") or sel == "summary.dev_en"):
                raise ValueError("select_metric must use the dev split (choosing on test is biased)")
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
    def units(self, exp: Any, opts: Any, model: str) -> list[Unit]:
        from .methods import get_method

        profile = getattr(opts, "profile", None) or exp.profile
        seeds = list(getattr(opts, "seeds", None) or [])
        if not seeds and getattr(opts, "n_seeds", None):
            base = list(exp.seeds)
            seeds = (base + [s for s in range(1, 10_000) if s not in base])[: opts.n_seeds]
        seeds = seeds or list(exp.seeds)
        data_dir = getattr(opts, "data_dir", None)
        run_over = (exp.raw.get("run") or {}).get("overrides") or {}
        units = []
        for tname in _tasks(exp, data_dir):
            task = _load_task(exp, tname, data_dir)
            fp = task.fingerprint()
            for a in _arms(exp):
                desc = json.loads(json.dumps(get_method(a["method"], **a["params"]).describe(), sort_keys=True, default=str))
                overrides = {**run_over.get(profile, {}), **a["overrides"], **(getattr(opts, "overrides", None) or {})}
                for seed in seeds:
                    cfg = {"task": task.name, "task_spec": tname, "proxy": bool(task.proxy), "data_fingerprint": fp,
                           "data_dir": data_dir, "method": desc, "method_name": a["method"], "method_params": a["params"],
                           "profile": profile, "overrides": overrides, "suite_arm": a["name"]}
                    units.append(Unit(f"{task.name}/{a['name']}", int(seed), cfg, estimate_s=60.0))
        return units

    def execute(self, exp: Any, unit: Unit, opts: Any, progress: Any = None) -> tuple[dict, dict]:
        from ..verdict.guards import label_stats
        from .methods import get_method
        from .train import RunSpec, train_and_evaluate

        c = unit.config
        cpu0 = time.process_time()
        task = _load_task(exp, c.get("task_spec", c["task"]), c.get("data_dir"))
        method = get_method(c["method_name"], **c["method_params"])
        model = getattr(opts, "model", None) or exp.model.default
        spec = RunSpec(model=model, profile=c["profile"], seed=unit.seed, device=getattr(opts, "device", "auto") or "auto",
                       overrides=dict(c["overrides"]))
        res = train_and_evaluate(spec, task, method, progress=progress)
        manifest = dict(res.manifest)
        manifest["suite"] = {"task": task.name, "arm": c["suite_arm"], "label_stats": label_stats(task),
                             "cpu_s": round(time.process_time() - cpu0, 2)}
        return res.metrics, manifest

    # --- verdicts ---------------------------------------------------------------------------------
    def judge(self, exp: Any, claim: Any, runs: dict, *, proxy_data: bool, model: str) -> Any:
        from ..verdict import confidence as conf
        from ..verdict.compute import VerdictResult

        dec = _decision(exp)
        claim_model = conf.claim_model_of(exp, claim)
        other_model = conf.is_other_model(claim_model, model)
        by_task: dict[str, dict[str, dict[int, Any]]] = {}
        task_proxy: dict[str, bool] = {}
        for arm_key, seeds in runs.items():
            tname, _, arm = arm_key.partition("/")
            by_task.setdefault(tname, {})[arm] = seeds
            for r in seeds.values():
                task_proxy[tname] = bool((r.config or {}).get("proxy", proxy_data))
        proxy_d = any(task_proxy.values()) if task_proxy else proxy_data
        proxy = bool(proxy_d or other_model)
        detail: dict[str, Any] = {"experiment": exp.name, "rule": dec.get("rule"), "decision": dec,
                                  "decision_digest": decision_digest(exp),
                                  "model": model, "claim_model": claim_model, "other_model": other_model,
                                  "proxy_data": proxy_d, "tasks": sorted(by_task)}
        detail["proxy_reasons"] = proxy_reasons(proxy_d, other_model, data_label="proxy tasks",
                                                model=model, claim_model=claim_model)
        fn = {"best-gain": rule_best_gain, "best-layer-differs": rule_layers_differ, "gate-differs": rule_gate}[dec["rule"]]
        out = fn(exp, dec, by_task)
        detail.update(out.pop("detail"))
        res = VerdictResult(outcome=out["outcome"], reason=out["reason"], proxy=proxy, metric=out.get("metric", ""),
                            effect=out.get("effect"), ci_low=out.get("ci_low"), ci_high=out.get("ci_high"),
                            n_seeds=out.get("n_seeds", 0), run_ids=sorted(out.get("run_ids", [])), detail=detail)
        if out["outcome"] not in ("invalid",) and out.get("log_lr") is not None:
            res.confidence = _update_confidence(claim, out["log_lr"], proxy_d, other_model, detail, out.get("lr_note", ""))
        return res


# --- helpers ----------------------------------------------------------------------------------------

from ..verdict.confidence import directional_log_bf, proxy_reasons  # noqa: E402  (one implementation, shared with train verdicts)


def _value(run: Any, spec: str) -> Optional[float]:
    from ..reproduce.registry import metric_value

    return metric_value(run.metrics or {}, spec)


def _invalid_runs(arms: dict[str, dict[int, Any]], names: list[str]) -> list[dict[str, Any]]:
    from ..verdict.guards import check_run

    bad = []
    for a in names:
        for s, r in sorted((arms.get(a) or {}).items()):
            stats = ((r.manifest or {}).get("suite") or {}).get("label_stats") or (r.manifest or {}).get("label_stats")
            g = check_run(r.metrics, stats)
            if not g["valid"]:
                bad.append({"arm": a, "seed": s, "run_id": r.id, "reasons": g["reasons"]})
    return bad


def _update_confidence(claim: Any, log_lr: float, proxy_data: bool, other_model: bool, detail: dict, note: str) -> float:
    from ..verdict import confidence as conf

    cap = math.log(conf.BF_CAP)
    capped = max(-cap, min(cap, log_lr))
    pri = conf.prior(getattr(claim, "report_confidence", None), getattr(claim, "text_verdict", None))
    upd = conf.update(pri, {"log_bf": capped, "log_bf_raw": log_lr, "bf": math.exp(capped), "note": note},
                      conf.evidence_weight(proxy_data, other_model))
    detail["bayes"] = upd
    return upd["posterior"]


def _combine_all(per_task: dict[str, str]) -> str:
    vals = list(per_task.values())
    if not vals:
        return "inconclusive"
    # a claim about every task fails as soon as one validly measured task fails, whatever an invalid
    # task would have shown; otherwise an invalid task leaves nothing to conclude
    if "not-reproduced" in vals:
        return "not-reproduced"
    if "invalid" in vals:
        return "invalid"
    if all(v == "reproduced" for v in vals):
        return "reproduced"
    if all(v in ("reproduced", "partially-reproduced") for v in vals):
        return "partially-reproduced"
    return "inconclusive"


def _mean(xs: list[float]) -> Optional[float]:
    return sum(xs) / len(xs) if xs else None


def _arm_table(arms: dict[str, dict[int, Any]], names: list[str], metric: str, select: Optional[str]) -> dict[str, Any]:
    t = {}
    for a in names:
        runs = arms.get(a) or {}
        test = [v for v in (_value(r, metric) for r in runs.values()) if v is not None]
        dev = [v for v in (_value(r, select) for r in runs.values()) if v is not None] if select else []
        t[a] = {"test_mean": _mean(test), "dev_mean": _mean(dev), "seeds": sorted(runs)}
    return t


# --- rule: best-gain --------------------------------------------------------------------------------

def rule_best_gain(exp: Any, dec: dict, by_task: dict) -> dict[str, Any]:
    from ..reproduce.registry import metric_items
    from ..verdict.stats import decide, paired_effect, seeds_needed

    base_arm = dec["baseline"]
    cands = list(dec["candidates"])
    metric = dec.get("metric", "summary.test_avg_nonen")
    select = dec.get("select_metric", "dev:en:accuracy")
    min_effect = float(dec.get("min_effect", 1.0))
    rng = dec.get("range")
    alpha = float(dec.get("alpha", 0.05))
    min_seeds = int(dec.get("min_seeds", 3))
    n_boot = int(dec.get("n_boot", 10000))
    mu1 = float(dec.get("expected_effect", (sum(rng) / 2) if rng else 2 * min_effect))
    per_task: dict[str, Any] = {}
    outcomes: dict[str, str] = {}
    run_ids: list[int] = []
    log_lr = 0.0
    weakest: Optional[tuple[float, dict]] = None
    for tname, arms in sorted(by_task.items()):
        info: dict[str, Any] = {"table": _arm_table(arms, [base_arm, *cands], metric, select)}
        per_task[tname] = info
        bad = _invalid_runs(arms, [base_arm, *cands])
        if bad:
            info.update(outcome="invalid", reason=f"invalid run(s): {bad[:3]}")
            outcomes[tname] = "invalid"
            continue
        devs = {a: info["table"][a]["dev_mean"] for a in cands if info["table"][a]["dev_mean"] is not None}
        if not devs or base_arm not in arms:
            info.update(outcome="inconclusive", reason="missing runs")
            outcomes[tname] = "inconclusive"
            continue
        chosen = max(cands, key=lambda a: (devs.get(a, -math.inf), -cands.index(a)))
        oracle = max((a for a in cands if info["table"][a]["test_mean"] is not None),
                     key=lambda a: info["table"][a]["test_mean"], default=None)
        seeds = sorted(set(arms.get(base_arm, {})) & set(arms.get(chosen, {})))
        b = {s: _value(arms[base_arm][s], metric) for s in seeds}
        t = {s: _value(arms[chosen][s], metric) for s in seeds}
        seeds = [s for s in seeds if b[s] is not None and t[s] is not None]
        diffs = [100.0 * (t[s] - b[s]) for s in seeds]
        n_items = metric_items(arms[chosen][seeds[0]].metrics or {}, metric) if seeds else 0
        eff = paired_effect(diffs, alpha=alpha, n_boot=n_boot, sd_floor=(100.0 / n_items if n_items else 0.0))
        if rng:
            lo_b, hi_b = float(rng[0]), float(rng[1])
            if eff.n < 2 or not math.isfinite(eff.ci_low):
                out, why = "inconclusive", f"{eff.n} paired seed(s)"
            elif eff.ci_low > 0 and lo_b <= eff.mean <= hi_b:
                out, why = "reproduced", f"CI [{eff.ci_low:.2f}, {eff.ci_high:.2f}] > 0, mean {eff.mean:+.2f} in [{lo_b}, {hi_b}]"
            elif eff.ci_low > 0:
                out, why = "partially-reproduced", f"gain {eff.mean:+.2f} (CI > 0) outside [{lo_b}, {hi_b}]"
            elif eff.ci_high < lo_b:
                out, why = "not-reproduced", f"CI [{eff.ci_low:.2f}, {eff.ci_high:.2f}] below {lo_b}"
            else:
                out, why = "inconclusive", f"CI [{eff.ci_low:.2f}, {eff.ci_high:.2f}] contains 0 and {lo_b}"
        else:
            out, why = decide(eff, min_effect)
        if out != "inconclusive" and len(seeds) < min_seeds:
            why = f"only {len(seeds)} paired seed(s) < {min_seeds} ({out} if it held: {why})"
            out = "inconclusive"
        info.update(outcome=out, reason=why, selected=chosen, select_metric=select, oracle_best_on_test=oracle,
                    oracle_effect=(None if oracle is None else 100.0 * (info["table"][oracle]["test_mean"] - info["table"][base_arm]["test_mean"])),
                    effect=eff.to_dict(), per_seed={str(s): {"baseline": 100 * b[s], "treatment": 100 * t[s]} for s in seeds})
        if out == "inconclusive":
            info["seeds_needed"] = seeds_needed(eff, rng[0] if rng else min_effect, alpha=alpha)
        outcomes[tname] = out
        run_ids += [arms[base_arm][s].id for s in seeds] + [arms[chosen][s].id for s in seeds]
        log_lr += directional_log_bf(eff.mean, eff.se, mu1, n=eff.n, alpha=alpha)["log_bf"]
        if weakest is None or eff.mean < weakest[0]:
            weakest = (eff.mean, {"task": tname, "effect": eff.mean, "ci_low": eff.ci_low, "ci_high": eff.ci_high, "n": eff.n})
    outcome = _combine_all(outcomes)
    parts = [f"{t}: {per_task[t]['outcome']} ({per_task[t].get('selected', '-')}, {per_task[t]['reason']})" for t in sorted(per_task)]
    res = {"outcome": outcome, "reason": "; ".join(parts), "metric": metric, "run_ids": run_ids,
           "detail": {"per_task": per_task, "task_outcomes": outcomes, "headline": "weakest task",
                      "combination": "all tasks must hold (the claim is about every task): one validly measured "
                                     "task that fails decides it; an invalid task never counts"}}
    if weakest:
        w = weakest[1]
        res.update(effect=w["effect"], ci_low=w["ci_low"], ci_high=w["ci_high"], n_seeds=w["n"])
        res["detail"]["weakest"] = w
        res["log_lr"] = log_lr
        res["lr_note"] = f"sum over tasks of the directional replication log Bayes factor, H1 centre {mu1} points"
    return res


# --- rule: best-layer-differs -----------------------------------------------------------------------

def _layer_of(arms_cfg: list[dict], name: str) -> int:
    for a in arms_cfg:
        if a["name"] == name:
            return int(a["params"]["layer"])
    raise KeyError(name)


def rule_layers_differ(exp: Any, dec: dict, by_task: dict) -> dict[str, Any]:
    import numpy as np

    cands = list(dec["candidates"])
    metric = dec.get("metric", "summary.test_avg_nonen")
    pmin = float(dec.get("min_probability", 0.8))
    n_boot = int(dec.get("n_boot", 2000))
    min_seeds = int(dec.get("min_seeds", 3))
    arms_cfg = _arms(exp)
    layers = [_layer_of(arms_cfg, c) for c in cands]
    per_task: dict[str, Any] = {}
    mats: dict[str, np.ndarray] = {}
    run_ids: list[int] = []
    for tname, arms in sorted(by_task.items()):
        bad = _invalid_runs(arms, cands)
        if bad:
            return {"outcome": "invalid", "reason": f"{tname}: invalid run(s) {bad[:3]}", "metric": metric,
                    "detail": {"invalid_runs": bad}}
        seeds = sorted(set.intersection(*(set(arms.get(c, {})) for c in cands)))
        m = np.array([[_value(arms[c][s], metric) for c in cands] for s in seeds], dtype=float) if seeds else np.zeros((0, len(cands)))
        mats[tname] = m
        run_ids += [arms[c][s].id for c in cands for s in seeds]
        if len(seeds):
            means = m.mean(0)
            per_task[tname] = {"seeds": seeds, "by_layer": {str(l): round(100 * float(v), 3) for l, v in zip(layers, means)},
                               "best_layer": layers[int(np.argmax(means))]}
    n_min = min((len(v) for v in mats.values()), default=0)
    if len(mats) < 2 or n_min < min_seeds:
        return {"outcome": "inconclusive", "reason": f"need >= 2 tasks with >= {min_seeds} seeds of every candidate",
                "metric": metric, "run_ids": run_ids, "detail": {"per_task": per_task}}
    best = {t: per_task[t]["best_layer"] for t in per_task}
    differ = len(set(best.values())) > 1
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(n_boot):
        picks = []
        for t, m in mats.items():
            idx = rng.integers(0, m.shape[0], size=m.shape[0])
            picks.append(layers[int(np.argmax(m[idx].mean(0)))])
        hits += len(set(picks)) > 1
    p_differ = hits / n_boot
    if differ and p_differ >= pmin:
        outcome, why = "reproduced", f"best layers {best} differ (bootstrap P(differ) = {p_differ:.2f} >= {pmin})"
    elif not differ and (1 - p_differ) >= pmin:
        outcome, why = "not-reproduced", f"the same best layer {best} in every task (P(equal) = {1 - p_differ:.2f} >= {pmin})"
    else:
        outcome, why = "inconclusive", f"best layers {best}, bootstrap P(differ) = {p_differ:.2f}: unstable across seeds"
    p = min(max(p_differ, 1 / (LR_CLIP + 1)), LR_CLIP / (LR_CLIP + 1))
    return {"outcome": outcome, "reason": why, "metric": metric, "effect": p_differ, "ci_low": None, "ci_high": None,
            "n_seeds": n_min, "run_ids": run_ids, "log_lr": math.log(p / (1 - p)),
            "lr_note": f"heuristic likelihood ratio P(differ)/(1-P(differ)) clipped to [1/{LR_CLIP:g}, {LR_CLIP:g}]",
            "detail": {"per_task": per_task, "best_layer": best, "p_differ": p_differ, "layers": layers,
                       "effect_is": "bootstrap probability that the tasks' best layers differ"}}


# --- rule: gate-differs -----------------------------------------------------------------------------

def rule_gate(exp: Any, dec: dict, by_task: dict) -> dict[str, Any]:
    from ..verdict.stats import holm, paired_effect

    cands = list(dec["candidates"])
    tasks = list(dec.get("tasks") or sorted(by_task))[:2]
    min_diff = float(dec.get("min_difference", 0.02))
    min_spread = float(dec.get("min_input_spread", 0.01))
    alpha = float(dec.get("alpha", 0.05))
    min_seeds = int(dec.get("min_seeds", 3))
    n_boot = int(dec.get("n_boot", 10000))
    metric = "fusion.lower_weight_mean"
    if len(tasks) < 2 or any(t not in by_task for t in tasks):
        return {"outcome": "inconclusive", "reason": f"need runs of two tasks (have {sorted(by_task)})", "metric": metric,
                "detail": {}}
    for t in tasks:
        bad = _invalid_runs(by_task[t], cands)
        if bad:
            return {"outcome": "invalid", "reason": f"{t}: invalid run(s) {bad[:3]}", "metric": metric,
                    "detail": {"invalid_runs": bad}}
    a, b = tasks
    rows, pvals, spreads, run_ids = [], [], [], []
    for c in cands:
        ra, rb = by_task[a].get(c, {}), by_task[b].get(c, {})
        seeds = sorted(set(ra) & set(rb))
        wa = {s: ((ra[s].metrics or {}).get("fusion") or {}).get("lower_weight_mean") for s in seeds}
        wb = {s: ((rb[s].metrics or {}).get("fusion") or {}).get("lower_weight_mean") for s in seeds}
        seeds = [s for s in seeds if wa[s] is not None and wb[s] is not None]
        for s in seeds:
            for r in (ra[s], rb[s]):
                sp = ((r.metrics or {}).get("fusion") or {}).get("lower_weight_std_across_examples")
                if sp is not None:
                    spreads.append(float(sp))
                run_ids.append(r.id)
        eff = paired_effect([wa[s] - wb[s] for s in seeds], alpha=alpha, n_boot=n_boot)
        rows.append({"arm": c, "seeds": seeds, "weight": {a: _mean([wa[s] for s in seeds]), b: _mean([wb[s] for s in seeds])},
                     "effect": eff.to_dict(), "_eff": eff})
        pvals.append(eff.p_two_sided)
    adj = holm(pvals)
    for r, p in zip(rows, adj):
        r["p_holm"] = p
    spread = _mean(spreads)
    n_min = min((len(r["seeds"]) for r in rows), default=0)
    sig = [r for r in rows if r["p_holm"] is not None and r["p_holm"] < alpha and abs(r["_eff"].mean) >= min_diff]
    equiv = all(math.isfinite(r["_eff"].ci_low) and -min_diff < r["_eff"].ci_low and r["_eff"].ci_high < min_diff for r in rows)
    no_spread = False
    if n_min < min_seeds:
        outcome, why = "inconclusive", f"only {n_min} paired seed(s) < {min_seeds}"
    elif spread is not None and spread < min_spread:
        outcome, why = "not-reproduced", f"the gate hardly varies across inputs (mean across-example std {spread:.4f} < {min_spread})"
        no_spread = True
    elif sig and spread is not None:
        top = max(sig, key=lambda r: abs(r["_eff"].mean))
        outcome, why = "reproduced", (f"lower-layer weight differs between {a} and {b} at {top['arm']} "
                                      f"({top['_eff'].mean:+.3f}, Holm p {top['p_holm']:.3g}); input spread {spread:.3f}")
    elif equiv:
        outcome, why = "not-reproduced", f"every layer's difference lies within +-{min_diff} (CI)"
    else:
        outcome, why = "inconclusive", "differences neither significant nor excluded"
    top = max(rows, key=lambda r: abs(r["_eff"].mean)) if rows else None
    out = {"outcome": outcome, "reason": why, "metric": metric, "n_seeds": n_min, "run_ids": run_ids,
           "detail": {"tasks": [a, b], "per_layer": [{k: v for k, v in r.items() if k != "_eff"} for r in rows],
                      "input_spread_mean": spread, "min_difference": min_diff, "min_input_spread": min_spread}}
    if top is not None and math.isfinite(top["_eff"].ci_low) and not no_spread:
        e = top["_eff"]
        sgn = 1.0 if e.mean >= 0 else -1.0
        out.update(effect=abs(e.mean), ci_low=min(sgn * e.ci_low, sgn * e.ci_high), ci_high=max(sgn * e.ci_low, sgn * e.ci_high))
        from ..verdict.stats import paired_effect as pe

        aligned = pe([sgn * d for d in e.diffs], alpha=alpha, n_boot=0)
        out["log_lr"] = directional_log_bf(aligned.mean, aligned.se, float(dec.get("expected_effect", 2 * min_diff)),
                                           n=aligned.n, alpha=alpha)["log_bf"]
        out["lr_note"] = ("directional replication log Bayes factor of the largest per-layer gate difference (sign "
                          "aligned post hoc, so mildly optimistic)")
    return out
