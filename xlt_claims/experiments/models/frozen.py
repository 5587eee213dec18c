"""Frozen bottom layers computed once (profile setting `freeze_layers` = K > 0).

The word/position embeddings and transformer layers 1..K of a BERT-style encoder (BertModel,
XLMRobertaModel: `.embeddings` + `.encoder.layer`) are frozen and run in eval mode (no dropout).
Their output for one token sequence is then the same at every step, so `FrozenBottom` computes it
ONCE per distinct sequence (key: the token ids, plus the token types where the batch has them) under
torch.inference_mode and the run's autocast, and keeps it in memory on the device. Training steps and
evaluations run only layers K+1..L on the cached layer-K states (`FrozenBottom.forward`).

    bottom = FrozenBottom(encoder, k=6, keep={6}, autocast=setup.autocast)
    bottom.freeze()                                   # requires_grad False, eval mode
    hs = bottom.forward(input_ids, attention_mask)    # tuple of L+1 states: [K] and above filled,
                                                      # lower ones only where `keep` names them (else None)

Padding positions of the assembled layer-K batch are zeros (the full model would carry the padding
tokens' states there); they are masked out of attention as keys, and no head reads them, so the
outputs at real tokens equal the full model's up to float rounding (tests/test_train_frozen.py).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import torch
from torch import nn

__all__ = ["FrozenBottom", "FrozenLayersError", "layer_stack"]


class FrozenLayersError(ValueError):
    """freeze_layers cannot be used with this encoder, method or value."""


def layer_stack(encoder) -> nn.ModuleList:
    """The encoder's transformer layers (BERT/XLM-R layout), or FrozenLayersError."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList) or getattr(encoder, "embeddings", None) is None:
        raise FrozenLayersError(f"freeze_layers > 0 needs a BERT-style encoder (.embeddings and .encoder.layer); "
                                f"{type(encoder).__name__} has not got them: use freeze_layers=0")
    return layers


