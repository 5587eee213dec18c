"""Status and confidence changes go through here, so the event log is complete and the rule
"a textual verdict never overwrites an experimental one" lives in one place."""

from __future__ import annotations

from typing import Any, Optional

from sqlmodel import Session

from .models import Claim, ClaimEvent, utcnow
from .status import EXPERIMENT_STATUSES

_KEEP = object()


def set_status(
    session: Session,
    claim: Claim,
    *,
    cause: str,
    status: Optional[str] | object = _KEEP,
    confidence: Optional[float] | object = _KEEP,
    detail: Optional[dict[str, Any]] = None,
) -> Optional[ClaimEvent]:
    """Change a claim's status and/or confidence and append one ClaimEvent.

    A change whose cause is not "experiment" (or "manual") leaves an experimental status in place;
    its confidence change is still applied only if the status is not experimental. Returns the
    event, or None when nothing changed.
    """
    new_status = claim.status if status is _KEEP else status
    new_conf = claim.confidence if confidence is _KEEP else confidence
    if cause not in ("experiment", "manual") and claim.status in EXPERIMENT_STATUSES:
        return None
    if new_status == claim.status and new_conf == claim.confidence:
        return None
    ev = ClaimEvent(
        claim_id=claim.id,
        cause=cause,
        old_status=claim.status,
        new_status=new_status,
        old_confidence=claim.confidence,
        new_confidence=new_conf,
        detail=detail,
    )
    claim.status = new_status
    claim.confidence = new_conf
    claim.updated_at = utcnow()
    session.add(claim)
    session.add(ev)
    return ev
