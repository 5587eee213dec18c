"""Verdicts from experiments: one judging path for every experiment kind (template.judge over each kind's
statistic), the pre-registered decision, the magnitude-aware Bayesian confidence, storing verdicts and
moving claim status (documented in docs/verdicts.md).

    from xlt_claims.verdict import judge_plans, record_verdict, claim_verdict_view, render_claim_verdicts
"""

from .decision import OUTCOMES, decide
from .display import claim_verdict_view, render_claim_verdicts
from .judge import judge_plans
from .record import apply_status, latest_verdicts, primary_verdict, record_verdict
from .result import VerdictResult
from .template import RULES_VERSION, STATISTICS, Statistic, judge, register_statistic, rule_digest

__all__ = ["OUTCOMES", "RULES_VERSION", "STATISTICS", "Statistic", "VerdictResult", "apply_status",
           "claim_verdict_view", "decide", "judge", "judge_plans", "latest_verdicts", "primary_verdict",
           "record_verdict", "register_statistic", "render_claim_verdicts", "rule_digest"]
