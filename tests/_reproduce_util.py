"""Helpers for the reproduce / verdict / robust tests: a tiny random BERT with a word-level tokenizer
saved to disk (loadable by path, no network), a tiny zero-shot task as a task file, experiment TOMLs
and claims inserted straight into a store.

The task: a sentence holds filler words and one keyword; the keyword's class is the label. English
("en") uses English keywords, the target language "xx" uses different keyword tokens (their
"translations"), so an English-only model transfers at chance on xx. A neighbour file that lists each
English keyword's xx translation as its "synonym" lets RS-DA teach the model the xx keywords: an arm
that is truly better on xx, through the real RS-DA code path.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Optional

KEYWORDS = {0: ["red", "blue", "green", "pink"], 1: ["cat", "dog", "cow", "owl"]}
XX = {w: f"xx{w}" for ws in KEYWORDS.values() for w in ws}
FILLER = ["the", "a", "is", "on", "big", "small", "old", "new", "very", "here", "there", "now"]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def vocab() -> list[str]:
    return SPECIALS + FILLER + [w for ws in KEYWORDS.values() for w in ws] + list(XX.values())


def make_tiny_model(path: Path, seed: int = 0) -> str:
    """A 2-layer, 32-dim random BertModel + word-level fast tokenizer, saved with save_pretrained."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = Path(path)
    if (path / "config.json").exists():
        return str(path)
    v = {w: i for i, w in enumerate(vocab())}
    tok = Tokenizer(models.WordLevel(v, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", v["[CLS]"]), ("[SEP]", v["[SEP]"])])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    cfg = BertConfig(vocab_size=len(v), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64, pad_token_id=0)
    torch.manual_seed(seed)
    model = BertModel(cfg, add_pooling_layer=False)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return str(path)


def _sentence(rng: random.Random, label: int, lang: str) -> str:
    kw = rng.choice(KEYWORDS[label])
    if lang == "xx":
        kw = XX[kw]
    words = [rng.choice(FILLER) for _ in range(rng.randint(2, 5))]
    words.insert(rng.randint(0, len(words)), kw)
    return " ".join(words)


def make_task(path: Path, n_train: int = 160, n_test: int = 80, seed: int = 0) -> Path:
    rng = random.Random(seed)

    def items(n: int, lang: str, split: str) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            y = i % 2
            out.append({"id": f"{split}-{lang}-{i}", "text": _sentence(rng, y, lang), "label": y, "lang": lang})
        return out

    task = {
        "name": "tiny-xx", "task_type": "classification", "labels": ["colour", "animal"], "proxy": True,
        "train": items(n_train, "en", "train"), "dev": items(40, "en", "dev"),
        "test": {"en": items(n_test, "en", "test"), "xx": items(n_test, "xx", "test")},
        "scripts": {"en": "Latin", "xx": "Latin"}, "provenance": {"generator": "tests/_reproduce_util.py"},
    }
    path = Path(path)
    path.write_text(json.dumps(task), encoding="utf-8")
    return path


def make_neighbours(path: Path) -> Path:
    """The authors' {word: [neighbours]} format: each English keyword's 'synonym' is its xx form."""
    Path(path).write_text(json.dumps({w: [x] for w, x in XX.items()}), encoding="utf-8")
    return Path(path)


TRAIN_OVERRIDES = {"lr": 2e-3, "threads": 1, "pooling": "mean", "batch_size": 16, "max_steps": 40, "epochs": 8, "eval_every": 20,
                   "warmup_ratio": 0.0, "max_length": 16, "freeze_word_embeddings": False, "precision": "fp32",
                   "max_test_examples": None, "max_dev_examples": None, "max_train_examples": None}


def write_experiment(dir_: Path, name: str, *, model: str, task_file: str = "task.json",
                     treatment: Optional[dict[str, Any]] = None, seeds: tuple[int, ...] = (1, 2, 3),
                     metric: str = "test:nonen:accuracy", min_effect: float = 5.0, overrides: Optional[dict] = None,
                     match_all: str = r"tiny keyword", tier: str = "core", extra_decision: str = "") -> Path:
    """One experiment TOML (baseline vs `treatment`, default: an identical baseline)."""
    treatment = treatment or {"method": "baseline", "params": {}}
    ov = {**TRAIN_OVERRIDES, **(overrides or {})}

    def toml_val(v: Any) -> str:
        if v is None:
            return '"__none__"'
        return json.dumps(v)

    ov_lines = "\n".join(f"{k} = {toml_val(v)}" for k, v in ov.items() if v is not None)
    params = ", ".join(f"{k} = {toml_val(v)}" for k, v in treatment.get("params", {}).items())
    text = f"""
name = "{name}"
description = "test experiment {name}"
tier = "{tier}"

[match]
all = ['{match_all}']

[task]
proxy = "file:{task_file}"

[model]
default = "{model}"

[[arms]]
name = "baseline"
method = "baseline"

[[arms]]
name = "treatment"
method = "{treatment['method']}"
params = {{ {params} }}

[run]
seeds = {list(seeds)}
profile = "quick"

[run.overrides.quick]
{ov_lines}

[decision]
baseline = "baseline"
treatment = "treatment"
metric = "{metric}"
min_effect = {min_effect}
{extra_decision}
"""
    p = Path(dir_) / f"{name}.toml"
    p.write_text(text, encoding="utf-8")
    return p


def add_claim(store, claim_id: str, text: str, *, report_key: str = "999_test", confidence: float = 0.5,
              text_verdict: Optional[str] = None, cites: tuple[str, ...] = (), value: Optional[float] = None) -> None:
    from sqlmodel import select

    from xlt_claims.store.models import Claim, Reference, Report

    with store.session() as s:
        rep = s.exec(select(Report).where(Report.key == report_key)).first()
        if rep is None:
            rep = Report(key=report_key, file_name=f"{report_key}.txt", source_path=f"/tmp/{report_key}.txt",
                         content_hash=f"hash-{report_key}", title="A test report on robust training")
            s.add(rep)
            s.flush()
            for i, c in enumerate(cites, 1):
                s.add(Reference(report_id=rep.id, position=i, arxiv_id=c, cited_as=c, line=i))
        s.add(Claim(id=claim_id, report_key=report_key, report_id=rep.id, row=1, line=1, text=text,
                    normalized=text.lower(), report_confidence=confidence, text_verdict=text_verdict,
                    kind="qualitative", value=value))


def run_and_judge(store, registry, targets, opts, **kw):
    """What `claims reproduce` does: run the targets' experiments, then judge them (verdict layer)."""
    from xlt_claims.reproduce import reproduce
    from xlt_claims.verdict import judge_plans

    res = reproduce(store, registry, targets, opts, **kw)
    if not kw.get("dry_run"):
        judge_plans(store, res)
    return res
