"""Stance of one source sentence towards one claim: support / contradict / neutral, with reasons.

Similarity is not stance. A sentence SUPPORTS a claim only if
  1. its similarity reaches the model's calibrated `support` threshold (or an NLI model says entailment),
  2. every number of the claim is stated in the sentence with an agreeing value (within the claim's
     written precision: "2.1" covers 2.05..2.15; a range "1 to 3" must contain the sentence's values),
  3. every named entity of the claim (dataset, method, model, module) occurs in the sentence, or, when
     the claim gives it no number, at least in the same paper (the subject the sentence refers to),
  4. negation and direction agree ("improves" vs "does not improve" / "degrades"),
  5. at least half of the claim's content words occur in the sentence or its local context (previous
     sentence and the paper's title): the sentence states what the claim states, not just its topic.
A sentence CONTRADICTS a claim when it is on the claim's topic (`related` threshold), names the same
entity the claim gives a number for, and states a different value for it (and none agreeing), while the
claim's other entities (the method the number is about) are in the sentence or its paper; or when
it meets 1-3 and 5 but negates the claim's verb ("does not improve"). Opposite direction words
("improves" / "degrades") block support but do not by themselves make a contradiction ("reduces the
error" is an improvement). Numbers are compared like with like: a change ("+1.5", "by 2.1 points") only
with a change, a level ("75.4") only with a level. Anything else is neutral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .text import (
    Entity,
    Quantity,
    TextIndex,
    content_stems,
    extract_entities,
    extract_quantities,
    unit_class,
)

COVERAGE_MIN = 2 / 3  # two thirds of the claim's content words must be attested locally for support
COVERAGE_RESTATED = 0.8  # near-verbatim restatement inside a longer sentence (similarity diluted)
NUMBER_ANCHOR_WINDOW = 6  # tokens between a number and the entity it is attached to

# Polarity: a claim and a sentence disagree only when BOTH the verb negation ("does not improve", "fails
# to", "never") and the presence of any negator ("no", "without", ...) differ: "does not require parallel
# data" = "requires no parallel data", and "with no extra parameters, X improves" still affirms "X improves".
_NEG_ANY = re.compile(r"\b(?:not|no|none|never|neither|nor|without|cannot|can't|doesn't|don't|didn't|isn't|"
                      r"aren't|wasn't|weren't|won't|fails? to|failed to|unable to)\b", re.I)
_NEG = re.compile(r"\b(?:not|never|cannot|can't|doesn't|don't|didn't|isn't|aren't|wasn't|weren't|won't|"
                  r"fails? to|failed to|unable to)\b", re.I)
_UP = re.compile(r"\b(?:improv\w*|increas\w*|outperform\w*|gain\w*|higher|better|boost\w*|enhanc\w*|rais\w*|"
                 r"benefit\w*|surpass\w*|exceed\w*)\b", re.I)
_DOWN = re.compile(r"\b(?:decreas\w*|degrad\w*|hurt\w*|harm\w*|lower|worse|drop\w*|reduc\w*|declin\w*|"
                   r"underperform\w*|deteriorat\w*|diminish\w*)\b", re.I)

_BASELINE_BEFORE = re.compile(r"\b(?:over|than|vs\.?|versus|against|compared\s+(?:to|with)|relative\s+to)\s+"
                              r"(?:the\s+|a\s+|an\s+|strong\s+)?$", re.I)
_ON_BEFORE = re.compile(r"\b(?:on|in|for|at|across)\s+(?:the\s+)?$", re.I)
_SCORE_UNITS = {"", "pct", "f1", "points", "%", "bleu"}


@dataclass
class Analysed:
    """A claim or sentence with its parsed parts (computed once, reused for every comparison)."""

    text: str
    entities: list[Entity]
    quantities: list[Quantity]
    stems: list[str]
    negated: bool
    direction: Optional[str]  # "up" | "down" | None
    any_negation: bool = False
    index: TextIndex = field(repr=False, default=None)  # type: ignore[assignment]


def analyse(text: str) -> Analysed:
    ents = extract_entities(text)
    qs = extract_quantities(text)
    _anchor(text, qs, ents)
    up, down = bool(_UP.search(text)), bool(_DOWN.search(text))
    direction = "up" if up and not down else "down" if down and not up else None
    return Analysed(text, ents, qs, content_stems(text), bool(_NEG.search(text)), direction,
                    any_negation=bool(_NEG_ANY.search(text)), index=TextIndex([text]))


def _anchor(text: str, qs: list[Quantity], ents: list[Entity]) -> None:
    """Attach each non-count number to the entity it is reported for: "XNLI (+1.5 %)", "2.1 points on PAWS-X"."""
    if not ents:
        return
    toks = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[A-Za-z0-9]+(?:[.,-][A-Za-z0-9]+)*", text)]

    def tok_index(pos: int) -> int:
        for i, (_, s, e) in enumerate(toks):
            if e > pos:
                return i
        return len(toks)

    for q in qs:
        if q.is_count:
            continue
        qi = tok_index(q.start)
        best, best_d = None, None
        for e in ents:
            ei_start, ei_end = tok_index(e.start), tok_index(max(e.start, e.end - 1))
            if _BASELINE_BEFORE.search(text[max(0, e.start - 30):e.start]):
                continue  # "over mBERT", "than XLM-R": the baseline, not what the number is measured on
            if ei_end < qi:  # entity before the number
                d = qi - ei_end
                between = text[e.end:q.start]
                if re.fullmatch(r"\s*\(\s*", between):  # "XNLI (+1.5 %)": tightest binding
                    d = 0
                elif re.search(r"[;.,]|\band\b", between):
                    d += 4  # another clause or list item in between
                if _ON_BEFORE.search(text[max(0, e.start - 12):e.start]):
                    d -= 2  # "On PAWS-X, accuracy improves by 2.1"
            else:  # entity after the number: "2.1 points on PAWS-X"
                d = ei_start - qi
                between = text[q.end:e.start]
                if re.search(r"[;(),.]", between):
                    d += 4
                if _ON_BEFORE.search(between):
                    d -= 2
            if d <= NUMBER_ANCHOR_WINDOW and (best_d is None or d < best_d):
                best, best_d = e, d
        if best is not None:
            q.anchor = best.key


def _compatible(a: Quantity, b: Quantity) -> bool:
    if a.delta != b.delta:  # a gain is never compared with a level ("+1.6" vs "75.4 accuracy")
        return False
    ua, ub = unit_class(a.unit), unit_class(b.unit)
    if ua == ub:
        return True
    return ua in _SCORE_UNITS and ub in _SCORE_UNITS


def _agrees(cq: Quantity, sq: Quantity) -> bool:
    if not _compatible(cq, sq):
        return False
    if cq.value2 is not None:  # a claimed range
        lo, hi = cq.value - cq.tolerance(), cq.value2 + cq.tolerance()
        return lo <= abs(sq.value) <= hi
    if cq.signed and sq.signed and (cq.value < 0) != (sq.value < 0):
        return False
    tol = max(cq.tolerance(), sq.tolerance())
    return abs(abs(cq.value) - abs(sq.value)) <= tol


def compare_numbers(claim: Analysed, sent: Analysed) -> dict[str, Any]:
    """{"agree": [...], "conflict": [...], "missing": [...]} over the claim's quantities."""
    out: dict[str, list] = {"agree": [], "conflict": [], "missing": []}
    for cq in claim.quantities:
        if cq.is_count:
            same = [sq for sq in sent.quantities if sq.is_count and sq.value == cq.value]
            if same:
                out["agree"].append({"claim": cq.text, "source": same[0].text})
                continue
            clash = [sq for sq in sent.quantities if sq.is_count and cq.noun and sq.noun == cq.noun]
            if clash:
                out["conflict"].append({"claim": cq.text, "source": clash[0].text, "about": cq.noun})
            else:
                out["missing"].append({"claim": cq.text})
            continue
        cands = [sq for sq in sent.quantities if not sq.is_count and _compatible(cq, sq)]
        if cq.value2 is not None:  # range: every comparable reported value must fall inside it
            if cands and all(_agrees(cq, sq) for sq in cands):
                out["agree"].append({"claim": cq.text, "source": ", ".join(sq.text for sq in cands)})
            elif cands:
                out["conflict"].append({"claim": cq.text, "source": ", ".join(sq.text for sq in cands
                                                                               if not _agrees(cq, sq))})
            else:
                out["missing"].append({"claim": cq.text})
            continue
        if cq.anchor:
            same_anchor = [sq for sq in cands if sq.anchor == cq.anchor]
            if any(_agrees(cq, sq) for sq in same_anchor):
                out["agree"].append({"claim": cq.text, "source": next(sq.text for sq in same_anchor if _agrees(cq, sq)),
                                     "about": cq.anchor})
            elif same_anchor:
                out["conflict"].append({"claim": cq.text, "source": same_anchor[0].text, "about": cq.anchor})
            else:
                out["missing"].append({"claim": cq.text, "about": cq.anchor})
        else:
            if any(_agrees(cq, sq) for sq in cands):
                out["agree"].append({"claim": cq.text, "source": next(sq.text for sq in cands if _agrees(cq, sq))})
            else:
                out["missing"].append({"claim": cq.text})
    return out


