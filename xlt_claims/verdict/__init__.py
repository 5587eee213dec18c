"""Verdicts from experiments: judging the runs of each experiment kind, the pre-registered decision,
the Bayesian confidence update, storing verdicts and moving claim status (documented in docs/verdicts.md).

    from xlt_claims.verdict import judge_plans, record_verdict, claim_verdict_view, render_claim_verdicts
"""

from .decision import OUTCOMES, decide
from .display import claim_verdict_view, render_claim_verdicts
from .judge import JUDGES, judge_plans, register_judge
from .paired import judge_paired
from .record import apply_status, latest_verdicts, primary_verdict, record_verdict
from .result import VerdictResult

__all__ = ["JUDGES", "OUTCOMES", "VerdictResult", "apply_status", "claim_verdict_view", "decide", "judge_paired",
           "judge_plans", "latest_verdicts", "primary_verdict", "record_verdict", "register_judge",
           "render_claim_verdicts"]
