"""Experiment kinds: how an experiment file becomes units of work and how one unit is run.

Every experiment has a kind ("train" by default). A kind parses and validates the kind-specific parts
of its file, plans its units and executes one unit; the runner does the rest the same way for every
kind (config hashes, resumable Run rows, heartbeats, guards, time estimates). Judging the finished
runs is the verdict layer's job (xlt_claims.verdict), so this package never imports it.

    train        paired_training.py  baseline vs treatment arms x seeds through the shared train loop
    task-suite   task_suite.py       the same arms x seeds on several tasks (cross-task rules)
    probe        layer_probe.py      the layer-wise bitext retrieval probe (no training)

A new kind is one module here with a subclass of ExperimentKind, registered in KINDS (a lazy
"module:object" entry below, or `@register_kind("name")` on the class), plus its rule in the
verdict layer. Each Unit becomes one Run row keyed by the sha256 of unit.config, so a finished unit
is reused and a killed one re-run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ...registry import Registry
from ..experiment import DecisionRule, Experiment, SourceFile, TIERS


class ReproduceError(RuntimeError):
    """An experiment cannot be planned or run as written (unknown method, bad method params, ...)."""


@dataclass
class Unit:
    """One run of an experiment: its arm and seed and everything that determines its result."""

    arm: str
    seed: int
    config: dict[str, Any] = field(default_factory=dict)  # hashed into the Run's config_hash
    estimate_s: Optional[float] = None  # the kind's own guess of the wall time, when nothing was measured
    cost_factor: float = 1.0  # relative cost of this unit's method (declared by the method)
    # what the run computes, machine-independent (experiments.calibrate.run_work: steps, batch, length,
    # eval_examples); with a calibrated machine the runner estimates the wall time from it
    work: Optional[dict[str, Any]] = None


@dataclass
class Planned:
    """What a kind plans for one experiment under the given options."""

    units: list[Unit]
    proxy_data: bool
    scripts: dict[str, str] = field(default_factory=dict)
    label_stats: Optional[dict[str, Any]] = None  # gold-label statistics stored with every run (guards)
    # how the data differs from the claim's (a real benchmark's stated substitutes: the loader's
    # provenance "deviations", {aspect, paper, ours}); the verdict weighs each
    differences: list[dict[str, Any]] = field(default_factory=list)
    # which benchmark each task reads: [{task, benchmark ("real" | "proxy"), where, note, claim_dataset, real}]
    # (real: the real set the task is, or stands in for; None for a proxy without a counterpart)
    benchmarks: list[dict[str, Any]] = field(default_factory=list)


def benchmark_row(task: str, src: dict[str, Any], claim_dataset: Optional[str] = None) -> dict[str, Any]:
    """One entry of Planned.benchmarks: the task read and where from (reproduce.tasks.benchmark_for)."""
    return {"task": task, "benchmark": src.get("benchmark", "proxy" if src.get("proxy_spec") else "real"),
            "where": src.get("where"), "note": src.get("note"),
            "claim_dataset": src.get("stands_for") or claim_dataset, "real": src.get("real")}


def unique_differences(diffs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stated differences once each: the same (aspect, paper, ours) from several arms or tasks is one entry,
    listing the arms and tasks it holds for."""
    out: dict[tuple, dict[str, Any]] = {}
    for d in diffs:
        key = (d.get("aspect"), d.get("paper"), d.get("ours"))
        if key not in out:
            out[key] = dict(d)
            continue
        for k in ("arm", "task"):
            if d.get(k) and d.get(k) not in str(out[key].get(k, "")).split(", "):
                out[key][k] = ", ".join(x for x in (out[key].get(k), d.get(k)) if x)
    return list(out.values())


@dataclass
class RunOutput:
    """What executing one unit returns; the runner stores it on the unit's Run row."""

    metrics: dict[str, Any]
    manifest: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


