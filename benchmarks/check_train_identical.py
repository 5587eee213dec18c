"""Do shortened quick runs of the bundled encoder give exactly the same numbers as before a change?

Records (or compares against) the full metrics, the step history without wall times and the
deterministic part of the manifest of three shortened `quick` runs of the offline encoder
(logt-cls baseline, logt-pair bi-encoded with RS-DA, logt-cls with the DLFA head). Run it once on the
old code with --record, once on the new code with --compare; the tiny-model counterpart is a test
(tests/test_train_golden.py).

    python benchmarks/check_train_identical.py --record /tmp/quick_before.json
    python benchmarks/check_train_identical.py --compare /tmp/quick_before.json [--set precision=fp32]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

SHORT = {"max_steps": 6, "eval_every": 3, "max_train_examples": 300, "max_dev_examples": 60, "max_test_examples": 20,
         "max_pair_examples_total": 200}
RUNS = {
    "logt-cls/baseline": ("logt-cls", "baseline", {}, {}),
    "logt-pair/rs-da/bi": ("logt-pair", "rs-da", {"copies": 2, "max_neighbours": 8, "min_similarity": 0.4},
                           {"pair_encoding": "auto", "lr": 1e-4}),
    "logt-cls/dlfa": ("logt-cls", "dlfa", {"layer": 6}, {}),
}


def comparable(res) -> dict[str, Any]:
    from tests._train_golden import _manifest_part

    history = [{k: v for k, v in h.items() if k != "time_s"} for h in res.history]
    return json.loads(json.dumps({"metrics": res.metrics, "history": history, "manifest": _manifest_part(res.manifest)},
                                 default=str))


def run_all(extra: dict[str, Any]) -> dict[str, Any]:
    from xlt_claims.experiments.data import load_task
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    out = {}
    for name, (task_name, method, params, over) in RUNS.items():
        t0 = time.perf_counter()
        spec = RunSpec(model="offline:multilingual-e5-small", profile="quick", seed=1, device="cpu",
                       overrides={**SHORT, **over, **extra})
        res = train_and_evaluate(spec, load_task(task_name), get_method(method, **params), progress=False)
        out[name] = comparable(res)
        print(f"  {name}: {time.perf_counter() - t0:.1f} s, summary {json.dumps(res.metrics['summary'])[:160]}...", flush=True)
    return out


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: only in {'before' if k in a else 'after'}" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += diff(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


def main() -> None:
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--record")
    g.add_argument("--compare")
    ap.add_argument("--set", action="append", default=[], help="extra override key=value (JSON value), both sides")
    a = ap.parse_args()
    extra = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in a.set)}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}, extra overrides {extra}")
    got = run_all(extra)
    if a.record:
        with open(a.record, "w") as f:
            json.dump({"commit": commit, "extra": extra, "runs": got}, f, indent=1, sort_keys=True)
        print(f"recorded {len(got)} runs to {a.record}")
        return
    with open(a.compare) as f:
        before = json.load(f)
    problems = diff(before["runs"], got)
    print(f"compared with {a.compare} (commit {before['commit']}): "
          + ("IDENTICAL" if not problems else f"{len(problems)} differences"))
    for p in problems[:40]:
        print("  " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
