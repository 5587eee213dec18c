"""The model the train loop optimises: an encoder (always run from `inputs_embeds`, so methods can
perturb the input embeddings) plus a task head.

PoolingHead is the default head; a Method may bring its own (Method.build_head, e.g. the DLFA/AIF
fusion heads), called as head(hidden_states, attention_mask). TaskModel runs encoder + head and returns a ForwardOutput (loss, logits, and what the
methods' hooks read: embeddings, hidden states, attention mask).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from xlt_claims.experiments.batching import half_lengths
from xlt_claims.experiments.models import mean_pool
from xlt_claims.experiments.models.frozen import FrozenBottom, FrozenLayersError
from xlt_claims.experiments.types import Method

__all__ = ["ForwardOutput", "PoolingHead", "TaskModel"]


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


class PoolingHead(nn.Module):
    """Sentence head: mean (e5) or first-token (BERT/XLM-R recipe, through the checkpoint's pooler
    when it has one) pooling of the last layer -> dropout -> linear. Span tasks: per-token linear -> 2.
    bi_pairs: the batch holds the B first texts then the B second texts (pair_encoding "bi"); the
    linear layer sees [u, v, |u-v|, u*v] of the two pooled vectors."""

    def __init__(self, hidden_size: int, num_labels: int, task_type: str, pooling: str, dropout: float,
                 pretrained_pooler: Optional[nn.Module] = None, bi_pairs: bool = False) -> None:
        super().__init__()
        self.span = task_type == "span-extraction"
        self.bi_pairs = bi_pairs and not self.span
        self.pooling = pooling
        self.pooler = pretrained_pooler if (pooling == "cls" and not self.span) else None
        self.dropout = nn.Dropout(dropout)
        n_in = 4 * hidden_size if self.bi_pairs else hidden_size
        self.classifier = nn.Linear(n_in, 2 if self.span else num_labels)

    def layers_read(self, n_layers: int) -> set[int]:
        """Indices into hidden_states this head reads (freeze_layers caches only those below K)."""
        return {n_layers}

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


class TaskModel(nn.Module):
    """Encoder + head. forward(batch) embeds the input ids, lets the method perturb the embeddings
    (training only), adds an optional delta (adversarial training), encodes and applies the head;
    the loss is cross-entropy (classification) or the mean of start/end cross-entropies (spans)."""

    def __init__(self, encoder, head: nn.Module, method: Method, task_type: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.method = method
        self.task_type = task_type
        emb_mod = getattr(encoder, "embeddings", None)
        self.roberta_padding_idx = getattr(emb_mod, "padding_idx", None) if emb_mod is not None else None
        self.frozen: Optional[FrozenBottom] = None  # freeze_layers > 0: see use_frozen

    def use_frozen(self, bottom: FrozenBottom) -> None:
        """Freeze the embeddings and the bottom layers (eval mode from now on) and run every forward
        from their cached states (models/frozen.py)."""
        bottom.freeze()
        self.frozen = bottom

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen is not None:
            self.frozen.set_eval()  # the frozen part never runs dropout
        return self

    def _encode(self, emb, mask, token_type_ids):
        kw: dict[str, Any] = {"attention_mask": mask, "inputs_embeds": emb, "output_hidden_states": True, "return_dict": True}
        if token_type_ids is not None:
            kw["token_type_ids"] = token_type_ids
        if self.roberta_padding_idx is not None:  # RoBERTa/XLM-R: positions from the mask, as from input_ids
            m = mask.long()
            kw["position_ids"] = torch.cumsum(m, dim=1) * m + self.roberta_padding_idx
        return self.encoder(**kw)

    def hidden_states(self, batch: dict):
        """The encoder's hidden states for a batch of single texts (no method perturbation)."""
        if self.frozen is not None:
            return self.frozen.forward(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
        emb = self.encoder.get_input_embeddings()(batch["input_ids"])
        return self._encode(emb, batch["attention_mask"], batch.get("token_type_ids")).hidden_states

    def _encode_halves(self, emb, mask, half: int):
        """Bi-encoded pairs: short first texts (labels, questions) would otherwise be padded to the
        second texts' length; run each half at its own length, then pad back to one layout."""
        L = mask.shape[1]
        la, lb = half_lengths(mask, half)
        out = (self._encode(emb[:half, :la], mask[:half, :la], None),
               self._encode(emb[half:, :lb], mask[half:, :lb], None))
        hs = tuple(torch.cat([nn.functional.pad(a, (0, 0, 0, L - la)), nn.functional.pad(b, (0, 0, 0, L - lb))])
                   for a, b in zip(out[0].hidden_states, out[1].hidden_states))
        return out, hs

    def loss(self, logits, batch: dict):
        if self.task_type == "span-extraction":
            if "start_positions" not in batch:
                return None
            lg = logits.float().masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, -1e4)
            return 0.5 * (nn.functional.cross_entropy(lg[..., 0], batch["start_positions"])
                          + nn.functional.cross_entropy(lg[..., 1], batch["end_positions"]))
        if "labels" in batch:
            return nn.functional.cross_entropy(logits.float(), batch["labels"])
        return None

    def _forward_frozen(self, batch: dict, emb_delta=None) -> ForwardOutput:
        """freeze_layers > 0: layers K+1..L on the cached layer-K states (the method's perturb_embeddings
        is not called: methods that override it are refused before training)."""
        if emb_delta is not None:
            raise FrozenLayersError(f"method {self.method.name!r} adds a delta to the input embeddings, which cannot "
                                    "reach frozen layers computed once: use freeze_layers=0")
        ids, mask, half = batch["input_ids"], batch["attention_mask"], batch.get("pair_half")
        if half:  # bi-encoded pairs: each half at its own length, padded back to one layout (as _encode_halves)
            L = mask.shape[1]
            la, lb = half_lengths(mask, half)
            a = self.frozen.forward(ids[:half, :la], mask[:half, :la])
            b = self.frozen.forward(ids[half:, :lb], mask[half:, :lb])
            hs = tuple(None if x is None else torch.cat([nn.functional.pad(x, (0, 0, 0, L - la)), nn.functional.pad(y, (0, 0, 0, L - lb))])
                       for x, y in zip(a, b))
        else:
            hs = self.frozen.forward(ids, mask, batch.get("token_type_ids"))
        logits = self.head(hs, mask)
        return ForwardOutput(self.loss(logits, batch), logits, embeddings=None, hidden_states=hs, attention_mask=mask,
                             outputs=None)

    def forward(self, batch: dict, emb_delta=None, train: bool = True) -> ForwardOutput:
        if self.frozen is not None:
            return self._forward_frozen(batch, emb_delta)
        emb = self.encoder.get_input_embeddings()(batch["input_ids"])
        if train:
            emb = self.method.perturb_embeddings(emb, batch)
        if emb_delta is not None:
            emb = emb + emb_delta
        half = batch.get("pair_half")
        if half:
            out, hs = self._encode_halves(emb, batch["attention_mask"], half)
        else:
            out = self._encode(emb, batch["attention_mask"], batch.get("token_type_ids"))
            hs = out.hidden_states
        logits = self.head(hs, batch["attention_mask"])
        return ForwardOutput(self.loss(logits, batch), logits, embeddings=emb, hidden_states=hs,
                             attention_mask=batch["attention_mask"], outputs=out)
