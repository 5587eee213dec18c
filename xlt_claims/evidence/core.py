"""compute_evidence: for each claim, rank the sentences of the papers its report cites, judge their
stance, decide a textual verdict (the strongest evidence decides), store the top evidence rows, the
verdict with its reason, and the report-level flags.

Read `compute_evidence` top to bottom: each step is one named function below it, in the order called.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

import numpy as np
from sqlmodel import delete, select

from ..lexicon import base_forms, english_words, lexicon_status, wordnet_status
from ..papers import paper_text
from ..papers.pdftext import REFERENCE_SECTIONS, section_at
from ..store.events import set_status
from ..store.models import Claim, Evidence, Flag, Paper, Reference, Report, utcnow
from .aggregate import (
    CONTESTED,
    CONTRADICTED,
    NOT_FOUND,
    SUPPORTED,
    UNCHECKED,
    Decision,
    Judgement,
    decide,
)
from .text import STOPWORDS, TextIndex, content_stems, split_sentences

TOP_K = 5  # evidence rows stored per claim (plus the deciding / opposing ones when ranked lower)
JUDGE_N = 20  # candidates judged per claim
PAIR_N = 8  # candidates whose pairs with a neighbouring sentence are judged when no sentence decides alone
NLI_N = 8  # candidates an NLI model reads per claim (the most similar ones)
MAX_CLAIM_CHARS = 1000  # longer "claims" are paragraphs, not one statement
_CJK = re.compile(r"[\u3040-\u30FF\u3400-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF]")  # kana, CJK, hangul
MIN_ENGLISH_SHARE = 0.5  # below this share of English words a claim is not judged by English rules
CONTEXT_SENTENCES = 3  # sentences before a candidate that a reference in it ("our method") may point to

__all__ = ["compute_evidence", "EvidenceSummary", "paper_sentences", "SUPPORTED", "CONTRADICTED", "CONTESTED",
           "NOT_FOUND", "UNCHECKED"]


@dataclass
class Sent:
    arxiv_id: str
    version: Optional[int]
    source: str  # "abstract" | "full-text"
    index: int
    start: int
    end: int
    text: str
    section: Optional[str]


@dataclass
class PaperCtx:
    paper: Paper
    source: str
    sentences: list[Sent]
    index: TextIndex
    title_stems: set[str]


@dataclass
class EvidenceSummary:
    model_id: str = ""
    thresholds: dict[str, Any] = field(default_factory=dict)
    claims: int = 0
    verdicts: Counter = field(default_factory=Counter)
    per_claim: dict[str, dict[str, Any]] = field(default_factory=dict)
    repaired: dict[str, str] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    citations: dict[str, dict[str, Any]] = field(default_factory=dict)  # report -> arxiv id -> what matched it
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    cache: dict[str, int] = field(default_factory=dict)
    lexicon: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what could not be checked this run (e.g. no WordNet)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model_id, "thresholds": self.thresholds, "claims": self.claims,
                "verdicts": dict(self.verdicts), "per_claim": self.per_claim, "repaired": self.repaired,
                "flags": self.flags, "citations": self.citations, "skipped": self.skipped, "timings_s": self.timings,
                "embedding_cache": self.cache, "lexicon": self.lexicon, "notes": self.notes}


@dataclass
class Sources:
    """Everything the claims are checked against, loaded once."""

    reports: dict[int, Report]
    refs_by_report: dict[int, list[Reference]]
    papers: dict[str, PaperCtx]  # only papers with readable sentences... and those without (empty list)
    report_claims: list[Claim]  # every current claim of the touched reports (flags look at all of them)


@dataclass
class Vectors:
    sentences: list[Sent]
    position: dict[int, int]  # id(Sent) -> row
    S: np.ndarray  # sentence vectors
    W: np.ndarray  # sentence read with the one before it (ranking only)
    claim: dict[str, np.ndarray]
    question: dict[int, np.ndarray]
    title: dict[str, np.ndarray]


def compute_evidence(
    store,
    claim_ids: Optional[Iterable[str]] = None,
    *,
    model: Optional[str] = None,
    nli_model: Optional[str] = None,
    top_k: int = TOP_K,
    device: Optional[str] = None,
    flags: bool = True,
    embedder=None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> EvidenceSummary:
    """Evidence for the given claims (ids or report keys; default every current claim). One transaction
    for all evidence rows, verdicts, events and flags; the embedding cache is written as it fills."""
    from .calibrate import calibrate
    from .embed import Embedder

    t0 = time.perf_counter()
    summary = EvidenceSummary()
    claims = select_claims(store, claim_ids)
    emb = embedder or Embedder(store, model, device=device)
    summary.model_id = emb.model_id
    summary.lexicon = lexicon_status()
    if not wordnet_status().get("available"):
        summary.notes.append(f"WordNet unavailable ({wordnet_status().get('reason')}): antonyms and synonyms "
                             "were not checked, so reversals by an opposite word are not found")
    if not claims:
        return summary
    sources = load_sources(store, claims)
    repairs = repair_truncated_claims(claims, sources, summary)
    thresholds = calibrate(emb)
    summary.thresholds = thresholds.as_dict()
    claim_text = claim_texts(claims, sources)
    vectors = embed_everything(emb, sources, claim_text, summary)
    nli = load_nli(nli_model, device)

    now = utcnow()
    t_judge = time.perf_counter()
    cache: dict[int, Any] = {}
    results: dict[str, dict[str, Any]] = {}
    for n, c in enumerate(claims):
        if progress:
            progress(n, len(claims))
        res = judge_claim(c, claim_text[c.id], sources, vectors, thresholds, nli, cache, top_k=top_k)
        res["detail"].update(model=emb.model_id, nli_model=nli_model, thresholds=summary.thresholds,
                             computed_at=now.isoformat(), lexicon=_lexicon_note(summary))
        res["detail"].update(truncation_detail(c, repairs))
        results[c.id] = res
        summary.verdicts[res["verdict"]] += 1
        summary.per_claim[c.id] = {k: res["detail"][k] for k in ("verdict", "reason", "checked_against", "evidence")}
        if res["detail"].get("opposing_evidence"):
            summary.per_claim[c.id]["opposing_evidence"] = res["detail"]["opposing_evidence"]
    summary.timings["judge"] = round(time.perf_counter() - t_judge, 3)

    flag_rows = report_level_flags(sources, claim_text, vectors, thresholds, cache, summary) if flags else []
    write_results(store, results, flag_rows, sources, emb.model_id, now, flags, summary)
    summary.claims = len(results)
    summary.timings["total"] = round(time.perf_counter() - t0, 3)
    summary.timings["model_load"] = round(emb.load_s, 3)
    summary.cache = {"hits": emb.hits, "misses": emb.misses}
    return summary


# --- 1. which claims -------------------------------------------------------------------------------

def select_claims(store, ids: Optional[Iterable[str]]) -> list[Claim]:
    """Current claims by id or report key (all current claims when `ids` is empty)."""
    with store.session() as s:
        claims = list(s.exec(select(Claim).where(Claim.retired == False)).all())  # noqa: E712
    if not ids:
        return claims
    ids = list(ids)
    chosen = [c for c in claims if c.id in ids or c.report_key in ids]
    unknown = [i for i in ids if not any(c.id == i or c.report_key == i for c in claims)]
    if unknown:
        raise LookupError(f"no claim or report with id {', '.join(unknown)}")
    return chosen


# --- 2. what they are checked against ----------------------------------------------------------------

def paper_sentences(paper: Paper) -> tuple[str, list[Sent]]:
    """Sentences of the text evidence is taken from (full text when present, else the abstract).
    Offsets index `paper_text(paper, source)`; headings and reference lists are left out."""
    source = "full-text" if paper.full_text else "abstract"
    text = paper_text(paper, source)
    sections = paper.sections or []
    out: list[Sent] = []
    spans = split_sentences(text)
    heading_spans = {(s["start"], s.get("heading_end")) for s in sections}
    for s, e in spans:
        sec = section_at(sections, s) if sections else None
        if sec and sec.lower().rstrip(":") in REFERENCE_SECTIONS:
            continue
        if any(hs == s and (he is None or e <= he) for hs, he in heading_spans):
            continue
        if len(re.findall(r"[^\W\d_]{2,}", text[s:e])) < 3:
            continue  # fewer than three words ("Too short.", a line of punctuation): not a statement
        out.append(Sent(paper.arxiv_id, paper.version, source, len(out), s, e, text[s:e], sec))
    return source, out


def load_sources(store, claims: list[Claim]) -> Sources:
    """The claims' reports, their references and the cited papers split into sentences."""
    report_ids = sorted({c.report_id for c in claims})
    with store.session() as s:
        reports = {r.id: r for r in s.exec(select(Report).where(Report.id.in_(report_ids))).all()}
        refs = s.exec(select(Reference).where(Reference.report_id.in_(report_ids)).order_by(Reference.position)).all()
        pids = sorted({r.arxiv_id for r in refs})
        papers = {p.arxiv_id: p for p in s.exec(select(Paper).where(Paper.arxiv_id.in_(pids))).all()}
        report_claims = list(s.exec(select(Claim).where(Claim.report_id.in_(report_ids),
                                                      Claim.retired == False)).all())  # noqa: E712
    refs_by_report: dict[int, list[Reference]] = {}
    for r in refs:
        refs_by_report.setdefault(r.report_id, []).append(r)
    ctx: dict[str, PaperCtx] = {}
    for pid, p in papers.items():
        source, sents = paper_sentences(p)
        ctx[pid] = PaperCtx(p, source, sents, TextIndex([p.title or "", p.abstract or "", p.full_text or ""]),
                            set(content_stems(p.title or "")))
    return Sources(reports, refs_by_report, ctx, report_claims)


