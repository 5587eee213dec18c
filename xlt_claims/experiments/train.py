"""The one train/eval loop: fine-tune an encoder on English, select on English dev, evaluate zero-shot
per language and per language pair. Every method (baseline, RS-DA, RS-RP, adversarial training, DLFA/AIF
heads, OT alignment) runs through it via the hooks of experiments.types.Method.

    from xlt_claims.experiments.train import train_and_evaluate, RunSpec
    res = train_and_evaluate(RunSpec(model="offline:multilingual-e5-small", profile="quick", seed=1),
                             load_task("logt-cls"), get_method("baseline"))
    res.metrics["summary"]["test_avg_nonen"], res.manifest["tokens_per_s"]

Read `train_and_evaluate` top to bottom: settings, seeds, model, data, head, features, optimizer, the
training loop with model selection on English dev, zero-shot evaluation, metrics, manifest. The parts
live in sibling modules: batching (caps, length-grouped batches, padding), featurize (token ids, answer
spans), heads (PoolingHead, TaskModel), metrics (scores and the run summary), progress.

Engineering: seeds fixed end to end (python, numpy, torch, data order); dynamic padding with
length-grouped batches; AdamW (fused where torch supports it, else foreach); CUDA: bf16 autocast + TF32;
CPU: bf16 autocast when the CPU has native bf16 (avx512_bf16 / AMX), else fp32; optional frozen word
embeddings; optional frozen bottom layers computed once (freeze_layers = K > 0: embeddings + layers 1..K
in eval mode, their states cached per distinct token sequence, steps and evaluations run layers K+1..L;
refused for methods that change the input embeddings, see models/frozen.py); gradient accumulation; the
encoder otherwise always runs from `inputs_embeds`, so methods can perturb the input embeddings or add
adversarial deltas; model selection on English dev only.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from xlt_claims.experiments.batching import (collate, eval_batches, half_lengths, id_ranking, length_grouped_batches,
                                             sequences, subsample, subsample_parallel)
from xlt_claims.experiments.featurize import featurize_cls, featurize_span, span_predictions
from xlt_claims.experiments.heads import ForwardOutput, PoolingHead, TaskModel
from xlt_claims.experiments.manifest import build_manifest
from xlt_claims.experiments.metrics import run_metrics, score_predictions
from xlt_claims.experiments.models import encoder_info, load_encoder, resolve_device
from xlt_claims.experiments.models.frozen import FrozenBottom, FrozenLayersError
from xlt_claims.experiments.models.runtime import (autocast_context, autocast_dtype, configure_backends,
                                                   device_description, peak_memory_gb, restore_threads, set_seeds)
from xlt_claims.experiments.profiles import resolve_profile
from xlt_claims.experiments.progress import progress_callback
from xlt_claims.experiments.types import Example, Method, RunResult, RunSpec, TaskData

__all__ = ["ForwardOutput", "RunResult", "RunSpec", "Setup", "TrainContext", "evaluate", "lr_at", "predict",
           "train_and_evaluate"]

TASK_TYPES = ("classification", "pair-classification", "span-extraction")


# ------------------------------------------------------------------------------ what methods see
@dataclass
class TrainContext:
    """What a Method's hooks see (see experiments.types.Method)."""

    encoder: Any
    tokenizer: Any
    device: Any  # torch.device
    device_type: str
    amp_dtype: Any  # torch dtype for autocast or None (fp32)
    seed: int
    profile: str
    config: dict[str, Any]
    task: TaskData
    spec: RunSpec
    text_prefix: str
    rng: Any  # numpy Generator for the method
    progress: Callable[..., None]
    hidden_size: int
    num_layers: int
    head: Any = None
    model: Any = None  # the TaskModel (encoder + head), set before training
    step: int = 0
    state: dict[str, Any] = field(default_factory=dict)

    def autocast(self):
        return autocast_context(self.device_type, enabled=self.amp_dtype is not None, dtype=self.amp_dtype)

    def encode(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None, max_length: Optional[int] = None, prefix: bool = True):
        """Tokenise and pad a list of texts onto the device (the encoder's text prefix is added)."""
        pre = self.text_prefix if prefix else ""
        enc = self.tokenizer([pre + t for t in texts], list(text_pairs) if text_pairs is not None else None,
                             truncation=True, max_length=max_length or self.config["max_length"], padding=True,
                             return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}