def _layer_out(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out  # transformers < 5 returns a tuple


class FrozenBottom:
    """Embeddings + layers 1..k frozen; their states cached per distinct token sequence."""

    def __init__(self, encoder, k: int, keep: Iterable[int], autocast: Callable[[], Any]) -> None:
        self.layers = layer_stack(encoder)
        n = len(self.layers)
        if not (0 < int(k) <= n):
            raise FrozenLayersError(f"freeze_layers must be between 0 and the encoder's {n} layers, not {k}")
        self.encoder, self.k, self.n_layers = encoder, int(k), n
        self.keep = sorted({int(i) for i in keep if 0 <= int(i) <= self.k} | {self.k})  # lower states the head reads
        self.autocast = autocast
        emb = encoder.embeddings
        self.roberta_padding_idx = getattr(emb, "padding_idx", None)
        self.cache: dict[tuple, tuple[torch.Tensor, ...]] = {}  # key -> one [len, H] tensor per kept state
        self.computed = 0  # sequences run through the frozen part (each once)

    # ---------------------------------------------------------------- the frozen part
    def modules(self) -> list[nn.Module]:
        return [self.encoder.embeddings, *self.layers[: self.k]]

    def freeze(self) -> None:
        for m in self.modules():
            m.requires_grad_(False)
            m.eval()

    def set_eval(self) -> None:
        """Dropout off in the frozen part (after a model.train())."""
        for m in self.modules():
            m.eval()

    def _mask(self, hidden: torch.Tensor, attention_mask: torch.Tensor):
        """The attention mask in the form the encoder's layers take (as the model's own forward builds it)."""
        enc = self.encoder
        if hasattr(enc, "_create_attention_masks"):  # transformers >= 5
            return enc._create_attention_masks(attention_mask=attention_mask, encoder_attention_mask=None,
                                               embedding_output=hidden, encoder_hidden_states=None, cache=None)[0]
        return enc.get_extended_attention_mask(attention_mask, attention_mask.shape)  # pragma: no cover - transformers 4

    def _run_bottom(self, ids: torch.Tensor, mask: torch.Tensor, tt: Optional[torch.Tensor]) -> list[torch.Tensor]:
        """States 0..k of a padded batch (embedding output first), as the full model computes them."""
        emb_mod = self.encoder.embeddings
        kw: dict[str, Any] = {"inputs_embeds": self.encoder.get_input_embeddings()(ids)}
        if tt is not None:
            kw["token_type_ids"] = tt
        if self.roberta_padding_idx is not None:  # RoBERTa/XLM-R: positions from the mask (as TaskModel does)
            m = mask.long()
            kw["position_ids"] = torch.cumsum(m, dim=1) * m + self.roberta_padding_idx
        h = emb_mod(**kw)
        states = [h]
        ext = self._mask(h, mask)
        for layer in self.layers[: self.k]:
            h = _layer_out(layer(h, ext))
            states.append(h)
        return states

    # ---------------------------------------------------------------- the cache
    @staticmethod
    def _keys(ids: torch.Tensor, mask: torch.Tensor, tt: Optional[torch.Tensor]) -> tuple[list[tuple], list[int]]:
        lens = mask.sum(1).tolist()
        rows = ids.tolist()
        trows = tt.tolist() if tt is not None else None
        keys = []
        for i, n in enumerate(lens):
            n = int(n)
            keys.append((tuple(rows[i][:n]), tuple(trows[i][:n]) if trows is not None else None))
        return keys, [int(n) for n in lens]

    def _fill(self, ids, mask, tt, keys: list[tuple], lens: list[int]) -> None:
        """Compute the frozen part once for the rows whose sequence is not cached yet."""
        todo: dict[tuple, int] = {}
        for i, key in enumerate(keys):
            if key not in self.cache and key not in todo:
                todo[key] = i
        if not todo:
            return
        idx = list(todo.values())
        L = max(lens[i] for i in idx)
        sel = torch.tensor(idx, device=ids.device)
        sub_tt = tt[sel, :L] if tt is not None else None
        training = [m.training for m in self.modules()]
        self.set_eval()
        try:
            with torch.inference_mode(), self.autocast():
                states = self._run_bottom(ids[sel, :L], mask[sel, :L], sub_tt)
                for j, i in enumerate(idx):
                    self.cache[keys[i]] = tuple(states[s][j, : lens[i]].clone() for s in self.keep)
        finally:
            for m, t in zip(self.modules(), training):
                m.train(t)
        self.computed += len(idx)

    def lower_states(self, ids: torch.Tensor, mask: torch.Tensor, tt: Optional[torch.Tensor] = None) -> dict[int, torch.Tensor]:
        """{state index: [B, T, H]} for the kept states 0..k of a padded batch (zeros at padding)."""
        keys, lens = self._keys(ids, mask, tt)
        self._fill(ids, mask, tt, keys, lens)
        B, T = ids.shape
        out: dict[int, torch.Tensor] = {}
        for s_i, s in enumerate(self.keep):
            first = self.cache[keys[0]][s_i]
            x = torch.zeros((B, T, first.shape[-1]), dtype=first.dtype, device=first.device)  # a normal tensor
            for b, key in enumerate(keys):
                x[b, : lens[b]] = self.cache[key][s_i]
            out[s] = x
        return out

    # ---------------------------------------------------------------- training / evaluation forward
    def forward(self, ids: torch.Tensor, mask: torch.Tensor, tt: Optional[torch.Tensor] = None) -> tuple:
        """All L+1 hidden states of the batch: the kept states from the cache, k+1..L computed by the
        trainable layers (with autograd when enabled); states neither kept nor computed are None."""
        lower = self.lower_states(ids, mask, tt)
        h = lower[self.k]
        states: list[Optional[torch.Tensor]] = [lower.get(i) for i in range(self.k + 1)]
        if self.k < self.n_layers:
            ext = self._mask(h, mask)
            for layer in self.layers[self.k :]:
                h = _layer_out(layer(h, ext))
                states.append(h)
        return tuple(states)

    def cache_mb(self) -> float:
        """Memory the cached states take (MiB)."""
        return round(sum(t.numel() * t.element_size() for v in self.cache.values() for t in v) / 2**20, 1)
