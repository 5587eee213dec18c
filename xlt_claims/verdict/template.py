"""The one judging path every experiment kind goes through.

A kind's rule computes a Statistic from the runs (verdict/paired.py, task_suite.py, layer_probe.py:
its outcome, reason, effect and interval, and the measured effects its likelihood reads); everything
else is done here, the same way for every kind: the data guard, the stated differences from the
claim's setup and their weights (proxy reasons), the prior, the magnitude-aware likelihood held to the
status's direction, the tempered update, and the rule's digest. A new kind adds a statistic (one
function registered in STATISTICS), nothing else.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Optional

from ..registry import Registry
from ..reproduce.experiment import Experiment
from ..store.status import Status
from . import confidence as conf
from .recipe import recipe_texts
from .result import VerdictResult

# The version of the judging code: part of every rule's digest, so a change of a rule's code is a new
# rule that must be registered (--new-rule) before it judges stored runs.
#   1  the paired rule before the renovation; suites and the probe had their own versions (2)
#   3  one judging path: magnitude-aware likelihood, weighted differences, Student-t intervals, guards that
#      keep results (treatment failures count, a collapsed baseline run asks for seeds), the layer rule
#      chosen on dev and confirmed on test, two-sided gate likelihood
RULES_VERSION = 3


@dataclass
class Statistic:
    """What a kind's rule computes from its runs (the only kind-specific part of judging)."""

    outcome: str
    reason: str
    metric: str
    effect: Optional[float] = None
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    interval: Optional[str] = None  # what the interval is ("Student-t 95%, 3 seeds", "item bootstrap ...")
    n_seeds: int = 0
    run_ids: list[int] = field(default_factory=list)
    components: list[conf.Component] = field(default_factory=list)  # what the likelihood reads
    combination: str = "single"  # "single" | "all" (every task must hold) | "any" (one of several layers)
    likelihood_note: str = ""
    proxy_data: Optional[bool] = None  # the kind's own answer (a suite reads it from its runs' configs)
    data_label: str = "proxy benchmark"
    detail: dict[str, Any] = field(default_factory=dict)


StatisticFn = Callable[..., Statistic]
STATISTICS: Registry[StatisticFn] = Registry("verdict statistic")
STATISTICS.register("train", f"{__package__}.paired:paired_statistic")
STATISTICS.register("task-suite", f"{__package__}.task_suite:suite_statistic")
STATISTICS.register("probe", f"{__package__}.layer_probe:probe_statistic")


def register_statistic(kind: str) -> Callable[[StatisticFn], StatisticFn]:
    """Decorator: the statistic of an experiment kind defined outside this package."""
    return STATISTICS.register(kind)


def decision_table(exp: Experiment) -> dict[str, Any]:
    """The pre-registered decision as shown on the verdict: the paired rule's parsed fields, else the
    file's [decision] table as written."""
    if exp.kind == "train":
        return asdict(exp.decision)
    return dict((exp.raw or {}).get("decision") or {})


def rule_digest(exp: Experiment) -> str:
    """sha256 of the kind, the file's [decision] table as written and RULES_VERSION (16 hex digits)."""
    raw = json.dumps({"kind": exp.kind, "decision": (exp.raw or {}).get("decision"), "rules_version": RULES_VERSION},
                     sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def judge(exp: Experiment, claim: Any, runs: dict[str, dict[int, Any]], *, proxy_data: bool, model: str,
          scripts: Optional[dict[str, str]] = None, data_guard: Optional[str] = None, profile: Optional[str] = None,
          loader_differences: Iterable[dict[str, Any]] = (), alpha: Optional[float] = None,
          benchmarks: Optional[list[dict[str, Any]]] = None) -> VerdictResult:
    """Judge one claim from an experiment's FINISHED runs ({arm: {seed: Run}}). `alpha` replaces the file's
    (a sequential look spends part of it). `benchmarks` (the plan's: which task read which benchmark) is
    stored on the verdict and names the proxy tasks in the data difference."""
    claim_model = conf.claim_model_of(exp, claim)
    other_model = conf.is_other_model(claim_model, model)
    if data_guard:
        stat = Statistic(Status.INVALID.value, f"data guard refused: {data_guard}", metric=exp.decision.metric)
    else:
        stat = STATISTICS[exp.kind](exp, claim, runs, scripts=scripts, alpha=alpha)
    proxy_d = proxy_data if stat.proxy_data is None else stat.proxy_data
    data_label = stat.data_label
    proxies = [b for b in benchmarks or [] if b.get("benchmark") == "proxy"]
    if proxies:
        data_label = "; ".join(f"{b['task']} ({b.get('where') or 'proxy'}"
                               f"{', for ' + b['claim_dataset'] if len(benchmarks or []) > 1 and b.get('claim_dataset') else ''})"
                               for b in proxies)
    stands_for = {b["task"]: b.get("real") for b in benchmarks or []}
    diffs = conf.differences(exp, proxy_data=proxy_d, data_label=data_label, model=model,
                             claim_model=claim_model, profile=profile, loader=loader_differences,
                             recipe=recipe_texts(runs, stands_for))
    proxy = bool(proxy_d or other_model)
    detail: dict[str, Any] = {
        "experiment": exp.name, "kind": exp.kind, "decision": decision_table(exp), "decision_digest": rule_digest(exp),
        "rules_version": RULES_VERSION, "model": model, "claim_model": claim_model, "proxy_data": proxy_d,
        "other_model": other_model, "interval": stat.interval,
    }
    if benchmarks:
        detail["benchmarks"] = list(benchmarks)
    detail.update(stat.detail)
    detail["differences"] = [d.to_dict() for d in diffs]
    if proxy:
        detail["proxy_reasons"] = conf.proxy_reasons(diffs)
    res = VerdictResult(outcome=stat.outcome, reason=stat.reason, proxy=proxy, metric=stat.metric, effect=stat.effect,
                        ci_low=stat.ci_low, ci_high=stat.ci_high, n_seeds=stat.n_seeds,
                        run_ids=sorted(stat.run_ids), detail=detail)
    if stat.outcome != Status.INVALID.value and stat.components:
        parts = [conf.log_lr(c) for c in stat.components]
        lik = conf.likelihood_for(stat.outcome, parts, stat.combination, stat.likelihood_note)
        pri = conf.prior(getattr(claim, "report_confidence", None), getattr(claim, "text_verdict", None))
        upd = conf.update(pri, lik, conf.evidence_weight(diffs))
        detail["bayes"] = upd
        res.confidence = upd["posterior"]
        if not math.isfinite(res.confidence):  # pragma: no cover - update() never returns NaN
            raise AssertionError(f"non-finite confidence for {exp.name}")
    return res
