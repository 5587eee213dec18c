"""Issue 4 'done when': a one-seed `quick` fine-tune of the bundled offline encoder on an English
classification set transfers zero-shot to languages in several scripts above chance, in < 3 minutes on
a 2-core CPU. Prints the timing breakdown, the per-language table (grouped by script) and the manifest.

    python benchmarks/bench_train_quick.py [--task logt-cls] [--seed 0] [--model offline:multilingual-e5-small]
                                           [--set key=value ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

T0 = time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="logt-cls")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="offline:multilingual-e5-small")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--method", default="baseline")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--set", action="append", default=[], help="profile override key=value (JSON value)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()

    from xlt_claims.experiments.data import load_task
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.models.runtime import device_description
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    overrides = {}
    for kv in a.set:
        k, v = kv.split("=", 1)
        try:
            overrides[k] = json.loads(v)
        except json.JSONDecodeError:
            overrides[k] = v
    task = load_task(a.task)
    spec = RunSpec(model=a.model, profile=a.profile, seed=a.seed, device=a.device, overrides=overrides)
    last = {"t": 0.0}

    def log_event(stage, i, n, info):
        now = time.perf_counter() - T0
        if now - last["t"] > 5 or i == n:
            last["t"] = now
            print(f"  [{now:6.1f}s] {stage} {i}/{n} {info}", flush=True)

    progress = False if a.quiet else (None if sys.stderr.isatty() else log_event)
    res = train_and_evaluate(spec, task, get_method(a.method), progress=progress)
    total = time.perf_counter() - T0
    m, man = res.metrics, res.manifest
    print(f"machine: {json.dumps(device_description(man['spec']['device'] if man['spec']['device'] != 'auto' else man['device']['device']))}")
    print(f"task {task.name} ({task.task_type}, {len(task.labels)} labels, chance {1/len(task.labels):.3f}); model {man['model']['name']}")
    print(f"precision {man['precision']}, optimizer {man['optimizer']['impl']}, steps {man['train_steps']}, "
          f"train examples used {man['task']['n_train_used']}, trainable {man['model']['n_trainable']/1e6:.1f}M of {man['model']['n_params']/1e6:.1f}M")
    print(f"timing: process total {total:.1f} s (incl. imports) | run wall {man['timing']['wall_s']} s = load {man['timing']['load_s']} "
          f"+ train {man['timing']['train_s']} + eval {man['timing']['eval_s']} | tokens/s {man['tokens_per_s']} (padding eff. {man['padding_efficiency']})")
    key = m["summary"]["metric"]
    print(f"dev en {m['dev']['en'].get(key):.3f}; test avg non-en {m['summary']['test_avg_nonen']:.3f}; "
          f"majority baseline {m['summary'].get('majority_baseline')}; collapsed {m['collapsed']}")
    rows = sorted(m["test"].items(), key=lambda kv: (task.scripts.get(kv[0], "?"), kv[0]))
    chance = 1 / len(task.labels)
    above = [l for l, v in m["test"].items() if l != "en" and v[key] > chance]
    scripts_above = sorted({task.scripts.get(l, "?") for l in above})
    print(f"{'lang':8} {'script':10} {key:>8} {'macro_f1':>8} {'n':>5}")
    for lang, v in rows:
        print(f"{lang:8} {task.scripts.get(lang, '?'):10} {v[key]:8.3f} {v.get('macro_f1', 0):8.3f} {v['n']:5d}")
    print(f"languages above uniform chance ({chance:.3f}): {len(above)}/{len(m['test']) - 1}; scripts: {len(scripts_above)} {scripts_above}")
    if task.task_type != "span-extraction":
        from collections import Counter

        maj = {lang: max(Counter(int(e.label) for e in items).values()) / len(items) for lang, items in task.test.items() if items}
        above_maj = [l for l, v in m["test"].items() if l != "en" and v[key] > maj.get(l, 1.0)]
        f1_above = [l for l, v in m["test"].items() if l != "en" and v.get("macro_f1", 0) > chance]
        print(f"languages above their own majority-class rate (full test set): {len(above_maj)}/{len(m['test']) - 1} "
              f"({len({task.scripts.get(l, '?') for l in above_maj})} scripts); macro-F1 above {chance:.3f}: {len(f1_above)}/{len(m['test']) - 1}")
    print(f"by script: {json.dumps({k: round(v, 3) for k, v in m['summary']['by_script'].items()})}")
    print(f"under 3 minutes: {total < 180} ({total:.1f} s)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"metrics": m, "manifest": man, "history": res.history, "process_s": total}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
