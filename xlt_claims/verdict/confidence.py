"""Confidence that a claim holds: a documented Bayesian update (see docs/verdicts.md).

    prior logit   = REPORT_WEIGHT * logit(report's stated confidence)  + TEXT_SHIFT[textual verdict]
    Bayes factor  BF = N(d; mu1, s^2 + tau^2) / N(d; 0, s^2)          (replication BF, H1 centred on the claim)
    posterior     = sigmoid(prior logit + w * ln BF),  w = w_data * w_model  (proxy tempering)

d is the measured mean paired effect (points, claimed direction); s its standard error inflated
to the Student-t width for the number of seeds; mu1 the claim's own number (or the pre-registered
expected effect) and tau = mu1 / 2. ln BF is capped at +-ln(BF_CAP). Every input and the output is
returned as a dict that the caller stores verbatim on the ClaimEvent and on Verdict.detail.
The number is model-based, not a calibrated frequency.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from .stats import Effect, _t_quantile

REPORT_WEIGHT = 0.5  # the report's own confidence is machine-written: trust half its log-odds
TEXT_SHIFT = {  # log-odds shift from the textual (paper-evidence) verdict
    "supported-by-source": 1.0,
    "contradicted-by-source": -1.5,
    "not-in-cited-sources": -0.5,
}
W_PROXY_DATA = 0.5  # evidence from the proxy benchmark instead of the claim's own data set
W_OTHER_MODEL = 0.5  # evidence from a different encoder than the claim's
BF_CAP = 100.0
CLIP = (0.02, 0.98)
DEFAULT_PRIOR = 0.5


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def prior(report_confidence: Optional[float], text_verdict: Optional[str]) -> dict[str, Any]:
    base = DEFAULT_PRIOR if report_confidence is None else min(max(float(report_confidence), CLIP[0]), CLIP[1])
    shift = TEXT_SHIFT.get(text_verdict or "", 0.0)
    logit = REPORT_WEIGHT * _logit(base) + shift
    return {
        "report_confidence": report_confidence,
        "text_verdict": text_verdict,
        "report_weight": REPORT_WEIGHT,
        "text_shift": shift,
        "prior_logit": logit,
        "prior": _sigmoid(logit),
    }


def _log_normal_pdf(x: float, mu: float, var: float) -> float:
    return -0.5 * math.log(2 * math.pi * var) - (x - mu) ** 2 / (2 * var)


def bayes_factor(effect: Effect, mu1: float, *, alpha: float = 0.05) -> dict[str, Any]:
    """Replication Bayes factor of H1 (effect ~ N(mu1, (mu1/2)^2)) against H0 (effect = 0)."""
    if effect.n < 2 or not math.isfinite(effect.se) or mu1 <= 0:
        return {"log_bf": 0.0, "bf": 1.0, "note": "no update: fewer than 2 paired seeds or no H1 centre"}
    infl = _t_quantile(1 - alpha / 2, effect.n - 1) / _t_quantile(1 - alpha / 2, 10_000)
    s = max(effect.se, 1e-9) * infl
    tau = mu1 / 2
    log_bf = _log_normal_pdf(effect.mean, mu1, s * s + tau * tau) - _log_normal_pdf(effect.mean, 0.0, s * s)
    cap = math.log(BF_CAP)
    capped = max(-cap, min(cap, log_bf))
    return {"d": effect.mean, "se": effect.se, "t_inflation": infl, "s": s, "mu1": mu1, "tau": tau,
            "log_bf_raw": log_bf, "log_bf": capped, "bf": math.exp(capped), "capped": capped != log_bf}


def evidence_weight(proxy_data: bool, other_model: bool) -> dict[str, Any]:
    w_d = W_PROXY_DATA if proxy_data else 1.0
    w_m = W_OTHER_MODEL if other_model else 1.0
    return {"proxy_data": proxy_data, "other_model": other_model, "w_data": w_d, "w_model": w_m, "w": w_d * w_m}


def update(prior_info: dict[str, Any], bf_info: dict[str, Any], weight_info: dict[str, Any]) -> dict[str, Any]:
    logit = prior_info["prior_logit"] + weight_info["w"] * bf_info["log_bf"]
    post = min(max(_sigmoid(logit), CLIP[0]), CLIP[1])
    return {
        "formula": "sigmoid(REPORT_WEIGHT*logit(report_conf) + TEXT_SHIFT[text_verdict] + w_data*w_model*ln BF)",
        "prior": prior_info,
        "likelihood": bf_info,
        "tempering": weight_info,
        "posterior_logit": logit,
        "posterior": post,
        "clip": list(CLIP),
    }
