"""Kind "train": judge one claim from an experiment's paired runs (baseline vs the treatment arm, per seed).

`judge_paired` is pure (runs in, a VerdictResult out): guards, the pre-registered metric per seed, the
paired effect and its interval, the decision against 0 and the magnitude bar, per-language rows with
Holm, and the Bayesian confidence update. Documented in docs/verdicts.md.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ..metrics import metric_items, metric_value
from ..reproduce.experiment import Experiment
from ..reproduce.guards import chance_margin, check_run, metric_chance
from ..stats import by_script, paired_by_language, paired_effect, seeds_needed
from ..store.models import Claim, Run
from . import confidence as conf
from .decision import decide
from .result import VerdictResult


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


def judge_paired(exp: Experiment, claim: Optional[Claim], by_arm: dict[str, dict[int, Run]], *,
                    proxy_data: bool, model: str, scripts: Optional[dict[str, str]] = None,
                    data_guard: Optional[str] = None) -> VerdictResult:
    """Judge one claim from an experiment's FINISHED runs ({arm: {seed: Run}}): the baseline against
    the treatment (or, with several treatment arms, the one selected on English dev)."""
    d = exp.decision
    base = by_arm.get(d.baseline) or {}
    chosen, selection = select_treatment(exp, by_arm)
    treat = by_arm.get(chosen) or {}
    claim_model = conf.claim_model_of(exp, claim)
    other_model = conf.is_other_model(claim_model, model)
    proxy = proxy_data or other_model
    seeds = sorted(set(base) & set(treat))
    run_ids = sorted([base[s].id for s in seeds] + [treat[s].id for s in seeds])
    detail: dict[str, Any] = {
        "experiment": exp.name, "decision": {k: getattr(d, k) for k in d.__dataclass_fields__},
        "decision_digest": d.digest(), "model": model, "claim_model": claim_model, "proxy_data": proxy_data,
        "other_model": other_model, "seeds": seeds, "arms": {"baseline": d.baseline, "treatment": chosen},
    }
    if selection:
        detail["selection"] = selection
    res = VerdictResult(outcome="inconclusive", reason="", proxy=proxy, metric=d.metric, run_ids=run_ids,
                        n_seeds=len(seeds), detail=detail)
    if proxy:
        detail["proxy_reasons"] = conf.proxy_reasons(proxy_data, other_model, data_label="proxy benchmark",
                                                      model=model, claim_model=claim_model)

    if data_guard:
        res.outcome, res.reason = "invalid", f"data guard refused: {data_guard}"
        return res

    # 1. guards: a collapsed or chance-level run never counts
    bad = []
    for arm_name, runs in ((d.baseline, base), (chosen, treat)):
        for s, r in sorted(runs.items()):
            g = check_run(r.metrics, (r.manifest or {}).get("label_stats"))
            if not g["valid"]:
                bad.append({"arm": arm_name, "seed": s, "run_id": r.id, "reasons": g["reasons"]})
    detail["guards"] = {"invalid_runs": bad}
    if bad:
        b = bad[0]
        res.outcome = "invalid"
        res.reason = f"arm {b['arm']!r} seed {b['seed']} (run {b['run_id']}) is invalid: {'; '.join(b['reasons'])}"
        return res
    if not seeds:
        res.reason = "no seed finished in both arms"
        return res

    # 2. the pre-registered metric per seed
    bvals = {s: metric_value(base[s].metrics or {}, d.metric) for s in seeds}
    tvals = {s: metric_value(treat[s].metrics or {}, d.metric) for s in seeds}
    missing = [s for s in seeds if bvals[s] is None or tvals[s] is None]
    if missing:
        res.outcome, res.reason = "invalid", f"metric {d.metric!r} missing from the runs of seed(s) {missing}"
        return res
    stats = (treat[seeds[0]].manifest or {}).get("label_stats") or {}
    chance = metric_chance(stats, d.metric)
    detail["metric_chance"] = chance
    if chance is not None:
        margin = chance_margin(stats, d.metric, chance, metric_items(treat[seeds[0]].metrics or {}, d.metric))
        b_mean = sum(bvals.values()) / len(seeds)
        t_mean = sum(tvals.values()) / len(seeds)
        if b_mean <= chance + margin and t_mean <= chance + margin:
            res.outcome = "invalid"
            res.reason = (f"both arms at chance on {d.metric} (baseline {b_mean:.3f}, treatment {t_mean:.3f}, "
                          f"chance {chance:.3f}): nothing transferred, so no comparison is possible")
            # where it failed, for a person to read: arm means per language / pair, never an effect
            detail["arm_means"] = {split: _arm_means([base[s].metrics or {} for s in seeds],
                                                     [treat[s].metrics or {} for s in seeds], split, d.per_language_measure)
                                   for split in ("test", "test_pairs")}
            return res

    # 3. paired effect, CI and decision
    diffs = [d.sign * d.scale * (tvals[s] - bvals[s]) for s in seeds]
    n_items = metric_items(treat[seeds[0]].metrics or {}, d.metric)
    floor = d.scale / n_items if n_items else 0.0
    eff = paired_effect(diffs, alpha=d.alpha, n_boot=d.n_boot, sd_floor=floor)
    claimed, claimed_src = claimed_number(exp, claim)
    bar = d.magnitude_fraction * claimed if claimed else float(d.min_effect)
    bar = max(bar, 1e-9)
    outcome, reason = decide(eff, bar)
    if outcome != "inconclusive" and len(seeds) < d.min_seeds:
        reason = f"only {len(seeds)} paired seed(s), fewer than the pre-registered {d.min_seeds} ({outcome} if it held: {reason})"
        outcome = "inconclusive"
    res.outcome, res.reason = outcome, reason
    res.effect, res.ci_low, res.ci_high = eff.mean, eff.ci_low, eff.ci_high
    detail.update({
        "per_seed": {str(s): {"baseline": bvals[s] * d.scale, "treatment": tvals[s] * d.scale, "diff": diffs[i]}
                     for i, s in enumerate(seeds)},
        "effect": eff.to_dict(),
        "claimed": claimed, "claimed_source": claimed_src, "bar": bar,
        "bar_rule": (f"{d.magnitude_fraction} x claimed {claimed}" if claimed else f"min_effect {d.min_effect}"),
        "baseline_mean": sum(bvals.values()) / len(seeds) * d.scale,
        "treatment_mean": sum(tvals.values()) / len(seeds) * d.scale,
    })
    if outcome == "inconclusive":
        detail["seeds_needed"] = seeds_needed(eff, bar, alpha=d.alpha)

    # 4. per language and per language pair (Holm within each family)
    brs = [base[s].metrics or {} for s in seeds]
    trs = [treat[s].metrics or {} for s in seeds]
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

    # 5. Bayesian confidence update (proxy evidence tempered)
    mu1 = claimed or d.expected_effect or 2 * float(d.min_effect)
    pri = conf.prior(claim.report_confidence if claim is not None else None,
                     claim.text_verdict if claim is not None else None)
    bf = conf.bayes_factor(eff, mu1, alpha=d.alpha)
    w = conf.evidence_weight(proxy_data, other_model)
    upd = conf.update(pri, bf, w)
    detail["bayes"] = upd
    res.confidence = upd["posterior"]
    detail["wall_s"] = {"baseline": [base[s].wall_s for s in seeds], "treatment": [treat[s].wall_s for s in seeds]}
    detail["devices"] = sorted({r.device for r in (*base.values(), *treat.values()) if r.device})
    return res


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
