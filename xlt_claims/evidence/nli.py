"""Optional NLI cross-encoder (sentence-transformers CrossEncoder) plugged in by model id or path.

The model's own `id2label` decides which output is entailment / contradiction / neutral, so any
3-way NLI cross-encoder works. Without one the rule-based stance in stance.py is used. Load failures
are RuntimeErrors with a message for the user (the CLI prints them and exits 1)."""

from __future__ import annotations

from typing import Optional

import numpy as np


class NLIScorer:
    _cache: dict[str, "NLIScorer"] = {}

    def __init__(self, model_id: str, device: Optional[str] = None):
        import torch
        from sentence_transformers import CrossEncoder

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            self.model = CrossEncoder(model_id, device=device)
        except Exception as exc:  # unknown id offline, a folder without a model, ...
            raise RuntimeError(f"cannot load NLI cross-encoder {model_id!r}: {exc.__class__.__name__}: {exc}. "
                               "Give a sentence-transformers CrossEncoder id (online) or a local folder") from exc
        id2label = getattr(self.model.model.config, "id2label", None) or {}
        labels = {}
        for i, name in id2label.items():
            n = str(name).lower()
            for want in ("entailment", "contradiction", "neutral"):
                if n.startswith(want[:6]):
                    labels[int(i)] = want
        if sorted(labels.values()) != ["contradiction", "entailment", "neutral"]:
            raise RuntimeError(f"{model_id}: not a 3-way NLI model (labels {id2label}); "
                             "expected entailment / neutral / contradiction")
        self.labels = labels

    @classmethod
    def get(cls, model_id: str, device: Optional[str] = None) -> "NLIScorer":
        if model_id not in cls._cache:
            cls._cache[model_id] = cls(model_id, device)
        return cls._cache[model_id]

    def predict(self, pairs: list[tuple[str, str]]) -> list[dict[str, float]]:
        """(premise=source sentence, hypothesis=claim) -> {label: probability}."""
        if not pairs:
            return []
        logits = np.asarray(self.model.predict(pairs, convert_to_numpy=True, show_progress_bar=False))
        if logits.ndim == 1:
            logits = logits[None, :]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return [{self.labels[i]: float(row[i]) for i in range(row.shape[0]) if i in self.labels} for row in p]