# --- 3. truncated claims ---------------------------------------------------------------------------

def repair_truncated_claims(claims: list[Claim], sources: Sources, summary: EvidenceSummary) -> dict[str, dict]:
    """Restore a truncated claim from a cited sentence that continues it, before matching."""
    from .repair import find_continuation

    repairs: dict[str, dict[str, Any]] = {}
    for c in claims:
        if not c.looks_truncated or c.repaired_text:
            continue
        cands = [(pid, st.index, st.text, st.start, st.end, st.source)
                 for r in sources.refs_by_report.get(c.report_id, []) if (pid := r.arxiv_id) in sources.papers
                 for st in sources.papers[pid].sentences]
        rep = find_continuation(c.text, cands)
        if rep:
            c.repaired_text = rep.text
            summary.repaired[c.id] = rep.text
            repairs[c.id] = {"arxiv_id": rep.arxiv_id, "sentence_index": rep.sentence_index,
                             "char_start": rep.char_start, "char_end": rep.char_end, "text_source": rep.source}
    return repairs


def claim_texts(claims: list[Claim], sources: Sources) -> dict[str, str]:
    """The text each claim is judged on: its repair when there is one."""
    out = {c.id: (c.repaired_text or c.text) for c in sources.report_claims}
    out.update({c.id: (c.repaired_text or c.text) for c in claims})
    return out