class ExperimentKind:
    """Base class. Subclasses implement `plan` and `execute`; `parse` and `validate` as needed."""

    name = "?"
    trains = True  # fine-tunes a model with a profile's recipe (the probe does not: no recipe warning)
    # top-level keys an experiment file of this kind must have, in the order they are checked
    required_keys: tuple[str, ...] = ("name", "description", "match", "task", "decision")
    default_seeds: tuple[int, ...] = (1,)

    def parse(self, src: SourceFile, data: dict[str, Any], common: dict[str, Any]) -> Experiment:
        """The Experiment of a file of this kind. `common` holds the parts every kind shares (name, match,
        task, model, ...). Default: seeds, profile and tier from [run]; the kind validates [params] and
        [decision] itself (validate), which it reads from `exp.params` and `exp.raw`."""
        run = data.get("run", {})
        seeds = run.get("seeds", list(self.default_seeds))
        seeds = list(range(1, seeds + 1)) if isinstance(seeds, int) else list(seeds)
        tier = data.get("tier", "core")
        if tier not in TIERS:
            raise src.error("tier", f"tier must be one of {TIERS}")
        d = dict(data["decision"])
        decision = DecisionRule(baseline=str(d.get("baseline", "-")), treatment=str(d.get("treatment", "-")),
                                metric=str(d.get("metric", "summary.value")),
                                **{k: v for k, v in d.items() if k in DecisionRule.__dataclass_fields__
                                   and k not in ("baseline", "treatment", "metric")})
        exp = Experiment(**common, arms=[], seeds=seeds, profile=run.get("profile", "quick"), decision=decision,
                         tier=tier, paper=data.get("paper"), notes=str(data.get("notes", "")).strip(),
                         params=dict(data.get("params", {})))
        try:
            self.validate(exp)
        except ValueError as exc:
            raise src.error("params", f"kind {self.name!r}: {exc}") from None
        return exp

    def validate(self, exp: Experiment) -> None:
        """Raise ValueError on bad kind-specific settings (exp.params, exp.raw['decision'])."""
        return None

    def plan(self, exp: Experiment, opts: Any, model: str, profile: str, seeds: list[int]) -> Planned:
        """The units to run. Raise reproduce.tasks.TaskError (or DataGuardRefused) when the data cannot be used."""
        raise NotImplementedError

    def execute(self, exp: Experiment, unit: Unit, opts: Any,
                progress: Optional[Callable[..., None]] = None) -> RunOutput:
        raise NotImplementedError

    def estimate(self, units: list[tuple[Unit, Any]], finished: list[Any], experiment: str) -> None:
        """Fill each slot's estimate_s / estimate_source. `units` pairs each Unit with its slot; `finished`
        are the store's FINISHED Run rows. Default: the median wall time of this experiment's finished
        runs of the same arm ("measured"), else the kind's own guess."""
        for unit, slot in units:
            done = [r.wall_s for r in finished if r.experiment == experiment and r.arm == unit.arm and r.wall_s]
            if done:
                slot.estimate_s, slot.estimate_source = sorted(done)[len(done) // 2], f"measured ({len(done)} run(s))"
            else:
                slot.estimate_s, slot.estimate_source = unit.estimate_s or 60.0, "kind's estimate"


def _check_kind(name: str, obj: Any) -> None:
    if not (isinstance(obj, type) and issubclass(obj, ExperimentKind)):
        raise TypeError(f"experiment kind {name!r} must be an ExperimentKind subclass, got {obj!r}")


KINDS: Registry[type[ExperimentKind]] = Registry("experiment kind", check=_check_kind)
KINDS.register("train", f"{__name__}.paired_training:PairedTraining")
KINDS.register("task-suite", f"{__name__}.task_suite:TaskSuite")
KINDS.register("probe", f"{__name__}.layer_probe:LayerProbe")

_INSTANCES: dict[str, ExperimentKind] = {}


def register_kind(name: str) -> Callable[[type[ExperimentKind]], type[ExperimentKind]]:
    """Class decorator for a kind defined outside this package (e.g. in a test)."""

    def deco(cls: type[ExperimentKind]) -> type[ExperimentKind]:
        KINDS.register(name, cls)
        _INSTANCES.pop(name, None)
        return cls

    return deco


def get_kind(name: str) -> ExperimentKind:
    """The (shared) instance of a registered kind; UnknownNameError (a KeyError) lists the known ones."""
    if name not in _INSTANCES:
        inst = KINDS[name]()
        inst.name = name
        _INSTANCES[name] = inst
    return _INSTANCES[name]


__all__ = ["ExperimentKind", "KINDS", "Planned", "ReproduceError", "RunOutput", "Unit", "benchmark_row", "get_kind",
           "register_kind", "unique_differences"]
