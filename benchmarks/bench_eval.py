"""Evaluation speed against training speed, in one run (issues 16 and 19): the tokens per second of the
run's evaluation passes (forward only, English dev and every test language) beside the training
tokens per second, forward + backward, and their forward-equivalent (x3: a backward pass costs about
two forwards). Both come from the same run, so machine load hits both alike; the ratio is the point.
A ratio well under 1 means evaluation wastes time that is not the model (padding, per-batch work,
casts): before this benchmark, evaluation ran under inference_mode, which disables autocast's
weight cache, and re-cast every weight to bf16 for every batch.

    python benchmarks/bench_eval.py [--task logt-cls] [--seed 1] [--steps 45] [--set key=value ...]

Defaults match one run of the main job (quick profile, 100 test items per language, bf16 autocast,
one torch thread). Tokens are the real (non-padding) tokens the encoder saw; padded slots are shown
too. `--steps 2` gives the evaluation numbers in a fraction of the time (few train tokens, noisier).
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="logt-cls")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--method", default="baseline")
    ap.add_argument("--model", default="offline:multilingual-e5-small")
    ap.add_argument("--steps", type=int, default=None, help="max_steps override (default: the profile's)")
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="profile override key=value (JSON value)")
    a = ap.parse_args()

    import torch

    import xlt_claims.experiments.train as train
    from xlt_claims.experiments.data import load_task
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.models.runtime import device_description

    overrides = {"max_test_examples": 100, "precision": a.precision, "threads": a.threads}
    if a.steps:
        overrides.update(max_steps=a.steps, eval_every=min(a.steps, 15))
    for kv in a.set:
        k, v = kv.split("=", 1)
        try:
            overrides[k] = json.loads(v)
        except json.JSONDecodeError:
            overrides[k] = v
    task = load_task(a.task, **({"pair_langs": "none"} if a.task == "logt-pair" else {}))

    counts = {"real": 0, "padded": 0, "calls": 0, "wall": 0.0, "cpu": 0.0}

    def count(module, args, kwargs, out):  # encoder forwards without grad = evaluation
        if not torch.is_grad_enabled():
            m = kwargs["attention_mask"]
            counts["real"] += int(m.sum())
            counts["padded"] += int(m.numel())

    predict = train.predict

    def timed_predict(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return predict(*args, **kwargs)
        finally:
            counts["wall"] += time.perf_counter() - t0
            counts["cpu"] += time.thread_time() - c0
            counts["calls"] += 1

    from xlt_claims.experiments.models import load_encoder

    encoder, tokenizer = load_encoder(a.model, device="cpu")
    encoder.register_forward_hook(count, with_kwargs=True)
    spec = train.RunSpec(model=a.model, profile="quick", seed=a.seed, device="cpu", overrides=overrides)
    train.predict = timed_predict
    try:
        res = train.train_and_evaluate(spec, task, get_method(a.method), progress=False, encoder=encoder,
                                       tokenizer=tokenizer)
    finally:
        train.predict = predict
    man = res.manifest
    dev = device_description("cpu")
    train_tps = man["train_tokens"] / man["timing"]["train_s"]
    eval_tps = counts["real"] / counts["wall"]
    print(f"machine: {dev.get('name')}, {dev.get('cores')} cores, torch threads {a.threads}, precision {a.precision}")
    print(f"run: {a.task} / {a.method} / seed {a.seed}, {man['train_steps']} steps, {counts['calls']} evaluation calls")
    print(f"{'':26}{'tokens':>10}{'padding eff':>13}{'seconds':>9}{'tokens/s':>10}")
    print(f"{'train (fwd+bwd)':26}{man['train_tokens']:>10}{man['padding_efficiency'] or 0:>13.3f}"
          f"{man['timing']['train_s']:>9.1f}{train_tps:>10.0f}")
    print(f"{'train, forward-equivalent':26}{3 * man['train_tokens']:>10}{'':>13}{man['timing']['train_s']:>9.1f}"
          f"{3 * train_tps:>10.0f}")
    print(f"{'evaluation (forward)':26}{counts['real']:>10}{counts['real'] / max(1, counts['padded']):>13.3f}"
          f"{counts['wall']:>9.1f}{eval_tps:>10.0f}")
    print(f"evaluation / forward-equivalent training: {eval_tps / (3 * train_tps):.2f} "
          f"(evaluation CPU {counts['cpu']:.1f} s of {counts['wall']:.1f} s wall; load shared by both)")


if __name__ == "__main__":
    main()
