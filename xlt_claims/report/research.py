"""Research-question tables: experiments that answer a report's research question rather than one claim
(e.g. the OT sweep: effect vs regularisation strength, per task). Registered in RESEARCH_TABLES (the
generic registry) as a ResearchTable: a rows producer over the store and its plain-text rendering,
which `claims reproduce` prints and the report shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

from sqlmodel import select

from ..experiments.methods.ot import SWEPT_QUANTITY
from ..metrics import metric_value
from ..registry import Registry
from ..stats import paired_effect
from ..store.models import Run


@dataclass(frozen=True)
class ResearchTable:
    rows: Callable[[Any, str], list[dict[str, Any]]]  # (store, experiment name) -> rows
    text: Callable[[list[dict[str, Any]]], str]  # rows -> plain text


RESEARCH_TABLES: Registry[ResearchTable] = Registry("research table")
RESEARCH_TABLES.register("ot-sweep", f"{__name__}:OT_SWEEP")


def research_table(store: Any, experiment: str) -> Optional[tuple[list[dict[str, Any]], str]]:
    """(rows, plain text) of an experiment's research-question table; None if it has none."""
    if experiment not in RESEARCH_TABLES:
        return None
    table = RESEARCH_TABLES[experiment]
    rows = table.rows(store, experiment)
    return rows, table.text(rows)


def ot_sweep_table(store: Any, experiment: str = "ot-sweep", metric: str = "summary.test_avg_nonen",
                   baseline: str = "baseline") -> list[dict[str, Any]]:
    """Effect of OT alignment vs regularisation strength, per task, from the FINISHED runs of a sweep.

    One row per (task, OT arm): the swept quantity (blur) and epsilon = blur**p, the mean metric of the
    arm and of the baseline (points), the paired per-seed effect with its CI (xlt_claims.stats),
    and the alignment's own numbers (held-out Sinkhorn divergence before -> after at the run's blur and
    at the reference blur 0.05, steps, cache hits). Invalid (collapsed) runs are left out and counted.
    """
    with store.session() as s:
        runs = s.exec(select(Run).where(Run.experiment == experiment, Run.status == "FINISHED").order_by(Run.id)).all()
        runs = [(r.arm, r.seed, r.id, r.valid, r.metrics or {}, r.config or {}, r.wall_s) for r in runs]
    by: dict[str, dict[str, dict[int, tuple]]] = {}
    for arm_key, seed, rid, valid, metrics, config, wall in runs:
        task, _, arm = arm_key.partition("/")
        by.setdefault(task, {}).setdefault(arm, {})[seed] = (rid, valid, metrics, config, wall)
    rows: list[dict[str, Any]] = []
    for task in sorted(by):
        arms = by[task]
        base = {s: v for s, v in (arms.get(baseline) or {}).items() if v[1] is not False}
        for arm in sorted(a for a in arms if a != baseline):
            rs = arms[arm]
            ok = {s: v for s, v in rs.items() if v[1] is not False and v[2].get("ot")}
            if not ok:
                continue
            ot0 = next(iter(ok.values()))[2]["ot"]
            seeds = sorted(set(ok) & set(base))
            diffs = []
            for sd in seeds:
                a, b = metric_value(ok[sd][2], metric), metric_value(base[sd][2], metric)
                if a is not None and b is not None:
                    diffs.append(100.0 * (a - b))
            eff = paired_effect(diffs) if diffs else None
            vals = [metric_value(v[2], metric) for v in ok.values()]
            bvals = [metric_value(v[2], metric) for v in base.values()]
            ots = [v[2]["ot"] for v in ok.values()]

            def mean_of(key: str) -> Optional[float]:
                xs = [o.get(key) for o in ots if isinstance(o.get(key), (int, float))]
                return round(sum(xs) / len(xs), 4) if xs else None

            rows.append({
                "task": task, "arm": arm, "swept": ot0.get("swept", SWEPT_QUANTITY), "blur": ot0.get("blur"),
                "epsilon": ot0.get("epsilon"), "p": ot0.get("p"), "n_seeds": len(ok), "paired_seeds": len(diffs),
                "invalid_runs": sum(1 for v in rs.values() if v[1] is False),
                "metric": metric,
                "mean": round(100 * sum(v for v in vals if v is not None) / max(1, sum(v is not None for v in vals)), 3),
                "baseline_mean": (round(100 * sum(v for v in bvals if v is not None) / max(1, sum(v is not None for v in bvals)), 3)
                                  if bvals else None),
                "effect": round(eff.mean, 3) if eff else None,
                "ci_low": round(eff.ci_low, 3) if eff and math.isfinite(eff.ci_low) else None,
                "ci_high": round(eff.ci_high, 3) if eff and math.isfinite(eff.ci_high) else None,
                "heldout_before": mean_of("heldout_before"), "heldout_after": mean_of("heldout_after"),
                "heldout_ref_before": mean_of("heldout_ref_before"), "heldout_ref_after": mean_of("heldout_ref_after"),
                "align_steps": ot0.get("steps"), "align_wall_s": mean_of("wall_s"),
                "cache_hits": sum(1 for o in ots if o.get("cache_hit")),
                "run_wall_s": round(sum(v[4] or 0 for v in ok.values()) / len(ok), 1),
                "run_ids": sorted(v[0] for v in ok.values()),
            })
    rows.sort(key=lambda r: (r["task"], r["blur"] if r["blur"] is not None else 0))
    return rows


def format_ot_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text rendering of ot_sweep_table (one line per task x blur)."""
    head = (f"{'task':<10} {'blur':>6} {'eps':>8} {'seeds':>5} {'acc':>7} {'base':>7} {'effect':>7} "
            f"{'CI':>17} {'S_ho before->after (ref 0.05)':>32}")
    out = [head]
    for r in rows:
        ci = f"[{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]" if r["ci_low"] is not None else "-"
        ho = (f"{r['heldout_ref_before']:.3f}->{r['heldout_ref_after']:.3f}"
              if r["heldout_ref_before"] is not None and r["heldout_ref_after"] is not None else "-")
        eff = f"{r['effect']:+.2f}" if r["effect"] is not None else "-"
        base = f"{r['baseline_mean']:.2f}" if r["baseline_mean"] is not None else "-"
        out.append(f"{r['task']:<10} {r['blur']:>6g} {r['epsilon']:>8.4g} {r['n_seeds']:>5} {r['mean']:>7.2f} "
                   f"{base:>7} {eff:>7} {ci:>17} {ho:>32}")
    return "\n".join(out)


OT_SWEEP = ResearchTable(rows=ot_sweep_table, text=format_ot_table)
