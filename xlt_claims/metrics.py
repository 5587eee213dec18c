"""Metric paths: how a decision rule names a number in a run's metrics (leaf module, imports nothing of ours).

A path is `summary.<key>` or `<split>:<selector>:<measure>`: split test | test_pairs | dev; selector
all | nonen | cross | same | <lang> | <l1-l2>; measure accuracy | macro_f1 | auc | f1 | em. The value of
a path in one run's metrics is the macro average over the selected languages or language pairs.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

SPLITS = ("test", "test_pairs", "dev")


def parse_metric(spec: str) -> tuple[str, str, str]:
    """("summary", key, "") or (split, selector, measure)."""
    if spec.startswith("summary."):
        return ("summary", spec[len("summary."):], "")
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] not in SPLITS or not parts[1] or not parts[2]:
        raise ValueError(f"metric {spec!r} must be 'summary.<key>' or '<test|test_pairs|dev>:<selector>:<measure>'")
    return parts[0], parts[1], parts[2]


def select_keys(split: str, selector: str, keys: Iterable[str]) -> list[str]:
    """The languages (or language pairs) of a metrics table that a selector picks, sorted."""
    keys = sorted(keys)
    if selector == "all":
        return keys
    if selector == "nonen":
        return [k for k in keys if k != "en" and not k.startswith("en-") and not k.endswith("-en")] if split == "test_pairs" \
            else [k for k in keys if k != "en"]
    if selector in ("cross", "same"):
        out = []
        for k in keys:
            if "-" not in k:
                continue
            a, b = k.split("-", 1)
            if (a != b) == (selector == "cross"):
                out.append(k)
        return out
    return [k for k in keys if k == selector]


def metric_value(metrics: dict[str, Any], spec: str) -> Optional[float]:
    """The value of a metric spec in one run's metrics (macro average over selected languages/pairs)."""
    split, sel, measure = parse_metric(spec)
    if split == "summary":
        v = (metrics.get("summary") or {}).get(sel)
        return float(v) if isinstance(v, (int, float)) else None
    table = metrics.get(split) or {}
    keys = select_keys(split, sel, table)
    vals = [table[k][measure] for k in keys if isinstance(table.get(k), dict) and isinstance(table[k].get(measure), (int, float))]
    return float(sum(vals) / len(vals)) if vals else None


def metric_items(metrics: dict[str, Any], spec: str) -> int:
    """How many test items stand behind a metric value (for the one-item resolution floor)."""
    split, sel, _ = parse_metric(spec)
    if split == "summary":
        return int(sum((v or {}).get("n", 0) for v in (metrics.get("test_pairs") or metrics.get("test") or {}).values()))
    table = metrics.get(split) or {}
    return int(sum(table[k].get("n", 0) for k in select_keys(split, sel, table) if isinstance(table.get(k), dict)))