# --- 4. vectors --------------------------------------------------------------------------------------

def embed_everything(emb, sources: Sources, claim_text: dict[str, str], summary: EvidenceSummary) -> Vectors:
    """One encode call (cache first) for sentences, claims, research questions and titles."""
    sent_list = [st for pc in sources.papers.values() for st in pc.sentences]
    position = {id(st): i for i, st in enumerate(sent_list)}
    questions = {rid: r.research_question for rid, r in sources.reports.items() if r.research_question}
    titles = [pc.paper.title or "" for pc in sources.papers.values()]
    claim_ids = list(claim_text)
    texts = [st.text for st in sent_list] + [claim_text[c][:MAX_CLAIM_CHARS] for c in claim_ids] + \
        list(questions.values()) + titles
    t = time.perf_counter()
    V = emb.encode(texts) if texts else np.zeros((0, 1), np.float32)
    summary.timings["embed"] = round(time.perf_counter() - t, 3)
    n_s = len(sent_list)
    S = V[:n_s]
    claim_vec = {cid: V[n_s + i] for i, cid in enumerate(claim_ids)}
    off = n_s + len(claim_ids)
    question_vec = {rid: V[off + i] for i, rid in enumerate(questions)}
    off += len(questions)
    title_vec = {pid: V[off + i] for i, pid in enumerate(sources.papers)}
    return Vectors(sent_list, position, S, widened_vectors(S, sent_list, position, sources), claim_vec,
                   question_vec, title_vec)


