"""Sequential seeds with a stopping rule fixed before the data (`claims reproduce --until-decided
--max-seeds N`): run the experiment's seeds, judge, and add seeds only for experiments still
inconclusive, at looks planned in advance (`planned_looks`), each decided at alpha / number of looks.

Adding seeds after seeing an inconclusive verdict and judging again at the file's alpha is optional
stopping: it raises the chance of a false "reproduced". Splitting alpha over the planned looks
(Bonferroni, a conservative group-sequential bound) keeps the whole sequence at the file's alpha
whatever happens between looks; benchmarks/bench_rules.py measures it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from ..reproduce.registry import Registry
from ..reproduce.runner import Options, Reporter, ReproduceResult, reproduce
from ..store.db import Store
from ..store.status import Status
from .judge import Sequential, judge_plans


def planned_looks(first: int, max_seeds: int) -> list[int]:
    """Seed counts at which the verdict is looked at: the experiment's own count, doubling, then max_seeds."""
    if max_seeds < first:
        raise ValueError(f"--max-seeds {max_seeds} is below the experiment's {first} seeds")
    looks, n = [first], first
    while n * 2 < max_seeds:
        n *= 2
        looks.append(n)
    if looks[-1] != max_seeds:
        looks.append(max_seeds)
    return looks


def run_until_decided(store: Store, registry: Registry, targets: list[str], opts: Options, *, max_seeds: int,
                      all_claims: bool = False, reporter: Optional[Reporter] = None,
                      new_rule: bool = False) -> list[tuple[int, ReproduceResult]]:
    """[(seeds, result)] per look made. Every experiment follows its own schedule from its own seed count;
    an experiment leaves the sequence once its verdicts are decided (or invalid)."""
    first = reproduce(store, registry, targets, opts, all_claims=all_claims, dry_run=True)
    todo = {p.experiment.name: (p.claims, len(p.experiment.seeds)) for p in first.plans if not p.error}
    if first.plans and not todo:  # nothing runnable: report the plan's errors as one look
        return [(0, reproduce(store, registry, targets, opts, all_claims=all_claims, reporter=reporter))]
    looks_made: list[tuple[int, ReproduceResult]] = []
    schedules = {name: planned_looks(n0, max_seeds) for name, (_, n0) in todo.items()}
    step = 0
    while todo:
        by_size: dict[int, list[str]] = {}
        for name in todo:
            by_size.setdefault(schedules[name][step], []).append(name)
        for n, names in sorted(by_size.items()):
            result = reproduce(store, registry, names, replace(opts, seeds=None, n_seeds=n), reporter=reporter)
            verdicts: list[dict[str, Any]] = []
            for name in names:
                seq = Sequential(looks=schedules[name], look=step + 1, alpha=_alpha(registry.get(name)))
                verdicts += judge_plans(store, _only(result, name), new_rule=new_rule, sequential=seq)
            result.verdicts = verdicts
            looks_made.append((n, result))
            for name in names:
                outcomes = {v.get("outcome") for v in result.verdicts if v.get("experiment") == name}
                if Status.INCONCLUSIVE.value not in outcomes or step + 1 >= len(schedules[name]):
                    todo.pop(name, None)
        step += 1
    return looks_made


def _alpha(exp: Any) -> float:
    if exp.kind == "train":
        return float(exp.decision.alpha)
    return float(((exp.raw or {}).get("decision") or {}).get("alpha", 0.05))


def _only(result: ReproduceResult, name: str) -> ReproduceResult:
    return replace(result, plans=[p for p in result.plans if p.experiment.name == name], verdicts=[])
