"""Kind "train": the paired rule's statistic (baseline vs the treatment arm, per seed).

`paired_statistic` is pure (runs in, a Statistic out); verdict.template.judge turns it into a verdict.
Guards: a baseline run that did not learn (collapsed, or English at chance) voids its seed; a treatment
run that did not learn is a result and counts. With fewer valid paired seeds than the file's
min_seeds the verdict is inconclusive and asks for seeds (a run that fails on one machine only is a
reason for more seeds, not a verdict); with no valid baseline run at all it is invalid. Then the
pre-registered metric per seed, the paired effect with its Student-t interval, the decision against 0
and the magnitude bar, and per-language rows with Holm. Documented in docs/verdicts.md.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Optional

from ..metrics import metric_items, metric_value
from ..reproduce.experiment import Experiment
from ..reproduce.guards import chance_margin, check_run, metric_chance
from ..stats import by_script, paired_by_language, paired_effect, seeds_needed
from ..store.models import Claim, Run
from ..store.status import Status
from .confidence import Component
from .decision import decide
from .template import Statistic


def claimed_number(exp: Experiment, claim: Optional[Claim]) -> tuple[Optional[float], str]:
    c = exp.decision.claimed
    if isinstance(c, (int, float)) and not isinstance(c, bool):
        return abs(float(c)), "decision.claimed"
    if c == "claim" and claim is not None:
        if claim.value is not None:
            return abs(float(claim.value)), "claim.value"
        m = re.search(r"\bby\s+(\d+(?:\.\d+)?)\s*(?:points?|pp|%|percentage points?)", claim.text or "", re.I)
        if m:
            return float(m.group(1)), "claim text"
    return None, "none"


def select_treatment(exp: Experiment, by_arm: dict[str, dict[int, Run]]) -> tuple[str, dict[str, Any]]:
    """With several treatment arms, the pre-registered choice: the best mean `select_metric` (an
    English dev metric, never test) over seeds; ties go to the first listed arm."""
    d = exp.decision
    cands = d.treatments
    if len(cands) == 1:
        return cands[0], {}
    table = {}
    for arm in cands:
        vals = [metric_value(r.metrics or {}, d.select_metric) for r in (by_arm.get(arm) or {}).values()]
        vals = [v for v in vals if v is not None]
        table[arm] = sum(vals) / len(vals) if vals else None
    ranked = [a for a in cands if table[a] is not None]
    best = max(ranked, key=lambda a: (table[a], -cands.index(a))) if ranked else cands[0]
    return best, {"select_metric": d.select_metric, "candidates": table, "selected": best}


def run_label_stats(run: Run) -> dict[str, Any]:
    """The gold-label statistics a run was made with (a suite keeps them under manifest['suite'])."""
    man = run.manifest or {}
    return ((man.get("suite") or {}).get("label_stats") or man.get("label_stats") or {})


def excluded_baseline_runs(runs: dict[int, Run], arm: str) -> list[dict[str, Any]]:
    """The baseline's runs that did not learn (collapsed, English at chance): each voids its seed."""
    bad = []
    for s, r in sorted(runs.items()):
        g = check_run(r.metrics, run_label_stats(r))
        if not g["valid"]:
            bad.append({"arm": arm, "seed": s, "run_id": r.id, "reasons": g["reasons"]})
    return bad


def too_few_seeds(n_valid: int, min_seeds: int, excluded: list[dict[str, Any]], outcome: str, why: str) -> str:
    """The reason of an inconclusive verdict with fewer valid paired seeds than pre-registered."""
    if excluded:
        runs = ", ".join(f"{b['arm']} seed {b['seed']} (run {b['run_id']}: {'; '.join(b['reasons'])})" for b in excluded)
        return (f"{n_valid} valid paired seed(s), fewer than the pre-registered {min_seeds}: excluded {runs}; add "
                f"seeds (a run that fails on one machine only asks for more seeds, it is not a verdict)")
    return f"only {n_valid} paired seed(s), fewer than the pre-registered {min_seeds} ({outcome} if it held: {why})"


