"""The one train/eval loop: fine-tune an encoder on English, select on English dev, evaluate zero-shot
per language and per language pair. Every method (baseline, RS-DA, RS-RP, adversarial training, DLFA/AIF
heads, OT alignment) runs through it via the hooks of experiments.types.Method.

    from xlt_claims.experiments.train import train_and_evaluate, RunSpec
    res = train_and_evaluate(RunSpec(model="offline:multilingual-e5-small", profile="quick", seed=1),
                             load_task("logt-cls"), get_method("baseline"))
    res.metrics["summary"]["test_avg_nonen"], res.manifest["tokens_per_s"]

Engineering: seeds fixed end to end (python, numpy, torch, data order); dynamic padding with
length-grouped batches; AdamW (fused where torch supports it, else foreach); CUDA: bf16 autocast + TF32;
CPU: bf16 autocast when the CPU has native bf16 (avx512_bf16 / AMX), else fp32; optional frozen word
embeddings; gradient accumulation; the encoder always runs from `inputs_embeds`, so methods can perturb
the input embeddings or add adversarial deltas; model selection on English dev only.
"""

from __future__ import annotations

import inspect
import math
import re
import string
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from xlt_claims.experiments.types import Example, Method, RunResult, RunSpec, TaskData

__all__ = [
    "ForwardOutput",
    "RunResult",
    "RunSpec",
    "TrainContext",
    "classification_metrics",
    "length_grouped_batches",
    "squad_em",
    "squad_f1",
    "train_and_evaluate",
]

TASK_TYPES = ("classification", "pair-classification", "span-extraction")


# --------------------------------------------------------------------------------------- metrics
def roc_auc(gold: Sequence[int], scores: Sequence[float]) -> Optional[float]:
    """Area under the ROC curve of `scores` for label 1 against label 0 (Mann-Whitney U with average
    ranks for ties); None when one class is absent. Threshold-free: it says whether the scores rank
    positives above negatives even where the decision threshold learned in English no longer fits."""
    n1 = sum(1 for g in gold if g == 1)
    n0 = len(gold) - n1
    if n1 == 0 or n0 == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # 1-based average rank of the tie block
        i = j + 1
    r1 = sum(r for r, g in zip(ranks, gold) if g == 1)
    return (r1 - n1 * (n1 + 1) / 2) / (n1 * n0)


def classification_metrics(gold: Sequence[int], pred: Sequence[int], num_labels: int,
                           scores: Optional[Sequence[float]] = None) -> dict[str, Any]:
    """accuracy, macro-F1 and n; with two labels and per-item scores for label 1, also ROC-AUC."""
    n = len(gold)
    if n == 0:
        return {"accuracy": None, "macro_f1": None, "n": 0}
    correct = sum(int(g == p) for g, p in zip(gold, pred))
    f1s = []
    for c in sorted(set(gold) | set(pred)):
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred) if g == c and p != c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    out: dict[str, Any] = {"accuracy": correct / n, "macro_f1": sum(f1s) / len(f1s), "n": n}
    if num_labels == 2 and scores is not None:
        out["auc"] = roc_auc(gold, scores)
    return out


