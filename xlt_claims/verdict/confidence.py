"""Confidence that a claim holds: a documented Bayesian update (see docs/verdicts.md, section 6).

    prior logit  = REPORT_WEIGHT * logit(report's stated confidence) + TEXT_SHIFT[textual verdict]
    likelihood   ln LR = ln N(d; mu1, s^2) - ln N(d; 0, s^2) = mu1 (d - mu1 / 2) / s^2
                 "the measured effect d if the claim is true at its stated size mu1" against "if there is
                 no effect"; a claimed range [lo, hi] puts H1's effect uniformly on the range; a claim
                 without a direction (two-sided) puts it at +mu1 or -mu1 with equal weight
    combination  a claim about every task: the smallest per-task ln LR (the claim is only as strong as
                 its weakest task); "one of K layers": ln of the mean per-layer LR
    consistency  the update never moves against the status: reproduced -> ln LR >= 0; partially- and
                 not-reproduced -> ln LR <= 0 (the claim at its stated size is not what was measured);
                 invalid -> no update; a likelihood that disagrees is set to 0 and the verdict says so
    tempering    w = product of the weights of the stated differences between our evidence and the
                 claim's (data, model, recipe, method source, ...): ln LR * w
    posterior    = sigmoid(prior logit + w * ln LR), clipped to [0.02, 0.98]

d is the measured effect (points, in the claimed direction), s its standard error widened to the
Student-t width for the seeds it rests on (so 3 seeds weigh less than 30); ln LR is capped at
+-ln(LR_CAP). A precise small effect counts against a claim of a large one; an effect in the wrong
direction counts against the claim; a missing or undefined standard error (fewer than two seeds) gives
ln LR = 0: no data never moves confidence. Every input and the output are returned as dicts that the
caller stores verbatim on the ClaimEvent and on Verdict.detail. The number is model-based, not a
calibrated frequency (the calibration harness, benchmarks/bench_rules.py, measures the decisions).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional, Sequence

from ..stats import t_quantile
from ..store.status import Status

REPORT_WEIGHT = 0.5  # the report's own confidence is machine-written: trust half its log-odds
TEXT_SHIFT = {  # log-odds shift from the textual (paper-evidence) verdict
    Status.SUPPORTED.value: 1.0,
    Status.CONTRADICTED.value: -1.5,
    Status.NOT_IN_SOURCES.value: -0.5,
    Status.CONTESTED.value: 0.0,  # cited sentences disagree: no prior shift either way
    Status.UNCHECKED.value: 0.0,  # the cited paper could not be read: nothing learned
}
LR_CAP = 100.0
CLIP = (0.02, 0.98)
DEFAULT_PRIOR = 0.5

# How much of the evidence's weight remains for each kind of difference from the claim's setup.
# Fixed here, never fitted to outcomes; an experiment file may state a different weight for its own
# difference with the reason (`[[differences]]`, e.g. the probe on a contrastively trained encoder).
ASPECT_WEIGHTS = {
    "data": 0.5,  # a proxy benchmark instead of the claim's data set
    "model": 0.5,  # another encoder than the claim's
    "training data": 0.8,  # the claim's benchmark, but other training data (a stated substitute)
    "recipe": 0.8,  # a shortened training recipe (the quick profile)
    "method source": 0.7,  # the method implemented from a description, not from the authors' code
}
DEFAULT_ASPECT_WEIGHT = 0.8  # a stated difference of another kind
# differences the judge detects itself; a file's statement of one of these only refines its weight and
# words, and only when it is detected for the run at hand
DETECTED_ASPECTS = ("data", "model", "recipe")
# the update's direction each status allows: +1 never down, -1 never up, 0 no update, None free
STATUS_DIRECTION = {Status.REPRODUCED.value: 1, Status.PARTIALLY_REPRODUCED.value: -1,
                    Status.NOT_REPRODUCED.value: -1, Status.INCONCLUSIVE.value: None, Status.INVALID.value: 0}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    if x < -700:
        return 0.0
    return 1 / (1 + math.exp(-x))


def prior(report_confidence: Optional[float], text_verdict: Optional[str]) -> dict[str, Any]:
    base = DEFAULT_PRIOR
    if isinstance(report_confidence, (int, float)) and math.isfinite(report_confidence):
        base = min(max(float(report_confidence), CLIP[0]), CLIP[1])
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


# --- the likelihood of one measured effect ----------------------------------------------------------

@dataclass
class Component:
    """One measured effect a verdict's likelihood reads (a rule with several tasks has several)."""

    name: str  # "effect", a task name, a layer
    d: float  # measured effect, points, in the claimed direction
    se: float  # its standard error (inf / nan: not estimable)
    mu1: float  # the claimed size (points, > 0)
    df: Optional[int] = None  # degrees of freedom of se (seeds - 1); None: se from many items
    claimed_range: Optional[tuple[float, float]] = None  # H1 uniform on [lo, hi] instead of at mu1
    two_sided: bool = False  # the claim names a difference, not its direction
    alpha: float = 0.05


