"""Claim <-> experiment links: derived from the registry's match rules, editable by hand.

Rows with origin "rule" are recomputed on every sync (added when a rule matches, removed when it
no longer does). Rows with origin "manual" are never touched by a sync: a manual link (active) adds
an experiment to a claim, a manual unlink (active = False) wins over the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlmodel import Session, select

from ..store.db import lock_key
from ..store.models import Claim, ExperimentLink, Reference, Report, utcnow
from .registry import Experiment, Registry, ReportContext, normalize_text

EFFECT_WORDS = re.compile(
    r"\b(improv\w*|outperform\w*|increas\w*|decreas\w*|reduc\w*|gain\w*|boost\w*|better|worse|higher|lower|"
    r"degrad\w*|hurt\w*|help\w*|benefit\w*|surpass\w*|exceed\w*|drop\w*|rais\w*|enhanc\w*|effect\w*|impact\w*)\b")
MEASURE_WORDS = re.compile(r"\b(accuracy|f1|score|points?|performance|transfer|bleu|em|exact match|error)\b|\d")


class LinkError(ValueError):
    pass


def report_context(session: Session, claim: Claim, cache: Optional[dict] = None) -> ReportContext:
    cache = cache if cache is not None else {}
    if claim.report_id in cache:
        return cache[claim.report_id]
    rep = session.get(Report, claim.report_id)
    refs = session.exec(select(Reference).where(Reference.report_id == claim.report_id)).all()
    text = " ".join(x for x in ((rep.title if rep else None), (rep.research_question if rep else None),
                                (rep.abstract if rep else None)) if x)
    ctx = ReportContext(key=rep.key if rep else claim.report_key, text=text,
                        cites=tuple(sorted({re.sub(r"v\d+$", "", r.arxiv_id) for r in refs})))
    cache[claim.report_id] = ctx
    return ctx


def claim_texts(claim: Claim) -> list[str]:
    return [t for t in (claim.text, claim.repaired_text, claim.normalized) if t]


def match_claim(exp: Experiment, claim: Claim, ctx: ReportContext) -> tuple[bool, list[str]]:
    return exp.match.explain(claim_texts(claim), ctx, claim.datasets or [])


@dataclass
class SyncResult:
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    kept: int = 0


def sync_links(session: Session, registry: Registry) -> SyncResult:
    """Recompute rule links for every non-retired claim (manual rows are left alone)."""
    lock_key(session, "xlt-claims:links")  # concurrent processes on one server store insert the same rows
    res = SyncResult()
    claims = session.exec(select(Claim).where(Claim.retired == False)).all()  # noqa: E712
    existing = {(l.claim_id, l.experiment): l for l in session.exec(select(ExperimentLink)).all()}
    want: set[tuple[str, str]] = set()
    cache: dict = {}
    for c in claims:
        ctx = report_context(session, c, cache)
        for exp in registry:
            ok, _ = match_claim(exp, c, ctx)
            if ok:
                want.add((c.id, exp.name))
    for key in sorted(want):
        row = existing.get(key)
        if row is None:
            session.add(ExperimentLink(claim_id=key[0], experiment=key[1], origin="rule", active=True))
            res.added.append(key)
        else:
            res.kept += 1
    for key, row in existing.items():
        if row.origin == "rule" and key not in want:
            session.delete(row)
            res.removed.append(key)
    session.flush()
    return res


def set_link(session: Session, registry: Registry, claim_id: str, experiment: str, *, active: bool) -> ExperimentLink:
    """Manual link (active=True) or unlink (active=False); wins over the match rule."""
    claim = resolve_claim(session, claim_id)
    registry.get(experiment)  # raises with the list of known experiments
    row = session.exec(select(ExperimentLink).where(ExperimentLink.claim_id == claim.id,
                                                    ExperimentLink.experiment == experiment)).first()
    if row is None:
        row = ExperimentLink(claim_id=claim.id, experiment=experiment, origin="manual", active=active, created_at=utcnow())
    else:
        row.origin, row.active = "manual", active
    session.add(row)
    session.flush()
    return row


def reset_link(session: Session, claim_id: str, experiment: str) -> bool:
    """Forget a manual decision so the match rule applies again (next sync)."""
    claim = resolve_claim(session, claim_id)
    row = session.exec(select(ExperimentLink).where(ExperimentLink.claim_id == claim.id,
                                                    ExperimentLink.experiment == experiment)).first()
    if row is None or row.origin != "manual":
        return False
    session.delete(row)
    session.flush()
    return True


def resolve_claim(session: Session, claim_id: str) -> Claim:
    """A claim by id or unique id prefix."""
    c = session.get(Claim, claim_id)
    if c is not None:
        return c
    cands = session.exec(select(Claim).where(Claim.id.startswith(claim_id))).all() if claim_id else []
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise LinkError(f"no claim with id {claim_id!r} (see `claims list`)")
    raise LinkError(f"claim id prefix {claim_id!r} is ambiguous: {', '.join(c.id for c in cands[:8])}")


def links_for(session: Session, claim_id: Optional[str] = None, *, active_only: bool = False) -> list[ExperimentLink]:
    q = select(ExperimentLink)
    if claim_id:
        q = q.where(ExperimentLink.claim_id == claim_id)
    if active_only:
        q = q.where(ExperimentLink.active == True)  # noqa: E712
    return list(session.exec(q.order_by(ExperimentLink.claim_id, ExperimentLink.experiment)).all())


def untestable_reason(claim: Claim, registry: Registry, ctx: ReportContext) -> str:
    """Why no registered experiment tests this claim (generic rules, never per-claim text)."""
    texts = " ".join(normalize_text(t) for t in claim_texts(claim))
    parts: list[str] = []
    if claim.looks_truncated and not claim.repaired_text:
        parts.append("the claim text is truncated, so what it asserts cannot be pinned down")
    has_effect = bool(EFFECT_WORDS.search(texts)) or claim.comparator is not None or claim.value is not None
    has_measure = bool(MEASURE_WORDS.search(texts)) or bool(claim.datasets) or claim.metric is not None
    if claim.kind == "descriptive" or not has_effect:
        parts.append("it states a definition, background or a fact about the literature, not an effect an "
                      "experiment can measure")
    elif not has_measure:
        parts.append("it names an effect but no measurable quantity (task, metric or data set) to re-measure")
    else:
        parts.append("it states a measurable effect, but no registered experiment's match rule covers it; "
                     "add a file to reproductions/ or `claims link` it by hand")
    return "; ".join(parts)


def link_table(session: Session, registry: Registry, claim_id: Optional[str] = None) -> list[dict[str, Any]]:
    out = []
    for l in links_for(session, claim_id):
        exp = registry.experiments.get(l.experiment)
        out.append({"claim_id": l.claim_id, "experiment": l.experiment, "origin": l.origin, "active": l.active,
                    "tier": exp.tier if exp else None, "known": exp is not None,
                    "description": exp.description if exp else "(not in the registry)"})
    return out
