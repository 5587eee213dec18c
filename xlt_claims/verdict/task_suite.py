"""Kind "task-suite": judge one claim across the tasks of a suite by the file's pre-registered rule.

The rules (best-gain, best-layer-differs, gate-differs) are documented with the kind in
xlt_claims/reproduce/kinds/task_suite.py and in docs/report004.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Optional

import numpy as np

from ..metrics import metric_items, metric_value
from ..reproduce.experiment import Experiment
from ..reproduce.guards import check_run
from ..reproduce.kinds.task_suite import suite_arms, suite_decision
from ..stats import holm, paired_effect, seeds_needed
from . import confidence as conf
from .confidence import directional_log_bf, proxy_reasons
from .decision import decide
from .result import VerdictResult

LR_CLIP = 20.0
RULES_VERSION = 2  # part of every verdict's decision digest: a change of the judging code is a new verdict


def decision_digest(exp: Any) -> str:
    raw = json.dumps({"kind": exp.kind, "decision": (exp.raw or {}).get("decision"), "rules_version": RULES_VERSION},
                     sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def judge_task_suite(exp: Experiment, claim: Any, runs: dict, *, proxy_data: bool, model: str,
                     scripts: Optional[dict[str, str]] = None, data_guard: Optional[str] = None) -> VerdictResult:
    """Judge one claim from a suite's FINISHED runs ({'<task>/<arm>': {seed: Run}}) by the file's rule."""
    dec = suite_decision(exp)
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

def _value(run: Any, spec: str) -> Optional[float]:
    return metric_value(run.metrics or {}, spec)


def _invalid_runs(arms: dict[str, dict[int, Any]], names: list[str]) -> list[dict[str, Any]]:
    bad = []
    for a in names:
        for s, r in sorted((arms.get(a) or {}).items()):
            stats = ((r.manifest or {}).get("suite") or {}).get("label_stats") or (r.manifest or {}).get("label_stats")
            g = check_run(r.metrics, stats)
            if not g["valid"]:
                bad.append({"arm": a, "seed": s, "run_id": r.id, "reasons": g["reasons"]})
    return bad


def _update_confidence(claim: Any, log_lr: float, proxy_data: bool, other_model: bool, detail: dict, note: str) -> float:
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
    cands = list(dec["candidates"])
    metric = dec.get("metric", "summary.test_avg_nonen")
    pmin = float(dec.get("min_probability", 0.8))
    n_boot = int(dec.get("n_boot", 2000))
    min_seeds = int(dec.get("min_seeds", 3))
    arms_cfg = suite_arms(exp)
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
        aligned = paired_effect([sgn * d for d in e.diffs], alpha=alpha, n_boot=0)
        out["log_lr"] = directional_log_bf(aligned.mean, aligned.se, float(dec.get("expected_effect", 2 * min_diff)),
                                           n=aligned.n, alpha=alpha)["log_bf"]
        out["lr_note"] = ("directional replication log Bayes factor of the largest per-layer gate difference (sign "
                          "aligned post hoc, so mildly optimistic)")
    return out