def _inflation(df: Optional[int], alpha: float) -> float:
    """Widen s to the Student-t width for df degrees of freedom (1 for None or many)."""
    if df is None or df >= 10_000:
        return 1.0
    return t_quantile(1 - alpha / 2, df) / t_quantile(1 - alpha / 2, 10_000)


def _log_norm(x: float, mu: float, s: float) -> float:
    z = (x - mu) / s
    return -0.5 * z * z - math.log(s) - 0.5 * math.log(2 * math.pi)


def _log_uniform_marginal(d: float, lo: float, hi: float, s: float) -> float:
    """ln of the density of d when the effect is uniform on [lo, hi] and measured with sd s:
    ln[(Phi((hi - d)/s) - Phi((lo - d)/s)) / (hi - lo)], computed in log space (far tails too)."""
    from scipy.stats import norm  # heavy import (scipy.stats): only verdicts need it

    if d < lo:  # both ends above d: sf(a) - sf(b) with a = (lo - d)/s < b
        a, b = norm.logsf((lo - d) / s), norm.logsf((hi - d) / s)
    else:  # cdf(b) - cdf(a) with the same identity mirrored
        a, b = norm.logcdf((hi - d) / s), norm.logcdf((lo - d) / s)
    a, b = float(a), float(b)
    return a + math.log1p(-math.exp(min(0.0, b - a))) - math.log(hi - lo) if b < a else -math.inf


def log_lr(c: Component) -> dict[str, Any]:
    """ln LR of one component (uncapped `log_lr_raw`, capped `log_lr`), with every input."""
    out: dict[str, Any] = {"name": c.name, "d": c.d, "se": c.se, "mu1": c.mu1, "df": c.df,
                           "claimed_range": list(c.claimed_range) if c.claimed_range else None,
                           "two_sided": c.two_sided}
    finite = all(isinstance(x, (int, float)) and math.isfinite(x) for x in (c.d, c.se, c.mu1))
    if not finite or c.se <= 0 or c.mu1 <= 0:
        out.update(log_lr=0.0, log_lr_raw=0.0, capped=False,
                   note="no likelihood: the effect's standard error is not defined (fewer than two seeds, or "
                        "nothing measured), so it moves nothing")
        return out
    # below 1e-9 points a standard error is a numerical artefact; the cap decides such cases anyway
    s = max(c.se * _inflation(c.df, c.alpha), 1e-9)
    null = _log_norm(c.d, 0.0, s)
    if c.claimed_range:
        lo, hi = c.claimed_range
        alt = _log_uniform_marginal(c.d, lo, hi, s)
        h1 = f"effect uniform on the claimed range [{lo:g}, {hi:g}]"
    elif c.two_sided:
        a, b = _log_norm(c.d, c.mu1, s), _log_norm(c.d, -c.mu1, s)
        alt = max(a, b) + math.log1p(math.exp(-abs(a - b))) - math.log(2)
        h1 = f"effect of size {c.mu1:g} in either direction"
    else:
        alt = _log_norm(c.d, c.mu1, s)
        h1 = f"effect of the claimed size {c.mu1:g}"
    raw = alt - null
    if math.isnan(raw):  # pragma: no cover - guarded by the floor above
        raw = 0.0
    cap = math.log(LR_CAP)
    capped = max(-cap, min(cap, raw))
    out.update(s=s, t_inflation=s / c.se, h1=h1, h0="no effect (0)", log_lr_raw=raw, log_lr=capped,
               capped=capped != raw)
    return out


def combine(parts: Sequence[dict[str, Any]], how: str) -> tuple[float, str]:
    """(ln LR, in words) of several components: "single", "all" (weakest), "any" (mean LR)."""
    vals = [float(p["log_lr"]) for p in parts]
    if not vals:
        return 0.0, "nothing measured"
    if how == "all" or (how == "single" and len(vals) > 1):
        weakest = min(range(len(vals)), key=lambda i: vals[i])
        return vals[weakest], f"the claim holds only if every part does: the weakest part ({parts[weakest]['name']})"
    if how == "any":
        m = max(vals)
        return m + math.log(sum(math.exp(v - m) for v in vals) / len(vals)), \
            f"one of {len(vals)} parts carries the effect: the mean of their likelihood ratios"
    return vals[0], "one measured effect"


# --- how far the evidence is from the claim ------------------------------------------------------------

@dataclass
class Difference:
    """One stated way our evidence differs from the claim's setup, and how much evidence weight remains."""

    aspect: str  # "data" | "model" | "training data" | "recipe" | "method source" | ...
    paper: str  # what the claim / paper used
    ours: str  # what we used
    weight: float  # (0, 1]: 1 = no loss of weight
    why: str = ""
    source: str = "detected"  # "detected" | "experiment file" | "data loader" | "method" (the method's own statement)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aspect_weight(aspect: str) -> float:
    return ASPECT_WEIGHTS.get(aspect, DEFAULT_ASPECT_WEIGHT)


def claim_model_of(exp: Any, claim: Any) -> Optional[str]:
    """The model a claim is about: the claim's own field, else the experiment file's [model] claim."""
    return (getattr(claim, "model", None) if claim is not None else None) or exp.model.claim


