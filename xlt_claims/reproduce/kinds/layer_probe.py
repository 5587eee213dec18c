"""Kind "probe": the layer-wise bitext retrieval probe (experiments/probe.py) as a reproduction, so it
shares the registry, claim links and resumable Run rows (judged by xlt_claims.verdict.layer_probe).

A probe file (reproductions/*.toml)::

    kind = "probe"
    [task]
    proxy = "logt-retrieval"           # the offline bitext (load_bitext name), used with --proxy
    real = "tatoeba"                   # the real bitext, used when reachable (reproduce.tasks.benchmark_for)
    [params]
    max_items = 200                    # per language; langs = [...] optional; max_length = 64
    [run]
    seeds = [0]                        # the bootstrap seed (the probe itself is deterministic)
    [decision]
    rule = "lower-layers"              # verdict.layer_probe.decide_lower_layers
    margin = 2.0                       # points
    expected_effect = 4.0              # H1's centre for the Bayes factor (points)

One Run per seed (arm "probe") stores the per-layer, per-language, both-direction accuracies and the
bootstrap statistics; the verdict is proxy whenever the model is not the claim's (mBERT) or the bitext
is the LibreOffice proxy (the run's config says which bitext it read).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from ...experiments import probe
from ...experiments.manifest import build_manifest
from ..experiment import Experiment
from ...experiments.data import bitext_folder
from ..tasks import check_data_folder, task_source
from . import ExperimentKind, Planned, RunOutput, Unit, benchmark_row

CONFIG_SCHEMA = 1
PROBE_PARAMS = {"max_items", "langs", "max_length", "batch_size", "bootstrap_reps"}
RULES = ("lower-layers",)
DECISION_MARGIN = 2.0  # points: the default bar of the lower-layers rule


class LayerProbe(ExperimentKind):
    trains = False
    default_seeds = (1,)

    def validate(self, exp: Experiment) -> None:
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

    def plan(self, exp: Experiment, opts: Any, model: str, profile: str, seeds: list[int]) -> Planned:
        src = task_source(exp, opts.data_dir, getattr(opts, "proxy", False))
        bitext = src["name"] or probe.DEFAULT_BITEXT
        # the seed is the bootstrap seed of a deterministic probe: an explicit --seeds list sets it,
        # a seed count does not add probes
        probe_seeds = list(opts.seeds or exp.seeds or [0])
        cfg = {"probe": "bitext-retrieval-p@1", "bitext": bitext, **{k: exp.params[k] for k in sorted(exp.params)}}
        # DIR's files when it holds this bitext (checked whole first: a damaged file stops the command);
        # otherwise, as without --data, the registered or embedded copy. Absent when not read from a
        # folder, so the hash of a run on the shipped data does not change.
        folder = bitext_folder(bitext, src["data_dir"])
        if folder:
            check_data_folder(bitext, folder)
            cfg["bitext_dir"] = folder
        elif src["data_dir"]:
            src = {**src, "where": f"registered or embedded copy (no {bitext} files under {src['data_dir']})"}
        units = [Unit("probe", int(s), {"schema": CONFIG_SCHEMA, "kind": exp.kind, "model": model, "seed": int(s), **cfg},
                      estimate_s=90.0) for s in probe_seeds]
        return Planned(units, proxy_data=src["benchmark"] == "proxy",
                       benchmarks=[benchmark_row(bitext, src, exp.task.claim_dataset)])

    def execute(self, exp: Experiment, unit: Unit, opts: Any,
                progress: Optional[Callable[..., None]] = None) -> RunOutput:
        t0 = time.time()
        cpu0 = time.process_time()
        cfg = dict(unit.config)
        model = opts.model or exp.model.default
        metrics = probe.probe_layers(
            model, cfg["bitext"], langs=cfg.get("langs"), max_items=cfg.get("max_items", 200),
            max_length=int(cfg.get("max_length", 64)), batch_size=int(cfg.get("batch_size", 64)),
            device=opts.device or "auto", bootstrap_reps=int(cfg.get("bootstrap_reps", 1000)),
            seed=int(unit.seed), **({"data_dir": cfg["bitext_dir"]} if cfg.get("bitext_dir") else {}),
            progress=(lambda stage, i, n: progress(stage, i, n, "")) if callable(progress) else None,
        )
        probe_cfg = {k: v for k, v in cfg.items() if k not in ("schema", "kind", "model", "seed")}
        manifest = build_manifest(
            kind="probe", probe=probe_cfg, model=metrics.pop("model_info", {"model_id": model}),
            data={"bitext": cfg["bitext"], "fingerprint": metrics.get("data_fingerprint")},
            timing={"wall_s": round(time.time() - t0, 2), "cpu_s": round(time.process_time() - cpu0, 2),
                    **metrics.get("timing", {})},
        )
        return RunOutput(metrics, manifest)