def _normalize_answer(s: str) -> str:
    """SQuAD v1.1 answer normalisation: lower case, drop punctuation, articles (a/an/the), extra spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


_PUNCT = set(string.punctuation)


def squad_f1(prediction: str, ground_truths: Sequence[str]) -> float:
    def f1(pred: str, gt: str) -> float:
        p, g = _normalize_answer(pred).split(), _normalize_answer(gt).split()
        common = Counter(p) & Counter(g)
        same = sum(common.values())
        if same == 0:
            return 0.0
        prec, rec = same / len(p), same / len(g)
        return 2 * prec * rec / (prec + rec)

    return max((f1(prediction, gt) for gt in ground_truths), default=0.0)


def squad_em(prediction: str, ground_truths: Sequence[str]) -> float:
    return max((float(_normalize_answer(prediction) == _normalize_answer(gt)) for gt in ground_truths), default=0.0)


# --------------------------------------------------------------------------------------- batching
def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng, group_size: int = 64, grouped: bool = True) -> list[list[int]]:
    """Shuffle, then sort chunks of `group_size` batches by length so each batch holds similar lengths
    (little padding), then shuffle the batch order. Deterministic given `rng` (numpy Generator)."""
    idx = rng.permutation(len(lengths)).tolist()
    if not grouped:
        return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
    chunk = max(batch_size * group_size, batch_size)
    batches: list[list[int]] = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s : s + chunk], key=lambda i: -lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    order = rng.permutation(len(batches)).tolist()
    return [batches[i] for i in order]


# ------------------------------------------------------------------------------------------ model
class ForwardOutput(tuple):
    """(loss, logits) that also carries .embeddings, .hidden_states, .attention_mask, .outputs."""

    def __new__(cls, loss, logits, **extra):
        obj = super().__new__(cls, (loss, logits))
        obj.__dict__.update(extra)
        return obj

    @property
    def loss(self):
        return self[0]

    @property
    def logits(self):
        return self[1]


def _default_head(hidden_size: int, num_labels: int, task_type: str, pooling: str, dropout: float, pretrained_pooler=None,
                  bi_pairs: bool = False):
    import torch
    from torch import nn

    from xlt_claims.experiments.models import mean_pool

    class PoolingHead(nn.Module):
        """Sentence head: mean (e5) or first-token (BERT/XLM-R recipe, through the checkpoint's pooler
        when it has one) pooling of the last layer -> dropout -> linear. Span tasks: per-token linear -> 2.
        bi_pairs: the batch holds the B first texts then the B second texts (pair_encoding "bi"); the
        linear layer sees [u, v, |u-v|, u*v] of the two pooled vectors."""

        def __init__(self) -> None:
            super().__init__()
            self.span = task_type == "span-extraction"
            self.bi_pairs = bi_pairs and not self.span
            self.pooling = pooling
            self.pooler = pretrained_pooler if (pooling == "cls" and not self.span) else None
            self.dropout = nn.Dropout(dropout)
            n_in = 4 * hidden_size if self.bi_pairs else hidden_size
            self.classifier = nn.Linear(n_in, 2 if self.span else num_labels)

        def pool(self, hidden_states, attention_mask):
            x = hidden_states[-1]
            if self.pooling == "mean":
                return mean_pool(x, attention_mask)
            if self.pooler is not None:
                return self.pooler(x)
            return x[:, 0]

        def pair_logits(self, u, w):
            return self.classifier(self.dropout(torch.cat([u, w, (u - w).abs(), u * w], dim=-1)))

        def forward(self, hidden_states, attention_mask):
            if self.span:
                return self.classifier(self.dropout(hidden_states[-1]))
            v = self.pool(hidden_states, attention_mask)
            if self.bi_pairs:
                return self.pair_logits(*v.chunk(2, dim=0))
            return self.classifier(self.dropout(v))

    return PoolingHead()


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
        from xlt_claims.experiments.models.runtime import autocast_context

        return autocast_context(self.device_type, enabled=self.amp_dtype is not None, dtype=self.amp_dtype)

    def encode(self, texts: Sequence[str], text_pairs: Optional[Sequence[str]] = None, max_length: Optional[int] = None, prefix: bool = True):
        """Tokenise and pad a list of texts onto the device (the encoder's text prefix is added)."""
        pre = self.text_prefix if prefix else ""
        enc = self.tokenizer([pre + t for t in texts], list(text_pairs) if text_pairs is not None else None,
                             truncation=True, max_length=max_length or self.config["max_length"], padding=True,
                             return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}


def _make_task_model(encoder, head, method: Method, task_type: str):
    import torch
    from torch import nn

    class TaskModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = head
            emb_mod = getattr(encoder, "embeddings", None)
            self.roberta_padding_idx = getattr(emb_mod, "padding_idx", None) if emb_mod is not None else None

        def _encode(self, emb, mask, token_type_ids):
            kw = {"attention_mask": mask, "inputs_embeds": emb, "output_hidden_states": True, "return_dict": True}
            if token_type_ids is not None:
                kw["token_type_ids"] = token_type_ids
            if self.roberta_padding_idx is not None:  # RoBERTa/XLM-R: positions from the mask, as from input_ids
                m = mask.long()
                kw["position_ids"] = torch.cumsum(m, dim=1) * m + self.roberta_padding_idx
            return self.encoder(**kw)

        def hidden_states(self, batch: dict):
            """The encoder's hidden states for a batch of single texts (no method perturbation)."""
            emb = self.encoder.get_input_embeddings()(batch["input_ids"])
            return self._encode(emb, batch["attention_mask"], batch.get("token_type_ids")).hidden_states

        def forward(self, batch: dict, emb_delta=None, train: bool = True) -> ForwardOutput:
            emb = self.encoder.get_input_embeddings()(batch["input_ids"])
            if train:
                emb = method.perturb_embeddings(emb, batch)
            if emb_delta is not None:
                emb = emb + emb_delta
            half = batch.get("pair_half")
            if half:
                # bi-encoded pairs: short first texts (labels, questions) would otherwise be padded to the
                # second texts' length; run each half at its own length, then pad back to one layout
                mask = batch["attention_mask"]
                L = mask.shape[1]
                la, lb = _half_lengths(mask, half)
                out = (self._encode(emb[:half, :la], mask[:half, :la], None),
                       self._encode(emb[half:, :lb], mask[half:, :lb], None))
                hs = tuple(torch.cat([nn.functional.pad(a, (0, 0, 0, L - la)), nn.functional.pad(b, (0, 0, 0, L - lb))])
                           for a, b in zip(out[0].hidden_states, out[1].hidden_states))
            else:
                out = self._encode(emb, batch["attention_mask"], batch.get("token_type_ids"))
                hs = out.hidden_states
            logits = self.head(hs, batch["attention_mask"])
            loss = None
            if task_type == "span-extraction":
                if "start_positions" in batch:
                    lg = logits.float().masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e4)
                    loss = 0.5 * (nn.functional.cross_entropy(lg[..., 0], batch["start_positions"])
                                  + nn.functional.cross_entropy(lg[..., 1], batch["end_positions"]))
            elif "labels" in batch:
                loss = nn.functional.cross_entropy(logits.float(), batch["labels"])
            return ForwardOutput(loss, logits, embeddings=emb, hidden_states=hs, attention_mask=batch["attention_mask"], outputs=out)

    return TaskModel()


