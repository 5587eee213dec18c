"""freeze_layers = K (embeddings + bottom K layers frozen and computed once per distinct text): per-run
train and eval seconds and English DEV accuracy for several K, side by side in ONE process.

Only the English dev score (the run's model-selection metric, pilot seed) is printed: this benchmark
informs a choice of setting, and test numbers are never read for choosing.

    python benchmarks/bench_freeze_layers.py --task logt-cls --k 0 6 [--set key=value ...] [--json out.json]
    python benchmarks/bench_freeze_layers.py --task pawsx --k 0 6 --set pair_encoding='"auto"' \\
        --set max_steps=90 --set eval_every=45 --set lr=1e-4 --set max_test_examples=100

--seeds 0 4 5 runs every (task, K) for each pilot seed and prints the mean dev score per (task, K) and the
mean paired difference against K = 0. --dev-only evaluates no test item at all: the test slot of the task
is replaced by its first 8 English DEV items (the run's code path needs one test language), so a pilot that
chooses a setting cannot read a test score even by accident (the test files are loaded from disk by the
task loader and dropped unread).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time


def parse_sets(items: list[str]) -> dict:
    out = {}
    for kv in items:
        k, v = kv.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", action="append", required=True, help="task name (repeatable; --set applies to all)")
    ap.add_argument("--k", type=int, nargs="+", default=[0, 6])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="pilot seeds (overrides --seed)")
    ap.add_argument("--dev-only", action="store_true", help="evaluate no test item (see the module docstring)")
    ap.add_argument("--model", default="offline:multilingual-e5-small")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--set", action="append", default=[], help="profile override key=value (JSON value)")
    ap.add_argument("--task-set", action="append", default=[], help="TASK:key=value, an override for one task only")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    from xlt_claims.experiments.data import load_task
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.models import resolve_device
    from xlt_claims.experiments.models.runtime import device_description
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    common = parse_sets(a.set)
    per_task: dict[str, dict] = {}
    for item in a.task_set:
        t, kv = item.split(":", 1)
        per_task.setdefault(t, {}).update(parse_sets([kv]))
    rows = []
    seeds = a.seeds if a.seeds is not None else [a.seed]
    for tname in a.task:
        task = load_task(tname)
        if a.dev_only:
            task = dataclasses.replace(task, test={"en": task.dev[:8]}, test_pairs={})
        for seed in seeds:
            for k in a.k:
                over = {**common, **per_task.get(tname, {}), "freeze_layers": k}
                t0 = time.perf_counter()
                res = train_and_evaluate(RunSpec(model=a.model, profile=a.profile, seed=seed, device=a.device, overrides=over),
                                         task, get_method("baseline"), progress=False)
                man, m = res.manifest, res.metrics
                key = m["summary"]["metric"]
                row = {"task": tname, "k": k, "seed": seed, "wall_s": round(time.perf_counter() - t0, 1), "train_s": man["timing"]["train_s"],
                       "eval_s": man["timing"]["eval_s"], "tokens_per_s": man["tokens_per_s"], "steps": man["train_steps"],
                       "dev_en": round(m["dev"]["en"][key], 4), "dev_metric": key, "best_step": man["best_step"],
                       "n_trainable": man["model"]["n_trainable"], "pair_encoding": man["model"]["pair_encoding"],
                       "precision": man["precision"]["autocast"], "threads": man["device"].get("torch_threads"),
                       "frozen": man.get("frozen_layers")}
                rows.append(row)
                print(f"{tname:10} K={k:2d} seed {seed}  train {row['train_s']:6.1f} s  eval {row['eval_s']:6.1f} s  "
                      f"run {row['wall_s']:6.1f} s  tok/s {row['tokens_per_s']}  dev-en {key} {row['dev_en']:.3f} "
                      f"(best step {row['best_step']})  trainable {row['n_trainable'] / 1e6:.1f}M", flush=True)
    print("machine:", json.dumps(device_description(resolve_device(a.device))))
    print("settings:", json.dumps({"profile": a.profile, "seeds": seeds, "dev_only": a.dev_only, "overrides": common, "per_task": per_task,
                                   "precision": rows[0]["precision"], "threads": rows[0]["threads"]}))
    for r in rows:  # speed against K = 0 of the same task and seed
        base = next((b for b in rows if b["task"] == r["task"] and b["seed"] == r["seed"] and b["k"] == 0), None)
        if base is not None and r["k"]:
            print(f"{r['task']:10} K={r['k']:2d} seed {r['seed']} vs K=0: train {base['train_s'] / r['train_s']:.2f}x  "
                  f"eval {base['eval_s'] / r['eval_s']:.2f}x  run {base['wall_s'] / r['wall_s']:.2f}x faster")
    if len(seeds) > 1:  # the pilot's reading: mean dev score per (task, K) and the paired difference to K = 0
        for tname in a.task:
            for k in a.k:
                mine = {r["seed"]: r["dev_en"] for r in rows if r["task"] == tname and r["k"] == k}
                line = f"{tname:10} K={k:2d} dev-en mean {statistics.mean(mine.values()):.4f} over seeds {sorted(mine)}"
                base = {r["seed"]: r["dev_en"] for r in rows if r["task"] == tname and r["k"] == 0}
                if k and base:
                    diffs = [mine[s] - base[s] for s in mine if s in base]
                    line += f"; minus K=0, paired: mean {statistics.mean(diffs):+.4f} (per seed {diffs})"
                print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
