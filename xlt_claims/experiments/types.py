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
                                         (e.g. OT alignment pre-training, building a synonym table)
      augment_train(examples, rng)       once: returns the training examples (RS-DA: N perturbed copies)
      build_head(encoder, num_labels)    once: return an nn.Module head replacing the default pooling
                                         head, or None (DLFA/AIF fusion heads use all hidden states)
      perturb_embeddings(emb, batch)     every training forward: input embeddings -> embeddings (RS-RP)
      training_loss(ctx, batch, forward) every step: returns the loss tensor. `forward(emb_delta=None)`
                                         runs the model (optionally adding a delta to the input
                                         embeddings) and returns (loss, logits). Default: forward()[0].
                                         Adversarial training overrides this (inner ascent steps).
      aux_loss(ctx, batch, outputs)      every step: extra loss term or None
    `params` are recorded in the run config and manifest verbatim.
    """

    name = "baseline"

    def __init__(self, **params: Any):
        self.params = params

    def describe(self) -> dict[str, Any]:
        return {"method": self.name, **self.params}

    def prepare(self, ctx: Any) -> None:
        return None

    def augment_train(self, examples: list[Example], rng: Any) -> list[Example]:
        return examples

    def build_head(self, encoder: Any, num_labels: int) -> Optional["torch.nn.Module"]:
        return None

    def perturb_embeddings(self, embeddings: "torch.Tensor", batch: dict) -> "torch.Tensor":
        return embeddings

    def training_loss(self, ctx: Any, batch: dict, forward: Any) -> "torch.Tensor":
        return forward()[0]

    def aux_loss(self, ctx: Any, batch: dict, outputs: Any) -> Optional["torch.Tensor"]:
        return None