# -------------------------------------------------------------------------------------- features
def _featurize_cls(tokenizer, examples: Sequence[Example], prefix: str, max_length: int, bi_pairs: bool = False) -> list[dict]:
    """Token ids per example. Pairs are one sequence (cross) or, with bi_pairs, two: the second text
    goes to pair_input_ids, each with the encoder's prefix and truncated on its own."""
    if not examples:
        return []
    texts = [prefix + e.text for e in examples]
    pairs = [e.text_pair or "" for e in examples] if any(e.text_pair is not None for e in examples) else None
    second = None
    if bi_pairs and pairs is not None:
        second = tokenizer([prefix + t for t in pairs], truncation=True, max_length=max_length)["input_ids"]
        pairs = None
    enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
    keys = [k for k in ("input_ids", "attention_mask") if k in enc]
    if second is None and "token_type_ids" in enc:
        keys.append("token_type_ids")
    feats = []
    for i, e in enumerate(examples):
        f = {k: enc[k][i] for k in keys}
        if second is not None:
            f["pair_input_ids"] = second[i]
        f["label"] = -100 if e.label is None else int(e.label)
        f["example_index"] = i
        feats.append(f)
    return feats


def _featurize_span(tokenizer, examples: Sequence[Example], prefix: str, max_length: int, stride: int, train: bool) -> list[dict]:
    """SQuAD-style windows over the context (text_pair), question (text) first. Train features carry
    start/end token positions (0 = the first token when the answer is not inside the window); eval
    features carry the context offset mapping for answer extraction."""
    if not examples:
        return []
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("span extraction needs a fast tokenizer (offset mappings)")
    questions = [prefix + e.text.lstrip() for e in examples]
    contexts = [e.text_pair or "" for e in examples]
    enc = tokenizer(questions, contexts, truncation="only_second", max_length=max_length, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    feats = []
    for i in range(len(enc["input_ids"])):
        ex_i = enc["overflow_to_sample_mapping"][i]
        seq_ids = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        f = {k: enc[k][i] for k in keys}
        f["example_index"] = ex_i
        ctx_tokens = [j for j, s in enumerate(seq_ids) if s == 1]
        if not ctx_tokens:
            continue
        c0, c1 = ctx_tokens[0], ctx_tokens[-1]
        if train:
            ans = examples[ex_i].answers or {}
            if not ans.get("text"):
                continue
            a_start = int(ans["answer_start"][0])
            a_end = a_start + len(ans["text"][0])
            if offsets[c0][0] > a_start or offsets[c1][1] < a_end:
                f["start_positions"] = f["end_positions"] = 0
            else:
                s = c0
                while s <= c1 and offsets[s][0] <= a_start:
                    s += 1
                e = c1
                while e >= c0 and offsets[e][1] >= a_end:
                    e -= 1
                f["start_positions"], f["end_positions"] = s - 1, e + 1
        else:
            f["offset_mapping"] = [tuple(o) if seq_ids[j] == 1 else None for j, o in enumerate(offsets)]
        feats.append(f)
    return feats


def _half_lengths(mask, half: int) -> tuple[int, int]:
    """Longest real length among the first `half` rows and among the rest (right-padded batch)."""
    return int(mask[:half].sum(1).max()), int(mask[half:].sum(1).max())


def _sequences(f: dict) -> list:
    """The token sequences of one feature: one, or two for a bi-encoded pair."""
    return [f["input_ids"], f["pair_input_ids"]] if "pair_input_ids" in f else [f["input_ids"]]


def _collate(feats: Sequence[dict], pad_id: int, device, pad_multiple: int = 1) -> dict:
    """Pad into tensors. Bi-encoded pairs become one batch of 2B rows (B first texts, then B second
    texts), so the encoder and every embedding-level method see an ordinary batch; the head pairs them."""
    import torch

    bi = "pair_input_ids" in feats[0]
    seqs = [f["input_ids"] for f in feats] + ([f["pair_input_ids"] for f in feats] if bi else [])
    L = max(len(x) for x in seqs)
    if pad_multiple > 1:
        L = int(math.ceil(L / pad_multiple) * pad_multiple)
    B = len(seqs)
    ids = torch.full((B, L), pad_id, dtype=torch.long)
    mask = torch.zeros((B, L), dtype=torch.long)
    has_tt = "token_type_ids" in feats[0] and not bi
    tt = torch.zeros((B, L), dtype=torch.long) if has_tt else None
    for i, x in enumerate(seqs):
        n = len(x)
        ids[i, :n] = torch.tensor(x, dtype=torch.long)
        mask[i, :n] = 1
        if has_tt:
            tt[i, :n] = torch.tensor(feats[i]["token_type_ids"], dtype=torch.long)
    nb = device.type == "cuda"
    batch = {"input_ids": ids.to(device, non_blocking=nb), "attention_mask": mask.to(device, non_blocking=nb)}
    if has_tt:
        batch["token_type_ids"] = tt.to(device, non_blocking=nb)
    if bi:
        batch["pair_half"] = len(feats)
    if "label" in feats[0]:
        batch["labels"] = torch.tensor([f["label"] for f in feats], dtype=torch.long).to(device, non_blocking=nb)
    if "start_positions" in feats[0]:
        batch["start_positions"] = torch.tensor([f["start_positions"] for f in feats], dtype=torch.long).to(device)
        batch["end_positions"] = torch.tensor([f["end_positions"] for f in feats], dtype=torch.long).to(device)
    return batch


# -------------------------------------------------------------------------------------- progress
class _Progress:
    """progress=None: rich bar when stderr is a terminal; False: quiet; True: always rich; a callable:
    called as fn(stage, i, n, info); a rich.progress.Progress: tasks are added to it."""

    def __init__(self, progress: Any, title: str):
        self.fn: Optional[Callable] = None
        self.rich = None
        self.own = False
        self.tasks: dict[str, Any] = {}
        self.title = title
        self.event_style = False
        if callable(progress) and not hasattr(progress, "add_task"):
            self.fn = progress
            try:
                ps = inspect.signature(progress).parameters.values()
                positional = [p for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
                self.event_style = len(positional) == 1 and not any(p.kind == p.VAR_POSITIONAL for p in ps)
            except (TypeError, ValueError):
                pass
        elif hasattr(progress, "add_task"):
            self.rich = progress
        elif progress is True or (progress is None and sys.stderr.isatty()):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.rich = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"), transient=False)
            self.own = True

    def __enter__(self):
        if self.own:
            self.rich.start()
        return self

    def __exit__(self, *exc):
        if self.own:
            self.rich.stop()

    def __call__(self, stage: str, i: int, n: Optional[int], info: Any = "") -> None:
        if self.fn is not None:
            if self.event_style:  # a one-argument callback gets an event dict
                self.fn({"stage": stage, "i": i, "n": n, "info": info})
            else:
                self.fn(stage, i, n, info)
            return
        if self.rich is None:
            return
        text = info if isinstance(info, str) else " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in (info or {}).items())
        if stage not in self.tasks:
            self.tasks[stage] = self.rich.add_task(f"{self.title} {stage}", total=n, info=text)
        self.rich.update(self.tasks[stage], completed=i, total=n, info=text)


# ---------------------------------------------------------------------------------------- helpers
def _subsample(items: list, cap: Optional[int], rng) -> list:
    if cap is None or len(items) <= cap:
        return list(items)
    idx = sorted(rng.choice(len(items), size=int(cap), replace=False).tolist())
    return [items[i] for i in idx]


def _subsample_parallel(sets: dict[str, list], cap: Optional[int], rng) -> dict[str, list]:
    """Cap every language pair's test set at `cap` items, keeping the SAME example ids in every pair
    where they exist (one seeded ranking of all ids; each pair keeps its best-ranked items), so the
    pairs stay parallel and a bi-encoder evaluates each text once for all the pairs it appears in."""
    if cap is None or all(len(v) <= cap for v in sets.values()):
        return {k: list(v) for k, v in sorted(sets.items())}
    ids = sorted({e.id for v in sets.values() for e in v})
    rank = {ids[i]: r for r, i in enumerate(rng.permutation(len(ids)).tolist())}
    out = {}
    for k, items in sorted(sets.items()):
        keep = sorted(range(len(items)), key=lambda i: rank[items[i].id])[: int(cap)]
        out[k] = [items[i] for i in sorted(keep)]
    return out


def _label_dist(preds: Sequence[int], labels: Sequence[str]) -> dict[str, float]:
    n = len(preds)
    c = Counter(preds)
    return {labels[k] if 0 <= k < len(labels) else str(k): round(v / n, 4) for k, v in sorted(c.items())} if n else {}


def _avg(values: Sequence[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _make_optimizer(params_groups, cfg: dict, device_type: str):
    import torch

    choice = cfg.get("optimizer", "auto")
    kw = dict(lr=cfg["lr"], eps=cfg["adam_eps"], weight_decay=cfg["weight_decay"])
    if choice in ("auto", "fused"):
        try:
            opt = torch.optim.AdamW(params_groups, fused=True, **kw)
            return opt, "fused"
        except (RuntimeError, TypeError, ValueError):
            if choice == "fused":
                raise
    return torch.optim.AdamW(params_groups, foreach=True, **kw), "foreach"


def _peak_memory(device) -> Optional[float]:
    import torch

    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    try:
        import resource

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)  # GiB (Linux: KiB)
    except Exception:  # pragma: no cover
        return None


# ---------------------------------------------------------------------------------- the main loop
def train_and_evaluate(spec: RunSpec, task: TaskData, method: Optional[Method] = None, progress: Any = None,
                       *, encoder: Any = None, tokenizer: Any = None) -> RunResult:
    """Fine-tune `spec.model` on task.train (English) with `method`, select on task.dev (English), and
    evaluate on every task.test language and task.test_pairs pair. `encoder`/`tokenizer` may be passed
    in (tests, benchmarks): the encoder is then trained in place. `progress`: None (rich bar on a
    terminal), False (quiet), True (rich), a callable fn(stage, i, n, info) or fn(event_dict), or a
    rich.progress.Progress to add tasks to."""
    import torch

    threads_before = torch.get_num_threads()
    try:
        return _train_and_evaluate(spec, task, method, progress, encoder, tokenizer)
    finally:
        if torch.get_num_threads() != threads_before:
            torch.set_num_threads(threads_before)


def _train_and_evaluate(spec: RunSpec, task: TaskData, method: Optional[Method], progress: Any, encoder: Any, tokenizer: Any) -> RunResult:
    import numpy as np
    import torch

    from xlt_claims.experiments.manifest import build_manifest
    from xlt_claims.experiments.models import EncoderInfo, encoder_info, load_encoder, resolve_device
    from xlt_claims.experiments.models.runtime import autocast_dtype, configure_backends, device_description, set_seeds
    from xlt_claims.experiments.profiles import resolve_profile

    t_start = time.perf_counter()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    method = method or Method()
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

    with _Progress(progress, f"{task.name}/{method.name}/s{seed}") as prog:
        # ---- model
        t0 = time.perf_counter()
        if encoder is None:
            encoder, tokenizer = load_encoder(spec.model, device=str(device))
        elif tokenizer is None:
            raise ValueError("pass tokenizer= together with encoder=")
        encoder.to(device)
        info: EncoderInfo = encoder_info(encoder)
        load_s = time.perf_counter() - t0
        text_prefix = info.text_prefix if cfg["text_prefix"] is None else cfg["text_prefix"]
        pooling = cfg["pooling"] or info.pooling

        ctx = TrainContext(
            encoder=encoder, tokenizer=tokenizer, device=device, device_type=device.type, amp_dtype=amp_dtype,
            seed=seed, profile=spec.profile, config=cfg, task=task, spec=spec, text_prefix=text_prefix,
            rng=rng_method, progress=prog, hidden_size=int(encoder.config.hidden_size),
            num_layers=int(encoder.config.num_hidden_layers),
        )

        # ---- method preparation (e.g. OT alignment) and training data
        t0 = time.perf_counter()
        method.prepare(ctx)
        prepare_s = time.perf_counter() - t0
        train_src = _subsample(list(task.train), cfg["max_train_examples"], rng_sub)
        train_examples = method.augment_train(train_src, rng_aug)
        dev_examples = _subsample(list(task.dev), cfg["max_dev_examples"], rng_sub)
        test_sets = {lang: _subsample(list(items), cfg["max_test_examples"], rng_sub) for lang, items in sorted(task.test.items())}
        pair_cap = cfg["max_pair_examples"]
        if cfg["max_pair_examples_total"] and task.test_pairs:
            per = max(1, int(cfg["max_pair_examples_total"]) // len(task.test_pairs))
            pair_cap = min(pair_cap, per) if pair_cap else per
        pair_sets = _subsample_parallel(task.test_pairs, pair_cap, rng_sub)
        if not train_examples:
            raise ValueError(f"task {task.name!r} has no training examples")

        if cfg["prune_vocab"]:
            from xlt_claims.experiments.models.prune import prune_vocabulary

            texts = [t for e in [*train_examples, *dev_examples, *(x for v in test_sets.values() for x in v),
                                 *(x for v in pair_sets.values() for x in v)] for t in (e.text, e.text_pair) if t]
            encoder, tokenizer = prune_vocabulary(encoder, tokenizer, texts)
            ctx.encoder, ctx.tokenizer = encoder, tokenizer

        if cfg["freeze_word_embeddings"]:
            encoder.get_input_embeddings().weight.requires_grad_(False)

        # ---- head
        num_labels = 2 if span else len(task.labels)
        torch.manual_seed(seed + 7919)  # head init independent of what prepare() consumed
        head = _build_head(method, encoder, num_labels, task.task_type)
        custom_head = head is not None
        pair_mode = cfg["pair_encoding"]
        if pair_mode == "auto":  # the encoder's convention; a method's own head reads one sequence
            pair_mode = "cross" if custom_head else (getattr(info, "pair_encoding", None) or "cross")
        bi_pairs = pair_mode == "bi" and task.task_type == "pair-classification"
        if bi_pairs and custom_head:
            raise ValueError(f"method {method.name!r} builds its own head, which reads one sequence per example; "
                             "it cannot be combined with pair_encoding='bi'")
        if head is None:
            head = _default_head(ctx.hidden_size, num_labels, task.task_type, pooling, cfg["classifier_dropout"],
                                 pretrained_pooler=getattr(encoder, "pooler", None), bi_pairs=bi_pairs)
        head.to(device)
        model = _make_task_model(encoder, head, method, task.task_type)
        ctx.head, ctx.model = head, model

        # ---- features
        max_len = min(int(cfg["max_length"]), int(getattr(encoder.config, "max_position_embeddings", 512) or 512))
        stride = min(int(cfg["doc_stride"]), max_len // 3)
        if span:
            train_feats = _featurize_span(tokenizer, train_examples, text_prefix, max_len, stride, train=True)
        else:
            train_feats = _featurize_cls(tokenizer, train_examples, text_prefix, max_len, bi_pairs)
        if not train_feats:
            raise ValueError(f"task {task.name!r}: no training features (answers outside every window?)")
        lengths = [max(map(len, _sequences(f))) for f in train_feats]
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        pad_multiple = 8 if device.type == "cuda" else 1

        # ---- optimizer + schedule
        enc_params = [p for p in encoder.parameters() if p.requires_grad]
        head_ids = {id(p) for p in head.parameters()}
        enc_params = [p for p in enc_params if id(p) not in head_ids]
        head_params = [p for p in head.parameters() if p.requires_grad]
        groups = [{"params": enc_params, "lr": cfg["lr"]}, {"params": head_params, "lr": cfg["head_lr"] or cfg["lr"]}]
        groups = [g for g in groups if g["params"]]
        optimizer, opt_impl = _make_optimizer(groups, cfg, device.type)
        bs, accum = int(cfg["batch_size"]), int(cfg["grad_accum"])
        micro_per_epoch = math.ceil(len(train_feats) / bs)
        steps_per_epoch = max(1, micro_per_epoch // accum)
        total_steps = steps_per_epoch * int(cfg["epochs"])
        if cfg["max_steps"]:
            total_steps = min(total_steps, int(cfg["max_steps"])) if cfg["epochs"] else int(cfg["max_steps"])
        total_steps = max(1, total_steps)
        warmup = int(round(cfg["warmup_ratio"] * total_steps))
        base_lrs = [g["lr"] for g in optimizer.param_groups]

        def set_lr(step: int) -> None:
            f = (step + 1) / max(1, warmup) if step < warmup else max(0.0, (total_steps - step) / max(1, total_steps - warmup))
            for g, lr in zip(optimizer.param_groups, base_lrs):
                g["lr"] = lr * f

        eval_every = int(cfg["eval_every"]) if cfg["eval_every"] else steps_per_epoch
        trainable = [p for g in groups for p in g["params"]]
        n_trainable = sum(p.numel() for p in trainable)
        n_total = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in head.parameters() if id(p) not in {id(q) for q in encoder.parameters()})

        # ---- evaluation closures
        def binary_scores(logits) -> Optional[list[float]]:
            # label-1 margin of a two-label head: what ROC-AUC ranks (None for more labels)
            return (logits[:, 1] - logits[:, 0]).tolist() if num_labels == 2 else None

        def predict_bi(examples: Sequence[Example], cache: Optional[dict] = None) -> tuple[list[int], Optional[list[float]]]:
            """Bi-encoded pairs: each distinct text is encoded once, then the head scores the pairs from
            the pooled vectors. `cache` (text -> vector) carries the vectors across calls while the
            weights stay fixed: the generalized test sets reuse the same texts in every language pair."""
            cache = {} if cache is None else cache
            todo = sorted({t for e in examples for t in (e.text, e.text_pair or "")} - cache.keys())
            ids = tokenizer([text_prefix + t for t in todo], truncation=True, max_length=max_len)["input_ids"] if todo else []
            order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
            ebs = int(cfg["eval_batch_size"])
            with torch.inference_mode(), ctx.autocast():
                for s in range(0, len(order), ebs):
                    idx = order[s : s + ebs]
                    batch = _collate([{"input_ids": ids[i]} for i in idx], pad_id, device, pad_multiple)
                    pooled = head.pool(model.hidden_states(batch), batch["attention_mask"]).float()
                    cache.update((todo[i], pooled[j]) for j, i in enumerate(idx))
                u = torch.stack([cache[e.text] for e in examples])
                v = torch.stack([cache[e.text_pair or ""] for e in examples])
                logits = head.pair_logits(u, v).float().cpu()
            model.train()
            return logits.argmax(-1).tolist(), binary_scores(logits)

        def predict(examples: Sequence[Example], stage: str = "eval", cache: Optional[dict] = None):
            """(predictions, label-1 scores or None): labels for classification, answer strings for spans.
            `cache`: bi-encoded pairs only, see predict_bi."""
            model.eval()
            if bi_pairs:
                return predict_bi(examples, cache)
            if span:
                feats = _featurize_span(tokenizer, examples, text_prefix, max_len, stride, train=False)
            else:
                feats = _featurize_cls(tokenizer, examples, text_prefix, max_len)
            order = sorted(range(len(feats)), key=lambda i: -len(feats[i]["input_ids"]))
            ebs = int(cfg["eval_batch_size"])
            out_logits: list[Any] = [None] * len(feats)
            with torch.inference_mode(), ctx.autocast():
                for s in range(0, len(order), ebs):
                    idx = order[s : s + ebs]
                    batch = _collate([{k: v for k, v in feats[i].items() if k in ("input_ids", "attention_mask", "token_type_ids")} for i in idx],
                                     pad_id, device, pad_multiple)
                    logits = model(batch, train=False)[1].float()
                    if span:
                        logits = logits.masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e4)
                    logits = logits.cpu()
                    for j, i in enumerate(idx):
                        out_logits[i] = logits[j, : len(feats[i]["input_ids"])] if span else logits[j]
            model.train()
            if span:
                return _span_predictions(examples, feats, out_logits, int(cfg["n_best"]), int(cfg["max_answer_length"])), None
            by_example = [None] * len(examples)
            for f, lg in zip(feats, out_logits):
                by_example[f["example_index"]] = lg
            logits = torch.stack(by_example) if by_example else torch.zeros(0, num_labels)
            return logits.argmax(-1).tolist(), binary_scores(logits)

        def score(examples: Sequence[Example], preds, scores: Optional[Sequence[float]] = None) -> dict[str, Any]:
            if span:
                if not examples:
                    return {"f1": None, "em": None, "n": 0}
                f1 = [squad_f1(p, (e.answers or {}).get("text") or [""]) for e, p in zip(examples, preds)]
                em = [squad_em(p, (e.answers or {}).get("text") or [""]) for e, p in zip(examples, preds)]
                return {"f1": 100.0 * sum(f1) / len(f1), "em": 100.0 * sum(em) / len(em), "n": len(examples)}
            return classification_metrics([int(e.label) for e in examples], preds, num_labels, scores)

        sel_metric = "f1" if span else "accuracy"

        # ---- training
        history: list[dict[str, Any]] = []
        best: dict[str, Any] = {"score": None, "step": 0, "state": None, "dev": None}
        train_tokens = padded_tokens = 0
        train_s = eval_s = 0.0
        step = 0
        micro = 0
        loss_acc, loss_n = 0.0, 0
        last_out: dict[str, Any] = {}
        model.train()

        def evaluate_dev() -> None:
            nonlocal eval_s
            if not dev_examples:
                return
            te = time.perf_counter()
            preds, scores = predict(dev_examples, "dev")
            m = score(dev_examples, preds, scores)
            eval_s += time.perf_counter() - te
            history.append({"step": step, "dev": m, "time_s": round(time.perf_counter() - t_start, 2)})
            val = m[sel_metric]
            if best["score"] is None or (val is not None and val > best["score"]):
                best.update(score=val, step=step, dev=m, preds=preds,
                            state={k: v.detach().clone() for k, v in _trainable_state(model, trainable).items()})
            prog("train", step, total_steps, {"dev_" + sel_metric: val if val is not None else float("nan"), "best": best["score"] or 0.0})

        done = False
        epoch = 0
        optimizer.zero_grad(set_to_none=True)
        tt = time.perf_counter()
        while not done:
            batches = length_grouped_batches(lengths, bs, rng_data, int(cfg["group_size"]), bool(cfg["length_grouping"]))
            usable = (len(batches) // accum) * accum or len(batches)
            for bi in range(usable):
                feats_b = [train_feats[i] for i in batches[bi]]
                batch = _collate(feats_b, pad_id, device, pad_multiple)
                batch["examples"] = [train_examples[f["example_index"]] for f in feats_b]
                train_tokens += int(sum(len(x) for f in feats_b for x in _sequences(f)))
                half = batch.get("pair_half")  # bi-encoded pairs: each half is padded to its own length
                padded_tokens += half * sum(_half_lengths(batch["attention_mask"], half)) if half else int(batch["input_ids"].numel())

                def forward(emb_delta=None, _batch=batch):
                    with ctx.autocast():
                        out = model(_batch, emb_delta=emb_delta, train=True)
                    last_out["out"] = out
                    return out

                ctx.step = step
                loss = method.training_loss(ctx, batch, forward)
                extra = method.aux_loss(ctx, batch, last_out.get("out"))
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
                if cfg["max_grad_norm"]:
                    torch.nn.utils.clip_grad_norm_(trainable, float(cfg["max_grad_norm"]))
                set_lr(step)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                if step % int(cfg["log_every"]) == 0 or step == total_steps:
                    history.append({"step": step, "epoch": epoch, "loss": round(loss_acc / max(1, loss_n), 5),
                                    "lr": optimizer.param_groups[0]["lr"], "time_s": round(time.perf_counter() - t_start, 2)})
                    prog("train", step, total_steps, {"loss": loss_acc / max(1, loss_n)})
                    loss_acc, loss_n = 0.0, 0
                if step % eval_every == 0 or step == total_steps:
                    train_s += time.perf_counter() - tt
                    evaluate_dev()
                    tt = time.perf_counter()
                if step >= total_steps:
                    done = True
                    break
            epoch += 1
        train_s += time.perf_counter() - tt
        if best["state"] is None and dev_examples:
            evaluate_dev()
        if best["state"] is not None:
            _load_trainable_state(model, best["state"])

        # ---- zero-shot evaluation
        te = time.perf_counter()
        test_metrics: dict[str, Any] = {}
        all_preds: list[Any] = []
        all_gold: list[Any] = []
        # bi-encoded pairs: the weights are final, so each distinct text is encoded once for all test sets
        test_vectors: Optional[dict] = {} if cfg["reuse_text_vectors"] else None
        for n_i, (lang, items) in enumerate(test_sets.items()):
            preds, scores = predict(items, f"test:{lang}", test_vectors)
            test_metrics[lang] = score(items, preds, scores)
            all_preds.extend(preds)
            all_gold.extend(items)
            prog("test", n_i + 1, len(test_sets), lang)
        pair_metrics: dict[str, Any] = {}
        for n_i, (key, items) in enumerate(pair_sets.items()):
            pair_metrics[key] = score(items, *predict(items, f"pair:{key}", test_vectors))
            prog("pairs", n_i + 1, len(pair_sets), key)
        eval_s += time.perf_counter() - te

    # ---- metrics
    dev_best = best["dev"] if best["dev"] is not None else {}
    metrics: dict[str, Any] = {"dev": {"en": dev_best}, "test": test_metrics, "test_pairs": pair_metrics}
    key = sel_metric
    nonen = [m[key] for lang, m in test_metrics.items() if lang != "en"]
    cross = [m[key] for k, m in pair_metrics.items() if k.split("-")[0] != k.split("-")[-1]]
    by_script: dict[str, list[float]] = {}
    for lang, m in test_metrics.items():
        if lang != "en" and m[key] is not None:
            by_script.setdefault(task.scripts.get(lang, "unknown"), []).append(m[key])
    summary: dict[str, Any] = {
        "metric": key,
        "dev_en": dev_best.get(key),
        "test_en": test_metrics.get("en", {}).get(key),
        "test_avg": _avg([m[key] for m in test_metrics.values()]),
        "test_avg_nonen": _avg(nonen),
        "pairs_avg": _avg([m[key] for m in pair_metrics.values()]),
        "pairs_avg_cross": _avg(cross),
        "by_script": {s: sum(v) / len(v) for s, v in sorted(by_script.items())},
        "n_test_langs": len(test_metrics),
        "n_pairs": len(pair_metrics),
        "best_step": best["step"],
        "train_steps": step,
    }
    if span:
        summary["test_avg_nonen_em"] = _avg([m["em"] for lang, m in test_metrics.items() if lang != "en"])
        summary["pairs_avg_em"] = _avg([m["em"] for m in pair_metrics.values()])
        empty = sum(1 for p in all_preds if not p.strip()) / len(all_preds) if all_preds else 0.0
        distinct = len({p for p in all_preds})
        metrics["pred_label_dist"] = {"empty_answer_share": round(empty, 4), "distinct_answers": distinct}
        metrics["collapsed"] = bool(all_preds) and (empty >= 0.95 or distinct <= 1)
    else:
        gold = [int(e.label) for e in all_gold]
        gold_major = max(Counter(gold).values()) / len(gold) if gold else 0.0
        pred_major = max(Counter(all_preds).values()) / len(all_preds) if all_preds else 0.0
        summary["chance"] = 1.0 / num_labels
        summary["majority_baseline"] = round(gold_major, 4)
        metrics["pred_label_dist"] = {
            "test": _label_dist(all_preds, task.labels),
            "test_gold": _label_dist(gold, task.labels),
            "dev": _label_dist(best.get("preds") or [], task.labels),
        }
        metrics["collapsed"] = bool(all_preds) and pred_major >= 0.95 and gold_major < 0.9
    metrics["summary"] = summary
    extra = method.extra_metrics() if hasattr(method, "extra_metrics") else {}
    for k, v in (extra or {}).items():
        if k in metrics:
            raise ValueError(f"method {method.name!r}: extra_metrics key {k!r} collides with a reserved metrics key")
        metrics[k] = v

    wall_s = time.perf_counter() - t_start
    manifest = build_manifest(
        started_at=started_at,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        task={"name": task.name, "task_type": task.task_type, "proxy": task.proxy, "fingerprint": task.fingerprint(),
              "labels": list(task.labels), "n_train": len(task.train), "n_train_used": len(train_src),
              "n_train_after_method": len(train_examples), "n_train_features": len(train_feats), "n_dev_used": len(dev_examples),
              "n_test_used": {k: len(v) for k, v in test_sets.items()}, "n_pairs": len(pair_sets),
              "provenance": task.provenance},
        model={**info.to_dict(), "n_params": n_total, "n_trainable": n_trainable, "custom_head": custom_head,
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
        timing={"wall_s": round(wall_s, 2), "load_s": round(load_s, 2), "prepare_s": round(prepare_s, 2),
                "train_s": round(train_s, 2), "eval_s": round(eval_s, 2)},
        train_steps=step,
        epochs_run=epoch,
        best_step=best["step"],
        train_tokens=train_tokens,
        padded_tokens=padded_tokens,
        padding_efficiency=round(train_tokens / padded_tokens, 4) if padded_tokens else None,
        tokens_per_s=round(train_tokens / train_s, 1) if train_s > 0 else None,
        peak_memory_gb=_peak_memory(device),
    )
    return RunResult(metrics=metrics, manifest=manifest, history=history)


def _build_head(method: Method, encoder, num_labels: int, task_type: str):
    fn = method.build_head
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover
        params = {}
    if "task_type" in params or any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return fn(encoder, num_labels, task_type=task_type)
    return fn(encoder, num_labels)


def _trainable_state(model, trainable) -> dict[str, Any]:
    ids = {id(p) for p in trainable}
    return {n: p for n, p in model.named_parameters() if id(p) in ids}


def _load_trainable_state(model, state: dict[str, Any]) -> None:
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, v in state.items():
            params[n].copy_(v)


def _span_predictions(examples: Sequence[Example], feats: list[dict], logits: list[Any], n_best: int, max_answer_len: int) -> list[str]:
    """Best valid (start <= end, both inside the context, length <= max_answer_len tokens) span over all
    windows of each example, scored by start + end logit; '' when no window has a valid span."""
    best: list[tuple[float, str]] = [(-1e30, "")] * len(examples)
    for f, lg in zip(feats, logits):
        ex = examples[f["example_index"]]
        ctx = ex.text_pair or ""
        offs = f["offset_mapping"]
        s_log, e_log = lg[:, 0], lg[:, 1]
        k = min(n_best, s_log.numel())
        s_idx = s_log.topk(k).indices.tolist()
        e_idx = e_log.topk(k).indices.tolist()
        for s in s_idx:
            if s >= len(offs) or offs[s] is None:
                continue
            for e in e_idx:
                if e >= len(offs) or offs[e] is None or e < s or e - s + 1 > max_answer_len:
                    continue
                sc = float(s_log[s] + e_log[e])
                if sc > best[f["example_index"]][0]:
                    best[f["example_index"]] = (sc, ctx[offs[s][0] : offs[e][1]])
    return [b[1] for b in best]
