"""Report-level flags: named entities no cited paper mentions, citations that match nothing the report
says, and references whose paper is not in the store.

Unfound entity: an acronym / mixed-case name (TYPOS, DLFA, PAWS-X), a capitalised multi-word term, a
language name or a known method phrase ("optimal transport") from the research question or a claim that
occurs in none of the cited papers' stored text (title, abstract, full text; case-, hyphen-, plural- and
abbreviation-insensitive). Only a COINED-looking name (an acronym or a mixed-case / letter-digit token
such as DLFA, AIF, TYPOS, RankC, that is not a widely used benchmark or model name) is called "possibly
invented". Language names (ISO 639-3 via pycountry), established method phrases, proper names written
as ordinary capitalised words (Viterbi, Sinkhorn) and English words (WordNet) are "not found in the
cited papers": real things the sources do not back, not inventions (`name_class` in the flag's detail).

Off-topic citation: a cited paper none of whose sentences (or title) *matches* the research question or
any claim. A match needs topical similarity (the model's calibrated `related` threshold) together with
lexical evidence that the sentence is about the same thing: a named entity of the query (dataset, model,
method) in the sentence, or two thirds of the query's content words in the sentence and the paper's
title. Similarity alone is not enough: field-wide vocabulary ("cross-lingual", "embeddings", "low-resource
languages") makes any paper of the field look similar to any claim of it.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..store.models import Flag
import re

from ..lexicon import is_english_word, is_language_name
from .stance import COVERAGE_MIN, analyse
from .text import KNOWN_TERMS, TextIndex, extract_entities, squash


def _checked(ctxs) -> str:
    srcs = sorted({pc.source for pc in ctxs})
    return "full text" if srcs == ["full-text"] else "abstracts only" if srcs == ["abstract"] else \
        "full text of some papers, abstracts of others"


def report_flags(report, claims, refs, ctx, claim_text, cvec, rq_vec, title_vec, S, sent_pos, thresholds,
                 matches: Optional[dict[str, Any]] = None, analysed: Optional[dict[int, Any]] = None) -> list[Flag]:
    """Flags for one report. `matches`, when given, receives {arxiv_id: what matched it or None}."""
    flags: list[Flag] = []
    matches = {} if matches is None else matches
    analysed = {} if analysed is None else analysed
    cited = [r.arxiv_id for r in refs]
    avail = [pid for pid in cited if pid in ctx]
    for r in refs:
        if r.arxiv_id not in ctx:
            flags.append(Flag(report_key=report.key, kind="unreachable-reference", subject=r.arxiv_id,
                              message=f"cited paper {r.arxiv_id} is not in the store; its claims were checked "
                                      f"without it (run `claims papers fetch`)",
                              detail={"line": r.line, "cited_as": r.cited_as}))
    if not avail:
        return flags
    checked = _checked([ctx[p] for p in avail])

    # --- entities no cited paper mentions
    index = TextIndex([t for pid in avail for t in (ctx[pid].paper.title or "", ctx[pid].paper.abstract or "",
                                                     ctx[pid].paper.full_text or "")])
    mentions: dict[str, dict[str, Any]] = {}
    sources = [("research question", None, report.research_question or "")] + \
              [(f"claim {c.id}", c.id, claim_text.get(c.id, c.text)) for c in claims]
    for where, cid, text in sources:
        for e in extract_entities(text):
            m = mentions.setdefault(e.key, {"name": e.text, "kind": e.kind, "where": [], "claims": []})
            m["where"].append(where)
            if cid:
                m["claims"].append(cid)
    for key, m in mentions.items():
        if index.contains(key):
            continue
        name_class = classify_name(m["name"], m["kind"])
        invented = name_class == "coined"
        what = ("possibly invented: it occurs in none of the" if invented
                else f"{NAME_CLASS_LABEL[name_class]}, not found in any of the")
        flags.append(Flag(
            report_key=report.key, kind="unfound-entity", subject=m["name"],
            claim_id=m["claims"][0] if len(m["claims"]) == 1 and "research question" not in m["where"] else None,
            message=f'"{m["name"]}" ({", ".join(dict.fromkeys(m["where"]))}): {what} '
                    f"{len(avail)} cited papers ({checked})",
            detail={"entity_kind": m["kind"], "known_elsewhere": not invented, "name_class": name_class,
                    "where": list(dict.fromkeys(m["where"])), "claims": m["claims"], "checked_against": checked,
                    "papers": avail}))

    # --- citations that match nothing the report says
    queries: list[tuple[str, str, np.ndarray]] = []
    if rq_vec is not None and report.research_question:
        queries.append(("research question", report.research_question, rq_vec))
    for c in claims:
        if c.id in cvec:
            queries.append((f"claim {c.id}", claim_text[c.id], cvec[c.id]))
    analysed_q = [(w, analyse(t), v) for w, t, v in queries]
    for pid in avail:
        pc = ctx[pid]
        if not pc.sentences:
            continue
        M = S[[sent_pos[id(st)] for st in pc.sentences]]
        title_index = TextIndex([pc.paper.title or ""])
        best: Optional[dict[str, Any]] = None
        matched: Optional[dict[str, Any]] = None
        for where, qa, v in analysed_q:
            sims = M @ v
            tsim = float(title_vec[pid] @ v)
            for j in np.argsort(-sims)[:5]:
                st, sim = pc.sentences[j], float(sims[j])
                sa = analysed.get(id(st))
                if sa is None:
                    sa = analysed[id(st)] = analyse(st.text)
                shared = [e.text for e in qa.entities if sa.index.contains(e.key)]
                cov = stem_coverage(qa.stems, set(sa.stems) | pc.title_stems)
                ok = sim >= thresholds.related and (bool(shared) or cov >= COVERAGE_MIN)
                info = {"query": where, "sentence_index": st.index, "quote": st.text, "similarity": round(sim, 4),
                        "shared_entities": shared, "coverage": round(cov, 3)}
                if best is None or sim > best["similarity"]:
                    best = info
                if ok:
                    matched = info
                    break
            if matched:
                break
            tshared = [e.text for e in qa.entities if title_index.contains(e.key)]
            if tsim >= thresholds.related and tshared:
                matched = {"query": where, "title": pc.paper.title, "similarity": round(tsim, 4),
                           "shared_entities": tshared}
                break
        matches[pid] = matched
        if matched is None:
            flags.append(Flag(
                report_key=report.key, kind="off-topic-citation", subject=pid,
                message=f"{pid} \"{pc.paper.title}\" matches neither the research question nor any claim "
                        f"(best similarity {best['similarity']:.2f} without a shared entity or the query's "
                        f"content words; checked {pc.source})" if best else f"{pid} has no usable text",
                detail={"best": best, "thresholds": thresholds.as_dict(), "checked_against": pc.source}))
    return flags


NAME_CLASS_LABEL = {
    "known": "a widely used benchmark/model name",
    "language": "a language name",
    "method": "an established method",
    "words": "ordinary English words",
    "proper": "a proper name",
    "coined": "possibly invented",
}
_COINED_TOKEN = re.compile(r"[A-Za-z]*[A-Z][A-Za-z]*[A-Z]|[A-Za-z]+\d|\d+[A-Za-z]")


def classify_name(name: str, entity_kind: str) -> str:
    """Why a name no cited paper contains may or may not be an invention. "coined": an acronym or a
    mixed-case / letter-digit token (DLFA, AIF, TYPOS, RankC, XLM-100) that is not a widely used name;
    everything else is a real kind of name: "known" (benchmarks/models list), "language" (ISO 639-3),
    "method" (an established method phrase), "words" (every word is an English word in WordNet, written
    in ordinary case: "Bag of Words") or "proper" (a capitalised name such as Viterbi)."""
    key = squash(name)
    if key in KNOWN_TERMS:
        return "known"
    if entity_kind == "language" or is_language_name(name) or all(is_language_name(w) for w in name.split()):
        return "language"
    if entity_kind == "method":
        return "method"
    if any(_COINED_TOKEN.match(tok) for tok in re.split(r"[\s-]+", name) if tok):
        return "coined"
    if all(is_english_word(w) for w in re.findall(r"[A-Za-z]+", name)):
        return "words"
    return "proper"


def stem_coverage(stems: list[str], pool: set[str]) -> float:
    """Share of the distinct stems found in `pool` (1.0 for no stems)."""
    uniq = set(stems)
    return 1.0 if not uniq else sum(1 for s in uniq if s in pool) / len(uniq)