def coverage(claim: Analysed, local_stems: set[str]) -> tuple[float, list[str]]:
    stems = list(dict.fromkeys(claim.stems))
    if not stems:
        return 1.0, []
    last = claim.stems[-1] if claim.text.rstrip()[-1:].isalnum() else None  # a word cut off mid-way
    missing = [s for s in stems if s not in local_stems and not (s == last and _prefix_hit(s, local_stems))]
    return 1 - len(missing) / len(stems), missing


def _prefix_hit(stem: str, pool: set[str]) -> bool:
    # the truncated last word of a cut-off claim ("cross-lingu") counts when it prefixes a source word
    return len(stem) >= 3 and any(p.startswith(stem) for p in pool)


@dataclass
class Stance:
    stance: str  # support | contradict | neutral
    reasons: dict[str, Any]


def judge(claim: Analysed, sent: Analysed, sim: float, thresholds, paper_index: TextIndex,
          local_stems: set[str], nli: Optional[dict[str, float]] = None) -> Stance:
    """Apply the rules in the module docstring to one (claim, sentence) pair."""
    nums = compare_numbers(claim, sent)
    anchored = {q.anchor for q in claim.quantities if q.anchor}
    ent_in_sentence, ent_in_paper, ent_missing = [], [], []
    for e in claim.entities:
        if sent.index.contains(e.key):
            ent_in_sentence.append(e.text)
        elif e.key not in anchored and paper_index.contains(e.key):
            ent_in_paper.append(e.text)
        else:
            ent_missing.append(e.text)
    cov, cov_missing = coverage(claim, local_stems)
    polarity_conflict = claim.negated != sent.negated and claim.any_negation != sent.any_negation
    direction_conflict = claim.direction is not None and sent.direction is not None and claim.direction != sent.direction
    reasons: dict[str, Any] = {
        "similarity": round(float(sim), 4),
        "numbers": nums,
        "entities": {"in_sentence": ent_in_sentence, "in_paper": ent_in_paper, "missing": ent_missing},
        "coverage": round(cov, 3),
        "uncovered_words": cov_missing,
        "polarity_conflict": polarity_conflict,
        "direction_conflict": direction_conflict,
    }
    if nli is not None:
        reasons["nli"] = {k: round(v, 4) for k, v in nli.items()}
    related = sim >= thresholds.related
    numbers_ok = not nums["conflict"] and not nums["missing"]
    entities_ok = not ent_missing
    if nli is not None:
        label = max(nli, key=nli.get)
        if label == "entailment" and numbers_ok and entities_ok:
            return Stance("support", {**reasons, "rule": "nli entailment + numbers/entities agree"})
        if nums["conflict"] and related:
            return Stance("contradict", {**reasons, "rule": "a different value for the same quantity"})
        if label == "contradiction" and related and entities_ok:
            return Stance("contradict", {**reasons, "rule": "nli contradiction"})
        return Stance("neutral", {**reasons, "rule": "nli " + label})
    strong = sim >= thresholds.support
    stated = (strong and cov >= COVERAGE_MIN) or (related and cov >= COVERAGE_RESTATED)
    value_conflict = [m for m in nums["conflict"] if "about" in m and not _is_count_conflict(m, claim)]
    count_conflict = [m for m in nums["conflict"] if m not in value_conflict]
    if value_conflict and related and entities_ok and not nums["agree"]:
        return Stance("contradict", {**reasons, "rule": "a different value for the same quantity: "
                                     + ", ".join(f"{m['claim']} vs {m['source']} ({m['about']})" for m in value_conflict)})
    if count_conflict and not nums["agree"] and entities_ok and stated:
        return Stance("contradict", {**reasons, "rule": "the same statement with a different number: "
                                     + ", ".join(f"{m['claim']} vs {m['source']}" for m in count_conflict)})
    if stated and numbers_ok and entities_ok:
        if polarity_conflict:
            return Stance("contradict", {**reasons, "rule": "same statement with reversed polarity"})
        if not direction_conflict:
            return Stance("support", {**reasons, "rule": "similar, numbers/entities agree, content covered"})
    why = []
    if not stated:
        why.append(f"similarity {sim:.2f} (support threshold {thresholds.support:.2f}) with {cov:.0%} of the "
                   f"claim's content words stated does not reach a stating sentence")
    if nums["missing"]:
        why.append("numbers not stated: " + ", ".join(m["claim"] for m in nums["missing"]))
    if nums["conflict"]:
        why.append("numbers differ: " + ", ".join(f"{m['claim']} vs {m['source']}" for m in nums["conflict"]))
    if ent_missing:
        why.append("not mentioned: " + ", ".join(ent_missing))
    if direction_conflict:
        why.append(f"direction differs (claim {claim.direction}, source {sent.direction})")
    return Stance("neutral", {**reasons, "rule": "; ".join(why) or "no rule fired"})


def _is_count_conflict(m: dict, claim: Analysed) -> bool:
    return any(q.is_count and q.text == m["claim"] for q in claim.quantities)
