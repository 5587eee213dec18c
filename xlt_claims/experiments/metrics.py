"""Metrics of the train loop: accuracy / macro-F1 / ROC-AUC for classification, SQuAD F1 / EM for spans,
and the per-run summary (averages over languages, pairs and scripts, the collapse check).

Pure Python: no torch, so verdict code and tests can use it without loading a model.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any, Optional, Sequence

from xlt_claims.experiments.types import Example

__all__ = ["average", "classification_metrics", "label_distribution", "roc_auc", "run_metrics", "score_predictions",
           "squad_em", "squad_f1"]


def roc_auc(gold: Sequence[int], scores: Sequence[float]) -> Optional[float]:
    """Area under the ROC curve of `scores` for label 1 against label 0 (Mann-Whitney U with average
    ranks for ties); None when one class is absent. Threshold-free: it says whether the scores rank
    positives above negatives even where the decision threshold learned in English no longer fits."""
    n1 = sum(1 for g in gold if g == 1)
    n0 = len(gold) - n1
    if n1 == 0 or n0 == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # 1-based average rank of the tie block
        i = j + 1
    r1 = sum(r for r, g in zip(ranks, gold) if g == 1)
    return (r1 - n1 * (n1 + 1) / 2) / (n1 * n0)


def classification_metrics(gold: Sequence[int], pred: Sequence[int], num_labels: int,
                           scores: Optional[Sequence[float]] = None) -> dict[str, Any]:
    """accuracy, macro-F1 and n; with two labels and per-item scores for label 1, also ROC-AUC."""
    n = len(gold)
    if n == 0:
        return {"accuracy": None, "macro_f1": None, "n": 0}
    correct = sum(int(g == p) for g, p in zip(gold, pred))
    f1s = []
    for c in sorted(set(gold) | set(pred)):
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred) if g == c and p != c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    out: dict[str, Any] = {"accuracy": correct / n, "macro_f1": sum(f1s) / len(f1s), "n": n}
    if num_labels == 2 and scores is not None:
        out["auc"] = roc_auc(gold, scores)
    return out


_PUNCT = set(string.punctuation)


def _normalize_answer(s: str) -> str:
    """SQuAD v1.1 answer normalisation: lower case, drop punctuation, articles (a/an/the), extra spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _token_f1(pred: str, gt: str) -> float:
    p, g = _normalize_answer(pred).split(), _normalize_answer(gt).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def squad_f1(prediction: str, ground_truths: Sequence[str]) -> float:
    return max((_token_f1(prediction, gt) for gt in ground_truths), default=0.0)


def squad_em(prediction: str, ground_truths: Sequence[str]) -> float:
    return max((float(_normalize_answer(prediction) == _normalize_answer(gt)) for gt in ground_truths), default=0.0)


def score_predictions(examples: Sequence[Example], preds: Sequence[Any], scores: Optional[Sequence[float]],
                      span: bool, num_labels: int) -> dict[str, Any]:
    """One test set's metrics: SQuAD F1/EM (x100) for answer strings, else classification_metrics."""
    if span:
        if not examples:
            return {"f1": None, "em": None, "n": 0}
        f1 = [squad_f1(p, (e.answers or {}).get("text") or [""]) for e, p in zip(examples, preds)]
        em = [squad_em(p, (e.answers or {}).get("text") or [""]) for e, p in zip(examples, preds)]
        return {"f1": 100.0 * sum(f1) / len(f1), "em": 100.0 * sum(em) / len(em), "n": len(examples)}
    return classification_metrics([int(e.label) for e in examples], preds, num_labels, scores)


def label_distribution(preds: Sequence[int], labels: Sequence[str]) -> dict[str, float]:
    n = len(preds)
    c = Counter(preds)
    return {labels[k] if 0 <= k < len(labels) else str(k): round(v / n, 4) for k, v in sorted(c.items())} if n else {}


def average(values: Sequence[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def run_metrics(*, key: str, span: bool, dev_best: dict[str, Any], dev_preds: Sequence[Any],
                test_metrics: dict[str, Any], pair_metrics: dict[str, Any], test_preds: Sequence[Any],
                test_gold: Sequence[Example], scripts: dict[str, str], labels: Sequence[str], num_labels: int,
                best_step: int, train_steps: int) -> dict[str, Any]:
    """The run's metrics dict: per-language and per-pair metrics, the summary the verdicts read
    (averages over non-English languages, cross-language pairs and scripts), the predicted label
    distribution and the collapse flag (one label predicted for >= 95% of a balanced test set)."""
    metrics: dict[str, Any] = {"dev": {"en": dev_best}, "test": test_metrics, "test_pairs": pair_metrics}
    nonen = [m[key] for lang, m in test_metrics.items() if lang != "en"]
    cross = [m[key] for k, m in pair_metrics.items() if k.split("-")[0] != k.split("-")[-1]]
    by_script: dict[str, list[float]] = {}
    for lang, m in test_metrics.items():
        if lang != "en" and m[key] is not None:
            by_script.setdefault(scripts.get(lang, "unknown"), []).append(m[key])
    summary: dict[str, Any] = {
        "metric": key,
        "dev_en": dev_best.get(key),
        "test_en": test_metrics.get("en", {}).get(key),
        "test_avg": average([m[key] for m in test_metrics.values()]),
        "test_avg_nonen": average(nonen),
        "pairs_avg": average([m[key] for m in pair_metrics.values()]),
        "pairs_avg_cross": average(cross),
        "by_script": {s: sum(v) / len(v) for s, v in sorted(by_script.items())},
        "n_test_langs": len(test_metrics),
        "n_pairs": len(pair_metrics),
        "best_step": best_step,
        "train_steps": train_steps,
    }
    if span:
        summary["test_avg_nonen_em"] = average([m["em"] for lang, m in test_metrics.items() if lang != "en"])
        summary["pairs_avg_em"] = average([m["em"] for m in pair_metrics.values()])
        empty = sum(1 for p in test_preds if not p.strip()) / len(test_preds) if test_preds else 0.0
        distinct = len(set(test_preds))
        metrics["pred_label_dist"] = {"empty_answer_share": round(empty, 4), "distinct_answers": distinct}
        metrics["collapsed"] = bool(test_preds) and (empty >= 0.95 or distinct <= 1)
    else:
        gold = [int(e.label) for e in test_gold]
        gold_major = max(Counter(gold).values()) / len(gold) if gold else 0.0
        pred_major = max(Counter(test_preds).values()) / len(test_preds) if test_preds else 0.0
        summary["chance"] = 1.0 / num_labels
        summary["majority_baseline"] = round(gold_major, 4)
        metrics["pred_label_dist"] = {
            "test": label_distribution(test_preds, labels),
            "test_gold": label_distribution(gold, labels),
            "dev": label_distribution(dev_preds, labels),
        }
        metrics["collapsed"] = bool(test_preds) and pred_major >= 0.95 and gold_major < 0.9
    metrics["summary"] = summary
    return metrics
