"""Kind "probe": judge the claim "lower layers carry more cross-lingual information" from the layer-wise
bitext retrieval probe's run (xlt_claims/experiments/probe.py measures; this module decides).

  D = mean over languages of [ mean accuracy over the lower half of the transformer layers
      (layers 1..floor(L/2)) ] - [ accuracy of the last layer L ], in points; accuracy = mean of the
      two directions. 95% CI: bootstrap over items within each language (paired across layers).
  reproduced             D >= margin (default 2 points) and CI low > 0
  partially-reproduced   CI low > 0 but D < margin (direction holds, not the magnitude)
  not-reproduced         CI high < margin (the last layer is as good or better)
  inconclusive           otherwise
  invalid                the best layer's mean accuracy < 0.05 (no cross-lingual signal to compare)
"""

from __future__ import annotations

from typing import Any, Optional

from ..reproduce.experiment import Experiment
from ..reproduce.kinds.layer_probe import DECISION_MARGIN
from ..store.status import Status
from .confidence import Component
from .template import Statistic

INVALID_BELOW = 0.05  # the best layer's mean P@1 below this: no cross-lingual signal to compare
DATA_LABEL = "proxy bitext (LibreOffice)"


def decide_lower_layers(metrics: dict[str, Any], margin: float = DECISION_MARGIN) -> dict[str, Any]:
    """Pre-registered rule for "lower layers carry more cross-lingual information" (module docstring)."""
    st = metrics["stats"]
    d = st["d_lower_minus_last"]
    best_acc = max(metrics["avg"])
    detail = {
        "rule": (f"D = mean over languages of (mean P@1 over layers {st['lower_layers'][0]}..{st['lower_layers'][-1]}) "
                 f"- P@1 of the last layer ({st['last_layer']}), both directions averaged; reproduced if D >= {margin} "
                 "points and CI low > 0; partially if CI low > 0; not-reproduced if CI high < margin; else inconclusive; "
                 f"invalid if the best layer's mean P@1 < {INVALID_BELOW}"),
        "margin_points": margin,
        "d_lower_minus_last": d,
        "best_layer": metrics["best_layer"],
        "best_below_last": st["best_below_last"],
        "d_best_below_minus_last": st["d_best_below_minus_last"],
        "per_script_lower_minus_last": {s: r["lower_half_minus_last"] for s, r in metrics["per_script"].items()},
        "avg_by_layer": metrics["avg"],
        "model": metrics["model"],
        "bitext": metrics["bitext"],
        "tested_part": "cross-lingual information only (bitext retrieval); the 'language structure' half is not tested",
    }
    if best_acc < INVALID_BELOW:
        outcome = "invalid"
    elif d["value"] >= margin and d["ci_low"] > 0:
        outcome = "reproduced"
    elif d["ci_low"] > 0:
        outcome = "partially-reproduced"
    elif d["ci_high"] < margin:
        outcome = "not-reproduced"
    else:
        outcome = "inconclusive"
    return {"outcome": outcome, "metric": "retrieval P@1 (points)", "effect": d["value"], "ci_low": d["ci_low"],
            "ci_high": d["ci_high"], "detail": detail}


def probe_statistic(exp: Experiment, claim: Any, runs: dict, *, scripts: Optional[dict[str, str]] = None,
                    alpha: Optional[float] = None) -> Statistic:
    """The lower-layers rule on the probe's run ({'probe': {seed: Run}}; the first seed is judged). The
    probe is deterministic and its interval comes from items, so sequential seeds (`alpha`) do not apply."""
    dec = dict((exp.raw or {}).get("decision") or {})
    margin = float(dec.get("margin", DECISION_MARGIN))
    probe_runs = runs.get("probe") or {}
    metric = "retrieval P@1 (points)"
    if not probe_runs:
        return Statistic(Status.INCONCLUSIVE.value, "no finished probe run", metric=metric, data_label=DATA_LABEL)
    seed = sorted(probe_runs)[0]
    run = probe_runs[seed]
    v = decide_lower_layers(run.metrics or {}, margin=margin)
    d = v["detail"]
    d.update({"rule": "lower-layers", "rule_text": d["rule"], "decision_raw": dec, "run_id": run.id})
    reason = {
        "reproduced": f"lower-half layers beat the last layer by {v['effect']:+.2f} points (CI [{v['ci_low']:.2f}, {v['ci_high']:.2f}]) >= {margin}",
        "partially-reproduced": f"lower-half layers beat the last layer by {v['effect']:+.2f} points (CI excludes 0) but less than {margin}",
        "not-reproduced": f"lower-half minus last layer = {v['effect']:+.2f} points, CI [{v['ci_low']:.2f}, {v['ci_high']:.2f}] below the {margin}-point bar",
        "inconclusive": f"lower-half minus last layer = {v['effect']:+.2f} points, CI [{v['ci_low']:.2f}, {v['ci_high']:.2f}] contains 0 and the bar",
        "invalid": "no layer retrieves translations above 5% P@1: nothing to compare",
    }[v["outcome"]]
    reps = ((run.metrics or {}).get("stats") or {}).get("bootstrap", {}).get("reps")
    stat = Statistic(v["outcome"], reason, metric=v["metric"], effect=v["effect"], ci_low=v["ci_low"], ci_high=v["ci_high"],
                     interval=f"percentile bootstrap 95% over items within each language ({reps} resamples; the probe "
                              "is deterministic, so seeds add nothing)",
                     n_seeds=len(probe_runs), run_ids=[run.id], detail=d, data_label=DATA_LABEL)
    if v["outcome"] != Status.INVALID.value:
        # the item-bootstrap interval gives the standard error over many items (no t inflation)
        se = max((v["ci_high"] - v["ci_low"]) / (2 * 1.96), 1e-6)
        stat.components = [Component("D lower-half minus last", v["effect"], se,
                                     float(dec.get("expected_effect", 2 * margin)))]
    return stat
