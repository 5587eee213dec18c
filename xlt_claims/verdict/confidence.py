"""Confidence that a claim holds: a documented Bayesian update (see docs/verdicts.md).

    prior logit   = REPORT_WEIGHT * logit(report's stated confidence)  + TEXT_SHIFT[textual verdict]
    Bayes factor  BF = m1 / m0  (replication BF with a directional null, see directional_log_bf)
                  m1 = N(d; mu1, s^2 + tau^2)                          H1: delta ~ N(mu1, tau^2)
                  m0 = 2 N(d; 0, s^2 + tau^2) Phi(-mu_post / sd_post)  H0: delta ~ half-normal(tau), delta <= 0
    posterior     = sigmoid(prior logit + w * ln BF),  w = w_data * w_model  (proxy tempering)

d is the measured mean paired effect (points, claimed direction); s its standard error inflated
to the Student-t width for the number of seeds; mu1 the claim's own number (or the pre-registered
expected effect) and tau = mu1 / 2. The null is "no effect or the opposite one", so an effect far in
the wrong direction counts against the claim (a point null at 0 would count it FOR the claim, since
such an effect is even less likely under delta = 0). ln BF is capped at +-ln(BF_CAP). Every input and the output is
returned as a dict that the caller stores verbatim on the ClaimEvent and on Verdict.detail.
The number is model-based, not a calibrated frequency.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..stats import Effect, t_quantile
from ..store.status import Status

REPORT_WEIGHT = 0.5  # the report's own confidence is machine-written: trust half its log-odds
TEXT_SHIFT = {  # log-odds shift from the textual (paper-evidence) verdict
    Status.SUPPORTED.value: 1.0,
    Status.CONTRADICTED.value: -1.5,
    Status.NOT_IN_SOURCES.value: -0.5,
    Status.CONTESTED.value: 0.0,  # cited sentences disagree: no prior shift either way
    Status.UNCHECKED.value: 0.0,  # the cited paper could not be read: nothing learned
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


def directional_log_bf(d: float, se: float, mu1: float, n: Optional[int] = None, alpha: float = 0.05) -> dict[str, Any]:
    """ln BF of H1: delta ~ N(mu1, tau^2) against H0: delta ~ N(0, tau^2) truncated to delta <= 0.

    d is the measured effect in the claimed direction, se its standard error (inflated to the
    Student-t width when n seeds are given), tau = mu1 / 2. Closed forms, with v = s^2 + tau^2:
      m1 = N(d; mu1, v)
      m0 = 2 N(d; 0, v) Phi(-mu_post / sd_post), mu_post = tau^2 d / v, sd_post = tau s / sqrt(v)
    The result is capped at +-ln(BF_CAP) (`log_bf`); `log_bf_raw` keeps the uncapped value.
    """
    from scipy.stats import norm

    infl = 1.0
    if n is not None and n >= 2:
        infl = t_quantile(1 - alpha / 2, n - 1) / t_quantile(1 - alpha / 2, 10_000)
    s = max(float(se), 1e-9) * infl
    tau = max(float(mu1), 1e-9) / 2
    v = s * s + tau * tau
    log_m1 = float(norm.logpdf(d, mu1, math.sqrt(v)))
    mu_post = tau * tau * d / v
    sd_post = tau * s / math.sqrt(v)
    log_m0 = math.log(2) + float(norm.logpdf(d, 0.0, math.sqrt(v))) + float(norm.logcdf(-mu_post / sd_post))
    raw = log_m1 - log_m0
    cap = math.log(BF_CAP)
    capped = max(-cap, min(cap, raw))
    return {"d": d, "se": se, "t_inflation": infl, "s": s, "mu1": mu1, "tau": tau,
            "null": "delta <= 0 (half-normal, scale tau)", "log_bf_raw": raw, "log_bf": capped,
            "bf": math.exp(capped), "capped": capped != raw}


def bayes_factor(effect: Effect, mu1: float, *, alpha: float = 0.05) -> dict[str, Any]:
    """Directional replication Bayes factor for a paired effect over seeds."""
    if effect.n < 2 or not math.isfinite(effect.se) or mu1 <= 0:
        return {"log_bf": 0.0, "bf": 1.0, "note": "no update: fewer than 2 paired seeds or no H1 centre"}
    return directional_log_bf(effect.mean, effect.se, mu1, n=effect.n, alpha=alpha)


def claim_model_of(exp: Any, claim: Any) -> Optional[str]:
    """The model a claim is about: the claim's own field, else the experiment file's [model] claim."""
    return (getattr(claim, "model", None) if claim is not None else None) or exp.model.claim


def is_other_model(claim_model: Optional[str], model: Optional[str]) -> bool:
    """Whether `model` differs from the claim's model (names compared without the hub owner or case)."""
    def key(m: Optional[str]) -> str:
        return (m or "").strip().lower().rsplit("/", 1)[-1]

    return bool(claim_model) and key(claim_model) != key(model)


def proxy_reasons(proxy_data: bool, other_model: bool, *, data_label: str, model: Any, claim_model: Any) -> list[str]:
    """Why a verdict is proxy evidence, in words (shown next to every proxy label)."""
    why = []
    if proxy_data:
        why.append(f"{data_label} instead of the claim's data")
    if other_model:
        why.append(f"model {model} instead of the claim's {claim_model}")
    return why


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