def widened_vectors(S: np.ndarray, sent_list: list[Sent], position: dict[int, int], sources: Sources) -> np.ndarray:
    """Each sentence read together with the one before it ("the proposed method" in one sentence, its
    name in the previous one): the length-weighted mean of the two vectors (what mean pooling over the
    joined text approximates), so it costs no extra encoding. Used to RANK candidates only: stance and
    verdict strength use the sentence's own vector."""
    W = S.copy()
    for st in sent_list:
        if st.index > 0:
            prev = sources.papers[st.arxiv_id].sentences[st.index - 1]
            a, b = len(prev.text.split()), len(st.text.split())
            v = a * S[position[id(prev)]] + b * S[position[id(st)]]
            W[position[id(st)]] = v / (np.linalg.norm(v) or 1.0)
    return W


def load_nli(nli_model: Optional[str], device: Optional[str]):
    if not nli_model:
        return None
    from .nli import NLIScorer

    return NLIScorer.get(nli_model, device)


# --- 5. one claim ------------------------------------------------------------------------------------

def judge_claim(c: Claim, text: str, sources: Sources, vectors: Vectors, thresholds, nli, cache: dict[int, Any],
                *, top_k: int) -> dict[str, Any]:
    """Rank the cited sentences for one claim, judge the best candidates, decide its verdict."""
    from .stance import analyse

    cited = [r.arxiv_id for r in sources.refs_by_report.get(c.report_id, [])]
    readable = [pid for pid in cited if pid in sources.papers and sources.papers[pid].sentences]
    unreadable = [pid for pid in cited if pid not in readable]
    judged: list[Judgement] = []
    refusal = unjudgeable_claim(text)
    if refusal:
        decision = Decision(refusal[0], refusal[1], None)
    elif not readable:
        decision = decide([], unreadable, thresholds, cited=len(cited))
        decision.reason = unreadable_reason(cited, unreadable, sources) or decision.reason
    else:
        claim = analyse(text)
        judged = judge_candidates(claim, c.id, readable, sources, vectors, thresholds, nli, cache)
        decision = decide(judged, unreadable, thresholds, cited=len(cited))
    keep = sorted(judged, key=lambda j: -j.rank_sim)[:top_k]
    for extra in (decision.decider, decision.opposing):
        if extra is not None and all(extra is not k for k in keep):
            keep.append(extra)
    checked = sorted({sources.papers[pid].source for pid in readable})
    checked_against = ("full text" if checked == ["full-text"] else "abstract only" if checked == ["abstract"]
                       else "nothing (no readable cited paper)" if not checked
                       else "full text of some papers, abstract of others")
    detail = {
        "verdict": decision.verdict,
        "reason": decision.reason,
        "checked_against": checked_against,
        "papers": {pid: sources.papers[pid].source for pid in readable},
        "papers_unavailable": unreadable,
        "claim_text_used": text,
        "evidence": evidence_dict(decision.decider) if decision.decider else None,
        "opposing_evidence": evidence_dict(decision.opposing) if decision.opposing else None,
    }
    return {"claim": c, "verdict": decision.verdict, "detail": detail, "keep": keep}


