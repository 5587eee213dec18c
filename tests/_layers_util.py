"""Tiny random encoder + word-level fast tokenizer for the probe / fusion / OT tests (no downloads)."""

from __future__ import annotations

import re


def tiny_tokenizer(texts, extra=()):
    """A fast WordLevel tokenizer over the words of ``texts`` (word_ids() works; one token per word)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    words = sorted({w for t in list(texts) + list(extra) for w in re.findall(r"\w+|[^\w\s]", t)})
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                   cls_token="[CLS]", sep_token="[SEP]")


def tiny_encoder(vocab_size: int, layers: int = 4, hidden: int = 32, seed: int = 0):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                     intermediate_size=2 * hidden, max_position_embeddings=64, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0)
    return BertModel(cfg, add_pooling_layer=False)


def toy_bitext(n: int = 12, langs=("de", "ru")):
    """Synthetic parallel pairs: each target 'language' renames every English word deterministically."""
    en = [f"item{i} alpha{i % 3} beta{i % 5} gamma" for i in range(n)]
    out = {}
    for lang in langs:
        out[lang] = [(e, " ".join(f"{lang}_{w}" for w in e.split())) for e in en]
    return out


def tiny_task(task_type: str = "classification", n_train: int = 16):
    """A tiny TaskData over toy sentences (2 labels), English train/dev and en + de test."""
    from xlt_claims.experiments.types import Example, TaskData

    def ex(i, lang, split):
        label = i % 2
        words = ("open save file" if label else "close print page").split()
        text = " ".join(f"{lang}_{w}" if lang != "en" else w for w in words) + f" {'x' if i % 3 else 'y'}"
        pair = "the doc" if task_type == "pair-classification" else None
        return Example(id=f"{split}-{lang}-{i}", text=text, text_pair=pair, label=label, lang=lang)

    return TaskData(
        name="tiny", task_type=task_type, labels=["a", "b"],
        train=[ex(i, "en", "train") for i in range(n_train)], dev=[ex(i, "en", "dev") for i in range(6)],
        test={"en": [ex(i, "en", "test") for i in range(6)], "de": [ex(i, "de", "test") for i in range(6)]},
        scripts={"en": "Latin", "de": "Latin"}, proxy=True,
    )


def tiny_task_texts(task):
    return [t for split in (task.train, task.dev, *task.test.values()) for e in split for t in (e.text, e.text_pair) if t]


TINY_OVERRIDES = {"max_steps": 2, "batch_size": 8, "eval_every": 1, "max_length": 16, "precision": "fp32",
                  "max_train_examples": None, "max_dev_examples": None, "max_test_examples": None, "epochs": 1}


def _single_thread():
    """Tiny models are dominated by thread synchronisation on a busy 2-core machine: run them on one
    thread (restored afterwards). Used as an autouse fixture by the probe / fusion / OT tests."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


try:
    import pytest as _pytest

    single_thread = _pytest.fixture(autouse=True)(_single_thread)
except ImportError:  # pragma: no cover
    pass
