"""Baselines of the bundled encoder on the LOGT proxy benchmark (numbers quoted in docs/data.md).

    python benchmarks/logt_baselines.py retrieval            # P@1 en->xx and xx->en, last layer, no training
    python benchmarks/logt_baselines.py cls|pair [--steps N]  # English fine-tune, zero-shot test per language

Prints one JSON object. Chance: retrieval 1/N, logt-cls 1/7 (majority class share printed), logt-pair 0.5.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def retrieval(model: str, langs=None, n: int = 0) -> dict:
    import numpy as np

    from xlt_claims.experiments.data import load_bitext
    from xlt_claims.experiments.data.proxy import manifest
    from xlt_claims.experiments.models import embed_texts, load_encoder

    enc, tok = load_encoder(model, device="auto")
    bt = load_bitext("logt-retrieval", langs, max_per_lang=n or None)
    scripts = manifest()["scripts"]
    out = {}
    for lg, pairs in bt.items():
        en = embed_texts(enc, tok, [p[0] for p in pairs], max_length=64)
        tr = embed_texts(enc, tok, [p[1] for p in pairs], max_length=64)
        sim = en @ tr.T
        gold = np.arange(len(pairs))
        out[lg] = {"n": len(pairs), "script": scripts[lg],
                   "p1_en2xx": round(float((sim.argmax(1) == gold).mean()), 4),
                   "p1_xx2en": round(float((sim.argmax(0) == gold).mean()), 4)}
        print(lg, out[lg], file=sys.stderr, flush=True)
    return out


def task(name: str, model: str, steps: int, langs=None, max_test=None, seed: int = 0) -> dict:
    from xlt_claims.experiments.data import load_task
    from xlt_claims.experiments.train import train_and_evaluate
    from xlt_claims.experiments.types import RunSpec

    data = load_task(name, langs=langs, max_test=max_test)
    spec = RunSpec(model=model, profile="quick", seed=seed, device="auto",
                   overrides={"max_steps": steps, "max_train_examples": None, "max_test_examples": max_test,
                              "eval_every": max(steps // 3, 1)})
    res = train_and_evaluate(spec, data, None, progress=False)
    m = res.metrics
    counts = {}
    for lg, items in data.test.items():
        c = {}
        for e in items:
            c[e.label] = c.get(e.label, 0) + 1
        counts[lg] = round(max(c.values()) / len(items), 4)
    return {"task": name, "steps": steps, "dev": m.get("dev"), "test": m.get("test"), "summary": m.get("summary"),
            "pairs": m.get("test_pairs"), "majority_share": counts, "scripts": data.scripts,
            "collapsed": m.get("collapsed")}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["retrieval", "cls", "pair"])
    ap.add_argument("--model", default="offline:multilingual-e5-small")
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--max-test", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--langs", default=None, help="comma-separated subset")
    ap.add_argument("--n", type=int, default=0, help="retrieval: first n pairs per language (0 = all)")
    a = ap.parse_args()
    t = time.time()
    if a.what == "retrieval":
        r = retrieval(a.model, a.langs.split(",") if a.langs else None, a.n)
    else:
        r = task("logt-" + a.what, a.model, a.steps, max_test=a.max_test, seed=a.seed)
    r = {"result": r, "seconds": round(time.time() - t, 1)}
    print(json.dumps(r, ensure_ascii=False, default=str))
