"""Kind "task-suite": the statistics of the cross-task rules (verdict.template.judge does the rest).

Runs arrive as {"<task>/<arm>": {seed: Run}}. Metrics are "summary.<key>" or "<split>:<selector>:
<measure>"; effects are in points (100 x accuracy; F1/EM of span tasks are points already).

best-gain            per task, the candidate with the best mean select_metric (English dev, never test)
                     against the baseline on metric, paired over seeds (Student-t). Per task: reproduced
                     (CI > 0 and mean >= min_effect, or with `range = [lo, hi]` lo <= mean <= hi),
                     partially-reproduced (CI > 0, magnitude short of the bar or outside the range),
                     not-reproduced (CI upper < min_effect, or < lo), inconclusive otherwise. Across tasks
                     (the claims say "every task"): not-reproduced if any validly measured task is, else
                     invalid if any task is, reproduced if all are, partially-reproduced if all are at
                     least partially, else inconclusive. Headline: the weakest task.
best-layer-differs   per task, the candidate layer with the best mean select_metric (English dev). If the
                     tasks choose different layers, the choice is confirmed on test by a crossover: in each
                     of two tasks its own layer beats the other task's layer (paired Student-t, CI > 0,
                     alpha split over the task pairs): reproduced. If every task chooses the same layer
                     and in every task no other candidate beats it by `margin` (each contrast's CI lower
                     bound > -margin): not-reproduced. Else inconclusive. (Before rules version 3 the best
                     layer was the argmax of the test means and seeds were bootstrapped: with no layer
                     effect at all it said "reproduced" about a third of the time.)
gate-differs         AIF's learned weight on the lower layer (metrics["fusion"]["lower_weight_mean"])
                     compared between two tasks per fused layer, paired over seeds, Holm across layers.
                     reproduced: some layer differs significantly by >= min_difference and the gate varies
                     across inputs (mean across-example std >= min_input_spread); not-reproduced: the gate
                     does not vary across inputs, or every layer's CI lies inside +-min_difference;
                     else inconclusive. The claim names no direction: the likelihood is two-sided.

Guards: a baseline run that did not learn voids its seed in its task (too few valid seeds left: the task
is inconclusive and asks for seeds; none left: the task is invalid); a candidate that did not learn is
a result (dev selection will not choose it); only the baseline and the chosen candidate are checked.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any, Optional

from ..metrics import metric_items, metric_value
from ..reproduce.experiment import Experiment
from ..reproduce.kinds.task_suite import suite_arms, suite_decision
from ..stats import Effect, holm, paired_effect, seeds_needed
from ..store.status import Status
from .confidence import Component
from .decision import decide
from .paired import excluded_baseline_runs, run_label_stats, too_few_seeds
from .template import Statistic

S = Status


def suite_statistic(exp: Experiment, claim: Any, runs: dict, *, scripts: Optional[dict[str, str]] = None,
                    alpha: Optional[float] = None) -> Statistic:
    dec = suite_decision(exp)
    if alpha is not None:  # a sequential look spends part of the file's alpha
        dec["alpha"] = alpha
    by_task: dict[str, dict[str, dict[int, Any]]] = {}
    task_proxy: dict[str, bool] = {}
    for arm_key, seeds in runs.items():
        tname, _, arm = arm_key.partition("/")
        by_task.setdefault(tname, {})[arm] = seeds
        for r in seeds.values():
            task_proxy[tname] = bool((r.config or {}).get("proxy", True))
    rule = {"best-gain": rule_best_gain, "best-layer-differs": rule_layers_differ, "gate-differs": rule_gate}[dec["rule"]]
    stat = rule(exp, dec, by_task)
    stat.detail.update({"rule": dec.get("rule"), "tasks": sorted(by_task)})
    stat.proxy_data = any(task_proxy.values()) if task_proxy else None
    stat.data_label = "proxy tasks"
    return stat


# --- helpers ----------------------------------------------------------------------------------------

def _value(run: Any, spec: str) -> Optional[float]:
    return metric_value(run.metrics or {}, spec)


def _scale(runs: dict[str, dict[int, Any]]) -> float:
    """Points per metric unit: 100 for accuracies in [0, 1]; 1 for span F1/EM, which are points already."""
    for seeds in runs.values():
        for r in seeds.values():
            return 1.0 if run_label_stats(r).get("task_type") == "span-extraction" else 100.0
    return 100.0


def _mean(xs: list[float]) -> Optional[float]:
    return sum(xs) / len(xs) if xs else None


def _combine_all(per_task: dict[str, str]) -> str:
    vals = list(per_task.values())
    if not vals:
        return S.INCONCLUSIVE.value
    # a claim about every task fails as soon as one validly measured task fails, whatever an invalid
    # task would have shown; otherwise an invalid task leaves nothing to conclude
    if S.NOT_REPRODUCED.value in vals:
        return S.NOT_REPRODUCED.value
    if S.INVALID.value in vals:
        return S.INVALID.value
    if all(v == S.REPRODUCED.value for v in vals):
        return S.REPRODUCED.value
    if all(v in (S.REPRODUCED.value, S.PARTIALLY_REPRODUCED.value) for v in vals):
        return S.PARTIALLY_REPRODUCED.value
    return S.INCONCLUSIVE.value


def _arm_table(arms: dict[str, dict[int, Any]], names: list[str], metric: str, select: Optional[str]) -> dict[str, Any]:
    t = {}
    for a in names:
        runs = arms.get(a) or {}
        test = [v for v in (_value(r, metric) for r in runs.values()) if v is not None]
        dev = [v for v in (_value(r, select) for r in runs.values()) if v is not None] if select else []
        t[a] = {"test_mean": _mean(test), "dev_mean": _mean(dev), "seeds": sorted(runs)}
    return t


def _dev_choice(table: dict[str, Any], cands: list[str]) -> Optional[str]:
    """The candidate with the best mean dev metric; ties go to the first listed; None without dev data."""
    devs = {a: table[a]["dev_mean"] for a in cands if table[a]["dev_mean"] is not None}
    if not devs:
        return None
    return max(devs, key=lambda a: (devs[a], -cands.index(a)))


def _contrast(arms: dict[str, dict[int, Any]], a: str, b: str, metric: str, scale: float, alpha: float) -> Effect:
    """a minus b on metric, paired over the seeds both have (points)."""
    seeds = sorted(set(arms.get(a) or {}) & set(arms.get(b) or {}))
    diffs = []
    for s in seeds:
        va, vb = _value(arms[a][s], metric), _value(arms[b][s], metric)
        if va is not None and vb is not None:
            diffs.append(scale * (va - vb))
    n_items = metric_items(arms[a][seeds[0]].metrics or {}, metric) if seeds else 0
    return paired_effect(diffs, alpha=alpha, sd_floor=(scale / n_items if n_items else 0.0))


# --- rule: best-gain --------------------------------------------------------------------------------

def rule_best_gain(exp: Experiment, dec: dict, by_task: dict) -> Statistic:
    base_arm = dec["baseline"]
    cands = list(dec["candidates"])
    metric = dec.get("metric", "summary.test_avg_nonen")
    select = dec.get("select_metric", "dev:en:accuracy")
    min_effect = float(dec.get("min_effect", 1.0))
    rng = dec.get("range")
    alpha = float(dec.get("alpha", 0.05))
    min_seeds = int(dec.get("min_seeds", 3))
    mu1 = float(dec.get("expected_effect", (sum(rng) / 2) if rng else 2 * min_effect))
    per_task: dict[str, Any] = {}
    outcomes: dict[str, str] = {}
    run_ids: list[int] = []
    components: list[Component] = []
    weakest: Optional[dict[str, Any]] = None
    for tname, arms in sorted(by_task.items()):
        scale = _scale(arms)
        info: dict[str, Any] = {"table": _arm_table(arms, [base_arm, *cands], metric, select)}
        per_task[tname] = info
        chosen = _dev_choice(info["table"], cands)
        if chosen is None or base_arm not in arms:
            info.update(outcome=S.INCONCLUSIVE.value, reason="missing runs")
            outcomes[tname] = S.INCONCLUSIVE.value
            continue
        base, treat = arms[base_arm], arms[chosen]
        common = sorted(set(base) & set(treat))
        excluded = excluded_baseline_runs({s: base[s] for s in common}, f"{tname}/{base_arm}")
        gone = {b["seed"] for b in excluded}
        b = {s: _value(base[s], metric) for s in common}
        t = {s: _value(treat[s], metric) for s in common}
        seeds = [s for s in common if s not in gone and b[s] is not None and t[s] is not None]
        info.update(selected=chosen, select_metric=select, excluded_runs=excluded)
        if common and len(excluded) == len(common):
            info.update(outcome=S.INVALID.value,
                        reason=f"the baseline did not learn in any seed ({excluded[0]['reasons'][0]})")
            outcomes[tname] = S.INVALID.value
            continue
        diffs = [scale * (t[s] - b[s]) for s in seeds]
        n_items = metric_items(treat[seeds[0]].metrics or {}, metric) if seeds else 0
        eff = paired_effect(diffs, alpha=alpha, sd_floor=(scale / n_items if n_items else 0.0))
        if rng:
            lo_b, hi_b = float(rng[0]), float(rng[1])
            if eff.n < 2 or not math.isfinite(eff.ci_low):
                out, why = S.INCONCLUSIVE.value, f"{eff.n} paired seed(s): no variance estimate"
            elif eff.ci_low > 0 and lo_b <= eff.mean <= hi_b:
                out, why = S.REPRODUCED.value, f"CI [{eff.ci_low:.2f}, {eff.ci_high:.2f}] > 0, mean {eff.mean:+.2f} in [{lo_b}, {hi_b}]"
            elif eff.ci_low > 0:
                out, why = S.PARTIALLY_REPRODUCED.value, f"gain {eff.mean:+.2f} (CI > 0) outside [{lo_b}, {hi_b}]"
            elif eff.ci_high < lo_b:
                out, why = S.NOT_REPRODUCED.value, f"CI [{eff.ci_low:.2f}, {eff.ci_high:.2f}] below {lo_b}"
            else:
                out, why = S.INCONCLUSIVE.value, f"CI [{eff.ci_low:.2f}, {eff.ci_high:.2f}] contains 0 and {lo_b}"
        else:
            out, why = decide(eff, min_effect)
        if len(seeds) < min_seeds and (out != S.INCONCLUSIVE.value or excluded):
            why = too_few_seeds(len(seeds), min_seeds, excluded, out, why)
            out = S.INCONCLUSIVE.value
        info.update(outcome=out, reason=why, effect=eff.to_dict(), interval=eff.ci_method,
                    per_seed={str(s): {"baseline": scale * b[s], "treatment": scale * t[s]} for s in seeds})
        if out == S.INCONCLUSIVE.value and eff.n >= 2:
            info["seeds_needed"] = seeds_needed(eff, rng[0] if rng else min_effect, alpha=alpha)
        outcomes[tname] = out
        run_ids += [base[s].id for s in seeds] + [treat[s].id for s in seeds]
        components.append(Component(tname, eff.mean, eff.se, mu1, df=eff.df, alpha=alpha,
                                    claimed_range=(float(rng[0]), float(rng[1])) if rng else None))
        if eff.n and (weakest is None or eff.mean < weakest["effect"]):
            weakest = {"task": tname, "effect": eff.mean, "ci_low": eff.ci_low, "ci_high": eff.ci_high, "n": eff.n,
                       "interval": eff.ci_method}
    outcome = _combine_all(outcomes)
    parts = [f"{t}: {per_task[t]['outcome']} ({per_task[t].get('selected', '-')}, {per_task[t]['reason']})" for t in sorted(per_task)]
    stat = Statistic(outcome, "; ".join(parts), metric=metric, run_ids=run_ids, components=components,
                     combination="all",
                     detail={"per_task": per_task, "task_outcomes": outcomes, "headline": "weakest task",
                             "combination": "all tasks must hold (the claim is about every task): one validly measured "
                                            "task that fails decides it; an invalid task never counts"})
    if weakest:
        stat.effect, stat.ci_low, stat.ci_high = weakest["effect"], weakest["ci_low"], weakest["ci_high"]
        stat.n_seeds, stat.interval = weakest["n"], weakest["interval"]
        stat.detail["weakest"] = weakest
    return stat


# --- rule: best-layer-differs -----------------------------------------------------------------------

def _layer_of(arms_cfg: list[dict], name: str) -> int:
    for a in arms_cfg:
        if a["name"] == name:
            return int(a["params"]["layer"])
    raise KeyError(name)


def rule_layers_differ(exp: Experiment, dec: dict, by_task: dict) -> Statistic:
    cands = list(dec["candidates"])
    metric = dec.get("metric", "summary.test_avg_nonen")
    select = dec.get("select_metric", "dev:en:accuracy")
    margin = float(dec.get("margin", 1.0))
    mu1 = float(dec.get("expected_effect", 2 * margin))
    alpha = float(dec.get("alpha", 0.05))
    min_seeds = int(dec.get("min_seeds", 3))
    layer = {c: _layer_of(suite_arms(exp), c) for c in cands}
    per_task: dict[str, Any] = {}
    chosen: dict[str, str] = {}
    run_ids: list[int] = []
    n_min = None
    for tname, arms in sorted(by_task.items()):
        table = _arm_table(arms, cands, metric, select)
        pick = _dev_choice(table, cands)
        seeds = sorted(set.intersection(*(set(arms.get(c) or {}) for c in cands))) if cands else []
        n_min = len(seeds) if n_min is None else min(n_min, len(seeds))
        run_ids += [arms[c][s].id for c in cands for s in seeds]
        per_task[tname] = {"seeds": seeds, "chosen_on_dev": pick, "chosen_layer": layer.get(pick),
                           "by_layer": {str(layer[c]): {"dev": table[c]["dev_mean"], "test": table[c]["test_mean"]}
                                        for c in cands}}
        if pick is not None:
            chosen[tname] = pick
    detail: dict[str, Any] = {"per_task": per_task, "layers": {c: layer[c] for c in cands}, "select_metric": select,
                              "margin": margin,
                              "rule": "best layer per task chosen on English dev, confirmed on test by a crossover"}
    stat = Statistic(S.INCONCLUSIVE.value, "", metric=metric, run_ids=run_ids, n_seeds=n_min or 0, detail=detail)
    if len(by_task) < 2 or len(chosen) < len(by_task) or (n_min or 0) < min_seeds:
        stat.reason = f"need >= 2 tasks with >= {min_seeds} seeds of every candidate and dev results to choose on"
        return stat
    scale = {t: _scale(by_task[t]) for t in by_task}
    if len(set(chosen.values())) > 1:
        pairs = [(a, b) for a, b in combinations(sorted(chosen), 2) if chosen[a] != chosen[b]]
        a_pair = alpha / len(pairs)  # every contrast of every pair at alpha / pairs: a false crossover stays <= alpha
        best = None
        for ta, tb in pairs:
            ca = _contrast(by_task[ta], chosen[ta], chosen[tb], metric, scale[ta], a_pair)
            cb = _contrast(by_task[tb], chosen[tb], chosen[ta], metric, scale[tb], a_pair)
            weaker = min((ca, ta), (cb, tb), key=lambda x: x[0].ci_low)
            row = {"tasks": [ta, tb], "contrasts": {ta: ca.to_dict(), tb: cb.to_dict()}, "weaker": weaker[1],
                   "holds": ca.ci_low > 0 and cb.ci_low > 0, "_eff": weaker[0], "_c": (ca, cb)}
            if best is None or (row["holds"], weaker[0].ci_low) > (best["holds"], best["_eff"].ci_low):
                best = row
        eff = best["_eff"]
        stat.effect, stat.ci_low, stat.ci_high, stat.interval = eff.mean, eff.ci_low, eff.ci_high, eff.ci_method
        ta, tb = best["tasks"]
        names = {t: f"{t}: layer {layer[chosen[t]]}" for t in (ta, tb)}
        if best["holds"]:
            stat.outcome = S.REPRODUCED.value
            stat.reason = (f"best layers chosen on dev differ ({names[ta]}, {names[tb]}) and each task's own layer "
                           f"beats the other's on test (weaker crossover {eff.mean:+.2f}, CI [{eff.ci_low:.2f}, "
                           f"{eff.ci_high:.2f}])")
        else:
            stat.reason = (f"best layers chosen on dev differ ({names[ta]}, {names[tb]}) but the test crossover is "
                           f"not established (weaker contrast {eff.mean:+.2f}, CI [{eff.ci_low:.2f}, {eff.ci_high:.2f}])")
        stat.components = [Component(t, c.mean, c.se, mu1, df=c.df, alpha=a_pair) for t, c in zip((ta, tb), best["_c"])]
        stat.combination = "all"
        detail["crossover"] = {k: v for k, v in best.items() if not k.startswith("_")}
        return stat
    # every task chose the same layer: is any other candidate better by the margin somewhere?
    same = next(iter(chosen.values()))
    rows, comps, holds = {}, [], True
    for t in sorted(by_task):
        cons = {c: _contrast(by_task[t], same, c, metric, scale[t], alpha) for c in cands if c != same}
        worst = min(cons.values(), key=lambda e: e.ci_low) if cons else None
        rows[t] = {c: e.to_dict() for c, e in cons.items()}
        if worst is None or not worst.ci_low > -margin:
            holds = False
        if cons:
            rival = max(cons.values(), key=lambda e: -e.mean)
            comps.append(Component(t, -rival.mean, rival.se, mu1, df=rival.df, alpha=alpha))
    detail["same_layer_contrasts"] = rows
    stat.components, stat.combination = comps, "any"
    stat.likelihood_note = ("for each task, the best other layer's lead over the shared one (chosen after seeing the "
                            "test means: favours the claim)")
    if holds:
        stat.outcome = S.NOT_REPRODUCED.value
        stat.reason = (f"every task chose layer {layer[same]} on dev, and in every task no other candidate beats it "
                       f"on test by {margin:g} points (every contrast's CI lower bound > -{margin:g})")
    else:
        stat.reason = (f"every task chose layer {layer[same]} on dev, but another layer may still be better by "
                       f"{margin:g} points in some task (a contrast's CI reaches below -{margin:g})")
    return stat


# --- rule: gate-differs -----------------------------------------------------------------------------

def rule_gate(exp: Experiment, dec: dict, by_task: dict) -> Statistic:
    cands = list(dec["candidates"])
    tasks = list(dec.get("tasks") or sorted(by_task))[:2]
    min_diff = float(dec.get("min_difference", 0.02))
    min_spread = float(dec.get("min_input_spread", 0.01))
    alpha = float(dec.get("alpha", 0.05))
    min_seeds = int(dec.get("min_seeds", 3))
    mu1 = float(dec.get("expected_effect", 2 * min_diff))
    metric = "fusion.lower_weight_mean"
    if len(tasks) < 2 or any(t not in by_task for t in tasks):
        return Statistic(S.INCONCLUSIVE.value, f"need runs of two tasks (have {sorted(by_task)})", metric=metric)
    a, b = tasks
    # a fused run that did not learn says nothing about how the gate serves a task: it voids its seed
    excluded = [x for t in tasks for c in cands for x in excluded_baseline_runs(by_task[t].get(c) or {}, f"{t}/{c}")]
    gone = {(x["arm"], x["seed"]) for x in excluded}
    rows, pvals, spreads, run_ids = [], [], [], []
    for c in cands:
        ra, rb = by_task[a].get(c, {}), by_task[b].get(c, {})
        seeds = [s for s in sorted(set(ra) & set(rb)) if (f"{a}/{c}", s) not in gone and (f"{b}/{c}", s) not in gone]
        wa = {s: ((ra[s].metrics or {}).get("fusion") or {}).get("lower_weight_mean") for s in seeds}
        wb = {s: ((rb[s].metrics or {}).get("fusion") or {}).get("lower_weight_mean") for s in seeds}
        seeds = [s for s in seeds if wa[s] is not None and wb[s] is not None]
        for s in seeds:
            for r in (ra[s], rb[s]):
                sp = ((r.metrics or {}).get("fusion") or {}).get("lower_weight_std_across_examples")
                if sp is not None:
                    spreads.append(float(sp))
                run_ids.append(r.id)
        eff = paired_effect([wa[s] - wb[s] for s in seeds], alpha=alpha)
        rows.append({"arm": c, "seeds": seeds, "weight": {a: _mean([wa[s] for s in seeds]), b: _mean([wb[s] for s in seeds])},
                     "effect": eff.to_dict(), "_eff": eff})
        pvals.append(eff.p_two_sided)
    for r, p in zip(rows, holm(pvals)):
        r["p_holm"] = p
    spread = _mean(spreads)
    n_min = min((len(r["seeds"]) for r in rows), default=0)
    sig = [r for r in rows if r["p_holm"] is not None and r["p_holm"] < alpha and abs(r["_eff"].mean) >= min_diff]
    equiv = all(math.isfinite(r["_eff"].ci_low) and -min_diff < r["_eff"].ci_low and r["_eff"].ci_high < min_diff for r in rows)
    if n_min < min_seeds:
        outcome = S.INCONCLUSIVE.value
        why = (too_few_seeds(n_min, min_seeds, excluded, "", "") if excluded
               else f"only {n_min} paired seed(s), fewer than the pre-registered {min_seeds}")
    elif spread is not None and spread < min_spread:
        outcome, why = S.NOT_REPRODUCED.value, (f"the gate hardly varies across inputs (mean across-example std "
                                                f"{spread:.4f} < {min_spread})")
    elif sig and spread is not None:
        top = max(sig, key=lambda r: abs(r["_eff"].mean))
        outcome, why = S.REPRODUCED.value, (f"lower-layer weight differs between {a} and {b} at {top['arm']} "
                                            f"({top['_eff'].mean:+.3f}, Holm p {top['p_holm']:.3g}); input spread {spread:.3f}")
    elif equiv:
        outcome, why = S.NOT_REPRODUCED.value, f"every layer's difference lies within +-{min_diff} (CI)"
    else:
        outcome, why = S.INCONCLUSIVE.value, "differences neither significant nor excluded"
    stat = Statistic(outcome, why, metric=metric, n_seeds=n_min, run_ids=run_ids,
                     detail={"tasks": [a, b], "per_layer": [{k: v for k, v in r.items() if k != "_eff"} for r in rows],
                             "input_spread_mean": spread, "min_difference": min_diff, "min_input_spread": min_spread,
                             "excluded_runs": excluded})
    top = max(rows, key=lambda r: abs(r["_eff"].mean) if math.isfinite(r["_eff"].mean) else -1) if rows else None
    if top is not None and math.isfinite(top["_eff"].ci_low):
        e = top["_eff"]
        sgn = 1.0 if e.mean >= 0 else -1.0
        stat.effect, stat.interval = abs(e.mean), e.ci_method
        stat.ci_low, stat.ci_high = min(sgn * e.ci_low, sgn * e.ci_high), max(sgn * e.ci_low, sgn * e.ci_high)
    # the claim names no direction: each layer's difference at +-mu1, one of the layers carrying it
    stat.components = [Component(r["arm"], r["_eff"].mean, r["_eff"].se, mu1, df=r["_eff"].df, alpha=alpha,
                                 two_sided=True) for r in rows if r["_eff"].n]
    stat.combination = "any"
    return stat
