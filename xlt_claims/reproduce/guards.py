"""Sanity guards of one run: it collapsed to one label, or it learned nothing in the training language
(English accuracy at chance on the larger of test and dev, or English F1 at the floor for span
extraction). Which runs a guard excludes is the judging rule's business (verdict/): a baseline that
did not learn voids its seed, a treatment that did not learn is a result. Known reproduction traps they
catch: a classifier stuck on the majority class, chance-level accuracy (e.g. 0.318 on 3-way NLI),
placeholder test labels (the data loader's own guard refuses those before a run starts).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Optional

from ..metrics import parse_metric, select_keys

COLLAPSE_SHARE = 0.95  # one predicted label on >= 95% of items = collapsed
MIN_MARGIN = 0.02  # accuracy must beat chance by > max(2 points, 2 standard errors)
# span extraction (F1 in points, 0-100, as the train loop reports it): a model that predicts spans at
# random scores a few F1 points on SQuAD-style data; an English F1 at or below this learned nothing
SPAN_F1_FLOOR = 10.0
SPAN_DIST_KEYS = {"empty_answer_share", "distinct_answers"}  # a span run's pred_label_dist


def _split_stats(items) -> dict[str, Any]:
    labels = [e.label for e in items if getattr(e, "label", None) is not None]
    if not labels:
        return {"n": len(items), "majority": None, "labels": {}}
    c = Counter(labels)
    return {"n": len(labels), "majority": max(c.values()) / len(labels), "labels": {str(k): v for k, v in sorted(c.items())}}


def label_stats(task: Any) -> dict[str, Any]:
    """Gold-label statistics per split and language (stored in each run's manifest)."""
    return {
        "task": getattr(task, "name", None),
        "task_type": getattr(task, "task_type", None),
        "num_labels": len(getattr(task, "labels", []) or []),
        "dev": {"en": _split_stats(task.dev)},
        "test": {k: _split_stats(v) for k, v in (task.test or {}).items()},
        "test_pairs": {k: _split_stats(v) for k, v in (task.test_pairs or {}).items()},
    }


def chance_level(stats: dict[str, Any], split: str, key: str) -> Optional[float]:
    k = stats.get("num_labels") or 0
    s = (stats.get(split) or {}).get(key) or {}
    maj = s.get("majority")
    if not k and maj is None:
        return None
    return max(1.0 / k if k else 0.0, maj or 0.0)


def metric_chance(stats: dict[str, Any], metric: str) -> Optional[float]:
    """Chance level of a decision metric: mean chance over the languages/pairs it averages. ROC-AUC's
    chance is 0.5 whatever the label balance (scores that rank at random)."""
    split, sel, measure = parse_metric(metric)
    if split == "summary" or measure not in ("accuracy", "auc"):
        return None
    keys = select_keys(split, sel, (stats.get(split) or {}).keys())
    if measure == "auc":
        return 0.5 if keys else None
    vals = [chance_level(stats, split, k) for k in keys]
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def chance_margin(stats: dict[str, Any], metric: str, chance: float, n_items: int) -> float:
    """How far above chance an arm's mean must be to count as above it: two standard errors of the
    metric under chance over `n_items` items (binomial for accuracy; for ROC-AUC the Hanley-McNeil null
    variance (n + 1) / (12 n1 n0), with the class shares of the gold labels), and at least 1 point."""
    if not n_items:
        return 0.01
    split, sel, measure = parse_metric(metric)
    if measure == "auc":
        keys = select_keys(split, sel, (stats.get(split) or {}).keys())
        shares = [((stats.get(split) or {}).get(k) or {}).get("majority") for k in keys]
        shares = [v for v in shares if isinstance(v, (int, float))]
        p = sum(shares) / len(shares) if shares else 0.5
        n1, n0 = max(1.0, p * n_items), max(1.0, (1 - p) * n_items)
        return max(0.01, 2 * math.sqrt((n_items + 1) / (12 * n1 * n0)))
    return max(0.01, 2 * math.sqrt(chance * (1 - chance) / n_items))


def _collapsed(metrics: dict[str, Any]) -> Optional[str]:
    """The loop's own flag (predictions >= 95% one label while the gold labels are not), or, for a
    flat {label: share} prediction table, the same share rule."""
    if metrics.get("collapsed"):
        return "the train loop reports the model predicts one label almost everywhere"
    dist = metrics.get("pred_label_dist")
    if isinstance(dist, dict) and SPAN_DIST_KEYS & set(dist):
        # span extraction's answer statistics (metrics.run_metrics), not a label table: its collapse
        # (>= 95% empty answers or one distinct answer) is the loop's own flag above
        return None
    if isinstance(dist, dict) and dist and all(isinstance(v, (int, float)) for v in dist.values()):
        vals = [float(v) for v in dist.values()]
        tot = sum(vals)
        if tot > 0 and max(vals) / tot >= COLLAPSE_SHARE:
            return f"one label takes {max(vals) / tot:.0%} of predictions"
    return None


def _english_table(metrics: dict[str, Any], stats: dict[str, Any], measure: str) -> Optional[tuple[str, float, int]]:
    """(split, value, items) of the English measure on the larger of test and dev (more items, a
    tighter check); None when neither has it."""
    found = []
    for split in ("test", "dev"):
        tab = (metrics.get(split) or {}).get("en") or {}
        v = tab.get(measure)
        if isinstance(v, (int, float)):
            n = int(tab.get("n") or ((stats.get(split) or {}).get("en") or {}).get("n") or 0)
            found.append((split, float(v), n))
    return max(found, key=lambda f: f[2]) if found else None


def check_run(metrics: Optional[dict[str, Any]], stats: Optional[dict[str, Any]]) -> dict[str, Any]:
    """{'valid': bool, 'reasons': [...], 'checks': {...}} for one finished run."""
    reasons: list[str] = []
    checks: dict[str, Any] = {}
    if not metrics:
        return {"valid": False, "reasons": ["no metrics"], "checks": checks}
    col = _collapsed(metrics)
    checks["collapsed"] = col
    if col:
        reasons.append(f"collapsed: {col}")
    stats = stats or {}
    task_type = stats.get("task_type")
    english = _english_table(metrics, stats, "f1" if task_type == "span-extraction" else "accuracy")
    if english is not None and task_type == "span-extraction":
        split, f1, n = english
        checks["english"] = {"split": split, "f1": f1, "floor": SPAN_F1_FLOOR, "n": n}
        if f1 <= SPAN_F1_FLOOR:
            reasons.append(f"learned nothing: English {split} F1 {f1:.1f} <= floor {SPAN_F1_FLOOR:g}")
    elif english is not None and task_type in (None, "classification", "pair-classification"):
        # in-language (English) performance must beat chance, or the run learned nothing
        split, acc, n = english
        c = chance_level(stats, split, "en")
        if c is not None:
            margin = max(MIN_MARGIN, 2 * math.sqrt(c * (1 - c) / n)) if n else MIN_MARGIN
            checks["english"] = {"split": split, "accuracy": acc, "chance": c, "margin": margin, "n": n}
            if acc <= c + margin:
                reasons.append(f"at chance: English {split} accuracy {acc:.3f} <= chance {c:.3f} + margin {margin:.3f}")
    return {"valid": not reasons, "reasons": reasons, "checks": checks}
