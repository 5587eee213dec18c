"""Experiment kinds other than "train" (arms x seeds through the train loop).

A kind lets an experiment that is not a paired fine-tuning comparison (e.g. a layer-wise probe with
no training) use the same registry, links, resumable Run rows and verdict/confidence machinery:

    from xlt_claims.reproduce.kinds import ExperimentKind, Unit, register_kind

    @register_kind("probe")
    class Probe(ExperimentKind):
        def validate(self, exp): ...                        # raise ValueError on bad exp.params
        def units(self, exp, opts, model): return [Unit("probe", 1, {"bitext": ..., "model": model})]
        def execute(self, exp, unit, opts, progress): return metrics, manifest
        def judge(self, exp, claim, runs, *, proxy_data, model): return VerdictResult(...)

Each Unit becomes one Run row (arm = unit.arm, seed = unit.seed) keyed by the sha256 of unit.config
(+ model), so a finished unit is reused and a killed one re-run exactly like training runs. `judge`
gets {(arm, seed): FINISHED Run}; the runner stores its VerdictResult and moves the claim's status
and confidence (set VerdictResult.confidence, e.g. with xlt_claims.verdict.confidence).
A module defining a kind registers it on import; name it `xlt_claims/experiments/<x>_kind.py` (found
automatically) or list it in KIND_MODULES.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

_KINDS: dict[str, "ExperimentKind"] = {}
# modules imported on first lookup of an unknown kind (other areas add their module here)
KIND_MODULES: list[str] = ["xlt_claims.experiments.probe_kind"]


@dataclass
class Unit:
    arm: str
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    estimate_s: Optional[float] = None


class ExperimentKind:
    name = "?"
    proxy_task = True  # whether the kind's data is a proxy (overridable per unit in judge)

    def validate(self, exp: Any) -> None:
        return None

    def units(self, exp: Any, opts: Any, model: str) -> list[Unit]:
        raise NotImplementedError

    def execute(self, exp: Any, unit: Unit, opts: Any, progress: Optional[Callable[..., None]] = None) -> tuple[dict, dict]:
        raise NotImplementedError

    def judge(self, exp: Any, claim: Any, runs: dict, *, proxy_data: bool, model: str) -> Any:
        raise NotImplementedError


def register_kind(name: str):
    def deco(cls):
        inst = cls()
        inst.name = name
        _KINDS[name] = inst
        return cls

    return deco


def _kind_modules() -> list[str]:
    """KIND_MODULES plus every module named `*_kind` in xlt_claims.experiments."""
    import pkgutil

    from .. import experiments

    found = [f"{experiments.__name__}.{m.name}" for m in pkgutil.iter_modules(experiments.__path__)
             if m.name.endswith("_kind")]
    return list(dict.fromkeys([*KIND_MODULES, *found]))


def get_kind(name: str) -> ExperimentKind:
    if name not in _KINDS:
        for mod in _kind_modules():
            try:
                importlib.import_module(mod)
            except ImportError:
                continue
    if name not in _KINDS:
        raise KeyError(f"unknown experiment kind {name!r} (known: train, {', '.join(sorted(_KINDS)) or 'none'})")
    return _KINDS[name]
