"""Contracts between the experiment engine's parts: data sets, methods and the train loop.

data/     -> produces TaskData (English train/dev, zero-shot test per language and per language pair)
models/   -> loads an encoder (HF id, local path, or the embedded offline default) + tokenizer
methods/  -> a Method customises the one train loop through the hooks below
train.py  -> train_and_evaluate(RunSpec, TaskData, Method) -> RunResult (metrics per language/pair)

Adding a data set or a method means adding one module that registers itself; nothing else changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # torch stays out of import time for the CLI
    import torch


@dataclass
class Example:
    """One item. Classification: text (+ text_pair) and label index. Span extraction (XQuAD):
    text = question, text_pair = context, answers = {"text": [...], "answer_start": [...]}."""

    id: str
    text: str
    text_pair: Optional[str] = None
    label: Optional[int] = None
    answers: Optional[dict[str, list]] = None
    lang: str = "en"
    lang_pair: Optional[str] = None  # "de-fr" for generalized pair items (text in de, text_pair in fr)


@dataclass
class TaskData:
    name: str  # registry name, e.g. "logt-cls" or "pawsx"
    task_type: str  # "classification" | "pair-classification" | "span-extraction"
    labels: list[str]
    train: list[Example]  # English
    dev: list[Example]  # English: the only split used for model selection
    test: dict[str, list[Example]]  # lang -> items (standard setting; "en" included when available)
    test_pairs: dict[str, list[Example]] = field(default_factory=dict)  # "l1-l2" -> items (generalized)
    scripts: dict[str, str] = field(default_factory=dict)  # lang -> script name, e.g. "ru" -> "Cyrillic"
    proxy: bool = False  # True for stand-ins (the LibreOffice proxy), False for the real benchmark
    provenance: dict[str, Any] = field(default_factory=dict)  # files, sha256, packages, licence

    def fingerprint(self) -> str:
        """sha256 over every item, so a run manifest pins the exact data it saw."""
        h = hashlib.sha256()
        for split, items in (("train", self.train), ("dev", self.dev)):
            h.update(split.encode())
            for e in items:
                h.update(json.dumps([e.id, e.text, e.text_pair, e.label, e.answers], ensure_ascii=False).encode())
        for key in sorted(self.test):
            h.update(f"test:{key}".encode())
            for e in self.test[key]:
                h.update(json.dumps([e.id, e.text, e.text_pair, e.label, e.answers], ensure_ascii=False).encode())
        for key in sorted(self.test_pairs):
            h.update(f"pairs:{key}".encode())
            for e in self.test_pairs[key]:
                h.update(json.dumps([e.id, e.text, e.text_pair, e.label, e.answers], ensure_ascii=False).encode())
        return h.hexdigest()


class Method:
    """Base method = plain fine-tuning. Subclasses override only the hooks they need.

    Hooks are called by experiments/train.py in this order:
      prepare(ctx)                       once, after model+tokenizer are loaded, before training
                                         (e.g. OT alignment pre-training, building a synonym table).
                                         ctx is a train.TrainContext: encoder, tokenizer, device,
                                         device_type, amp_dtype, autocast(), seed, profile (name),
                                         config (resolved profile dict), task, text_prefix,
                                         progress(stage, i, n, info), rng (numpy Generator),
                                         hidden_size, num_layers, state (dict for the method).
      augment_train(examples, rng)       once: returns the training examples (RS-DA: N perturbed copies);
                                         rng is a numpy Generator seeded from the run seed
      build_head(encoder, num_labels, task_type)
                                         once: return an nn.Module head replacing the default pooling
                                         head, or None. A head is called as
                                         head(hidden_states, attention_mask) with hidden_states the
                                         encoder's tuple of all L+1 hidden states ([B, T, H] each) and
                                         returns logits [B, num_labels] (classification) or [B, T, 2]
                                         (span-extraction start/end). DLFA/AIF fusion heads use this.
      perturb_embeddings(emb, batch)     every training forward: input word embeddings [B, T, H] ->
                                         embeddings (RS-RP). Not called in evaluation.
      training_loss(ctx, batch, forward) every step: returns the loss tensor. `forward(emb_delta=None)`
                                         runs the model (adding `emb_delta` [B, T, H] to the input
                                         embeddings, after perturb_embeddings) and returns a
                                         ForwardOutput that unpacks as (loss, logits) and also carries
                                         .embeddings, .hidden_states, .attention_mask.
                                         Default: forward()[0]. Adversarial training overrides this
                                         (inner ascent steps on emb_delta; call forward several times).
      aux_loss(ctx, batch, outputs)      every step: extra loss term (added to the loss) or None;
                                         outputs = the ForwardOutput of the last forward() call
      extra_metrics()                    after evaluation: dict merged into RunResult.metrics (under
                                         its own keys, e.g. {"fusion": {...}}, {"ot": {...}})
    `batch` is a dict with input_ids, attention_mask (+ token_type_ids), labels (classification) or
    start_positions/end_positions (span), and "examples": the Example objects of the batch.
    `params` are recorded in the run config and manifest verbatim.
    """

    name = "baseline"
    # Whether the run may freeze the embeddings and the bottom K layers and compute them once per text
    # (profile setting freeze_layers > 0). False for methods that change the input embeddings or the
    # encoder below layer K during training (adversarial deltas, RS-RP noise, OT alignment); a method
    # that overrides perturb_embeddings is refused as well, whatever this says.
    frozen_layers_ok = True

    def __init__(self, **params: Any):
        self.params = params

    def describe(self) -> dict[str, Any]:
        return {"method": self.name, **self.params}

    def cost_factor(self, profile: str) -> float:
        """How many plain fine-tuning runs one run of this method costs (for time estimates only)."""
        return 1.0

    def stated_differences(self, profile: str) -> list[dict[str, Any]]:
        """How this method, as run here, differs from the paper's: [{aspect, paper, ours, weight, why}]
        (e.g. a substitute for a resource the paper used). The verdicts list and weigh them."""
        return []

    def prepare(self, ctx: Any) -> None:
        return None

    def augment_train(self, examples: list[Example], rng: Any) -> list[Example]:
        return examples

    def build_head(self, encoder: Any, num_labels: int, task_type: str = "classification") -> Optional["torch.nn.Module"]:
        return None

    def perturb_embeddings(self, embeddings: "torch.Tensor", batch: dict) -> "torch.Tensor":
        return embeddings

    def training_loss(self, ctx: Any, batch: dict, forward: Any) -> "torch.Tensor":
        return forward()[0]

    def aux_loss(self, ctx: Any, batch: dict, outputs: Any) -> Optional["torch.Tensor"]:
        return None

    def extra_metrics(self) -> dict[str, Any]:
        return {}


@dataclass
class RunSpec:
    """What to run. `overrides` change profile settings (see experiments/profiles.py), e.g.
    {"max_steps": 20, "lr": 3e-5, "freeze_word_embeddings": False, "max_train_examples": 500}."""

    model: str = "offline:multilingual-e5-small"
    profile: str = "quick"  # "quick" | "paper"
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """metrics: {"dev": {"en": {...}}, "test": {lang: {"accuracy", "macro_f1", "n"}} (span: "f1", "em", "n"),
    "test_pairs": {"l1-l2": {...}}, "summary": {"test_avg_nonen", "pairs_avg", ...}, "collapsed": bool,
    "pred_label_dist": {...}, + a method's extra_metrics()}; manifest: provenance (experiments/manifest.py);
    history: one dict per logged step / evaluation."""

    metrics: dict[str, Any]
    manifest: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