def unjudgeable_claim(text: str) -> Optional[tuple[str, str]]:
    """(verdict, reason) for a claim the rules cannot judge: too long, nothing to check, not English."""
    if len(text) > MAX_CLAIM_CHARS:
        return NOT_FOUND, (f"too long to be one claim ({len(text):,} characters; at most {MAX_CLAIM_CHARS:,}): "
                           "split it into single statements")
    latin = len(re.findall(r"[A-Za-z\u00C0-\u024F]+", text))
    other = sum(len(w) if _CJK.search(w) else 1 for w in re.findall(r"[^\W\d_A-Za-z\u00C0-\u024F]+", text))
    if other and other >= latin:
        # Chinese, Cyrillic, Arabic ... (a CJK character counts as a word): decided before "no content
        # words", which would count the claim as a problem, and before the English word share below
        return UNCHECKED, (f"not checked: the claim is not written in English ({other} of {latin + other} words "
                           "are in another script) and the stance rules read English only")
    if not content_stems(text):
        return NOT_FOUND, "nothing to check: the claim has no content words (only numbers, stop words or symbols)"
    vocab = english_words()
    # words of any script, accents kept; acronyms (PAWS, XNLI) say nothing about the language
    # and neither do names: a capital after the first letter (LaBSE, mBERT) or a capitalised word inside
    # the sentence (Tatoeba); inflections count by their WordNet base form ("reaches")
    toks = [w.lower() for m in re.finditer(r"[^\W\d_]+", text) for w in [m.group(0)]
            if len(w) > 1 and not w.isupper() and not re.search(r"[A-Z]", w[1:])
            and not (w[0].isupper() and m.start() > 0 and text[:m.start()].rstrip()[-1:] not in ".!?")]
    if vocab and len(toks) >= 3:
        english = sum(1 for w in toks if w in STOPWORDS or w in vocab or w.rstrip("s") in vocab
                      or base_forms(w) & vocab)
        if english / len(toks) < MIN_ENGLISH_SHARE:
            return UNCHECKED, (f"not checked: the claim does not read as English ({english} of {len(toks)} words "
                               "are English words) and the stance rules read English only")
    return None


def unreadable_reason(cited: list[str], unreadable: list[str], sources: Sources) -> Optional[str]:
    if not cited:
        return None
    why = []
    for pid in unreadable:
        pc = sources.papers.get(pid)
        if pc is None:
            why.append(f"{pid} (not in the store; run `claims papers fetch`)")
        elif (pc.paper.abstract or "").strip() or (pc.paper.full_text or "").strip():
            why.append(f"{pid} (no readable text: its {pc.source} has no sentence of three or more words)")
        else:
            why.append(f"{pid} (no readable text: {'title only' if pc.paper.title else 'empty'})")
    return "unchecked: no cited paper could be read: " + ", ".join(why)


def judge_candidates(claim, claim_id: str, readable: list[str], sources: Sources, vectors: Vectors, thresholds,
                     nli, cache: dict[int, Any]) -> list[Judgement]:
    """The JUDGE_N sentences most similar to the claim (alone or with the sentence before), each judged."""
    from .stance import analyse, judge

    idx = [vectors.position[id(st)] for pid in readable for st in sources.papers[pid].sentences]
    cvec = vectors.claim[claim_id]
    sims = vectors.S[idx] @ cvec
    rank = np.maximum(sims, vectors.W[idx] @ cvec)
    order = np.argsort(-rank)[:JUDGE_N]
    probs: dict[int, dict[str, float]] = {}
    if nli is not None:
        top = [j for j in np.argsort(-sims)[:NLI_N]]
        for j, p in zip(top, nli.predict([(vectors.sentences[idx[j]].text, claim.text) for j in top])):
            probs[int(j)] = p
    out = []
    for j in order:
        st = vectors.sentences[idx[j]]
        sa = cache.get(id(st))
        if sa is None:
            sa = cache[id(st)] = analyse(st.text)
        context = sentence_context(st, sources, cache)
        stance = judge(claim, sa, float(sims[j]), thresholds, context,
                       nli=probs.get(int(j)) if nli is not None else None)
        if nli is not None and int(j) not in probs:
            stance.stance = "neutral" if stance.stance == "support" else stance.stance
            stance.reasons["rule"] = "not among the sentences the NLI model read; " + stance.reasons["rule"]
        stance.reasons["similarity_with_previous"] = round(float(rank[j]), 4)
        out.append(Judgement(st, float(sims[j]), float(rank[j]), stance))
    if nli is None and not any(j.label in ("support", "contradict") for j in out):
        out.extend(sentence_pairs(claim, cvec, out, sources, vectors, thresholds, cache))
    return out


