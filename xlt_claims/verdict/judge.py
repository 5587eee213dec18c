"""Judging what the runner ran: for every planned experiment and each claim linked to it, the verdict from
its FINISHED runs (verdict.template.judge, the one path for every kind), stored with the claim's status
and confidence change. `judge_plans(store, result)` is what `claims reproduce` and `claims verify` call
after `reproduce.runner.reproduce(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from sqlmodel import Session, select

from ..reproduce.experiment import Experiment
from ..reproduce.runner import ReproduceResult
from ..store.db import Store
from ..store.models import Claim, RuleRegistration, Run, Verdict, utcnow
from ..store.status import Status
from .record import record_verdict
from .template import RULES_VERSION, decision_table, judge, rule_digest


class RuleNotRegistered(RuntimeError):
    """An experiment's decision rule differs from the registered one; it judges nothing until registered."""


@dataclass
class Sequential:
    """A stopping rule fixed before the data (--until-decided): looks at these seed counts, each decided at
    alpha / number of looks (Bonferroni over the planned looks: at most alpha over the whole sequence)."""

    looks: list[int]
    look: int  # 1-based: which look this judgement is
    alpha: float  # the file's alpha, spent over the looks

    @property
    def alpha_per_look(self) -> float:
        return self.alpha / len(self.looks)

    def to_dict(self) -> dict[str, Any]:
        return {"looks": self.looks, "look": self.look, "alpha": self.alpha, "alpha_per_look": self.alpha_per_look,
                "rule": "Bonferroni over the planned looks (conservative group-sequential bounds)"}


def register_rule(session: Session, exp: Experiment, runs: list[Run], *, new_rule: bool = False,
                  note: Optional[str] = None) -> RuleRegistration:
    """The experiment's registered rule for its current [decision] block. The first judgement registers
    version 1, dated when the first run planned under this block started (the run configs carry the
    block's digest); a changed block raises RuleNotRegistered unless `new_rule`, which registers the
    next version now (after the data it judges)."""
    digest = rule_digest(exp)
    regs = session.exec(select(RuleRegistration).where(RuleRegistration.experiment == exp.name)
                        .order_by(RuleRegistration.version)).all()
    if regs and regs[-1].digest == digest:
        return regs[-1]
    if regs and not new_rule:
        last = regs[-1]
        raise RuleNotRegistered(
            f"{exp.name}: the decision rule changed since version {last.version} was registered "
            f"({_iso(last.registered_at)}, digest {last.digest}; now {digest}, judging code v{RULES_VERSION}). "
            f"Stored runs are judged only under a registered rule: register the change with "
            f"`claims reproduce {exp.name} --new-rule` (the earlier verdicts are kept, and the new ones say the "
            f"rule was registered after their data)")
    planned = [r.started_at for r in runs if (r.config or {}).get("decision_digest") == exp.decision_digest()
               and r.started_at is not None]
    when = min(planned) if planned and not regs else utcnow()
    reg = RuleRegistration(experiment=exp.name, version=len(regs) + 1, digest=digest, rules_version=RULES_VERSION,
                           decision=decision_table(exp), registered_at=when,
                           note=note or ("registered with its first judged runs" if not regs else "--new-rule"))
    session.add(reg)
    session.flush()
    return reg


def rule_relation(reg: RuleRegistration, runs: list[Run]) -> dict[str, Any]:
    """When the rule was registered relative to the data it judges."""
    at = _aware(reg.registered_at)
    before = [r.id for r in runs if r.started_at is not None and _aware(r.started_at) < at]
    if not before:
        words = "registered before the data it judges"
    else:
        words = (f"registered after {len(before)} of the {len(runs)} runs it judges had started (post hoc: the rule "
                 "was chosen with their results possibly known)")
    return {"version": reg.version, "digest": reg.digest, "rules_version": reg.rules_version,
            "registered_at": _iso(reg.registered_at), "relation": words, "runs_before": before, "note": reg.note}


def _aware(dt: Optional[datetime]) -> Optional[datetime]:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _iso(dt: Optional[datetime]) -> Optional[str]:
    return _aware(dt).isoformat(timespec="seconds") if dt else None


def _earlier_look(session: Session, claim_id: str, exp: Experiment, digest: str, n_seeds: int) -> Optional[Verdict]:
    """An earlier inconclusive verdict of this claim and rule on fewer seeds: a look already made."""
    for v in session.exec(select(Verdict).where(Verdict.claim_id == claim_id, Verdict.experiment == exp.name)
                          .order_by(Verdict.id.desc())).all():
        d = v.detail or {}
        if d.get("decision_digest") == digest and v.n_seeds < n_seeds and v.outcome == Status.INCONCLUSIVE.value:
            return v
    return None


def judge_plans(store: Store, result: ReproduceResult, *, new_rule: bool = False,
                sequential: Optional[Sequential] = None) -> list[dict[str, Any]]:
    """Compute and store the verdict of every planned experiment for each of its claims."""
    out = []
    for p in result.plans:
        if p.error:
            continue
        if any(sl.state == "failed" for sl in p.slots):
            out.append({"experiment": p.experiment.name, "skipped": "some runs FAILED; fix and re-run"})
            continue
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
                runs = [r for seeds in by_arm.values() for r in seeds.values()]
                try:
                    reg = register_rule(s, p.experiment, runs, new_rule=new_rule)
                except RuleNotRegistered as exc:
                    out.append({"experiment": p.experiment.name, "claim_id": cid, "skipped": str(exc),
                                "rule_not_registered": True})
                    continue
                res = judge(p.experiment, claim, by_arm, proxy_data=p.proxy_data, model=p.model, scripts=p.scripts,
                            data_guard=p.data_guard, profile=p.profile, loader_differences=p.differences,
                            benchmarks=p.benchmarks,
                            alpha=sequential.alpha_per_look if sequential else None)
                used = [r for r in runs if r.id in set(res.run_ids)] or runs
                res.detail.update({"task": p.task_name, "profile": p.profile, "registration": rule_relation(reg, used)})
                if sequential:
                    res.detail["sequential"] = sequential.to_dict()
                else:
                    earlier = _earlier_look(s, cid, p.experiment, res.detail["decision_digest"], res.n_seeds)
                    if earlier is not None:
                        res.detail["optional_stopping"] = (
                            f"a second look: verdict {earlier.id} was inconclusive on {earlier.n_seeds} seed(s) under "
                            f"this rule, and these {res.n_seeds} seeds were added without a stopping rule fixed in "
                            "advance, so the rule's error rates no longer hold as stated; use --until-decided "
                            "--max-seeds N for a fixed stopping rule")
                v, created = record_verdict(s, claim, p.experiment, res)
                out.append({"claim_id": cid, "experiment": p.experiment.name, "outcome": v.outcome, "proxy": v.proxy,
                            "effect": v.effect, "ci": [v.ci_low, v.ci_high], "n_seeds": v.n_seeds,
                            "confidence": (v.detail or {}).get("confidence"), "reason": (v.detail or {}).get("reason"),
                            "rule_version": reg.version, "verdict_id": v.id, "new": created})
    result.verdicts = out
    return out
