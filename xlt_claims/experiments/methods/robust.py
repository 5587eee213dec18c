"""Robust training for zero-shot cross-lingual transfer (Huang, Ahmad, Peng, Chang; EMNLP 2021,
arXiv 2104.08645): randomized smoothing by data augmentation (RS-DA), randomized smoothing by
random perturbation of input embeddings (RS-RP), and adversarial training on input embeddings.

What is the paper's and what is ours (facts: shared/docs/papers.md sections 1 and 11.A):

* RS-DA follows the authors' public `perturb.py`: whitespace tokenisation, case-sensitive lookup,
  every word with a non-empty neighbour list is replaced by a uniform draw from [word] + neighbours,
  both sentences of a pair independently, `copies` perturbed copies per example, training on the
  copies only (10 copies for PAWS-X, 3 for XNLI in their README). Their synonym source is
  counter-fitted word-vector neighbours (<= 8 per word), file `counterfitted_neighbors.json`
  {word: [neighbours]}; pass it as `neighbours_file` to use it. Offline (no download) the default
  source is ours: nearest neighbours in the encoder's own input-embedding space, among the lower-case
  alphabetic words of the English training data that the tokenizer keeps as ONE whole-word piece,
  at most `max_neighbours` (8) per word with cosine >= `min_similarity`. Restricting candidates to
  English training words keeps the substitutes English, like the authors' English-only lists.
* RS-RP and adversarial training: the paper's noise distribution, norm ball, radius and step counts
  are not public (UNCONFIRMED). Ours: noise / perturbation added to the input word embeddings
  (before position embeddings and LayerNorm) through the train loop's `forward(emb_delta=...)`,
  padding positions untouched; `distribution` (uniform = L-inf box, gaussian), `norm` (linf | l2),
  `radius`, `steps`, `step_size` are parameters and are recorded. With `scale="rms"` (default) the
  radius is in units of the RMS of the embedding matrix's entries, so one setting means the same
  relative noise for mBERT, XLM-R and e5; the absolute value used is reported in extra_metrics().
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Optional

from ..types import Example, Method
from . import register_method

_NEIGHBOUR_CACHE: dict[tuple, dict[str, list[str]]] = {}


def _choice(rng: Any, seq: list[str]) -> str:
    if hasattr(rng, "integers"):  # numpy Generator
        return seq[int(rng.integers(len(seq)))]
    if hasattr(rng, "randrange"):  # random.Random
        return seq[rng.randrange(len(seq))]
    import random

    return seq[random.randrange(len(seq))]


def load_neighbour_file(path: str | Path) -> dict[str, list[str]]:
    """The authors' format: a JSON object {word: [neighbour, ...]} (empty lists allowed)."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"neighbours_file {p} not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"neighbours_file {p}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
                                             for k, v in data.items()):
        raise ValueError(f"neighbours_file {p}: expected {{word: [neighbour, ...]}} like counterfitted_neighbors.json")
    return {k: list(v) for k, v in data.items()}


def perturb_text(text: Optional[str], table: dict[str, list[str]], rng: Any) -> tuple[Optional[str], int]:
    """The authors' rule: split on ' ', replace each word with neighbours by a uniform draw from
    [word] + neighbours. Returns (text, number of words actually changed)."""
    if text is None:
        return None, 0
    out, changed = [], 0
    for w in text.split(" "):
        nb = table.get(w)
        if nb:
            new = _choice(rng, [w, *nb])
            changed += new != w
            out.append(new)
        else:
            out.append(w)
    return " ".join(out), changed


def _input_embeddings(ctx: Any):
    enc = getattr(ctx, "encoder", None) or getattr(ctx, "model", None)
    if enc is None:
        raise RuntimeError("the train loop's context has no encoder")
    return enc.get_input_embeddings().weight


