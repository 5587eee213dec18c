"""Run profiles: `quick` (sized for a 2-core CPU) and `paper` (the published fine-tuning recipe).

`resolve_profile(name, task_name, task_type, overrides)` returns the flat settings dict the train loop
uses; every key can be overridden through RunSpec.overrides (unknown keys are an error, so a typo
cannot silently change nothing).

Sources for `paper` (shared/docs/papers.md sections 1, 7 and 11): Robust-XLT / XTREME run_classify:
AdamW lr 2e-5, eps 1e-8, weight decay 0, no warmup, effective batch 32, max length 128, epochs PAWS-X 3
and XNLI 1 (Robust-XLT, over its augmented data), model selection on English dev every 500 (PAWS-X) /
1000 (XNLI) steps; XTREME QA (XQuAD): lr 3e-5, max length 384, doc stride 128, 3 epochs, batch 32;
max_grad_norm 1.0 (transformers' default in those scripts).
"""

from __future__ import annotations

from typing import Any, Optional

# Defaults shared by every profile (documented keys; RunSpec.overrides may set any of them).
BASE: dict[str, Any] = {
    "lr": 2e-5,
    "head_lr": None,  # None = same as lr
    "batch_size": 32,  # per optimizer micro-batch
    "grad_accum": 1,  # effective batch = batch_size * grad_accum
    "eval_batch_size": 128,  # rows per evaluation batch at most
    # padded tokens per evaluation batch at most; batches also keep similar lengths (batching.eval_batches).
    # Speed only: the predictions are the same up to floating-point rounding, so it is not part of a config hash
    "eval_batch_tokens": 4096,
    "max_length": 128,
    "epochs": 3,
    "max_steps": None,  # optimizer steps cap (None = epochs decide)
    "max_train_examples": None,  # cap on English train examples BEFORE augmentation (seeded sample)
    "max_dev_examples": None,
    "max_test_examples": None,  # per language
    "max_pair_examples": None,  # per language pair
    "max_pair_examples_total": None,  # over all pairs (split evenly), applied after max_pair_examples
    "eval_every": None,  # optimizer steps between English-dev evaluations (None = once per epoch)
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
    "adam_eps": 1e-8,
    "max_grad_norm": 1.0,
    "precision": "auto",  # auto (bf16 autocast where native) | bf16 | fp32
    "freeze_word_embeddings": False,
    # K > 0: the embeddings and transformer layers 1..K are frozen, run without dropout, and computed ONCE per
    # distinct token sequence of the run (cached in memory); training and evaluation run layers K+1..L only.
    # Changes the numbers (part of a run's config hash). Refused for methods that change the input
    # embeddings or the encoder below layer K (adv, rs-rp, ot-align). 0 = the whole encoder trains.
    "freeze_layers": 0,
    "prune_vocab": False,  # prune the vocabulary to the task's texts (Unigram tokenizers only)
    "length_grouping": True,  # length-grouped batches (dynamic padding is always on)
    "group_size": 64,  # batches per length-sorted chunk when grouping
    "pooling": None,  # None = the encoder's convention (mean for e5, cls for BERT/XLM-R) | mean | cls
    # sentence pairs: "cross" = one sequence "<s> a </s> b" (the BERT/XNLI/PAWS-X recipe); "bi" = each text
    # encoded alone, classifier on [u, v, |u-v|, u*v] (InferSent/SBERT features; how dual encoders such as
    # e5 are scored on pair classification); "auto" = the encoder's own convention (bi for e5, cross for
    # BERT/XLM-R, and cross whenever a method brings its own one-sequence head)
    "pair_encoding": "cross",
    # evaluate every test language and pair in one pass (full batches; bi-encoded pairs: each distinct text
    # once, the generalized pairs reuse them); False: a pass per set, each encoding its own texts
    "reuse_text_vectors": True,
    "classifier_dropout": 0.1,
    "text_prefix": None,  # None = the encoder's convention ("query: " for e5)
    "doc_stride": 128,  # span extraction
    "max_answer_length": 30,
    "n_best": 20,
    "deterministic": False,  # torch.use_deterministic_algorithms (CUDA)
    "threads": None,  # torch.set_num_threads
    "optimizer": "auto",  # auto (fused where supported, else foreach) | fused | foreach
    "log_every": 10,
}

