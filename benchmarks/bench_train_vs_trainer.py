"""Our train loop vs transformers' Trainer: same model, same data, same batch size and max length, same
frozen parameters, same autocast dtype, same optimizer family (Trainer's default adamw_torch_fused; ours
uses fused AdamW where torch supports it), one epoch over the same English examples, in ONE process,
alternating the two sides. Prints tokens/s (non-padding tokens per second of training) and the ratio.

What the ratio measures: throughput of real tokens. Our loop batches length-grouped examples with dynamic
padding; Trainer's default sampler draws random batches and DataCollatorWithPadding pads each to its
longest member. The Trainer row with train_sampling_strategy="group_by_length" shows how much of the
difference is batching (and how much is per-step overhead).

--freeze-layers K: the embeddings and the bottom K layers frozen on BOTH sides (requires_grad False and
eval mode, no dropout). Trainer still runs them in every step; our loop (profile setting freeze_layers)
computes them once per distinct text and caches the layer-K states, so its saving grows with --epochs.

    python benchmarks/bench_train_vs_trainer.py [--task logt-cls] [--examples 640] [--batch 32] [--max-length 64]
                                                [--repeats 2] [--model offline:multilingual-e5-small] [--device auto]
                                                [--freeze-layers K] [--epochs N] [--no-default-trainer]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time


def make_trainer_model(encoder, num_labels: int, pooling: str, freeze_layers: int = 0):
    import torch
    from torch import nn

    from xlt_claims.experiments.models import mean_pool

    class EncoderClassifier(nn.Module):
        """The same head as the loop's default (pooling -> dropout 0.1 -> linear), for Trainer."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(0.1)
            self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)
            self.frozen = [encoder.embeddings, *encoder.encoder.layer[:freeze_layers]] if freeze_layers else []
            for m in self.frozen:
                m.requires_grad_(False)

        def train(self, mode: bool = True):
            super().train(mode)
            for m in self.frozen:  # the frozen part runs without dropout, as in our loop
                m.eval()
            return self

        def forward(self, input_ids=None, attention_mask=None, labels=None, **kw):
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            x = out.last_hidden_state
            v = mean_pool(x, attention_mask) if pooling == "mean" else x[:, 0]
            logits = self.classifier(self.dropout(v))
            loss = nn.functional.cross_entropy(logits.float(), labels) if labels is not None else None
            return {"loss": loss, "logits": logits}

    return EncoderClassifier()


def run_ours(args, task, device: str) -> dict:
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate
    from xlt_claims.experiments.types import TaskData

    sub = TaskData(name=task.name, task_type=task.task_type, labels=task.labels, train=task.train[: args.examples],
                   dev=[], test={}, scripts=task.scripts, proxy=task.proxy)
    spec = RunSpec(model=args.model, profile="quick", seed=0, device=device, overrides={
        "batch_size": args.batch, "max_length": args.max_length, "epochs": args.epochs, "max_steps": None,
        "freeze_layers": args.freeze_layers, "threads": args.threads or None,
        "max_train_examples": None, "freeze_word_embeddings": True, "precision": args.precision,
        "warmup_ratio": 0.0, "lr": 5e-5, "log_every": 10_000, "eval_every": 10_000})
    res = train_and_evaluate(spec, sub, None, progress=False)
    man = res.manifest
    return {"tokens": man["train_tokens"], "padded": man["padded_tokens"], "seconds": man["timing"]["train_s"],
            "steps": man["train_steps"], "tokens_per_s": man["train_tokens"] / man["timing"]["train_s"],
            "precision": man["precision"]["autocast"], "optimizer": man["optimizer"]["impl"]}


