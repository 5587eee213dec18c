"""Storing verdicts and moving a claim's status: the newest verdict per linked experiment, the primary
one among them, and the status/confidence change through `store.events.set_status(cause="experiment")`."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from sqlmodel import Session, select

from ..reproduce.experiment import Experiment
from ..store.events import set_status
from ..store.models import Claim, ExperimentLink, Verdict, utcnow
from ..store.status import Status
from .result import VerdictResult


_RANK = {Status.REPRODUCED: 0, Status.PARTIALLY_REPRODUCED: 0, Status.NOT_REPRODUCED: 0, Status.INCONCLUSIVE: 1,
         Status.INVALID: 2}
# when decided verdicts of equal standing disagree, the one that supports the claim least sets the status
_SUPPORT = {Status.NOT_REPRODUCED: 0, Status.PARTIALLY_REPRODUCED: 1, Status.REPRODUCED: 2}


def latest_verdicts(session: Session, claim_id: str) -> list[Verdict]:
    """The newest verdict per experiment that is still actively linked to the claim."""
    active = {l.experiment for l in session.exec(select(ExperimentLink).where(
        ExperimentLink.claim_id == claim_id, ExperimentLink.active == True)).all()}  # noqa: E712
    out: dict[str, Verdict] = {}
    for v in session.exec(select(Verdict).where(Verdict.claim_id == claim_id).order_by(Verdict.id)).all():
        if v.experiment in active:
            out[v.experiment] = v
    return list(out.values())


def primary_verdict(verdicts: Sequence[Verdict]) -> Optional[Verdict]:
    """The verdict that sets the status: core tier first, then claim's own data/model over proxy,
    then decisive over inconclusive over invalid; among decided verdicts that disagree, the least
    supportive (two pre-registered rules that disagree do not make a claim reproduced); then the most
    seeds, then the newest."""
    if not verdicts:
        return None
    return sorted(verdicts, key=lambda v: ((v.detail or {}).get("tier", "core") != "core", v.proxy,
                                           _RANK.get(v.outcome, 3), _SUPPORT.get(v.outcome, 0),
                                           -v.n_seeds, -(v.id or 0)))[0]


def record_verdict(session: Session, claim: Claim, exp: Experiment, res: VerdictResult) -> tuple[Verdict, bool]:
    """Store a verdict (unless the newest one for this claim and experiment is identical) and move the
    claim's status and confidence from the primary verdict. Returns (verdict, created)."""
    res.detail["tier"] = exp.tier
    last = session.exec(select(Verdict).where(Verdict.claim_id == claim.id, Verdict.experiment == exp.name)
                        .order_by(Verdict.id.desc())).first()
    same = (last is not None and last.outcome == res.outcome and sorted(last.run_ids or []) == sorted(res.run_ids)
            and (last.detail or {}).get("decision_digest") == res.detail.get("decision_digest")
            and (last.detail or {}).get("bayes", {}).get("prior") == res.detail.get("bayes", {}).get("prior"))
    if same:
        v, created = last, False
    else:
        v = Verdict(claim_id=claim.id, experiment=exp.name, outcome=res.outcome, proxy=res.proxy, metric=res.metric,
                    effect=res.effect, ci_low=res.ci_low, ci_high=res.ci_high, n_seeds=res.n_seeds,
                    run_ids=list(res.run_ids), detail={**res.detail, "reason": res.reason, "confidence": res.confidence},
                    created_at=utcnow())
        session.add(v)
        session.flush()
        created = True
    apply_status(session, claim)
    return v, created


def apply_status(session: Session, claim: Claim) -> None:
    prim = primary_verdict(latest_verdicts(session, claim.id))
    if prim is None:
        return
    det = prim.detail or {}
    post = det.get("confidence")
    event_detail = {
        "verdict_id": prim.id, "experiment": prim.experiment, "outcome": prim.outcome, "proxy": prim.proxy,
        "metric": prim.metric, "effect": prim.effect, "ci": [prim.ci_low, prim.ci_high], "n_seeds": prim.n_seeds,
        "reason": det.get("reason"), "bayes": det.get("bayes"),
    }
    kwargs: dict[str, Any] = {"status": prim.outcome, "detail": event_detail}
    if post is not None:
        kwargs["confidence"] = round(float(post), 4)
    set_status(session, claim, cause="experiment", **kwargs)
