"""Pre-registration is enforced (a changed rule judges nothing until registered with --new-rule, both
verdicts kept, each saying when its rule was registered relative to its data) and sequential seeds
follow a stopping rule fixed in advance (--until-decided --max-seeds N)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from _reproduce_util import add_claim
from xlt_claims.reproduce import Options, load_registry, reproduce
from xlt_claims.reproduce.kinds import ExperimentKind, Planned, RunOutput, Unit, register_kind
from xlt_claims.store.models import Claim, RuleRegistration, Run, Verdict
from xlt_claims.verdict import Statistic, judge_plans, register_statistic
from xlt_claims.verdict.confidence import Component
from xlt_claims.verdict.sequential import planned_looks, run_until_decided

CLAIM = "A tiny keyword effect that the counting kind measures."
_calls: list[int] = []


@register_kind("test-count")
class _Count(ExperimentKind):
    """One unit per seed; its value is the seed (no training)."""

    def plan(self, exp, opts, model, profile, seeds):
        return Planned([Unit("only", s, {"kind": exp.kind, "seed": s}) for s in seeds], proxy_data=True)

    def execute(self, exp, unit, opts, progress=None):
        _calls.append(unit.seed)
        return RunOutput({"summary": {"value": float(unit.seed)}}, {})


@register_statistic("test-count")
def _count_statistic(exp, claim, runs, *, scripts=None, alpha=None):
    """Decided once `decide_at` seeds exist (the file's [decision]); records the alpha it was given."""
    need = int((exp.raw.get("decision") or {}).get("decide_at", 3))
    seeds = runs.get("only") or {}
    out = "reproduced" if len(seeds) >= need else "inconclusive"
    return Statistic(out, f"{len(seeds)} seeds", metric="summary.value", n_seeds=len(seeds),
                     run_ids=[r.id for r in seeds.values()], detail={"alpha_used": alpha},
                     components=[Component("v", 2.0, 0.5, 2.0)])


def _file(tmp_path, decide_at=3, seeds=3):
    (tmp_path / "count.toml").write_text(f"""
name = "count"
description = "counting"
kind = "test-count"
[match]
all = ['tiny keyword']
[task]
proxy = "logt-pair"
[run]
seeds = {seeds}
[decision]
decide_at = {decide_at}
""")
    return load_registry([tmp_path])


def _reproduce(store, reg, **kw):
    res = reproduce(store, reg, ["k1"], Options())
    return judge_plans(store, res, **kw)


def test_a_changed_rule_is_refused_until_registered_and_both_verdicts_are_kept(store, tmp_path):
    add_claim(store, "k1", CLAIM)
    out = _reproduce(store, _file(tmp_path, decide_at=3))
    assert out[0]["outcome"] == "reproduced" and out[0]["rule_version"] == 1
    with store.session() as s:
        reg1 = s.exec(select(RuleRegistration)).one()
        first = s.exec(select(Verdict)).one()
        # registered with its first judged runs: dated when the first run planned under it started
        assert reg1.version == 1 and first.detail["registration"]["relation"] == "registered before the data it judges"
        assert reg1.registered_at <= min(r.started_at for r in s.exec(select(Run)).all())
    # the [decision] block changes after the data exists: nothing is judged, the reason names the way out
    reg = _file(tmp_path, decide_at=5)
    out = _reproduce(store, reg)
    assert out[0]["rule_not_registered"] and "--new-rule" in out[0]["skipped"] and "count" in out[0]["skipped"]
    with store.session() as s:
        assert len(s.exec(select(Verdict)).all()) == 1 and s.get(Claim, "k1").status == "reproduced"
    # registered as a new version: judged, said to be post hoc, the first verdict kept
    out = _reproduce(store, reg, new_rule=True)
    assert out[0]["rule_version"] == 2 and out[0]["outcome"] == "inconclusive"
    with store.session() as s:
        vs = s.exec(select(Verdict).order_by(Verdict.id)).all()
        assert [v.outcome for v in vs] == ["reproduced", "inconclusive"]
        assert vs[1].detail["registration"]["version"] == 2
        assert "post hoc" in vs[1].detail["registration"]["relation"]
        assert vs[0].detail["decision_digest"] != vs[1].detail["decision_digest"]
        assert s.get(Claim, "k1").status == "inconclusive"  # the newest rule's verdict sets the status
    # the registered rule judges again without the flag
    assert _reproduce(store, reg)[0]["rule_version"] == 2


def test_planned_looks():
    assert planned_looks(3, 10) == [3, 6, 10]
    assert planned_looks(3, 5) == [3, 5]
    assert planned_looks(3, 3) == [3]
    assert planned_looks(2, 16) == [2, 4, 8, 16]
    with pytest.raises(ValueError, match="below"):
        planned_looks(3, 2)


def test_until_decided_adds_seeds_at_the_planned_looks_and_spends_alpha(store, tmp_path):
    add_claim(store, "k1", CLAIM)
    _calls.clear()
    reg = _file(tmp_path, decide_at=5)
    looks = run_until_decided(store, reg, ["k1"], Options(), max_seeds=10)
    assert [n for n, _ in looks] == [3, 6]  # decided at the second look; 10 was never needed
    assert sorted(_calls) == [1, 2, 3, 4, 5, 6]  # each seed ran once: the first look's runs were reused
    with store.session() as s:
        vs = s.exec(select(Verdict).order_by(Verdict.id)).all()
        assert [(v.outcome, v.n_seeds) for v in vs] == [("inconclusive", 3), ("reproduced", 6)]
        seq = vs[1].detail["sequential"]
        assert seq["looks"] == [3, 6, 10] and seq["look"] == 2 and seq["alpha_per_look"] == pytest.approx(0.05 / 3)
        assert vs[1].detail["alpha_used"] == pytest.approx(0.05 / 3)


def test_adding_seeds_by_hand_is_labelled_optional_stopping(store, tmp_path):
    add_claim(store, "k1", CLAIM)
    reg = _file(tmp_path, decide_at=5)
    judge_plans(store, reproduce(store, reg, ["k1"], Options()))
    judge_plans(store, reproduce(store, reg, ["k1"], Options(n_seeds=6)))
    with store.session() as s:
        last = s.exec(select(Verdict).order_by(Verdict.id.desc())).first()
        assert last.outcome == "reproduced" and "second look" in last.detail["optional_stopping"]
