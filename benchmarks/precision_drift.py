"""How far the same run moves between numeric precisions: a stand-in for the numeric difference between two
machines (issue 18 #10). Runs one quick configuration of a registered experiment twice, fp32 and bf16
autocast, same seed and data, and prints the per-language and decision-metric differences (points).
benchmarks/bench_rules.py perturbs simulated per-seed results by this size.

    OMP_NUM_THREADS=1 python benchmarks/precision_drift.py [--experiment robust-gxlt-rsda-auc] [--arm baseline]
        [--seed 1] [--out drift.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", default="robust-gxlt-rsda-auc")
    ap.add_argument("--arm", default="baseline")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from xlt_claims.experiments.train import RunSpec, train_and_evaluate
    from xlt_claims.metrics import metric_value
    from xlt_claims.reproduce import load_registry
    from xlt_claims.reproduce.kinds.paired_training import make_method
    from xlt_claims.reproduce.tasks import load_task_for

    exp = load_registry().get(args.experiment)
    task = load_task_for(exp)
    out = {}
    for precision in ("fp32", "bf16"):
        spec = RunSpec(model=exp.model.default, profile=exp.profile, seed=args.seed, device="cpu",
                       overrides={**exp.overrides.get(exp.profile, {}), "precision": precision})
        t0 = time.perf_counter()
        res = train_and_evaluate(spec, task, make_method(exp.arm(args.arm)))
        out[precision] = {"metrics": res.metrics, "wall_s": round(time.perf_counter() - t0, 1)}
    diffs = {}
    for split in ("test", "test_pairs"):
        for key, row in (out["fp32"]["metrics"].get(split) or {}).items():
            other = (out["bf16"]["metrics"].get(split) or {}).get(key) or {}
            for measure in ("accuracy", "auc"):
                if isinstance(row.get(measure), (int, float)) and isinstance(other.get(measure), (int, float)):
                    diffs.setdefault(f"{split}:{measure}", []).append(100 * (other[measure] - row[measure]))
    metric = exp.decision.metric
    dm = 100 * (metric_value(out["bf16"]["metrics"], metric) - metric_value(out["fp32"]["metrics"], metric))
    report = {"experiment": args.experiment, "arm": args.arm, "seed": args.seed, "decision_metric": metric,
              "decision_metric_diff_points": dm, "wall_s": {p: out[p]["wall_s"] for p in out},
              "per_key": {k: {"n": len(v), "mean": statistics.fmean(v), "sd": statistics.pstdev(v),
                              "max_abs": max(abs(x) for x in v)} for k, v in diffs.items()},
              "cpu": os.cpu_count(), "load": os.getloadavg()}
    print(json.dumps(report, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
