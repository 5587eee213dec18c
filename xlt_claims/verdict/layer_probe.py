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
from . import confidence as conf
from .result import VerdictResult
from .task_suite import decision_digest

INVALID_BELOW = 0.05  # the best layer's mean P@1 below this: no cross-lingual signal to compare


def decide_lower_layers(metrics: dict[str, Any], margin: float = DECISION_MARGIN, proxy: bool = True) -> dict[str, Any]:
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
        "proxy": proxy,
        "proxy_reason": "model is not mBERT; LibreOffice bitext is not the paper's data" if proxy else None,
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
            "ci_high": d["ci_high"], "proxy": proxy, "detail": detail}


def judge_layer_probe(exp: Experiment, claim: Any, runs: dict, *, proxy_data: bool, model: str,
                      scripts: Optional[dict[str, str]] = None, data_guard: Optional[str] = None) -> VerdictResult:
    """Judge one claim from the probe's FINISHED run(s) ({'probe': {seed: Run}}) by the lower-layers rule."""
    dec = dict((exp.raw or {}).get("decision") or {})
    margin = float(dec.get("margin", DECISION_MARGIN))
    claim_model = conf.claim_model_of(exp, claim)
    other_model = conf.is_other_model(claim_model, model)
    proxy = bool(proxy_data or other_model)
    probe_runs = runs.get("probe") or {}
    if not probe_runs:
        return VerdictResult(outcome="inconclusive", reason="no finished probe run", proxy=proxy,
                             metric="retrieval P@1 (points)")
    seed = sorted(probe_runs)[0]
    run = probe_runs[seed]
    v = decide_lower_layers(run.metrics or {}, margin=margin, proxy=proxy)
    d = v["detail"]
    d.update({"experiment": exp.name, "rule": "lower-layers", "decision_raw": dec, "claim_model": claim_model,
              "decision_digest": decision_digest(exp),
              "other_model": other_model, "proxy_data": proxy_data, "run_id": run.id})
    d["proxy_reasons"] = conf.proxy_reasons(proxy_data, other_model, data_label="proxy bitext (LibreOffice)",
                                            model=model, claim_model=claim_model)
    reason = {
        "reproduced": f"lower-half layers beat the last layer by {v['effect']:+.2f} points (CI [{v['ci_low']:.2f}, {v['ci_high']:.2f}]) >= {margin}",
        "partially-reproduced": f"lower-half layers beat the last layer by {v['effect']:+.2f} points (CI excludes 0) but less than {margin}",
        "not-reproduced": f"lower-half minus last layer = {v['effect']:+.2f} points, CI [{v['ci_low']:.2f}, {v['ci_high']:.2f}] below the {margin}-point bar",
        "inconclusive": f"lower-half minus last layer = {v['effect']:+.2f} points, CI [{v['ci_low']:.2f}, {v['ci_high']:.2f}] contains 0 and the bar",
        "invalid": "no layer retrieves translations above 5% P@1: nothing to compare",
    }[v["outcome"]]
    res = VerdictResult(outcome=v["outcome"], reason=reason, proxy=proxy, metric=v["metric"], effect=v["effect"],
                        ci_low=v["ci_low"], ci_high=v["ci_high"], n_seeds=len(probe_runs), run_ids=[run.id], detail=d)
    if v["outcome"] != "invalid":
        # the item-bootstrap CI gives the standard error (n = items, so no t inflation)
        se = max((v["ci_high"] - v["ci_low"]) / (2 * 1.96), 1e-6)
        mu1 = float(dec.get("expected_effect", 2 * margin))
        bf = conf.directional_log_bf(v["effect"], se, mu1)
        pri = conf.prior(getattr(claim, "report_confidence", None), getattr(claim, "text_verdict", None))
        upd = conf.update(pri, bf, conf.evidence_weight(proxy_data, other_model))
        d["bayes"] = upd
        res.confidence = upd["posterior"]
    return res
