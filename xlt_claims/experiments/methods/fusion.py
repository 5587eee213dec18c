"""Layer feature aggregation heads: last-layer baseline, DLFA (last layer + one lower layer) and AIF.

Source and its limits
---------------------
These modules implement *report 004's description* of arXiv 2205.08497 (Chen, Guo, Liu, Tao 2022,
"Feature Aggregation in Zero-Shot Cross-Lingual Transfer Using Multilingual BERT") plus the paper's
abstract ("a feature aggregation module based on an attention mechanism is proposed to fuse the
information contained in different layers of mBERT"). The paper's text beyond the abstract was not
available; the names "DLFA" and "AIF", the branch layout and the "two convolution layers" detail come
from the report and are UNVERIFIED against the paper (see shared/docs/papers.md section 4 and 11.B).

What is built (our design, in the spirit of attentional feature fusion / multi-scale channel attention):

* ``dlfa`` -- fuse the last layer ``X`` with ONE lower layer ``Y`` (``layer`` = index into the
  encoder's ``hidden_states`` tuple: 0 = embedding output, L = last layer). ``fusion="static"``
  uses one learned scalar gate a = sigmoid(w): Z = a*X + (1-a)*Y, identical for every input (the
  non-attentive aggregation). ``fusion="aif"`` uses the AIF module below.
* ``AIF`` -- the attention module: S = X + Y is summarised by two branches, each a bottleneck that
  compresses the feature dimension H to H/r and expands it back (two position-wise linear maps, the
  same operation as two 1x1 convolutions over the token axis):
    global branch: masked mean over tokens of S -> Linear(H, H/r) -> LayerNorm -> ReLU -> Linear(H/r, H)
    local branch:  per token              S -> Linear(H, H/r) -> LayerNorm -> ReLU -> Linear(H/r, H)
  M = sigmoid(global + local) (broadcast over tokens) and Z = M * X + (1 - M) * Y, element-wise.
  M depends on the input, so the share taken from the lower layer changes per example, token and
  channel -- the "dynamic" property the report ascribes to AIF. LayerNorm replaces the BatchNorm of
  attentional feature fusion because token sequences are padded.
* ``last`` -- the same head on the last layer only (a head-architecture control for the baseline).

Every head pools the (fused) token features with a masked mean, applies dropout and a linear
classifier, like the loop's default head; span-extraction tasks get per-token start/end logits.
After training (best-on-dev weights), AIF methods measure their gate on the first ``gate_items`` test
items of every language: the weight (1 - M) taken from the lower layer per example, its mean, its
spread across examples and across languages (``Method.extra_metrics()`` -> ``metrics["fusion"]``).
Static DLFA reports its single learned weight.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from . import register_method
from ..types import Method

SOURCE_NOTE = (
    "Implemented from report 004's description plus the abstract of arXiv 2205.08497 only (paper text "
    "beyond the abstract unavailable); 'DLFA'/'AIF' names, branch layout and the 'two convolution layers' "
    "detail are unverified."
)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the token axis of x [B, T, H] using mask [B, T] (1 = real token)."""
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


