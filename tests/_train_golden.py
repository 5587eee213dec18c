"""Fixed small train-loop configurations whose exact results are recorded in tests/golden/train_tiny.json
(before the train loop was split into modules) and compared by tests/test_train_golden.py.

    python -m tests._train_golden --record        # rewrite the golden file (only when a change of the
                                                  # computation is intended, and say so in the commit)

Each configuration runs the tiny random BERT of tests/_train_util.py on one thread (seconds). What is
compared: the full metrics dict, the training history without wall times, and the deterministic part of
the manifest (tokens, padded slots, steps, parameter counts, precision).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parent / "golden" / "train_tiny.json"
BASE = {"threads": 1, "batch_size": 16, "eval_every": 5, "lr": 3e-3, "freeze_word_embeddings": False}


def _configs() -> dict[str, tuple]:
    """name -> (task factory, method name, method params, overrides)."""
    from tests._train_util import same_colour_pair_task, span_task, synthetic_task

    return {
        "cls-pairs-fp32": (lambda: synthetic_task(pairs=True), "baseline", {}, {"max_steps": 12, "precision": "fp32"}),
        "cls-bf16-accum-frozen": (lambda: synthetic_task(pairs=True), "baseline", {},
                                  {"max_steps": 6, "precision": "bf16", "grad_accum": 2, "batch_size": 8,
                                   "freeze_word_embeddings": True, "warmup_ratio": 0.2, "eval_every": 3}),
        "span-fp32": (lambda: span_task(40), "baseline", {}, {"max_steps": 8, "precision": "fp32", "eval_every": 4}),
        "bi-pairs-fp32": (same_colour_pair_task, "baseline", {}, {"max_steps": 10, "precision": "fp32", "pair_encoding": "bi"}),
        "cross-pairs-fp32": (same_colour_pair_task, "baseline", {}, {"max_steps": 6, "precision": "fp32"}),
        "rs-rp-bi-fp32": (same_colour_pair_task, "rs-rp", {"radius": 0.5}, {"max_steps": 6, "precision": "fp32", "pair_encoding": "bi"}),
        "adv-fp32": (lambda: synthetic_task(pairs=True), "adv", {"radius": 1.0, "steps": 2}, {"max_steps": 5, "precision": "fp32"}),
        "rs-da-fp32": (lambda: synthetic_task(pairs=True), "rs-da", {"copies": 2, "min_similarity": 0.0},
                       {"max_steps": 6, "precision": "fp32"}),
        "dlfa-fp32": (lambda: synthetic_task(pairs=True), "dlfa", {"layer": 1, "gate_items": 8}, {"max_steps": 6, "precision": "fp32"}),
        "aif-bf16": (lambda: synthetic_task(pairs=True), "aif", {"layer": 1, "gate_items": 8}, {"max_steps": 6, "precision": "bf16"}),
    }


def _manifest_part(man: dict[str, Any]) -> dict[str, Any]:
    keep = ("train_steps", "epochs_run", "best_step", "train_tokens", "padded_tokens", "padding_efficiency", "precision")
    out = {k: man.get(k) for k in keep}
    out["model"] = {k: man["model"].get(k) for k in ("n_params", "n_trainable", "custom_head", "pooling", "pair_encoding")}
    out["task"] = {k: v for k, v in man["task"].items() if k != "provenance"}
    out["optimizer"] = {k: v for k, v in man["optimizer"].items() if k != "impl"}
    out["method"] = man["method"]
    return out


def run_config(name: str) -> dict[str, Any]:
    """Run one configuration and return its comparable result (JSON round-tripped)."""
    from tests._train_util import tiny_model
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    make_task, method, params, over = _configs()[name]
    task = make_task()
    enc, tok = tiny_model(task, seed=0)
    spec = RunSpec(model="tiny-random-bert", profile="quick", seed=3, device="cpu", overrides={**BASE, **over})
    res = train_and_evaluate(spec, task, get_method(method, **params), progress=False, encoder=enc, tokenizer=tok)
    history = [{k: v for k, v in h.items() if k != "time_s"} for h in res.history]
    out = {"metrics": res.metrics, "history": history, "manifest": _manifest_part(res.manifest)}
    return json.loads(json.dumps(out, default=str))


def machine() -> dict[str, Any]:
    import torch

    from xlt_claims.experiments.models.runtime import device_description

    d = device_description("cpu")
    return {"cpu": d.get("name"), "capability": d.get("capability"), "torch": torch.__version__}


def record() -> None:
    out = {"machine": machine(), "configs": {name: run_config(name) for name in _configs()}}
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN} ({len(out['configs'])} configurations) on {out['machine']}")


if __name__ == "__main__":
    if "--record" in sys.argv:
        record()
    else:
        print(__doc__)
