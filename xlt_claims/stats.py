"""Pure statistics for paired multi-seed comparisons (leaf module: numpy/scipy, nothing of ours):
effect with its Student-t interval, Student-t quantiles, Holm correction, per-language paired rows,
and how many more seeds would likely settle an undecided comparison.

Conventions: every effect is already signed in the *claimed* direction and scaled (points), so a
positive number always means "the claim's direction".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

MAX_SEEDS = 50  # the seeds-needed search stops here
POWER = 0.8  # "would likely decide it" = decisive in at least 80% of simulated continuations


def t_quantile(q: float, df: int) -> float:
    from scipy.stats import t as student_t  # scipy.stats takes ~0.4 s to import: only verdicts need it

    return float(student_t.ppf(q, df))


def t_sf(x: float, df: int) -> float:
    from scipy.stats import t as student_t  # heavy import, as above

    return float(student_t.sf(x, df))


@dataclass
class Effect:
    """Mean paired difference over seeds with its Student-t interval (both in the claimed direction)."""

    n: int
    diffs: list[float]
    mean: float
    sd: float  # sample sd of the per-seed differences (ddof=1), 0 when n < 2
    sd_floor: float  # resolution floor: one test item's worth of the metric
    se: float  # max(sd, sd_floor) / sqrt(n); inf with fewer than 2 seeds
    ci_low: float
    ci_high: float
    ci_method: str  # what the interval is, in words ("Student-t 95%, 3 seeds")
    p_two_sided: Optional[float]
    alpha: float

    @property
    def df(self) -> Optional[int]:
        return self.n - 1 if self.n >= 2 else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_effect(diffs: Sequence[float], *, alpha: float = 0.05, sd_floor: float = 0.0) -> Effect:
    """Mean of paired per-seed differences with the Student-t (1 - alpha) interval over seeds.

    Seeds are the unit of replication; with the 3-10 seeds an experiment runs, a percentile bootstrap
    over seeds under-covers (with 3 seeds it is the range of the three differences), so the interval
    is Student-t and says so. The standard deviation is floored at `sd_floor` (one test item's worth
    of the metric), so differences that happen to be identical across seeds do not produce a
    zero-width interval. Fewer than 2 seeds: no variance, an infinite interval, no p-value.
    """
    d = np.asarray(list(diffs), dtype=float)
    n = int(d.size)
    level = f"{100 * (1 - alpha):g}%"
    if n == 0:
        nan = float("nan")
        return Effect(0, [], nan, nan, sd_floor, math.inf, -math.inf, math.inf, "none (no paired seed)", None, alpha)
    mean = float(d.mean())
    if n < 2:
        return Effect(n, d.tolist(), mean, 0.0, sd_floor, math.inf, -math.inf, math.inf,
                      "none (one seed: no variance)", None, alpha)
    sd = float(d.std(ddof=1))
    sd_eff = max(sd, sd_floor)
    se = sd_eff / math.sqrt(n)
    tq = t_quantile(1 - alpha / 2, n - 1)
    method = f"Student-t {level}, {n} seeds" + (", sd floored at one test item" if sd_floor > sd else "")
    p = 2 * t_sf(abs(mean) / se, n - 1) if se > 0 else (1.0 if mean == 0 else 0.0)
    return Effect(n, d.tolist(), mean, sd, sd_floor, se, mean - tq * se, mean + tq * se, method, min(1.0, p), alpha)


def seeds_needed(effect: Effect, min_effect: float, *, alpha: float = 0.05, power: float = POWER,
                 max_seeds: int = MAX_SEEDS, sims: int = 2000, rng_seed: int = 0) -> dict[str, Any]:
    """How many more seeds would likely (with probability >= `power`) turn the verdict decisive.

    Simulates continuations of the experiment: per-seed differences drawn from a normal with the
    observed mean and (floored) sd, judged with the Student-t interval (what dominates at small n).
    This takes the observed effect as the truth, so it is an estimate, reported as such.
    """
    if effect.n < 2:
        return {"more_seeds": None, "total_seeds": None, "note": "need at least 2 paired seeds to estimate"}
    sd = max(effect.sd, effect.sd_floor, 1e-9)
    rng = np.random.default_rng(rng_seed)
    for n in range(effect.n + 1, max_seeds + 1):
        x = rng.normal(effect.mean, sd, size=(sims, n))
        m = x.mean(axis=1)
        se = np.maximum(x.std(axis=1, ddof=1), effect.sd_floor) / math.sqrt(n)
        tq = t_quantile(1 - alpha / 2, n - 1)
        lo, hi = m - tq * se, m + tq * se
        decisive = (lo > 0) | (hi < min_effect)
        p = float(decisive.mean())
        if p >= power:
            return {"more_seeds": n - effect.n, "total_seeds": n, "probability": round(p, 3),
                    "note": f"~{n - effect.n} more seed(s) (n={n}) decide it with probability {p:.0%}, "
                            f"assuming the observed effect {effect.mean:+.2f} (sd {sd:.2f}) is the truth"}
    return {"more_seeds": None, "total_seeds": None,
            "note": f"more than {max_seeds - effect.n} more seeds: the observed effect {effect.mean:+.2f} sits too close "
                    f"to a decision boundary (0 or {min_effect:.2f}) to be settled by seeds alone"}


def holm(pvalues: Sequence[Optional[float]]) -> list[Optional[float]]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone); None stays None."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    m = len(idx)
    out: list[Optional[float]] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        adj = min(1.0, (m - rank) * float(pvalues[i]))
        running = max(running, adj)
        out[i] = running
    return out


@dataclass
class LanguageRow:
    key: str  # "de" or "de-fr"
    split: str  # "test" | "test_pairs"
    n_seeds: int
    baseline: float  # mean over seeds, scaled
    treatment: float
    effect: float  # mean paired difference in claimed direction
    ci_low: float
    ci_high: float
    p: Optional[float]
    p_holm: Optional[float] = None
    significant: Optional[str] = None  # "+" / "-" after Holm at alpha, else None
    n_items: int = 0
    script: Optional[str] = None


def paired_by_language(base_runs: Sequence[dict], treat_runs: Sequence[dict], *, split: str, measure: str, sign: int,
                 scale: float, alpha: float, scripts: Optional[dict[str, str]] = None) -> list[LanguageRow]:
    """Paired per-seed differences per language (or language pair) with a Holm-corrected family.

    `base_runs` / `treat_runs` are metrics dicts of the same seeds in the same order.
    """
    keys = set()
    for r in (*base_runs, *treat_runs):
        keys |= set((r.get(split) or {}).keys())
    rows: list[LanguageRow] = []
    for k in sorted(keys):
        pairs = []
        n_items = 0
        for b, t in zip(base_runs, treat_runs):
            bv = ((b.get(split) or {}).get(k) or {}).get(measure)
            tv = ((t.get(split) or {}).get(k) or {}).get(measure)
            if isinstance(bv, (int, float)) and isinstance(tv, (int, float)):
                pairs.append((bv * scale, tv * scale))
                n_items = int(((t.get(split) or {}).get(k) or {}).get("n", 0) or n_items)
        if not pairs:
            continue
        diffs = [sign * (tv - bv) for bv, tv in pairs]
        floor = scale / n_items if n_items else 0.0
        eff = paired_effect(diffs, alpha=alpha, sd_floor=floor)
        script = None
        if scripts:
            script = scripts.get(k) if "-" not in k else "/".join(scripts.get(x, "?") for x in k.split("-", 1))
        rows.append(LanguageRow(
            key=k, split=split, n_seeds=eff.n, baseline=float(np.mean([p[0] for p in pairs])),
            treatment=float(np.mean([p[1] for p in pairs])), effect=eff.mean, ci_low=eff.ci_low, ci_high=eff.ci_high,
            p=eff.p_two_sided, n_items=n_items, script=script,
        ))
    adj = holm([r.p for r in rows])
    for r, a in zip(rows, adj):
        r.p_holm = a
        if a is not None and a < alpha:
            r.significant = "+" if r.effect > 0 else "-"
    return rows


@dataclass
class GroupRow:
    """An average over languages sharing a script (or script pair), for the per-script view."""

    group: str
    keys: list[str] = field(default_factory=list)
    effect: float = 0.0
    baseline: float = 0.0
    treatment: float = 0.0


def by_script(rows: Sequence[LanguageRow]) -> list[GroupRow]:
    groups: dict[str, list[LanguageRow]] = {}
    for r in rows:
        groups.setdefault(r.script or "?", []).append(r)
    out = []
    for g, rs in sorted(groups.items()):
        out.append(GroupRow(group=g, keys=[r.key for r in rs], effect=float(np.mean([r.effect for r in rs])),
                            baseline=float(np.mean([r.baseline for r in rs])),
                            treatment=float(np.mean([r.treatment for r in rs]))))
    return out