@dataclass
class Setup:
    """What stays fixed once the model is built: the resolved settings, how texts become padded
    batches on the device, and the task's shape. The loop, predict and evaluate read it."""

    cfg: dict[str, Any]
    device: Any  # torch.device
    amp_dtype: Any  # autocast dtype or None (fp32)
    tokenizer: Any
    text_prefix: str
    max_len: int
    stride: int  # span windows
    pad_id: int
    pad_multiple: int
    task_type: str
    num_labels: int
    bi_pairs: bool  # sentence pairs encoded one text at a time

    @property
    def span(self) -> bool:
        return self.task_type == "span-extraction"

    @property
    def metric(self) -> str:
        """The dev metric that selects the model."""
        return "f1" if self.span else "accuracy"

    def autocast(self):
        return autocast_context(self.device.type, enabled=self.amp_dtype is not None, dtype=self.amp_dtype)

    def batch(self, feats: Sequence[dict]) -> dict[str, Any]:
        return collate(feats, self.pad_id, self.device, self.pad_multiple)

    def eval_batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Index batches for evaluation: similar lengths, bounded rows and padded tokens."""
        return eval_batches(lengths, int(self.cfg["eval_batch_size"]), int(self.cfg["eval_batch_tokens"]))

    def featurize(self, examples: Sequence[Example], train: bool, bi_pairs: bool = False) -> list[dict]:
        if self.span:
            return featurize_span(self.tokenizer, examples, self.text_prefix, self.max_len, self.stride, train=train)
        return featurize_cls(self.tokenizer, examples, self.text_prefix, self.max_len, bi_pairs)


# ------------------------------------------------------------------------------------------ data
@dataclass
class RunData:
    """The examples one run uses: seeded caps on every split, the method's augmentation on train."""

    train_src: list[Example]  # English train after the cap
    train: list[Example]  # after Method.augment_train
    dev: list[Example]
    test: dict[str, list[Example]]  # language -> items
    pairs: dict[str, list[Example]]  # "l1-l2" -> items (generalized setting)


