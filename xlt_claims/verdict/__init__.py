"""Verdicts from experiments: paired statistics, decision, sanity guards and the Bayesian confidence
update (documented in docs/verdicts.md).

    from xlt_claims.verdict import compute_verdict, record_verdict, claim_verdict_view, render_claim_verdicts
"""

from .compute import VerdictResult, apply_status, compute_verdict, latest_verdicts, primary_verdict, record_verdict
from .display import claim_verdict_view, render_claim_verdicts
from .stats import OUTCOMES, Effect, decide, holm, paired_effect, seeds_needed

__all__ = ["OUTCOMES", "Effect", "VerdictResult", "apply_status", "claim_verdict_view", "compute_verdict", "decide",
           "holm", "latest_verdicts", "paired_effect", "primary_verdict", "record_verdict", "render_claim_verdicts",
           "seeds_needed"]
