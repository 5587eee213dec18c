"""Tiny random encoder + tokenizer + synthetic tasks for the train-loop tests (no downloads, seconds)."""

from __future__ import annotations

import random

from xlt_claims.experiments.types import Example, TaskData

KEYWORDS = {0: ["red", "crimson"], 1: ["blue", "navy"], 2: ["green", "olive"]}
FILLER = ["the", "a", "big", "small", "car", "house", "is", "very", "old", "new", "my", "your", "door", "tree"]
# a second "language": every word renamed deterministically (same script, different vocabulary)
XX = {w: w[::-1] + "x" for w in FILLER + [k for ks in KEYWORDS.values() for k in ks]}


def _sentence(rng: random.Random, label: int) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(2, 9))]
    words.insert(rng.randint(0, len(words)), rng.choice(KEYWORDS[label]))
    return " ".join(words)


def translate(text: str) -> str:
    return " ".join(XX.get(w, w) for w in text.split())


def synthetic_task(n_train: int = 96, n_dev: int = 30, n_test: int = 30, seed: int = 0, pairs: bool = False) -> TaskData:
    rng = random.Random(seed)

    def items(n: int, split: str, lang: str) -> list[Example]:
        out = []
        for i in range(n):
            y = i % 3
            t = _sentence(rng, y)
            if lang != "en":
                t = translate(t)
            out.append(Example(id=f"{split}-{lang}-{i}", text=t, label=y, lang=lang))
        return out

    test = {"en": items(n_test, "test", "en"), "xx": items(n_test, "test", "xx")}
    test_pairs = {}
    if pairs:
        for key in ("en-xx", "xx-en"):
            l1, l2 = key.split("-")
            exs = []
            for i in range(12):
                y = i % 3
                a, b = _sentence(rng, y), " ".join(rng.choice(FILLER) for _ in range(3))
                exs.append(Example(id=f"p-{key}-{i}", text=a if l1 == "en" else translate(a),
                                   text_pair=b if l2 == "en" else translate(b), label=y, lang=l1, lang_pair=key))
            test_pairs[key] = exs
    return TaskData(name="synthetic-colors", task_type="classification", labels=["red", "blue", "green"],
                    train=items(n_train, "train", "en"), dev=items(n_dev, "dev", "en"), test=test,
                    test_pairs=test_pairs, scripts={"en": "Latin", "xx": "Latin"}, proxy=True,
                    provenance={"source": "tests/_train_util.py synthetic"})


def span_task(n: int = 40, seed: int = 0) -> TaskData:
    rng = random.Random(seed)

    def items(k: int, split: str, lang: str) -> list[Example]:
        out = []
        for i in range(k):
            colour = rng.choice([w for ws in KEYWORDS.values() for w in ws])
            pre = " ".join(rng.choice(FILLER) for _ in range(rng.randint(1, 8)))
            post = " ".join(rng.choice(FILLER) for _ in range(rng.randint(1, 8)))
            ctx = f"{pre} {colour} {post}"
            q = "which colour"
            if lang != "en":
                ctx, q, colour = translate(ctx), translate(q), XX[colour]
            start = ctx.index(f" {colour} ") + 1
            out.append(Example(id=f"{split}-{lang}-{i}", text=q, text_pair=ctx, lang=lang,
                               answers={"text": [colour], "answer_start": [start]}))
        return out

    return TaskData(name="synthetic-span", task_type="span-extraction", labels=[], train=items(n, "train", "en"),
                    dev=items(12, "dev", "en"), test={"en": items(12, "test", "en"), "xx": items(12, "test", "xx")},
                    proxy=True)


def tiny_tokenizer(task: TaskData):
    """WordLevel fast tokenizer over every word of the task (offsets work, so span tasks work too)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = set()
    for ex in [*task.train, *task.dev, *(e for v in task.test.values() for e in v), *(e for v in task.test_pairs.values() for e in v)]:
        for t in (ex.text, ex.text_pair or ""):
            words.update(t.split())
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocab = {w: i for i, w in enumerate(specials + sorted(words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", model_max_length=64)


def tiny_encoder(vocab_size: int, seed: int = 0, layers: int = 2, hidden: int = 32):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                     intermediate_size=2 * hidden, max_position_embeddings=64, type_vocab_size=2, pad_token_id=0)
    return BertModel(cfg, add_pooling_layer=False)


def tiny_model(task: TaskData, seed: int = 0):
    tok = tiny_tokenizer(task)
    return tiny_encoder(len(tok.get_vocab()), seed=seed), tok


def same_colour_pair_task(n_train: int = 160, n_test: int = 40, seed: int = 0) -> TaskData:
    """Sentence pairs: label 1 when both sentences name the same colour class (English train/dev/test)."""
    rng = random.Random(seed)

    def short(label: int) -> str:
        return " ".join([rng.choice(FILLER), rng.choice(KEYWORDS[label])])

    def items(n: int, split: str) -> list[Example]:
        out = []
        for i in range(n):
            a = rng.randrange(3)
            same = i % 2 == 1
            b = a if same else (a + rng.randint(1, 2)) % 3
            out.append(Example(id=f"{split}-{i}", text=short(a), text_pair=short(b),
                               label=int(same), lang="en"))
        return out

    return TaskData(name="synthetic-same-colour", task_type="pair-classification", labels=["different", "same"],
                    train=items(n_train, "train"), dev=items(n_test, "dev"), test={"en": items(n_test, "test")},
                    scripts={"en": "Latin"}, proxy=True, provenance={"source": "tests/_train_util.py synthetic"})