def run_trainer(args, task, device: str, strategy: str = "random") -> dict:
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from xlt_claims.experiments.models import encoder_info, load_encoder
    from xlt_claims.experiments.models.runtime import autocast_dtype

    encoder, tok = load_encoder(args.model, device=device)
    info = encoder_info(encoder)
    encoder.get_input_embeddings().weight.requires_grad_(False)
    torch.manual_seed(0)
    model = make_trainer_model(encoder, len(task.labels), info.pooling, args.freeze_layers).to(device)
    exs = task.train[: args.examples]
    enc = tok([info.text_prefix + e.text for e in exs], truncation=True, max_length=args.max_length)
    rows = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "labels": int(e.label)}
            for i, e in enumerate(exs)]
    tokens = sum(len(r["input_ids"]) for r in rows) * args.epochs
    padded = {"n": 0}
    collator = DataCollatorWithPadding(tok)

    def collate(feats):
        b = collator(feats)
        padded["n"] += int(b["input_ids"].numel())
        return b

    bf16 = autocast_dtype(torch.device(device).type, args.precision) is not None
    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out, per_device_train_batch_size=args.batch, num_train_epochs=args.epochs, learning_rate=5e-5,
            weight_decay=0.0, warmup_steps=0, bf16=bf16, use_cpu=(device == "cpu"), report_to=[], save_strategy="no",
            logging_strategy="no", eval_strategy="no", seed=0, disable_tqdm=True, dataloader_num_workers=0,
            train_sampling_strategy=strategy, length_column_name="length",
        )
        if strategy == "group_by_length":
            for r in rows:
                r["length"] = len(r["input_ids"])

            def collate(feats, _c=collate):  # noqa: F811 - the length column is for the sampler only
                return _c([{k: v for k, v in f.items() if k != "length"} for f in feats])

        trainer = Trainer(model=model, args=targs, train_dataset=rows, data_collator=collate)
        t0 = time.perf_counter()
        out_m = trainer.train()
        wall = time.perf_counter() - t0
    secs = out_m.metrics.get("train_runtime", wall)
    return {"tokens": tokens, "padded": padded["n"], "seconds": secs, "steps": out_m.global_step,
            "tokens_per_s": tokens / secs, "precision": "bfloat16" if bf16 else None, "optimizer": str(targs.optim)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="logt-cls")
    ap.add_argument("--model", default="offline:multilingual-e5-small")
    ap.add_argument("--examples", type=int, default=640)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch default)")
    ap.add_argument("--no-grouped-trainer", action="store_true")
    ap.add_argument("--no-default-trainer", action="store_true", help="skip Trainer with its default random sampler")
    ap.add_argument("--freeze-layers", type=int, default=0, help="embeddings + bottom K layers frozen on both sides")
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()

    from xlt_claims.experiments.data import load_task
    from xlt_claims.experiments.models import resolve_device
    from xlt_claims.experiments.models.runtime import device_description

    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    device = resolve_device(a.device)
    task = load_task(a.task)
    print("machine:", json.dumps(device_description(device)))
    frozen = f"embeddings + bottom {a.freeze_layers} layers" if a.freeze_layers else "word embeddings"
    print(f"settings: model {a.model}, task {a.task}, {a.examples} examples x {a.epochs} epoch(s), batch {a.batch}, "
          f"max_length {a.max_length}, frozen {frozen} on both sides, precision {a.precision}, threads {a.threads or 'default'}")
    sides = [("ours", lambda: run_ours(a, task, device))]
    if not a.no_default_trainer:
        sides.append(("trainer", lambda: run_trainer(a, task, device)))
    if not a.no_grouped_trainer:
        sides.append(("trainer+group_by_length", lambda: run_trainer(a, task, device, "group_by_length")))
    results: dict[str, list[dict]] = {k: [] for k, _ in sides}
    for r in range(a.repeats):
        for name, fn in sides:
            res = fn()
            results[name].append(res)
            print(f"  repeat {r}: {name:24} {res['tokens_per_s']:9.1f} tok/s  ({res['tokens']} tokens, {res['padded']} padded slots, "
                  f"{res['steps']} steps, {res['seconds']:.1f} s, autocast {res['precision']}, optimizer {res['optimizer']})", flush=True)
    med = {k: statistics.median(x["tokens_per_s"] for x in v) for k, v in results.items()}
    print("median tokens/s:", json.dumps({k: round(v, 1) for k, v in med.items()}))
    if "trainer" in med:
        print(f"ratio ours / Trainer (default sampler): {med['ours'] / med['trainer']:.2f}x")
    if "trainer+group_by_length" in med:
        print(f"ratio ours / Trainer (group_by_length): {med['ours'] / med['trainer+group_by_length']:.2f}x")
    pe = {k: round(v[0]["tokens"] / v[0]["padded"], 3) for k, v in results.items() if v[0]["padded"]}
    print("padding efficiency (real / padded token slots):", json.dumps(pe))


if __name__ == "__main__":
    main()