def sentence_pairs(claim, cvec: np.ndarray, judged: list[Judgement], sources: Sources, vectors: Vectors, thresholds,
                   cache: dict[Any, Any]) -> list[Judgement]:
    """A claim that joins two statements the paper makes in consecutive sentences ("X is trained on
    100 languages with 2 TB of data" from "We train X on 100 languages." and "It uses 2 TB of data."):
    the two sentences read as one, judged by the same rules, when neither alone decides the claim and
    each of them states a part of it that the other does not (stance.spread_over). Strength is the
    similarity of the pair read together (the length-weighted mean of the two vectors)."""
    from .stance import analyse, judge, neighbour_names, spread_over

    out: list[Judgement] = []
    seen: set[tuple[str, int]] = set()
    for j in sorted(judged, key=lambda j: -j.rank_sim)[:PAIR_N]:
        st = j.sentence
        pc = sources.papers[st.arxiv_id]
        for first in (st.index - 1, st.index):
            if first < 0 or first + 1 >= len(pc.sentences) or (st.arxiv_id, first) in seen:
                continue
            seen.add((st.arxiv_id, first))
            a, b = pc.sentences[first], pc.sentences[first + 1]
            sa, sb = (cache.get(id(a)) or analyse(a.text)), (cache.get(id(b)) or analyse(b.text))
            sims = [float(vectors.S[vectors.position[id(x)]] @ cvec) for x in (a, b)]
            how = None if min(sims) < thresholds.related else spread_over(claim, sa, sb)
            if not how:
                continue  # each sentence on the claim's topic, each stating a part of it
            pair = Sent(a.arxiv_id, a.version, a.source, a.index, a.start, b.end, f"{a.text} {b.text}", a.section)
            sim = float(vectors.W[vectors.position[id(b)]] @ cvec)
            if how.startswith("one states it"):
                # the name of the subject comes from the neighbour, the content from the stating sentence
                states, other = (sa, sb) if not neighbour_names(claim, sb, sa) else (sb, sa)
                if neighbour_names(claim, sa, sb) and neighbour_names(claim, sb, sa):
                    continue
                stance = judge(claim, states, sim, thresholds, sentence_context(a if states is sa else b, sources, cache),
                               named_nearby=neighbour_names(claim, states, other))
            else:
                stance = judge(claim, analyse(pair.text), sim, thresholds, sentence_context(a, sources, cache))
            stance.reasons["rule"] = (f"read with the next sentence, sentences {a.index + 1} and {b.index + 1} "
                                      f"({how}): {stance.reasons['rule']}")
            stance.reasons["sentences"] = [a.index, b.index]
            out.append(Judgement(pair, sim, sim, stance))
    return out


def sentence_context(st: Sent, sources: Sources, cache: dict[Any, Any]):
    """The sentences just before `st` and the paper's title, analysed: what a reference in `st` ("it",
    "the proposed method", "we") may point to. Only entity names are taken from it (stance.judge)."""
    from .stance import analyse

    key = ("context", st.arxiv_id, st.index)
    if key not in cache:
        pc = sources.papers[st.arxiv_id]
        prev = " ".join(p.text for p in pc.sentences[max(0, st.index - CONTEXT_SENTENCES):st.index])
        cache[key] = analyse(f"{prev}\n\n{pc.paper.title or ''}")
    return cache[key]


def evidence_dict(j: Judgement) -> dict[str, Any]:
    st = j.sentence
    return {"arxiv_id": st.arxiv_id, "version": st.version, "text_source": st.source, "section": st.section,
            "sentence_index": st.index, "char_start": st.start, "char_end": st.end, "quote": st.text,
            "score": round(j.rank_sim, 4), "similarity": round(j.sim, 4), "stance": j.label,
            "rule": j.stance.reasons.get("rule")}


def truncation_detail(c: Claim, repairs: dict[str, dict]) -> dict[str, Any]:
    if not c.looks_truncated:
        return {}
    prior = (c.text_verdict_detail or {}).get("truncation", {})
    if c.repaired_text:
        return {"truncation": {"status": "repaired", "repaired_text": c.repaired_text,
                               "source": repairs.get(c.id) or prior.get("source")}}
    return {"truncation": {"status": "left truncated", "reason": "no cited source sentence continues it"}}