def _bottleneck(dim: int, reduction: int) -> nn.Sequential:
    mid = max(1, dim // reduction)
    return nn.Sequential(nn.Linear(dim, mid), nn.LayerNorm(mid), nn.ReLU(), nn.Linear(mid, dim))


class AIF(nn.Module):
    """Attention-based fusion of two feature maps X (last layer) and Y (lower layer), [B, T, H]."""

    def __init__(self, dim: int, reduction: int = 4):
        super().__init__()
        self.global_branch = _bottleneck(dim, reduction)
        self.local_branch = _bottleneck(dim, reduction)

    def forward(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = x + y
        g = self.global_branch(masked_mean(s, mask)).unsqueeze(1)  # [B, 1, H]
        loc = self.local_branch(s)  # [B, T, H]
        m = torch.sigmoid(g + loc)
        return m * x + (1.0 - m) * y, m


class StaticFusion(nn.Module):
    """One learned scalar gate for all inputs: Z = a X + (1 - a) Y, a = sigmoid(w), a = 0.5 at init."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.sigmoid(self.w)
        return a * x + (1.0 - a) * y, a.expand_as(x)


def lower_weight_per_example(m: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Share (1 - M) that the fused features take from the lower layer, averaged over channels and
    real tokens: [B]."""
    low = (1.0 - m.detach().float()).mean(-1, keepdim=True)  # [B, T, 1]
    return masked_mean(low, mask).squeeze(-1)


def summarize_gates(per_lang: dict[str, list[float]]) -> dict[str, Any]:
    """Gate statistics: overall mean, spread across examples, per-language means and their spread."""
    vals = [v for vs in per_lang.values() for v in vs]
    if not vals:
        return {}
    t = torch.tensor(vals, dtype=torch.float64)
    means = {k: float(torch.tensor(v, dtype=torch.float64).mean()) for k, v in sorted(per_lang.items()) if v}
    lm = torch.tensor(list(means.values()), dtype=torch.float64)
    return {
        "lower_weight_mean": round(float(t.mean()), 6),
        "lower_weight_std_across_examples": round(float(t.std(unbiased=False)), 6),
        "lower_weight_min": round(float(t.min()), 6),
        "lower_weight_max": round(float(t.max()), 6),
        "lower_weight_by_lang": {k: round(v, 6) for k, v in means.items()},
        "lower_weight_std_across_langs": round(float(lm.std(unbiased=False)), 6) if len(means) > 1 else 0.0,
        "n_examples": int(t.numel()),
    }


class LayerFusionHead(nn.Module):
    """Head over all hidden states: fuse, pool, classify (or per-token span logits).

    forward(hidden_states, attention_mask) with hidden_states the encoder's tuple (L+1 tensors
    [B, T, H]) returns logits [B, num_labels] (classification) or [B, T, 2] (span extraction).
    """

    def __init__(
        self,
        hidden_size: int,
        num_labels: int,
        mode: str = "aif",
        layer: Optional[int] = None,
        reduction: int = 4,
        dropout: float = 0.1,
        span: bool = False,
    ):
        super().__init__()
        if mode not in ("last", "static", "aif"):
            raise ValueError(f"unknown fusion mode {mode!r} (last | static | aif)")
        if mode != "last" and layer is None:
            raise ValueError("a fusion head needs the index of the lower layer to fuse")
        self.mode, self.layer, self.span = mode, layer, span
        self.fuse: Optional[nn.Module] = None
        if mode == "aif":
            self.fuse = AIF(hidden_size, reduction)
        elif mode == "static":
            self.fuse = StaticFusion()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, 2 if span else num_labels)

    def layers_read(self, n_layers: int) -> set[int]:
        """Indices into hidden_states this head reads: the last and, when fusing, the lower layer."""
        return {n_layers} | ({int(self.layer)} if self.fuse is not None else set())

    def features(self, hidden_states: Any, attention_mask: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        hs = list(hidden_states)
        x = hs[-1]
        if self.fuse is None:
            return x, None
        n_layers = len(hs) - 1
        if not (0 <= int(self.layer) < n_layers):
            raise ValueError(f"fusion layer {self.layer} must be a lower layer: 0 <= layer < {n_layers}")
        y = hs[int(self.layer)]
        z, m = self.fuse(x, y, attention_mask)
        return z, m

    def forward(self, hidden_states: Any, attention_mask: torch.Tensor) -> torch.Tensor:
        z, _ = self.features(hidden_states, attention_mask)
        if self.span:
            return self.classifier(self.dropout(z))  # [B, T, 2] start/end logits
        return self.classifier(self.dropout(masked_mean(z, attention_mask)))


def _hidden_size(encoder: Any) -> int:
    cfg = getattr(encoder, "config", None)
    if cfg is None or not hasattr(cfg, "hidden_size"):
        raise ValueError("the encoder has no config.hidden_size; cannot size a fusion head")
    return int(cfg.hidden_size)


def _num_layers(encoder: Any) -> int:
    return int(encoder.config.num_hidden_layers)


class _FusionMethod(Method):
    """params: layer (lower hidden-state index to fuse with the last), reduction (bottleneck factor r),
    dropout, gate_items (test items per language on which AIF gate statistics are measured after
    training, first ones by id; 0 = none)."""

    mode = "aif"

    def __init__(self, layer: Optional[int] = None, reduction: int = 4, dropout: float = 0.1, gate_items: int = 32,
                 **params: Any):
        super().__init__(layer=layer, reduction=reduction, dropout=dropout, fusion=self.mode, gate_items=gate_items,
                         **params)
        self.head: Optional[LayerFusionHead] = None
        self._ctx: Any = None

    def prepare(self, ctx: Any) -> None:
        self._ctx = ctx  # kept for the post-training gate measurement in extra_metrics()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "source": SOURCE_NOTE}

    def build_head(self, encoder: Any, num_labels: int, task_type: str = "classification") -> nn.Module:
        layer = self.params.get("layer")
        if self.mode != "last":
            n = _num_layers(encoder)
            if layer is None:
                raise ValueError(f"method {self.name!r} needs params.layer (0..{n - 1})")
            if not (0 <= int(layer) < n):
                raise ValueError(f"method {self.name!r}: layer {layer} out of range 0..{n - 1} (the last layer is {n})")
        self.head = LayerFusionHead(
            _hidden_size(encoder), num_labels, mode=self.mode, layer=layer,
            reduction=int(self.params["reduction"]), dropout=float(self.params["dropout"]),
            span=(task_type == "span-extraction"),
        )
        return self.head

    @torch.no_grad()
    def measure_gates(self, ctx: Any, n_per_lang: int) -> dict[str, list[float]]:
        """Lower-layer weight per example on the first ``n_per_lang`` test items (by id) of every
        language, with the trained (best-on-dev) encoder and head."""
        assert self.head is not None
        enc, head = ctx.encoder, self.head
        was_e, was_h = enc.training, head.training
        enc.eval()
        head.eval()
        out: dict[str, list[float]] = {}
        try:
            for lang, items in sorted(ctx.task.test.items()):
                sample = sorted(items, key=lambda e: e.id)[:n_per_lang]
                if not sample:
                    continue
                pairs = [e.text_pair for e in sample] if all(e.text_pair is not None for e in sample) else None
                batch = ctx.encode([e.text for e in sample], pairs)
                with ctx.autocast():
                    res = enc(**{k: v for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")},
                              output_hidden_states=True)
                _, m = head.features(res.hidden_states, batch["attention_mask"])
                if m is not None:
                    out[lang] = lower_weight_per_example(m, batch["attention_mask"]).cpu().tolist()
        finally:
            enc.train(was_e)
            head.train(was_h)
        return out

    def extra_metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fusion": {"mode": self.mode, "layer": self.params.get("layer"), "source": SOURCE_NOTE}}
        if self.head is not None and self.mode == "static" and self.head.fuse is not None:
            out["fusion"]["lower_weight_static"] = round(float(1.0 - torch.sigmoid(self.head.fuse.w).item()), 6)
        n = int(self.params.get("gate_items") or 0)
        if self.head is not None and self.mode == "aif" and self._ctx is not None and n > 0:
            out["fusion"].update(summarize_gates(self.measure_gates(self._ctx, n)))
        self._ctx = None
        return out


@register_method("fusion-last")
class LastLayerHead(_FusionMethod):
    """Control: the fusion head's pooling/classifier on the last layer only."""

    name = "fusion-last"
    mode = "last"


@register_method("dlfa")
class DLFA(_FusionMethod):
    """Last layer + one lower layer (params.layer) fused with a static learned scalar gate."""

    name = "dlfa"
    mode = "static"


@register_method("aif")
class AIFFusion(_FusionMethod):
    """Last layer + one lower layer (params.layer) fused by the AIF attention module."""

    name = "aif"
    mode = "aif"