def select_data(task: TaskData, method: Method, cfg: dict[str, Any], rng_sub, rng_aug) -> RunData:
    train_src = subsample(list(task.train), cfg["max_train_examples"], rng_sub)
    train = method.augment_train(train_src, rng_aug)
    dev = subsample(list(task.dev), cfg["max_dev_examples"], rng_sub)
    # test languages and generalized pairs share one ranking of ids (parallel sets keep the same items)
    rank = id_ranking([task.test, task.test_pairs], rng_sub)
    test = subsample_parallel(task.test, cfg["max_test_examples"], rank)
    pair_cap = cfg["max_pair_examples"]
    if cfg["max_pair_examples_total"] and task.test_pairs:
        per = max(1, int(cfg["max_pair_examples_total"]) // len(task.test_pairs))
        pair_cap = min(pair_cap, per) if pair_cap else per
    pairs = subsample_parallel(task.test_pairs, pair_cap, rank)
    if not train:
        raise ValueError(f"task {task.name!r} has no training examples")
    return RunData(train_src, train, dev, test, pairs)


def prune_to_texts(encoder, tokenizer, data: RunData):
    """Keep only the vocabulary pieces the run's texts use (Unigram tokenizers)."""
    from xlt_claims.experiments.models.prune import prune_vocabulary

    examples = [*data.train, *data.dev, *(x for v in data.test.values() for x in v), *(x for v in data.pairs.values() for x in v)]
    return prune_vocabulary(encoder, tokenizer, [t for e in examples for t in (e.text, e.text_pair) if t])


def uses_bi_pairs(cfg: dict[str, Any], info, task_type: str, custom_head: bool, method: Method) -> bool:
    """pair_encoding "auto" follows the encoder's convention; a method's own head reads one sequence."""
    mode = cfg["pair_encoding"]
    if mode == "auto":
        mode = "cross" if custom_head else (getattr(info, "pair_encoding", None) or "cross")
    bi = mode == "bi" and task_type == "pair-classification"
    if bi and custom_head:
        raise ValueError(f"method {method.name!r} builds its own head, which reads one sequence per example; "
                         "it cannot be combined with pair_encoding='bi'")
    return bi


def check_freeze_layers(method: Method, k: int, n_layers: int) -> None:
    """freeze_layers = k > 0 is refused (FrozenLayersError) for methods that change the input embeddings
    or the encoder below layer k, and for k beyond the encoder's layers."""
    if not k:
        return
    if not (0 < k <= n_layers):
        raise FrozenLayersError(f"freeze_layers={k}: the encoder has {n_layers} layers (use 0..{n_layers})")
    if not getattr(method, "frozen_layers_ok", True) or type(method).perturb_embeddings is not Method.perturb_embeddings:
        raise FrozenLayersError(f"method {method.name!r} changes the input embeddings or the encoder below layer {k}, "
                                "so the frozen layers cannot be computed once: use freeze_layers=0 with it")


def frozen_bottom(model: TaskModel, encoder, k: int, setup: "Setup") -> FrozenBottom:
    """The frozen embeddings + layers 1..k of `model`'s encoder, caching what its head reads below k."""
    n = int(encoder.config.num_hidden_layers)
    reads = model.head.layers_read(n) if hasattr(model.head, "layers_read") else range(n + 1)
    bottom = FrozenBottom(encoder, k, reads, setup.autocast)
    model.use_frozen(bottom)
    return bottom


# ------------------------------------------------------------------------------------- optimizer
def param_groups(encoder, head, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Encoder and head parameters that train, each group with its own base learning rate."""
    head_ids = {id(p) for p in head.parameters()}
    enc_params = [p for p in encoder.parameters() if p.requires_grad and id(p) not in head_ids]
    head_params = [p for p in head.parameters() if p.requires_grad]
    groups = [{"params": enc_params, "lr": cfg["lr"]}, {"params": head_params, "lr": cfg["head_lr"] or cfg["lr"]}]
    return [g for g in groups if g["params"]]


def make_optimizer(groups: list[dict[str, Any]], cfg: dict[str, Any]):
    """(AdamW, implementation): fused where torch supports it on this device, else foreach."""
    choice = cfg.get("optimizer", "auto")
    kw = dict(lr=cfg["lr"], eps=cfg["adam_eps"], weight_decay=cfg["weight_decay"])
    if choice in ("auto", "fused"):
        try:
            return torch.optim.AdamW(groups, fused=True, **kw), "fused"
        except (RuntimeError, TypeError, ValueError):
            if choice == "fused":
                raise
    return torch.optim.AdamW(groups, foreach=True, **kw), "foreach"


def schedule(n_features: int, cfg: dict[str, Any]) -> tuple[int, int]:
    """(total optimizer steps, steps per epoch): epochs over the features, capped by max_steps."""
    micro_per_epoch = math.ceil(n_features / int(cfg["batch_size"]))
    steps_per_epoch = max(1, micro_per_epoch // int(cfg["grad_accum"]))
    total = steps_per_epoch * int(cfg["epochs"])
    if cfg["max_steps"]:
        total = min(total, int(cfg["max_steps"])) if cfg["epochs"] else int(cfg["max_steps"])
    return max(1, total), steps_per_epoch


def lr_at(step: int, warmup: int, total_steps: int) -> float:
    """Learning-rate factor at optimizer step `step`: linear warmup, then linear decay to 0."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup))


# ------------------------------------------------------------------------------------ evaluation
def _binary_scores(logits, num_labels: int) -> Optional[list[float]]:
    """Label-1 margin of a two-label head: what ROC-AUC ranks (None for more labels)."""
    return (logits[:, 1] - logits[:, 0]).tolist() if num_labels == 2 else None


def predict_bi(model: TaskModel, examples: Sequence[Example], setup: Setup):
    """Bi-encoded pairs: each distinct text is encoded once, then the head scores the pairs from
    the pooled vectors (evaluate_sets passes every test set at once, so the generalized pairs reuse
    the standard setting's texts)."""
    head = model.head
    cache: dict = {}
    todo = sorted({t for e in examples for t in (e.text, e.text_pair or "")})
    ids = setup.tokenizer([setup.text_prefix + t for t in todo], truncation=True, max_length=setup.max_len)["input_ids"] if todo else []
    with torch.no_grad(), setup.autocast():
        for idx in setup.eval_batches([len(x) for x in ids]):
            batch = setup.batch([{"input_ids": ids[i]} for i in idx])
            pooled = head.pool(model.hidden_states(batch), batch["attention_mask"]).float()
            cache.update((todo[i], pooled[j]) for j, i in enumerate(idx))
        u = torch.stack([cache[e.text] for e in examples])
        v = torch.stack([cache[e.text_pair or ""] for e in examples])
        logits = head.pair_logits(u, v).float().cpu()
    model.train()
    return logits.argmax(-1).tolist(), _binary_scores(logits, setup.num_labels)


def predict(model: TaskModel, examples: Sequence[Example], setup: Setup):
    """(predictions, label-1 scores or None): labels for classification, answer strings for spans.
    Batches are sorted by length (little padding); the model is back in train mode afterwards."""
    model.eval()
    if setup.bi_pairs:
        return predict_bi(model, examples, setup)
    feats = setup.featurize(examples, train=False)
    out_logits: list[Any] = [None] * len(feats)
    with torch.no_grad(), setup.autocast():
        for idx in setup.eval_batches([len(f["input_ids"]) for f in feats]):
            batch = setup.batch([{k: v for k, v in feats[i].items() if k in ("input_ids", "attention_mask", "token_type_ids")}
                                 for i in idx])
            logits = model(batch, train=False)[1].float()
            if setup.span:
                logits = logits.masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e4)
            logits = logits.cpu()
            for j, i in enumerate(idx):
                out_logits[i] = logits[j, : len(feats[i]["input_ids"])] if setup.span else logits[j]
    model.train()
    if setup.span:
        return span_predictions(examples, feats, out_logits, int(setup.cfg["n_best"]), int(setup.cfg["max_answer_length"])), None
    by_example: list[Any] = [None] * len(examples)
    for f, lg in zip(feats, out_logits):
        by_example[f["example_index"]] = lg
    logits = torch.stack(by_example) if by_example else torch.zeros(0, setup.num_labels)
    return logits.argmax(-1).tolist(), _binary_scores(logits, setup.num_labels)


def evaluate(model: TaskModel, examples: Sequence[Example], setup: Setup):
    """(metrics, predictions) of the model on one set of examples."""
    preds, scores = predict(model, examples, setup)
    return score_predictions(examples, preds, scores, setup.span, setup.num_labels), preds


def evaluate_sets(model: TaskModel, sets: dict[Any, Sequence[Example]], setup: Setup,
                  one_pass: bool = True) -> dict[Any, tuple[dict, list]]:
    """{key: (metrics, predictions)} of every set, predicted in ONE pass over all their items: batches
    are then full and of similar lengths (a single 100-item language makes a few small, ragged ones):
    0.83x the evaluation time of a logt-cls run (docs/performance.md). Predictions equal per-set passes up to bf16
    rounding (batch shapes differ: 2 of 3,300 predictions moved in one comparison), like any choice
    of evaluation batches (eval_batch_tokens); bi-encoded pairs still encode each distinct text once.
    one_pass=False: a pass per set, each encoding its own texts (the comparison of bench_bi_eval)."""
    if not one_pass:
        return {k: evaluate(model, items, setup) for k, items in sets.items()}
    keys = list(sets)
    flat = [e for k in keys for e in sets[k]]
    preds, scores = predict(model, flat, setup) if flat else ([], None)
    out: dict[Any, tuple[dict, list]] = {}
    start = 0
    for k in keys:
        items, end = sets[k], start + len(sets[k])
        p, sc = preds[start:end], (scores[start:end] if scores is not None else None)
        out[k] = (score_predictions(items, p, sc, setup.span, setup.num_labels), p)
        start = end
    return out


# ------------------------------------------------------------------------------- training pieces
class ForwardPass:
    """The `forward(emb_delta=None)` a Method's training_loss calls: the model on one batch under
    autocast; remembers the last output for Method.aux_loss."""

    def __init__(self, model: TaskModel, batch: dict[str, Any], autocast: Callable[[], Any]) -> None:
        self.model, self.batch, self.autocast = model, batch, autocast
        self.last: Optional[ForwardOutput] = None

    def __call__(self, emb_delta=None) -> ForwardOutput:
        with self.autocast():
            self.last = self.model(self.batch, emb_delta=emb_delta, train=True)
        return self.last


def batch_tokens(feats: Sequence[dict], batch: dict[str, Any]) -> tuple[int, int]:
    """(real tokens, padded token slots the encoder computes) of one batch; bi-encoded pairs run each
    half at its own length."""
    real = int(sum(len(x) for f in feats for x in sequences(f)))
    half = batch.get("pair_half")
    padded = half * sum(half_lengths(batch["attention_mask"], half)) if half else int(batch["input_ids"].numel())
    return real, padded


@dataclass
class Selection:
    """Model selection on English dev: the best score so far (the first of equal scores wins), its
    step, metrics and predictions, and a copy of the trainable weights to restore after training."""

    score: Optional[float] = None
    step: int = 0
    dev: Optional[dict[str, Any]] = None
    preds: Optional[list] = None
    state: Optional[dict[str, Any]] = None

    def offer(self, step: int, dev: dict[str, Any], preds: list, model, trainable, key: str) -> None:
        value = dev[key]
        if self.score is None or (value is not None and value > self.score):
            ids = {id(p) for p in trainable}
            self.score, self.step, self.dev, self.preds = value, step, dev, preds
            self.state = {n: p.detach().clone() for n, p in model.named_parameters() if id(p) in ids}

    def restore(self, model) -> None:
        params = dict(model.named_parameters())
        with torch.no_grad():
            for n, v in (self.state or {}).items():
                params[n].copy_(v)


# ---------------------------------------------------------------------------------- the main loop
def train_and_evaluate(spec: RunSpec, task: TaskData, method: Optional[Method] = None, progress: Any = None,
                       *, encoder: Any = None, tokenizer: Any = None) -> RunResult:
    """Fine-tune `spec.model` on task.train (English) with `method`, select on task.dev (English), and
    evaluate on every task.test language and task.test_pairs pair. `encoder`/`tokenizer` may be passed
    in (tests, benchmarks): the encoder is then trained in place. `progress`: None (rich bar on a
    terminal), False (quiet), True (rich) or a callable fn(stage, i, n, info)."""
    method = method or Method()
    prog, bars = progress_callback(progress, f"{task.name}/{method.name}/s{spec.seed}")
    with restore_threads(), (bars or contextlib.nullcontext()):
        return _fine_tune(spec, task, method, prog, encoder, tokenizer)


def _fine_tune(spec: RunSpec, task: TaskData, method: Method, prog: Callable[..., None], encoder: Any, tokenizer: Any) -> RunResult:
    # ---- settings, device, seeds
    t_start = time.perf_counter()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if task.task_type not in TASK_TYPES:
        raise ValueError(f"task {task.name!r}: unknown task_type {task.task_type!r} (known: {', '.join(TASK_TYPES)})")
    span = task.task_type == "span-extraction"
    cfg = resolve_profile(spec.profile, task.name, task.task_type, spec.overrides)
    seed = int(spec.seed)
    device = torch.device(resolve_device(spec.device))
    configure_backends(device.type, cfg.get("threads"))
    set_seeds(seed, deterministic=bool(cfg["deterministic"]))
    amp_dtype = autocast_dtype(device.type, cfg["precision"])
    rng_data = np.random.default_rng([seed, 1])  # batch order
    rng_aug = np.random.default_rng([seed, 2])  # method augmentation
    rng_sub = np.random.default_rng([seed, 3])  # caps on train/dev/test sizes
    rng_method = np.random.default_rng([seed, 4])

    # ---- model
    t0 = time.perf_counter()
    if encoder is None:
        encoder, tokenizer = load_encoder(spec.model, device=str(device))
    elif tokenizer is None:
        raise ValueError("pass tokenizer= together with encoder=")
    encoder.to(device)
    info = encoder_info(encoder)
    load_s = time.perf_counter() - t0
    text_prefix = info.text_prefix if cfg["text_prefix"] is None else cfg["text_prefix"]
    ctx = TrainContext(
        encoder=encoder, tokenizer=tokenizer, device=device, device_type=device.type, amp_dtype=amp_dtype,
        seed=seed, profile=spec.profile, config=cfg, task=task, spec=spec, text_prefix=text_prefix,
        rng=rng_method, progress=prog, hidden_size=int(encoder.config.hidden_size),
        num_layers=int(encoder.config.num_hidden_layers),
    )

    # ---- method preparation (e.g. OT alignment) and the run's data
    freeze_k = int(cfg["freeze_layers"])
    check_freeze_layers(method, freeze_k, ctx.num_layers)  # before prepare: refused before any work
    t0 = time.perf_counter()
    method.prepare(ctx)
    prepare_s = time.perf_counter() - t0
    data = select_data(task, method, cfg, rng_sub, rng_aug)
    if cfg["prune_vocab"]:
        encoder, tokenizer = prune_to_texts(encoder, tokenizer, data)
        ctx.encoder, ctx.tokenizer = encoder, tokenizer
    if cfg["freeze_word_embeddings"]:
        encoder.get_input_embeddings().weight.requires_grad_(False)

    # ---- head: the method's own, or pooling -> dropout -> linear
    num_labels = 2 if span else len(task.labels)
    torch.manual_seed(seed + 7919)  # head init independent of what prepare() consumed
    head = method.build_head(encoder, num_labels, task_type=task.task_type)
    custom_head = head is not None
    bi_pairs = uses_bi_pairs(cfg, info, task.task_type, custom_head, method)
    pooling = cfg["pooling"] or info.pooling
    if head is None:
        head = PoolingHead(ctx.hidden_size, num_labels, task.task_type, pooling, cfg["classifier_dropout"],
                           pretrained_pooler=getattr(encoder, "pooler", None), bi_pairs=bi_pairs)
    head.to(device)
    model = TaskModel(encoder, head, method, task.task_type)
    ctx.head, ctx.model = head, model

    # ---- features: token ids of the training examples
    max_len = min(int(cfg["max_length"]), int(getattr(encoder.config, "max_position_embeddings", 512) or 512))
    setup = Setup(cfg=cfg, device=device, amp_dtype=amp_dtype, tokenizer=tokenizer, text_prefix=text_prefix,
                  max_len=max_len, stride=min(int(cfg["doc_stride"]), max_len // 3),
                  pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
                  pad_multiple=8 if device.type == "cuda" else 1, task_type=task.task_type, num_labels=num_labels,
                  bi_pairs=bi_pairs)
    bottom = frozen_bottom(model, encoder, freeze_k, setup) if freeze_k else None
    train_feats = setup.featurize(data.train, train=True, bi_pairs=bi_pairs)
    if not train_feats:
        raise ValueError(f"task {task.name!r}: no training features (answers outside every window?)")
    lengths = [max(map(len, sequences(f))) for f in train_feats]

    # ---- optimizer and learning-rate schedule
    groups = param_groups(encoder, head, cfg)
    optimizer, opt_impl = make_optimizer(groups, cfg)
    trainable = [p for g in groups for p in g["params"]]
    bs, accum = int(cfg["batch_size"]), int(cfg["grad_accum"])
    total_steps, steps_per_epoch = schedule(len(train_feats), cfg)
    warmup = int(round(cfg["warmup_ratio"] * total_steps))
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    eval_every = int(cfg["eval_every"]) if cfg["eval_every"] else steps_per_epoch
    key = setup.metric

    # ---- training, with model selection on English dev every eval_every steps
    history: list[dict[str, Any]] = []
    best = Selection()
    train_tokens = padded_tokens = 0
    train_s = eval_s = 0.0
    step = epoch = micro = 0
    loss_acc, loss_n = 0.0, 0

    model.train()
    optimizer.zero_grad(set_to_none=True)
    tt = time.perf_counter()
    while step < total_steps:
        # one epoch: a fresh length-grouped batch order; a last incomplete accumulation group is dropped
        batches = length_grouped_batches(lengths, bs, rng_data, int(cfg["group_size"]), bool(cfg["length_grouping"]))
        usable = (len(batches) // accum) * accum or len(batches)
        for idx in batches[:usable]:
            # forward and backward of one micro-batch through the method's loss
            feats = [train_feats[i] for i in idx]
            batch = setup.batch(feats)
            batch["examples"] = [data.train[f["example_index"]] for f in feats]
            real, padded = batch_tokens(feats, batch)
            train_tokens, padded_tokens = train_tokens + real, padded_tokens + padded
            ctx.step = step
            forward = ForwardPass(model, batch, ctx.autocast)
            loss = method.training_loss(ctx, batch, forward)
            extra = method.aux_loss(ctx, batch, forward.last)
            if extra is not None:
                loss = loss + extra
            if not torch.isfinite(loss.detach()):
                raise FloatingPointError(f"non-finite loss at step {step} (method {method.name}, seed {seed})")
            (loss / accum).backward()
            loss_acc += float(loss.detach())
            loss_n += 1
            micro += 1
            if micro % accum:
                continue
            # optimizer step: clip, schedule, update
            if cfg["max_grad_norm"]:
                torch.nn.utils.clip_grad_norm_(trainable, float(cfg["max_grad_norm"]))
            factor = lr_at(step, warmup, total_steps)
            for g, lr in zip(optimizer.param_groups, base_lrs):
                g["lr"] = lr * factor
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            # logging and dev evaluation (evaluation time is not training time)
            if step % int(cfg["log_every"]) == 0 or step == total_steps:
                history.append({"step": step, "epoch": epoch, "loss": round(loss_acc / max(1, loss_n), 5),
                                "lr": optimizer.param_groups[0]["lr"], "time_s": round(time.perf_counter() - t_start, 2)})
                prog("train", step, total_steps, {"loss": loss_acc / max(1, loss_n)})
                loss_acc, loss_n = 0.0, 0
            if (step % eval_every == 0 or step == total_steps) and data.dev:
                train_s += time.perf_counter() - tt
                te = time.perf_counter()
                dev_metrics, preds = evaluate(model, data.dev, setup)
                eval_s += time.perf_counter() - te
                best.offer(step, dev_metrics, preds, model, trainable, key)
                history.append({"step": step, "dev": dev_metrics, "time_s": round(time.perf_counter() - t_start, 2)})
                prog("train", step, total_steps, {"dev_" + key: dev_metrics[key] if dev_metrics[key] is not None else float("nan"),
                                                  "best": best.score or 0.0})
                tt = time.perf_counter()
            if step >= total_steps:
                break
        epoch += 1
    train_s += time.perf_counter() - tt
    best.restore(model)  # the last step is always evaluated, so with dev data there is a best state

    # ---- zero-shot evaluation on every test language and language pair
    te = time.perf_counter()
    test_metrics: dict[str, Any] = {}
    test_preds: list[Any] = []
    test_gold: list[Example] = []
    pair_metrics: dict[str, Any] = {}
    prog("test", 0, 1, f"{len(data.test)} languages, {len(data.pairs)} pairs")
    # the weights are final: every test language and pair in one pass (bi-encoded pairs: each text once)
    scored = evaluate_sets(model, {**{("test", k): v for k, v in data.test.items()},
                                   **{("pairs", k): v for k, v in data.pairs.items()}}, setup,
                           one_pass=bool(cfg["reuse_text_vectors"]))
    for (part, name), (m, preds) in scored.items():
        if part == "test":
            test_metrics[name] = m
            test_preds.extend(preds)
            test_gold.extend(data.test[name])
        else:
            pair_metrics[name] = m
    prog("test", 1, 1, f"{len(data.test)} languages, {len(data.pairs)} pairs")
    eval_s += time.perf_counter() - te

    # ---- metrics: per language and pair, the summary, the collapse check, the method's own
    metrics = run_metrics(key=key, span=span, dev_best=best.dev if best.dev is not None else {}, dev_preds=best.preds or [],
                          test_metrics=test_metrics, pair_metrics=pair_metrics, test_preds=test_preds, test_gold=test_gold,
                          scripts=task.scripts, labels=task.labels, num_labels=num_labels, best_step=best.step,
                          train_steps=step)
    for k, v in (method.extra_metrics() or {}).items():
        if k in metrics:
            raise ValueError(f"method {method.name!r}: extra_metrics key {k!r} collides with a reserved metrics key")
        metrics[k] = v

    # ---- manifest: everything needed to know what these numbers came from
    encoder_ids = {id(q) for q in encoder.parameters()}
    n_total = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in head.parameters() if id(p) not in encoder_ids)
    manifest = build_manifest(
        started_at=started_at,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        task={"name": task.name, "task_type": task.task_type, "proxy": task.proxy, "fingerprint": task.fingerprint(),
              "labels": list(task.labels), "n_train": len(task.train), "n_train_used": len(data.train_src),
              "n_train_after_method": len(data.train), "n_train_features": len(train_feats), "n_dev_used": len(data.dev),
              "n_test_used": {k: len(v) for k, v in data.test.items()}, "n_pairs": len(data.pairs),
              "provenance": task.provenance},
        model={**info.to_dict(), "n_params": n_total, "n_trainable": sum(p.numel() for p in trainable), "custom_head": custom_head,
               "pooling": None if custom_head else pooling,
               "pair_encoding": ("bi" if bi_pairs else "cross") if task.task_type == "pair-classification" else None},
        method=method.describe(),
        spec={"model": spec.model, "profile": spec.profile, "seed": seed, "device": spec.device, "overrides": dict(spec.overrides)},
        config=cfg,
        seeds={"seed": seed, "python_numpy_torch": seed, "data_order": [seed, 1], "augmentation": [seed, 2],
               "subsample": [seed, 3], "method_rng": [seed, 4], "head_init": seed + 7919},
        device=device_description(str(device)),
        precision={"autocast": str(amp_dtype).replace("torch.", "") if amp_dtype is not None else None,
                   "weights": "float32", "tf32": device.type == "cuda"},
        optimizer={"name": "AdamW", "impl": opt_impl, "lr": cfg["lr"], "eps": cfg["adam_eps"], "weight_decay": cfg["weight_decay"],
                   "schedule": f"linear, warmup {warmup} steps", "effective_batch": bs * accum},
        timing={"wall_s": round(time.perf_counter() - t_start, 2), "load_s": round(load_s, 2), "prepare_s": round(prepare_s, 2),
                "train_s": round(train_s, 2), "eval_s": round(eval_s, 2)},
        train_steps=step,
        epochs_run=epoch,
        best_step=best.step,
        train_tokens=train_tokens,
        padded_tokens=padded_tokens,
        padding_efficiency=round(train_tokens / padded_tokens, 4) if padded_tokens else None,
        tokens_per_s=round(train_tokens / train_s, 1) if train_s > 0 else None,
        peak_memory_gb=peak_memory_gb(device),
        **({"frozen_layers": {"k": freeze_k, "cached_sequences": bottom.computed, "cached_states": list(bottom.keep),
                              "cache_mb": bottom.cache_mb()}} if bottom is not None else {}),
    )
    return RunResult(metrics=metrics, manifest=manifest, history=history)
