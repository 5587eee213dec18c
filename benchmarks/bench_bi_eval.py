"""Bi-encoded evaluation: each distinct test text encoded once for all test sets (the default) vs once
per test set. The generalized pairs of the robust-training experiments reuse the standard-setting texts
in every language pair, so most of their encodings are repeats. Both sides run in this one process on
the same task and seed (1 training step: evaluation cost does not depend on the weights), and the
printed ratio is eval_s(without) / eval_s(with). Also checks that both give the same metrics.

    python benchmarks/bench_bi_eval.py [--experiment robust-gxlt-rsda] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--experiment", default="robust-gxlt-rsda")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()

    from xlt_claims.experiments.train import RunSpec, train_and_evaluate
    from xlt_claims.reproduce.registry import load_registry
    from xlt_claims.reproduce.kinds.paired_training import make_method
    from xlt_claims.reproduce.tasks import load_task_for

    exp = load_registry().get(a.experiment)
    task = load_task_for(exp)
    arm = exp.arm(exp.decision.baseline)
    base = {**exp.overrides.get(exp.profile, {}), **arm.overrides, "max_steps": 1, "eval_every": 1}
    times: dict[bool, list[float]] = {True: [], False: []}
    metrics: dict[bool, dict] = {}
    for _ in range(a.repeats):  # alternate, so drift in machine load hits both sides alike
        for reuse in (True, False):
            spec = RunSpec(model=exp.model.default, profile=exp.profile, seed=1, device="auto",
                           overrides={**base, "reuse_text_vectors": reuse})
            res = train_and_evaluate(spec, task, make_method(arm), progress=False)
            if res.manifest["model"]["pair_encoding"] != "bi":
                raise SystemExit(f"{a.experiment} does not bi-encode its pairs with {exp.model.default}")
            times[reuse].append(res.manifest["timing"]["eval_s"])
            metrics[reuse] = res.metrics
    n_pairs = sum(v["n"] for v in metrics[True]["test_pairs"].values())
    n_test = sum(v["n"] for v in metrics[True]["test"].values())
    w, wo = statistics.median(times[True]), statistics.median(times[False])
    print(f"{a.experiment}: {n_test} standard-setting items, {n_pairs} generalized pairs "
          f"({len(metrics[True]['test_pairs'])} language pairs), device {res.manifest['device'].get('device')}")
    print(f"eval_s once per text:    {w:6.2f}  (runs: {', '.join(f'{t:.2f}' for t in times[True])})")
    print(f"eval_s once per test set: {wo:6.2f}  (runs: {', '.join(f'{t:.2f}' for t in times[False])})")
    print(f"ratio (per set / once):   {wo / w:6.2f}x")
    diffs = [abs(metrics[True][s][k]["accuracy"] - metrics[False][s][k]["accuracy"])
             for s in ("test", "test_pairs") for k in metrics[True][s]]
    print(f"largest accuracy difference between the two (batch composition under bf16): {max(diffs):.4f}")


if __name__ == "__main__":
    main()