def paired_statistic(exp: Experiment, claim: Optional[Claim], by_arm: dict[str, dict[int, Run]], *,
                     scripts: Optional[dict[str, str]] = None, alpha: Optional[float] = None) -> Statistic:
    """The baseline against the treatment (or, with several treatment arms, the one selected on English
    dev), paired over seeds. `alpha` replaces the file's (a sequential look)."""
    d = exp.decision if alpha is None else replace(exp.decision, alpha=alpha)
    base = by_arm.get(d.baseline) or {}
    chosen, selection = select_treatment(exp, by_arm)
    treat = by_arm.get(chosen) or {}
    seeds = sorted(set(base) & set(treat))
    detail: dict[str, Any] = {"seeds": seeds, "arms": {"baseline": d.baseline, "treatment": chosen}}
    if selection:
        detail["selection"] = selection
    stat = Statistic(Status.INCONCLUSIVE.value, "", metric=d.metric, n_seeds=len(seeds), detail=detail,
                     run_ids=[base[s].id for s in seeds] + [treat[s].id for s in seeds])

    # 1. guards: a baseline run that did not learn voids its seed; the treatment's runs are results
    excluded = excluded_baseline_runs({s: base[s] for s in seeds}, d.baseline)
    detail["guards"] = {"excluded_runs": excluded,
                        "rule": "a baseline run that did not learn voids its seed; treatment runs always count"}
    if not seeds:
        stat.reason = "no seed finished in both arms"
        return stat
    if len(excluded) == len(seeds):
        b = excluded[0]
        stat.outcome = Status.INVALID.value
        stat.reason = (f"the baseline did not learn in any seed (e.g. seed {b['seed']}, run {b['run_id']}: "
                       f"{'; '.join(b['reasons'])}): no comparison")
        return stat
    gone = {b["seed"] for b in excluded}

    # 2. the pre-registered metric per seed
    bvals = {s: metric_value(base[s].metrics or {}, d.metric) for s in seeds}
    tvals = {s: metric_value(treat[s].metrics or {}, d.metric) for s in seeds}
    missing = [s for s in seeds if bvals[s] is None or tvals[s] is None]
    if missing:
        stat.outcome, stat.reason = Status.INVALID.value, f"metric {d.metric!r} missing from the runs of seed(s) {missing}"
        return stat
    valid = [s for s in seeds if s not in gone]
    ref = treat[valid[0]]
    lstats = run_label_stats(ref)
    chance = metric_chance(lstats, d.metric)
    detail["metric_chance"] = chance
    if chance is not None:
        margin = chance_margin(lstats, d.metric, chance, metric_items(ref.metrics or {}, d.metric))
        b_mean = sum(bvals[s] for s in valid) / len(valid)
        t_mean = sum(tvals[s] for s in valid) / len(valid)
        if b_mean <= chance + margin and t_mean <= chance + margin:
            stat.outcome = Status.INVALID.value
            stat.reason = (f"both arms at chance on {d.metric} (baseline {b_mean:.3f}, treatment {t_mean:.3f}, "
                           f"chance {chance:.3f}): nothing transferred, so no comparison is possible")
            # where it failed, for a person to read: arm means per language / pair, never an effect
            detail["arm_means"] = {split: _arm_means([base[s].metrics or {} for s in valid],
                                                     [treat[s].metrics or {} for s in valid], split, d.per_language_measure)
                                   for split in ("test", "test_pairs")}
            return stat

    # 3. paired effect, interval and decision
    diffs = [d.sign * d.scale * (tvals[s] - bvals[s]) for s in valid]
    n_items = metric_items(ref.metrics or {}, d.metric)
    floor = d.scale / n_items if n_items else 0.0
    eff = paired_effect(diffs, alpha=d.alpha, sd_floor=floor)
    claimed, claimed_src = claimed_number(exp, claim)
    bar = max(d.magnitude_fraction * claimed if claimed else float(d.min_effect), 1e-9)
    outcome, reason = decide(eff, bar)
    if outcome != Status.INCONCLUSIVE.value and len(valid) < d.min_seeds or (excluded and len(valid) < d.min_seeds):
        reason = too_few_seeds(len(valid), d.min_seeds, excluded, outcome, reason)
        outcome = Status.INCONCLUSIVE.value
    stat.outcome, stat.reason = outcome, reason
    stat.effect, stat.ci_low, stat.ci_high, stat.interval = eff.mean, eff.ci_low, eff.ci_high, eff.ci_method
    stat.n_seeds = len(valid)
    stat.run_ids = [base[s].id for s in valid] + [treat[s].id for s in valid]
    detail.update({
        "seeds": valid,
        "per_seed": {str(s): {"baseline": bvals[s] * d.scale, "treatment": tvals[s] * d.scale, "diff": diffs[i]}
                     for i, s in enumerate(valid)},
        "effect": eff.to_dict(),
        "claimed": claimed, "claimed_source": claimed_src, "bar": bar,
        "bar_rule": (f"{d.magnitude_fraction} x claimed {claimed}" if claimed else f"min_effect {d.min_effect}"),
        "baseline_mean": sum(bvals[s] for s in valid) / len(valid) * d.scale,
        "treatment_mean": sum(tvals[s] for s in valid) / len(valid) * d.scale,
    })
    if outcome == Status.INCONCLUSIVE.value:
        detail["seeds_needed"] = seeds_needed(eff, bar, alpha=d.alpha)

    # 4. per language and per language pair (Holm within each family)
    brs = [base[s].metrics or {} for s in valid]
    trs = [treat[s].metrics or {} for s in valid]
    langs: dict[str, Any] = {}
    for split in ("test", "test_pairs"):
        rows = paired_by_language(brs, trs, split=split, measure=d.per_language_measure, sign=d.sign, scale=d.scale,
                                  alpha=d.alpha, scripts=scripts)
        if rows:
            langs[split] = [r.__dict__ for r in rows]
            langs[f"{split}_by_script"] = [g.__dict__ for g in by_script(rows)]
            langs[f"{split}_significant"] = {
                "+": [r.key for r in rows if r.significant == "+"], "-": [r.key for r in rows if r.significant == "-"]}
    detail["per_language"] = langs

    # 5. what the likelihood reads: the effect against the claim's own size (else the expected effect)
    mu1 = claimed or d.expected_effect or 2 * float(d.min_effect)
    stat.components = [Component("effect", eff.mean, eff.se, float(mu1), df=eff.df, alpha=d.alpha)]
    detail["wall_s"] = {"baseline": [base[s].wall_s for s in valid], "treatment": [treat[s].wall_s for s in valid]}
    detail["devices"] = sorted({r.device for r in (*base.values(), *treat.values()) if r.device})
    return stat


def _arm_means(base_runs: list[dict], treat_runs: list[dict], split: str, measure: str) -> dict[str, dict[str, Any]]:
    """{language or pair: {"baseline": mean, "treatment": mean, "n": items}} over the seeds (descriptive)."""
    out: dict[str, dict[str, Any]] = {}
    keys = sorted({k for r in (*base_runs, *treat_runs) for k in (r.get(split) or {})})
    for k in keys:
        row: dict[str, Any] = {}
        for arm, runs in (("baseline", base_runs), ("treatment", treat_runs)):
            vals = [((r.get(split) or {}).get(k) or {}).get(measure) for r in runs]
            vals = [v for v in vals if isinstance(v, (int, float))]
            row[arm] = sum(vals) / len(vals) if vals else None
        row["n"] = next((((r.get(split) or {}).get(k) or {}).get("n") for r in treat_runs), None)
        out[k] = row
    return out
