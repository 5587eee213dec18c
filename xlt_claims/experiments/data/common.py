"""Shared pieces of the data loaders: errors, the placeholder-label guard, deterministic subsampling,
and the generalized (two-language) setting built from parallel test sets."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Iterable, Optional, Sequence

from ..types import Example


class DataError(RuntimeError):
    """A data set cannot be loaded as asked (missing file, bad format, unknown language, ...)."""


class PlaceholderLabelsError(DataError):
    """A test split carries placeholder labels (missing, or one label everywhere): evaluating on it
    would report chance-level numbers as results (the XTREME hidden-test-label trap)."""


def _h(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def check_test_labels(items: Sequence[Example], source: str, labels: Optional[list[str]] = None,
                      task_type: str = "classification", min_items: int = 10) -> None:
    """Refuse placeholder test labels. `source` names the file (or hub id + split) for the message.

    Classification: every item must have a label index inside `labels`, and a test set of at least
    `min_items` items must contain more than one distinct label. Span extraction: every item needs at
    least one gold answer."""
    if not items:
        return
    if task_type == "span-extraction":
        missing = [e.id for e in items if not e.answers or not e.answers.get("text")]
        if missing:
            raise PlaceholderLabelsError(
                f"{source}: {len(missing)} of {len(items)} test questions have no gold answer "
                f"(first: id {missing[0]}); refusing to evaluate on placeholder labels")
        return
    missing = [e.id for e in items if e.label is None]
    if missing:
        raise PlaceholderLabelsError(
            f"{source}: {len(missing)} of {len(items)} test items have no label (first: id {missing[0]}); "
            "refusing to evaluate on placeholder labels")
    if labels is not None:
        bad = [e for e in items if not (0 <= int(e.label) < len(labels))]  # type: ignore[arg-type]
        if bad:
            raise DataError(f"{source}: label {bad[0].label!r} of item {bad[0].id} is outside {labels}")
    distinct = Counter(e.label for e in items)
    if len(items) >= min_items and len(distinct) == 1:
        only = next(iter(distinct))
        name = labels[only] if labels is not None and only is not None else only
        raise PlaceholderLabelsError(
            f"{source}: all {len(items)} test labels are {name!r} — placeholder test labels (e.g. XTREME's "
            "hidden test sets give ~chance accuracy); refusing to evaluate. Use the official labelled files.")


def subsample(items: list[Example], n: Optional[int], salt: str = "") -> list[Example]:
    """Deterministic, label-stratified subsample of at most n items (order: sha1 of the id).

    Each label keeps its share (largest remainder); the result keeps the input order."""
    if n is None or n >= len(items):
        return items
    if n <= 0:
        return []
    by_label: dict = defaultdict(list)
    for i, e in enumerate(items):
        by_label[e.label].append(i)
    total = len(items)
    quotas = {lab: n * len(ix) / total for lab, ix in by_label.items()}
    alloc = {lab: int(q) for lab, q in quotas.items()}
    rest = n - sum(alloc.values())
    for lab in sorted(quotas, key=lambda k: (-(quotas[k] - alloc[k]), str(k)))[:rest]:
        alloc[lab] += 1
    keep: set[int] = set()
    for lab, ix in by_label.items():
        ranked = sorted(ix, key=lambda i: _h(f"{salt}:{items[i].id}"))  # id only: parallel sets keep the same ids
        keep.update(ranked[: alloc[lab]])
    return [e for i, e in enumerate(items) if i in keep]


def parse_pair_langs(spec, langs: Sequence[str], default_set: Sequence[str]) -> list[tuple[str, str]]:
    """`spec`: None/"auto" (ordered pairs of `default_set` ∩ langs), "all" (ordered pairs of langs),
    "en-x" (en->L and L->en), "none"/[] or an iterable of "l1-l2" strings."""
    if spec is None or spec == "auto":
        pool = [lg for lg in langs if lg in default_set]
        return [(a, b) for a in pool for b in pool if a != b]
    if spec == "all":
        return [(a, b) for a in langs for b in langs if a != b]
    if spec == "en-x":
        others = [lg for lg in langs if lg != "en"]
        return [("en", lg) for lg in others] + [(lg, "en") for lg in others] if "en" in langs else []
    if isinstance(spec, str):
        spec = [] if spec == "none" else [s.strip() for s in spec.split(",") if s.strip()]
    spec = list(spec)
    out = []
    for s in spec:
        if "-" not in s:
            raise DataError(f"pair language spec {s!r}: expected 'l1-l2' (e.g. 'de-fr')")
        a, b = s.split("-", 1)
        if a not in langs or b not in langs:
            raise DataError(f"pair {s!r}: languages must be among {sorted(langs)}")
        out.append((a, b))
    return out


def generalized_pairs(test: dict[str, list[Example]], pairs: Iterable[tuple[str, str]],
                      span: bool = False) -> dict[str, list[Example]]:
    """The generalized setting: text from language l1, text_pair from language l2, matched by the
    example id across the parallel test sets (the official ids are shared across languages).

    Classification: items whose gold labels disagree between the two languages are skipped (they
    cannot be both right). Span extraction: question in l1, context + answers in l2."""
    out: dict[str, list[Example]] = {}
    for l1, l2 in pairs:
        a = {e.id: e for e in test.get(l1, [])}
        items = []
        for e2 in test.get(l2, []):
            e1 = a.get(e2.id)
            if e1 is None:
                continue
            if not span and e1.label != e2.label:
                continue
            items.append(Example(
                id=e2.id, text=e1.text, text_pair=e2.text_pair, label=e2.label,
                answers=e2.answers if span else None, lang=l2, lang_pair=f"{l1}-{l2}",
            ))
        if items:
            out[f"{l1}-{l2}"] = items
    return out
