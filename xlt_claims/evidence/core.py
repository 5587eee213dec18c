"""compute_evidence: for each claim, rank the sentences of the papers its report cites, judge their
stance, store the top evidence rows, a textual verdict with its reason, and the report-level flags."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

import numpy as np
from sqlmodel import delete, select

from ..papers import paper_text
from ..papers.pdftext import REFERENCE_SECTIONS, section_at
from ..store.events import set_status
from ..store.models import Claim, Evidence, Flag, Paper, Reference, Report, utcnow
from ..store.status import Status
from .text import TextIndex, content_stems, split_sentences

TOP_K = 5  # evidence rows stored per claim (plus the deciding one when ranked lower)
JUDGE_N = 20  # candidates judged per claim
SUPPORTED, CONTRADICTED, NOT_FOUND = Status.SUPPORTED.value, Status.CONTRADICTED.value, Status.NOT_IN_SOURCES.value


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

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model_id, "thresholds": self.thresholds, "claims": self.claims,
                "verdicts": dict(self.verdicts), "per_claim": self.per_claim, "repaired": self.repaired,
                "flags": self.flags, "citations": self.citations, "skipped": self.skipped, "timings_s": self.timings, "embedding_cache": self.cache}


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
        if len(text[s:e].split()) < 3:
            continue
        out.append(Sent(paper.arxiv_id, paper.version, source, len(out), s, e, text[s:e], sec))
    return source, out


def _targets(store, ids: Optional[Iterable[str]]) -> list[Claim]:
    with store.session() as s:
        q = select(Claim).where(Claim.retired == False)  # noqa: E712
        claims = list(s.exec(q).all())
    if not ids:
        return claims
    ids = list(ids)
    chosen = [c for c in claims if c.id in ids or c.report_key in ids]
    unknown = [i for i in ids if not any(c.id == i or c.report_key == i for c in claims)]
    if unknown:
        raise LookupError(f"no claim or report with id {', '.join(unknown)}")
    return chosen


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
    from .flags import report_flags
    from .repair import find_continuation
    from .stance import analyse, judge

    t0 = time.perf_counter()
    summary = EvidenceSummary()
    claims = _targets(store, claim_ids)
    emb = embedder or Embedder(store, model, device=device)
    summary.model_id = emb.model_id
    if not claims:
        return summary

    # reports, references, papers
    report_ids = sorted({c.report_id for c in claims})
    with store.session() as s:
        reports = {r.id: r for r in s.exec(select(Report).where(Report.id.in_(report_ids))).all()}
        refs = s.exec(select(Reference).where(Reference.report_id.in_(report_ids)).order_by(Reference.position)).all()
        pids = sorted({r.arxiv_id for r in refs})
        papers = {p.arxiv_id: p for p in s.exec(select(Paper).where(Paper.arxiv_id.in_(pids))).all()}
        all_report_claims = list(s.exec(select(Claim).where(Claim.report_id.in_(report_ids),
                                                          Claim.retired == False)).all())  # noqa: E712
    refs_by_report: dict[int, list[Reference]] = {}
    for r in refs:
        refs_by_report.setdefault(r.report_id, []).append(r)
    ctx: dict[str, PaperCtx] = {}
    for pid, p in papers.items():
        source, sents = paper_sentences(p)
        ctx[pid] = PaperCtx(p, source, sents, TextIndex([p.title or "", p.abstract or "", p.full_text or ""]),
                            set(content_stems(p.title or "")))

    # truncated claims: restore from a continuing source sentence before matching
    repairs: dict[str, dict[str, Any]] = {}
    for c in claims:
        if c.looks_truncated and not c.repaired_text:
            cands = [(pid, st.index, st.text, st.start, st.end, st.source)
                     for r in refs_by_report.get(c.report_id, []) if (pid := r.arxiv_id) in ctx
                     for st in ctx[pid].sentences]
            rep = find_continuation(c.text, cands)
            if rep:
                c.repaired_text = rep.text
                summary.repaired[c.id] = rep.text
                repairs[c.id] = {"arxiv_id": rep.arxiv_id, "sentence_index": rep.sentence_index,
                                 "char_start": rep.char_start, "char_end": rep.char_end, "text_source": rep.source}

    # embed everything once (cache first)
    thresholds = calibrate(emb)
    summary.thresholds = thresholds.as_dict()
    sent_list = [st for pc in ctx.values() for st in pc.sentences]
    sent_pos = {id(st): i for i, st in enumerate(sent_list)}
    claim_text = {c.id: (c.repaired_text or c.text) for c in all_report_claims}
    for c in claims:
        claim_text[c.id] = c.repaired_text or c.text
    rq = {rid: (r.research_question or "") for rid, r in reports.items()}
    titles = [pc.paper.title or "" for pc in ctx.values()]
    texts = [st.text for st in sent_list] + list(claim_text.values()) + [q for q in rq.values() if q] + titles
    t_embed = time.perf_counter()
    V = emb.encode(texts) if texts else np.zeros((0, 1), np.float32)
    summary.timings["embed"] = round(time.perf_counter() - t_embed, 3)
    n_s = len(sent_list)
    S = V[:n_s]
    cvec = {cid: V[n_s + i] for i, cid in enumerate(claim_text)}
    off = n_s + len(claim_text)
    rq_vec = {}
    for rid, q in rq.items():
        if q:
            rq_vec[rid] = V[off]
            off += 1
    title_vec = {pid: V[off + i] for i, pid in enumerate(ctx)}
    # each sentence is also read together with the sentence before it ("the proposed method" in one
    # sentence, its name in the previous one); the better of the two similarities ranks it. The pair's
    # vector is the length-weighted mean of the two sentence vectors (what mean pooling over the joined
    # text approximates), so it costs no extra encoding.
    W = S.copy()
    for st in sent_list:
        if st.index > 0:
            prev = ctx[st.arxiv_id].sentences[st.index - 1]
            a, b = len(prev.text.split()), len(st.text.split())
            v = a * S[sent_pos[id(prev)]] + b * S[sent_pos[id(st)]]
            W[sent_pos[id(st)]] = v / (np.linalg.norm(v) or 1.0)

    now = utcnow()
    t_judge = time.perf_counter()
    analysed_sent: dict[int, Any] = {}
    local_stems: dict[int, set[str]] = {}
    results: dict[str, dict[str, Any]] = {}
    for n, c in enumerate(claims):
        if progress:
            progress(n, len(claims))
        cited = [r.arxiv_id for r in refs_by_report.get(c.report_id, [])]
        avail = [pid for pid in cited if pid in ctx and ctx[pid].sentences]
        missing = [pid for pid in cited if pid not in avail]
        if not avail:
            summary.skipped[c.id] = ("the report cites no paper" if not cited
                                     else "no cited paper text in the store (run `claims papers fetch`)")
            continue
        idx = [sent_pos[id(st)] for pid in avail for st in ctx[pid].sentences]
        sims_sent = S[idx] @ cvec[c.id]
        sims = np.maximum(sims_sent, W[idx] @ cvec[c.id])
        order = np.argsort(-sims)
        ca = analyse(claim_text[c.id])
        judged = []
        for j in order[:JUDGE_N]:
            st = sent_list[idx[j]]
            sa = analysed_sent.get(id(st))
            if sa is None:
                sa = analysed_sent[id(st)] = analyse(st.text)
            pc = ctx[st.arxiv_id]
            local = local_stems.get(id(st))
            if local is None:
                prev = pc.sentences[st.index - 1].text if st.index > 0 else ""
                local = local_stems[id(st)] = set(sa.stems) | set(content_stems(prev))
            stance = judge(ca, sa, float(sims[j]), thresholds, pc.index, local)
            stance.reasons["similarity_sentence"] = round(float(sims_sent[j]), 4)
            stance.reasons["similarity_with_previous"] = round(float(sims[j]), 4)
            judged.append((st, float(sims_sent[j]), stance, float(sims[j])))
        if nli_model:
            judged = _rejudge_with_nli(nli_model, ca, judged, thresholds, ctx, device)
        sup = sorted([x for x in judged if x[2].stance == "support"],
                     key=lambda x: (-x[2].reasons["coverage"], -x[3]))
        con = [x for x in judged if x[2].stance == "contradict"]
        checked = sorted({ctx[pid].source for pid in avail})
        checked_against = "full text" if checked == ["full-text"] else \
            "abstract only" if checked == ["abstract"] else "full text of some papers, abstract of others"
        if sup:
            verdict, decider = SUPPORTED, sup[0]
            reason = f"stated in {decider[0].arxiv_id} ({decider[0].source}): {decider[2].reasons['rule']}"
        elif con:
            verdict, decider = CONTRADICTED, con[0]
            reason = f"{decider[0].arxiv_id} ({decider[0].source}) says otherwise: {decider[2].reasons['rule']}"
        else:
            verdict, decider = NOT_FOUND, judged[0] if judged else None
            reason = ("no sentence of the cited papers states this claim"
                      + (f"; closest ({decider[0].arxiv_id}, similarity {decider[3]:.2f}): {decider[2].reasons['rule']}"
                         if decider else ""))
        keep = judged[:top_k]
        if decider and all(decider[0] is not k[0] for k in keep):
            keep.append(decider)
        detail = {
            "verdict": verdict,
            "reason": reason,
            "checked_against": checked_against,
            "papers": {pid: ctx[pid].source for pid in avail},
            "papers_unavailable": missing,
            "model": emb.model_id,
            "nli_model": nli_model,
            "thresholds": summary.thresholds,
            "claim_text_used": claim_text[c.id],
            "evidence": _ev_dict(decider) if decider else None,
            "computed_at": now.isoformat(),
        }
        if c.looks_truncated:
            prior = (c.text_verdict_detail or {}).get("truncation", {})
            detail["truncation"] = ({"status": "repaired", "repaired_text": c.repaired_text,
                                     "source": repairs.get(c.id) or prior.get("source")} if c.repaired_text else
                                    {"status": "left truncated", "reason": "no cited source sentence continues it"})
        results[c.id] = {"claim": c, "verdict": verdict, "detail": detail, "keep": keep}
        summary.verdicts[verdict] += 1
        summary.per_claim[c.id] = {"verdict": verdict, "reason": reason, "checked_against": checked_against,
                                   "evidence": detail["evidence"]}
    summary.timings["judge"] = round(time.perf_counter() - t_judge, 3)

    # report-level flags
    flag_rows: list[Flag] = []
    if flags:
        for rid, rep in reports.items():
            if not rep.is_latest:
                continue
            rclaims = [c for c in all_report_claims if c.report_id == rid]
            matches: dict[str, Any] = {}
            flag_rows.extend(report_flags(rep, rclaims, refs_by_report.get(rid, []), ctx, claim_text, cvec,
                                          rq_vec.get(rid), title_vec, S, sent_pos, thresholds, matches,
                                          analysed=analysed_sent))
            summary.citations[rep.key] = matches

    # one transaction for everything
    with store.session() as s, s.no_autoflush:
        ids = list(results)
        current: dict[str, Claim] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            s.exec(delete(Evidence).where(Evidence.claim_id.in_(chunk)))
            current.update({c.id: c for c in s.exec(select(Claim).where(Claim.id.in_(chunk))).all()})
        for cid, res in results.items():
            c = current[cid]
            for rank, (st, _sim, stance, sim) in enumerate(res["keep"]):  # score: the ranking similarity
                s.add(Evidence(claim_id=cid, arxiv_id=st.arxiv_id, paper_version=st.version, text_source=st.source,
                               section=st.section, sentence_index=st.index, char_start=st.start, char_end=st.end,
                               quote=st.text, score=round(sim, 6), stance=stance.stance,
                               stance_detail={**stance.reasons, "rank": rank + 1,
                                              "decisive": res["detail"]["evidence"] is not None
                                              and res["detail"]["evidence"]["sentence_index"] == st.index
                                              and res["detail"]["evidence"]["arxiv_id"] == st.arxiv_id},
                               model_id=emb.model_id, computed_at=now))
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
            kinds = ("unfound-entity", "off-topic-citation", "unreachable-reference")
            keys = {reports[rid].key for rid in reports if reports[rid].is_latest}
            for k in keys:
                s.exec(delete(Flag).where(Flag.report_key == k, Flag.kind.in_(kinds)))
            s.flush()
            for f in flag_rows:
                s.add(f)
                summary.flags.append({"report": f.report_key, "claim": f.claim_id, "kind": f.kind,
                                      "subject": f.subject, "message": f.message})
    summary.claims = len(results)
    summary.timings["total"] = round(time.perf_counter() - t0, 3)
    summary.timings["model_load"] = round(emb.load_s, 3)
    summary.cache = {"hits": emb.hits, "misses": emb.misses}
    return summary


def _ev_dict(x) -> dict[str, Any]:
    st, _sim, stance, sim = x
    return {"arxiv_id": st.arxiv_id, "version": st.version, "text_source": st.source, "section": st.section,
            "sentence_index": st.index, "char_start": st.start, "char_end": st.end, "quote": st.text,
            "score": round(sim, 4), "stance": stance.stance, "rule": stance.reasons.get("rule")}


def _rejudge_with_nli(nli_model: str, ca, judged, thresholds, ctx, device):
    from .nli import NLIScorer
    from .stance import analyse, judge

    scorer = NLIScorer.get(nli_model, device)
    probs = scorer.predict([(st.text, ca.text) for st, _, _, _ in judged])
    out = []
    for (st, sim, _old, eff), p in zip(judged, probs):
        sa = analyse(st.text)
        pc = ctx[st.arxiv_id]
        prev = pc.sentences[st.index - 1].text if st.index > 0 else ""
        local = set(sa.stems) | set(content_stems(prev))
        stance = judge(ca, sa, eff, thresholds, pc.index, local, nli=p)
        stance.reasons["similarity_sentence"] = round(sim, 4)
        out.append((st, sim, stance, eff))
    return out