def _lexicon_note(summary: EvidenceSummary) -> dict[str, Any]:
    wn = summary.lexicon.get("wordnet", {})
    return {"wordnet": wn.get("version") if wn.get("available") else f"unavailable: {wn.get('reason')}"}


# --- 6. report-level flags -----------------------------------------------------------------------------

def report_level_flags(sources: Sources, claim_text: dict[str, str], vectors: Vectors, thresholds,
                       cache: dict[Any, Any], summary: EvidenceSummary) -> list[Flag]:
    from .flags import report_flags

    rows: list[Flag] = []
    for rid, rep in sources.reports.items():
        if not rep.is_latest:
            continue
        rclaims = [c for c in sources.report_claims if c.report_id == rid]
        matches: dict[str, Any] = {}
        rows.extend(report_flags(rep, rclaims, sources.refs_by_report.get(rid, []), sources.papers, claim_text,
                                 vectors.claim, vectors.question.get(rid), vectors.title, vectors.S,
                                 vectors.position, thresholds, matches, analysed=cache))
        summary.citations[rep.key] = matches
    return rows


# --- 7. one transaction for everything -----------------------------------------------------------------

FLAG_KINDS_WRITTEN = ("unfound-entity", "off-topic-citation", "unreachable-reference")


def write_results(store, results: dict[str, dict[str, Any]], flag_rows: list[Flag], sources: Sources, model_id: str,
                  now, flags: bool, summary: EvidenceSummary) -> None:
    """Evidence rows, verdicts, status events and flags in one transaction (all or nothing)."""
    with store.session() as s, s.no_autoflush:
        ids = list(results)
        current: dict[str, Claim] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            s.exec(delete(Evidence).where(Evidence.claim_id.in_(chunk)))
            current.update({c.id: c for c in s.exec(select(Claim).where(Claim.id.in_(chunk))).all()})
        for cid, res in results.items():
            c = current[cid]
            decisive = res["detail"]["evidence"]
            opposing = res["detail"].get("opposing_evidence")
            for rank, j in enumerate(res["keep"]):
                st = j.sentence
                role = ("decisive" if _same(decisive, st) else "opposing" if _same(opposing, st) else None)
                s.add(Evidence(claim_id=cid, arxiv_id=st.arxiv_id, paper_version=st.version, text_source=st.source,
                               section=st.section, sentence_index=st.index, char_start=st.start, char_end=st.end,
                               quote=st.text, score=round(j.rank_sim, 6), stance=j.label,
                               stance_detail={**j.stance.reasons, "rank": rank + 1, "decisive": role == "decisive",
                                              "role": role},
                               model_id=model_id, computed_at=now))
            if res["claim"].repaired_text and not c.repaired_text:
                c.repaired_text = res["claim"].repaired_text
            c.text_verdict = res["verdict"]
            c.text_verdict_detail = res["detail"]
            c.updated_at = now
            s.add(c)
            set_status(s, c, cause="evidence", status=res["verdict"],
                       detail={"reason": res["detail"]["reason"], "checked_against": res["detail"]["checked_against"],
                               "evidence": res["detail"]["evidence"]})
        if flags:
            keys = {r.key for r in sources.reports.values() if r.is_latest}
            for k in keys:
                s.exec(delete(Flag).where(Flag.report_key == k, Flag.kind.in_(FLAG_KINDS_WRITTEN)))
            s.flush()
            for f in flag_rows:
                s.add(f)
                summary.flags.append({"report": f.report_key, "claim": f.claim_id, "kind": f.kind,
                                      "subject": f.subject, "message": f.message})


def _same(ev: Optional[dict[str, Any]], st: Sent) -> bool:
    return ev is not None and ev["sentence_index"] == st.index and ev["arxiv_id"] == st.arxiv_id \
        and ev.get("char_end", st.end) == st.end  # a pair of sentences is not its first sentence
