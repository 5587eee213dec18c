"""Experiment kind "probe": the layer-wise bitext retrieval probe (experiments/probe.py) as a
reproduction, so it shares the registry, claim links, resumable Run rows and verdict machinery.

A probe file (reproductions/*.toml)::

    kind = "probe"
    [task]
    proxy = "logt-retrieval"           # the bitext (load_bitext name)
    [params]
    max_items = 200                    # per language; langs = [...] optional; max_length = 64
    [run]
    seeds = [0]                        # the bootstrap seed (the probe itself is deterministic)
    [decision]
    rule = "lower-layers"              # probe.decide_lower_layers
    margin = 2.0                       # points
    expected_effect = 4.0              # H1's centre for the Bayes factor (points)

One Run per seed (arm "probe") stores the per-layer, per-language, both-direction accuracies and the
bootstrap statistics; the verdict is proxy whenever the model is not the claim's (mBERT) or the bitext
is the LibreOffice proxy.
"""

from __future__ import annotations

import time
from typing import Any

from ..reproduce.kinds import ExperimentKind, Unit, register_kind
from .probe import DECISION_MARGIN, DEFAULT_BITEXT, decide_lower_layers, probe_layers

PROBE_PARAMS = {"max_items", "langs", "max_length", "batch_size", "bootstrap_reps"}
RULES = ("lower-layers",)


@register_kind("probe")
class ProbeKind(ExperimentKind):
    proxy_task = True

    def validate(self, exp: Any) -> None:
        bad = set(exp.params) - PROBE_PARAMS
        if bad:
            raise ValueError(f"unknown probe params {sorted(bad)} (allowed: {sorted(PROBE_PARAMS)})")
        dec = dict((exp.raw or {}).get("decision") or {})
        rule = dec.get("rule", "lower-layers")
        if rule not in RULES:
            raise ValueError(f"unknown probe decision rule {rule!r} (known: {', '.join(RULES)})")
        margin = dec.get("margin", DECISION_MARGIN)
        if not isinstance(margin, (int, float)) or margin <= 0:
            raise ValueError("decision.margin must be a number > 0 (points)")

    def units(self, exp: Any, opts: Any, model: str) -> list[Unit]:
        bitext = exp.task.proxy or DEFAULT_BITEXT
        seeds = list(getattr(opts, "seeds", None) or exp.seeds or [0])
        cfg = {"probe": "bitext-retrieval-p@1", "bitext": bitext, **{k: exp.params[k] for k in sorted(exp.params)}}
        return [Unit("probe", int(s), dict(cfg), estimate_s=90.0) for s in seeds]

    def execute(self, exp: Any, unit: Unit, opts: Any, progress: Any = None) -> tuple[dict, dict]:
        from .manifest import build_manifest

        t0 = time.time()
        cpu0 = time.process_time()
        cfg = dict(unit.config)
        model = getattr(opts, "model", None) or exp.model.default
        metrics = probe_layers(
            model, cfg["bitext"], langs=cfg.get("langs"), max_items=cfg.get("max_items", 200),
            max_length=int(cfg.get("max_length", 64)), batch_size=int(cfg.get("batch_size", 64)),
            device=getattr(opts, "device", "auto") or "auto", bootstrap_reps=int(cfg.get("bootstrap_reps", 1000)),
            seed=int(unit.seed),
            progress=(lambda stage, i, n: progress(stage, i, n, "")) if callable(progress) else None,
        )
        manifest = build_manifest(
            kind="probe", probe=cfg, model=metrics.pop("model_info", {"model_id": model}),
            data={"bitext": cfg["bitext"], "fingerprint": metrics.get("data_fingerprint")},
            timing={"wall_s": round(time.time() - t0, 2), "cpu_s": round(time.process_time() - cpu0, 2),
                    **metrics.get("timing", {})},
        )
        return metrics, manifest

    def judge(self, exp: Any, claim: Any, runs: dict, *, proxy_data: bool, model: str) -> Any:
        from ..verdict import confidence as conf
        from ..verdict.compute import VerdictResult

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
        from .suite_kind import decision_digest

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