PROFILES: dict[str, dict[str, Any]] = {
    # ~40-70 s for one proxy-task run on 2 CPU cores, evaluation included.
    # lr / head_lr chosen on English dev accuracy of logt-cls (1e-4 / same: 0.525; 1e-4 / 2e-3: 0.63;
    # 2e-4 / 3e-3: 0.665, 45 steps, seed 0): a fresh head needs a larger step than the encoder.
    "quick": {
        "lr": 2e-4,
        "head_lr": 3e-3,
        "batch_size": 32,
        "max_length": 64,
        "epochs": 3,
        "max_steps": 45,
        "max_train_examples": 1200,
        "max_dev_examples": 200,
        "max_test_examples": 150,
        "max_pair_examples": 100,
        "max_pair_examples_total": 2500,
        "eval_every": 15,
        "warmup_ratio": 0.1,
        "precision": "auto",
        "freeze_word_embeddings": True,
        "eval_batch_size": 128,
    },
    # The published recipe; per-task values below.
    "paper": {
        "lr": 2e-5,
        "batch_size": 32,
        "grad_accum": 1,
        "max_length": 128,
        "epochs": 3,
        "warmup_ratio": 0.0,
        "weight_decay": 0.0,
        "freeze_word_embeddings": False,
        "precision": "auto",
    },
}

# Per-task refinements of a profile: (profile, task name or task type) -> settings.
TASK_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {
    ("paper", "pawsx"): {"epochs": 3, "eval_every": 500},
    ("paper", "xnli"): {"epochs": 1, "eval_every": 1000},
    ("paper", "span-extraction"): {"lr": 3e-5, "max_length": 384, "doc_stride": 128, "epochs": 3},
    ("paper", "xquad"): {"lr": 3e-5, "max_length": 384, "doc_stride": 128, "epochs": 3},
    ("quick", "span-extraction"): {"max_length": 192, "doc_stride": 64, "max_test_examples": 150, "max_steps": 40},
}


class ProfileError(ValueError):
    pass


def resolve_profile(
    name: str, task_name: str = "", task_type: str = "classification", overrides: Optional[dict[str, Any]] = None
) -> dict[str, Any]:
    if name not in PROFILES:
        raise ProfileError(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}")
    cfg = dict(BASE)
    cfg.update(PROFILES[name])
    cfg.update(TASK_SETTINGS.get((name, task_type), {}))
    cfg.update(TASK_SETTINGS.get((name, task_name), {}))
    unknown = sorted(set(overrides or {}) - set(BASE))
    if unknown:
        raise ProfileError(f"unknown override(s) {unknown}; known settings: {', '.join(sorted(BASE))}")
    cfg.update(overrides or {})
    cfg["profile"] = name
    if cfg["batch_size"] < 1 or cfg["grad_accum"] < 1:
        raise ProfileError("batch_size and grad_accum must be >= 1")
    if cfg["pair_encoding"] not in ("cross", "bi", "auto"):
        raise ProfileError(f"pair_encoding must be 'cross', 'bi' or 'auto', not {cfg['pair_encoding']!r}")
    k = cfg["freeze_layers"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ProfileError(f"freeze_layers must be an integer >= 0 (0 = nothing frozen), not {k!r}")
    cfg["effective_batch_size"] = cfg["batch_size"] * cfg["grad_accum"]
    return cfg


# How a run draws its test items: "parallel" = one seeded ranking of ids for every test language and
# generalized pair (batching.subsample_parallel). Runs stored before it (2026-12-03) drew each language
# separately; carrying it in the config hash keeps those from being reused beside the new ones.
TEST_SAMPLE = "parallel"


def hash_extras(name: str, task_name: str = "", task_type: str = "classification",
                overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Resolved settings a run's config hash must carry beyond (profile name, overrides) because they
    change the numbers even when they come from the profile's defaults: {"freeze_layers": K} when K > 0
    (nothing for K = 0, so the hashes of existing runs stay as they were). {} when the settings do not
    resolve (the run itself reports why). Always {"test_sample": TEST_SAMPLE}: how test items are drawn."""
    try:
        cfg = resolve_profile(name, task_name, task_type, overrides)
    except ProfileError:
        return {}
    return {"test_sample": TEST_SAMPLE, **({"freeze_layers": cfg["freeze_layers"]} if cfg["freeze_layers"] else {})}


def list_profiles() -> dict[str, dict[str, Any]]:
    return {k: {**BASE, **v} for k, v in PROFILES.items()}
