"""Vocabulary pruning for Unigram (SentencePiece / XLM-R style) tokenizers.

Keep the pieces a corpus uses plus every special token, in their original order (so <s>, <pad>, </s>,
<unk> keep ids 0..3), rebuild the tokenizer from the kept (piece, score) pairs and copy the kept rows of
the word-embedding matrix. Inside the corpus the segmentation is unchanged (the best Viterbi path only
uses kept pieces); outside it, text falls back to shorter pieces, so prune on the union of every text
the model will see (train, dev and test of all languages). For multilingual-e5-small on the gettext
corpus of 15 languages this cut parameters from 117.5M to 46.6M (shared feasibility study).
"""

from __future__ import annotations

import json
from typing import Iterable


class PruneError(ValueError):
    pass


def used_piece_ids(tokenizer, texts: Iterable[str], prefix: str = "", batch: int = 4096) -> set[int]:
    from xlt_claims.experiments.models import nfc

    used: set[int] = set()
    buf: list[str] = []

    def flush() -> None:
        if buf:
            for ids in tokenizer(buf, add_special_tokens=False)["input_ids"]:
                used.update(ids)
            buf.clear()

    for t in texts:
        if t:
            buf.append(prefix + nfc(t))
        if len(buf) >= batch:
            flush()
    flush()
    return used


def prune_vocabulary(encoder, tokenizer, texts: Iterable[str]):
    """Return (encoder, tokenizer) restricted to the pieces `texts` use. The encoder is modified in place
    (its word-embedding matrix is replaced); a new tokenizer object is returned."""
    import torch
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    from xlt_claims.experiments.models import encoder_info

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise PruneError("vocabulary pruning needs a fast (tokenizers) tokenizer")
    spec = json.loads(backend.to_str())
    model = spec.get("model", {})
    if model.get("type") != "Unigram":
        raise PruneError(f"vocabulary pruning supports Unigram tokenizers (XLM-R, e5), not {model.get('type')}")
    info = encoder_info(encoder)
    vocab = model["vocab"]  # [[piece, score], ...]
    used = used_piece_ids(tokenizer, texts, prefix=info.text_prefix)
    special_ids = set(tokenizer.all_special_ids) | {t["id"] for t in spec.get("added_tokens", [])}
    unk_id = model.get("unk_id")
    if unk_id is not None:
        special_ids.add(unk_id)
    keep = sorted(i for i in used | special_ids if i < len(vocab))
    remap = {old: new for new, old in enumerate(keep)}

    model["vocab"] = [vocab[i] for i in keep]
    if unk_id is not None:
        model["unk_id"] = remap[unk_id]
    for t in spec.get("added_tokens", []):
        t["id"] = remap[t["id"]]
    pp = spec.get("post_processor") or {}
    for sp in (pp.get("special_tokens") or {}).values():
        sp["ids"] = [remap[i] for i in sp["ids"]]
    new_backend = Tokenizer.from_str(json.dumps(spec))

    init = dict(getattr(tokenizer, "init_kwargs", {}) or {})
    kwargs = {k: init[k] for k in ("bos_token", "eos_token", "sep_token", "cls_token", "unk_token", "pad_token",
                                   "mask_token", "padding_side", "truncation_side", "model_input_names") if k in init}
    kwargs["model_max_length"] = tokenizer.model_max_length
    new_tok = PreTrainedTokenizerFast(tokenizer_object=new_backend, **{k: (str(v) if k.endswith("_token") else v) for k, v in kwargs.items()})

    emb = encoder.get_input_embeddings()
    idx = torch.tensor(keep, dtype=torch.long, device=emb.weight.device)
    new_emb = torch.nn.Embedding(len(keep), emb.weight.shape[1], padding_idx=None, device=emb.weight.device, dtype=emb.weight.dtype)
    with torch.no_grad():
        new_emb.weight.copy_(emb.weight.index_select(0, idx))
    new_emb.weight.requires_grad_(emb.weight.requires_grad)
    pad_old = getattr(encoder.config, "pad_token_id", None)
    if pad_old is not None and pad_old in remap:
        new_emb.padding_idx = remap[pad_old]
        encoder.config.pad_token_id = remap[pad_old]
    for attr in ("bos_token_id", "eos_token_id"):
        old = getattr(encoder.config, attr, None)
        if old is not None and old in remap:
            setattr(encoder.config, attr, remap[old])
    encoder.set_input_embeddings(new_emb)
    encoder.config.vocab_size = len(keep)
    info.pruned_vocab = len(keep)
    info.extra["pruned_from"] = len(vocab)
    return encoder, new_tok