def is_other_model(claim_model: Optional[str], model: Optional[str]) -> bool:
    """Whether `model` differs from the claim's model (names compared without the hub owner or case)."""
    def key(m: Optional[str]) -> str:
        return (m or "").strip().lower().rsplit("/", 1)[-1]

    return bool(claim_model) and key(claim_model) != key(model)


# the recipe difference in words when the runs did not record theirs (verdict/recipe.py reads it in numbers)
GENERIC_RECIPE = ("the paper's full training recipe", "the quick profile (capped steps and examples)")


def differences(exp: Any, *, proxy_data: bool, data_label: str, model: str, claim_model: Optional[str],
                profile: Optional[str], loader: Iterable[dict[str, Any]] = (),
                recipe: Optional[tuple[str, str]] = None) -> list[Difference]:
    """Every stated difference of this evidence from the claim's: detected (proxy data, another model, the
    quick recipe), stated by the experiment file (`[[differences]]`, which may refine a detected one's
    weight and reason) and by the data loader (a real benchmark's substitutes: provenance deviations)."""
    declared = {d["aspect"]: d for d in (getattr(exp, "differences", None) or [])}
    out: list[Difference] = []

    def add(aspect: str, paper: str, ours: str, why: str = "") -> None:
        d = declared.pop(aspect, None)
        if d is not None:
            out.append(Difference(aspect, d.get("paper") or paper, d.get("ours") or ours, float(d["weight"]),
                                  d.get("why", ""), "experiment file"))
        else:
            out.append(Difference(aspect, paper, ours, aspect_weight(aspect), why))

    if proxy_data:
        add("data", getattr(getattr(exp, "task", None), "claim_dataset", None) or "the claim's data set", data_label)
    if is_other_model(claim_model, model):
        add("model", str(claim_model), str(model))
    if profile == "quick":  # `recipe`: (paper, ours) in numbers, read from the runs (verdict/recipe.py)
        paper, ours = recipe or GENERIC_RECIPE
        add("recipe", paper, ours, "a shortened recipe measures the method's direction more than its full-data size")
    for dev in loader:
        aspect = str(dev.get("aspect", "data"))
        out.append(Difference(aspect, str(dev.get("paper", "")), str(dev.get("ours", "")),
                              float(dev.get("weight", aspect_weight(aspect))), str(dev.get("why", "")),
                              str(dev.get("source") or "data loader")))
    for aspect, d in declared.items():  # a stated difference of another kind holds for every run (method source)
        if aspect not in DETECTED_ASPECTS:
            out.append(Difference(aspect, str(d.get("paper", "")), str(d.get("ours", "")), float(d["weight"]),
                                  str(d.get("why", "")), "experiment file"))
    return out


def proxy_reasons(diffs: Sequence[Difference]) -> list[str]:
    """Why a verdict is proxy evidence, in words (shown next to every proxy label)."""
    why = []
    for d in diffs:
        if d.aspect == "data":
            why.append(f"{d.ours} instead of the claim's data")
        elif d.aspect == "model":
            why.append(f"model {d.ours} instead of the claim's {d.paper}")
    return why


def evidence_weight(diffs: Sequence[Difference]) -> dict[str, Any]:
    w = 1.0
    for d in diffs:
        w *= d.weight
    return {"w": w, "differences": [d.to_dict() for d in diffs],
            "rule": "product of the weights of the stated differences (1 when there is none)"}


# --- the update ------------------------------------------------------------------------------------------

def update(prior_info: dict[str, Any], likelihood: dict[str, Any], weight_info: dict[str, Any]) -> dict[str, Any]:
    """posterior = sigmoid(prior logit + w * ln LR), clipped; never NaN."""
    llr = likelihood.get("log_lr", 0.0)
    if not (isinstance(llr, (int, float)) and math.isfinite(llr)):
        llr = 0.0
    logit = prior_info["prior_logit"] + weight_info["w"] * llr
    post = min(max(_sigmoid(logit), CLIP[0]), CLIP[1])
    return {
        "formula": "sigmoid(REPORT_WEIGHT*logit(report_conf) + TEXT_SHIFT[text_verdict] + w * ln LR), "
                   "w = product of the stated differences' weights",
        "prior": prior_info,
        "likelihood": {**likelihood, "bf": math.exp(llr)},
        "tempering": weight_info,
        "posterior_logit": logit,
        "posterior": post,
        "clip": list(CLIP),
    }


def likelihood_for(outcome: str, parts: Sequence[dict[str, Any]], how: str, note: str = "") -> dict[str, Any]:
    """The verdict's likelihood: the components combined, then held to the status's direction."""
    llr, how_words = combine(parts, how)
    direction = STATUS_DIRECTION.get(outcome)
    out = {"components": list(parts), "combination": how, "combination_words": how_words, "log_lr_combined": llr}
    if note:
        out["note"] = note
    if direction == 0:
        llr = 0.0
    elif direction is not None and llr * direction < 0:
        out["held_to_status"] = (f"the likelihood ({llr:+.2f}) points against the status {outcome!r}, which the "
                                 "pre-registered rule decided: no update")
        llr = 0.0
    out["log_lr"] = llr
    return out