def embedding_neighbours(words: list[str], tokenizer: Any, weight: Any, *, max_neighbours: int = 8,
                         min_similarity: float = 0.5) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Nearest neighbours among `words` by cosine of their (single whole-word piece) input embeddings."""
    import torch

    cands = sorted({w for w in words if w.isalpha() and len(w) >= 2 and w == w.lower()})
    unk = getattr(tokenizer, "unk_token_id", None)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    ids: list[int] = []
    keep: list[str] = []
    if cands:
        enc = tokenizer(cands, add_special_tokens=False)["input_ids"]
        for w, pieces in zip(cands, enc):
            if len(pieces) == 1 and pieces[0] != unk and pieces[0] not in special:
                keep.append(w)
                ids.append(pieces[0])
    stats = {"candidate_words": len(cands), "whole_word_pieces": len(keep)}
    table: dict[str, list[str]] = {}
    if len(keep) < 2:
        stats["words_with_neighbours"] = 0
        return table, stats
    with torch.no_grad():
        e = weight.detach()[torch.tensor(ids, device=weight.device)].float().cpu()
        e = torch.nn.functional.normalize(e, dim=-1)
        k = min(max_neighbours + 1, len(keep))
        n_with = 0
        sims_kept: list[float] = []
        for start in range(0, len(keep), 1024):
            sims = e[start:start + 1024] @ e.T
            idx = torch.arange(start, min(start + 1024, len(keep)))
            sims[torch.arange(len(idx)), idx] = -2.0  # never its own neighbour
            val, nb = sims.topk(k, dim=-1)
            for row, (vs, ns) in enumerate(zip(val.tolist(), nb.tolist())):
                w = keep[start + row]
                lst = [keep[j] for v, j in zip(vs, ns) if v >= min_similarity][:max_neighbours]
                if lst:
                    table[w] = lst
                    n_with += 1
                    sims_kept.extend(v for v in vs[: len(lst)])
    stats["words_with_neighbours"] = n_with
    stats["mean_neighbours"] = (sum(len(v) for v in table.values()) / n_with) if n_with else 0.0
    stats["mean_similarity"] = (sum(sims_kept) / len(sims_kept)) if sims_kept else None
    return table, stats


@register_method("rs-da")
class RSDA(Method):
    """Randomized smoothing by data augmentation (the authors' public method).

    params: copies (N perturbed copies per example; 10 PAWS-X, 3 XNLI in the paper), max_neighbours (8),
    min_similarity (cosine threshold for embedding neighbours), neighbours_file (the authors'
    counterfitted_neighbors.json format; replaces the embedding source), keep_original (False: train on
    the copies only, as the authors did).
    """

    name = "rs-da"

    def __init__(self, copies: int = 10, max_neighbours: int = 8, min_similarity: float = 0.5,
                 neighbours_file: Optional[str] = None, keep_original: bool = False, **params: Any):
        if int(copies) < 1:
            raise ValueError("copies must be >= 1")
        extra: dict[str, Any] = {}
        if neighbours_file:
            p = Path(neighbours_file).expanduser().resolve()
            table = load_neighbour_file(p)
            extra = {"neighbours_file": str(p), "neighbours_sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                     "source": "file"}
            self._file_table: Optional[dict[str, list[str]]] = table
        else:
            extra = {"source": "encoder-input-embeddings"}
            self._file_table = None
        super().__init__(copies=int(copies), max_neighbours=int(max_neighbours), min_similarity=float(min_similarity),
                         keep_original=bool(keep_original), **extra, **params)
        self._ctx: Any = None
        self.table: dict[str, list[str]] = {}
        self.stats: dict[str, Any] = {}

    def stated_differences(self, profile: str) -> list[dict[str, Any]]:
        if self._file_table is not None:
            return []
        return [{"aspect": "method source", "weight": 0.8,
                 "paper": "synonyms from counter-fitted word-vector neighbours (the authors' "
                          "counterfitted_neighbors.json, <= 8 per word)",
                 "ours": f"nearest neighbours in the encoder's own input-embedding space among the English "
                         f"training words (<= {self.params['max_neighbours']} per word, cosine >= "
                         f"{self.params['min_similarity']:g})",
                 "why": "the neighbour file is not at hand offline (pass neighbours_file to use it); embedding "
                        "neighbours include related words that are not synonyms, so the smoothing differs"}]

    def cost_factor(self, profile: str) -> float:
        """The paper profile trains epochs over N copies; quick caps the steps, so copies cost nothing."""
        return float(self.params["copies"]) if profile == "paper" else 1.0

    def prepare(self, ctx: Any) -> None:
        self._ctx = ctx

    def build_table(self, examples: list[Example]) -> dict[str, list[str]]:
        if self._file_table is not None:
            m = self.params["max_neighbours"]
            self.table = {w: nb[:m] for w, nb in self._file_table.items() if nb}
            self.stats = {"source": "file", "words_with_neighbours": len(self.table)}
            return self.table
        if self._ctx is None:
            raise RuntimeError("rs-da: prepare(ctx) must run before augment_train (the encoder is the synonym source)")
        words = sorted({w for e in examples for t in (e.text, e.text_pair) if t for w in t.split(" ")})
        tok = self._ctx.tokenizer
        weight = _input_embeddings(self._ctx)
        key = (id(weight), weight.shape[0], hashlib.sha256("\n".join(words).encode()).hexdigest(),
               self.params["max_neighbours"], self.params["min_similarity"])
        if key in _NEIGHBOUR_CACHE:
            self.table, stats = _NEIGHBOUR_CACHE[key], {"cached": True}
        else:
            self.table, stats = embedding_neighbours(words, tok, weight, max_neighbours=self.params["max_neighbours"],
                                                     min_similarity=self.params["min_similarity"])
            _NEIGHBOUR_CACHE.clear()
            _NEIGHBOUR_CACHE[key] = self.table
        self.stats = {"source": "encoder-input-embeddings", **stats, "words_with_neighbours": len(self.table)}
        return self.table

    def augment_train(self, examples: list[Example], rng: Any) -> list[Example]:
        table = self.build_table(examples)
        out: list[Example] = list(examples) if self.params["keep_original"] else []
        touched = 0
        changed_words = 0
        for e in examples:
            any_change = False
            for c in range(self.params["copies"]):
                t1, n1 = perturb_text(e.text, table, rng)
                t2, n2 = perturb_text(e.text_pair, table, rng)
                changed_words += n1 + n2
                any_change |= (n1 + n2) > 0
                out.append(Example(id=f"{e.id}#rsda{c}", text=t1, text_pair=t2, label=e.label, answers=e.answers,
                                   lang=e.lang, lang_pair=e.lang_pair))
            touched += any_change
        n = max(1, len(examples))
        self.stats.update({"examples": len(examples), "augmented": len(out),
                           "share_examples_changed": touched / n,
                           "changed_words_per_copy": changed_words / (n * self.params["copies"])})
        return out

    def extra_metrics(self) -> dict[str, Any]:
        sample = dict(list(sorted(self.table.items()))[:20])
        return {"rs_da": {**self.stats, "sample_neighbours": sample}}


class _EmbeddingNoise(Method):
    """Shared pieces of RS-RP and adversarial training: the delta's shape, mask and absolute radius."""

    frozen_layers_ok = False  # the delta is added to the input embeddings, below any frozen layer

    def __init__(self, radius: float, scale: str = "rms", **params: Any):
        if scale not in ("rms", "absolute"):
            raise ValueError("scale must be 'rms' or 'absolute'")
        if float(radius) < 0:
            raise ValueError("radius must be >= 0")
        super().__init__(radius=float(radius), scale=scale, space="input-word-embeddings", **params)
        self._abs: Optional[float] = None
        self._rms: Optional[float] = None
        self._hidden: Optional[int] = None

    def prepare(self, ctx: Any) -> None:
        w = _input_embeddings(ctx)
        self._hidden = int(w.shape[-1])
        self._rms = float(w.detach().float().pow(2).mean().sqrt())
        self._abs = self.params["radius"] * (self._rms if self.params["scale"] == "rms" else 1.0)

    def _shape(self, ctx: Any, batch: dict):
        ids = batch["input_ids"]
        if self._hidden is None:
            self.prepare(ctx)
        mask = batch.get("attention_mask")
        m = mask.unsqueeze(-1).to(dtype=self._float_dtype()) if mask is not None else None
        return (ids.shape[0], ids.shape[1], self._hidden), ids.device, m

    @staticmethod
    def _float_dtype():
        import torch

        return torch.float32

    def extra_metrics(self) -> dict[str, Any]:
        return {self.name.replace("-", "_"): {"radius_abs": self._abs, "embedding_rms": self._rms, **self.params}}


@register_method("rs-rp")
class RSRP(_EmbeddingNoise):
    """Randomized smoothing by random perturbation: train on noisy input embeddings.

    params: radius, scale ("rms" | "absolute"), distribution ("uniform" = U[-r, r] per coordinate, the
    L-inf box a third-party reimplementation used; "gaussian" = N(0, r^2)), samples (noisy forwards
    averaged per step, default 1).
    """

    name = "rs-rp"

    def __init__(self, radius: float = 0.5, scale: str = "rms", distribution: str = "uniform", samples: int = 1,
                 **params: Any):
        if distribution not in ("uniform", "gaussian"):
            raise ValueError("distribution must be 'uniform' or 'gaussian'")
        if int(samples) < 1:
            raise ValueError("samples must be >= 1")
        super().__init__(radius, scale, distribution=distribution, samples=int(samples), **params)

    def cost_factor(self, profile: str) -> float:
        """`samples` noisy forwards per step."""
        return float(self.params["samples"])

    def noise(self, shape, device, mask):
        import torch

        r = float(self._abs or 0.0)
        if self.params["distribution"] == "uniform":
            d = (torch.rand(shape, device=device) * 2 - 1) * r
        else:
            d = torch.randn(shape, device=device) * r
        return d * mask if mask is not None else d

    def training_loss(self, ctx: Any, batch: dict, forward: Any):
        shape, device, mask = self._shape(ctx, batch)
        k = self.params["samples"]
        total = None
        for _ in range(k):
            loss = forward(emb_delta=self.noise(shape, device, mask))[0]
            total = loss if total is None else total + loss
        return total / k


@register_method("adv")
class AdversarialEmbeddings(_EmbeddingNoise):
    """Adversarial training on input embeddings (PGD; steps=1 is FGM / FGSM).

    params: radius (epsilon of the norm ball), scale ("rms" | "absolute"), norm ("l2" per example over
    all token embeddings | "linf"), steps (ascent steps), step_size (default: the radius for one step,
    else 2.5 * radius / steps), init ("zero" | "random"), adv_weight (loss = (1 - w) * clean + w * adv;
    1.0 = adversarial loss only).
    """

    name = "adv"

    def __init__(self, radius: float = 1.0, scale: str = "rms", norm: str = "l2", steps: int = 1,
                 step_size: Optional[float] = None, init: str = "zero", adv_weight: float = 0.5, **params: Any):
        if norm not in ("l2", "linf"):
            raise ValueError("norm must be 'l2' or 'linf'")
        if int(steps) < 1:
            raise ValueError("steps must be >= 1")
        if init not in ("zero", "random"):
            raise ValueError("init must be 'zero' or 'random'")
        if not 0.0 <= float(adv_weight) <= 1.0:
            raise ValueError("adv_weight must be in [0, 1]")
        super().__init__(radius, scale, norm=norm, steps=int(steps), step_size=step_size, init=init,
                         adv_weight=float(adv_weight), **params)

    def cost_factor(self, profile: str) -> float:
        """The ascent steps plus the clean and adversarial forwards."""
        return 1.0 + float(self.params["steps"])

    def _project(self, delta, eps: float):
        import torch

        if self.params["norm"] == "linf":
            return delta.clamp(-eps, eps)
        n = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
        return delta * torch.clamp(eps / n, max=1.0)

    def training_loss(self, ctx: Any, batch: dict, forward: Any):
        import torch

        shape, device, mask = self._shape(ctx, batch)
        eps = float(self._abs or 0.0)
        steps = self.params["steps"]
        alpha = self.params["step_size"]
        alpha = float(alpha) * ((self._rms or 1.0) if self.params["scale"] == "rms" else 1.0) if alpha is not None \
            else (eps if steps == 1 else 2.5 * eps / steps)
        if self.params["init"] == "random":
            delta = self._project((torch.rand(shape, device=device) * 2 - 1) * eps, eps)
        else:
            delta = torch.zeros(shape, device=device)
        if mask is not None:
            delta = delta * mask
        for _ in range(steps):
            delta.requires_grad_(True)
            loss_adv = forward(emb_delta=delta)[0]
            (g,) = torch.autograd.grad(loss_adv, delta)
            g = g.float()
            if self.params["norm"] == "linf":
                step = g.sign()
            else:
                step = g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
            delta = self._project(delta.detach() + alpha * step, eps)
            if mask is not None:
                delta = delta * mask
        delta = delta.detach()
        w = self.params["adv_weight"]
        adv = forward(emb_delta=delta)[0]
        if w >= 1.0:
            return adv
        clean = forward()[0]
        return (1 - w) * clean + w * adv


