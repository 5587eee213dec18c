"""Judging what the runner ran: for every planned experiment and each claim linked to it, the verdict from
its FINISHED runs, stored with the claim's status and confidence change.

Each experiment kind has one judging function (JUDGES, keyed by the kind's name), called as
`fn(exp, claim, runs, proxy_data=, model=, scripts=, data_guard=)` with runs = {arm: {seed: Run}}; it
returns a VerdictResult. `judge_plans(store, result)` is what `claims reproduce` and `claims verify`
call after `reproduce.runner.reproduce(...)`.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlmodel import select

from ..registry import Registry
from ..reproduce.runner import ReproduceResult
from ..store.db import Store
from ..store.models import Claim, Run
from .record import record_verdict
from .result import VerdictResult

JudgeFn = Callable[..., VerdictResult]
JUDGES: Registry[JudgeFn] = Registry("judging rule")
JUDGES.register("train", f"{__package__}.paired:judge_paired")
JUDGES.register("task-suite", f"{__package__}.task_suite:judge_task_suite")
JUDGES.register("probe", f"{__package__}.layer_probe:judge_layer_probe")


def register_judge(kind: str) -> Callable[[JudgeFn], JudgeFn]:
    """Decorator: the judging function of an experiment kind registered outside this package."""
    return JUDGES.register(kind)


def judge_plans(store: Store, result: ReproduceResult) -> list[dict[str, Any]]:
    """Compute and store the verdict of every planned experiment for each of its claims."""
    out = []
    for p in result.plans:
        if p.error:
            continue
        if any(sl.state == "failed" for sl in p.slots):
            out.append({"experiment": p.experiment.name, "skipped": "some runs FAILED; fix and re-run"})
            continue
        judge_fn = JUDGES[p.experiment.kind]
        for cid in p.claims:
            with store.session() as s:
                # the claim row is locked for the transaction, so two processes judging the same
                # claim store one verdict (the second finds it identical), not two
                claim = s.exec(select(Claim).where(Claim.id == cid).with_for_update()).one()
                by_arm: dict[str, dict[int, Run]] = {}
                for sl in p.slots:
                    if sl.run_id is None or sl.state not in ("finished", "reuse", "shared"):
                        continue
                    r = s.exec(select(Run).where(Run.experiment == sl.experiment, Run.arm == sl.arm,
                                                 Run.config_hash == sl.config_hash, Run.status == "FINISHED")
                               .order_by(Run.id)).first()
                    if r is not None:
                        by_arm.setdefault(sl.arm, {})[sl.seed] = r
                res = judge_fn(p.experiment, claim, by_arm, proxy_data=p.proxy_data, model=p.model,
                               scripts=p.scripts, data_guard=p.data_guard)
                res.detail.update({"task": p.task_name, "profile": p.profile})
                v, created = record_verdict(s, claim, p.experiment, res)
                out.append({"claim_id": cid, "experiment": p.experiment.name, "outcome": v.outcome, "proxy": v.proxy,
                            "effect": v.effect, "ci": [v.ci_low, v.ci_high], "n_seeds": v.n_seeds,
                            "confidence": (v.detail or {}).get("confidence"), "reason": (v.detail or {}).get("reason"),
                            "verdict_id": v.id, "new": created})
    result.verdicts = out
    return out
