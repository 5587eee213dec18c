"""`claims reproduce` end to end on a tiny random BERT (CPU, seconds per run): verdicts, resume,
killed runs, concurrent processes, dry-run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from conftest import ROOT
from _reproduce_util import add_claim, make_neighbours, make_task, make_tiny_model, run_and_judge, write_experiment

from xlt_claims.experiments.methods import register_method
from xlt_claims.experiments.types import Example, Method
from xlt_claims.reproduce import Options, load_registry, reproduce
from xlt_claims.reproduce import runner as R
from xlt_claims.store.models import Claim, ClaimEvent, Run, Verdict

CLAIM = "Our tiny keyword method improves transfer."


@register_method("test-collapse")
class _Collapse(Method):
    """Test-only: trains on one label, so the model collapses to it."""

    name = "test-collapse"

    def augment_train(self, examples, rng):
        return [Example(id=e.id, text=e.text, label=0, lang=e.lang) for e in examples]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model") / "bert")


@pytest.fixture
def exp_dir(tmp_path) -> Path:
    d = tmp_path / "reproductions"
    d.mkdir()
    make_task(d / "task.json")
    make_neighbours(d / "nb.json")
    return d


def _rsda(d: Path) -> dict:
    return {"method": "rs-da", "params": {"copies": 2, "neighbours_file": str(d / "nb.json")}}


def test_better_arm_reproduced_then_resume_reuses(store, exp_dir, tiny_model):
    write_experiment(exp_dir, "better", model=tiny_model, treatment=_rsda(exp_dir))
    add_claim(store, "c1", CLAIM, confidence=0.3)
    reg = load_registry([exp_dir])
    res = run_and_judge(store, reg, ["c1"], Options())
    assert res.ran == 6 and res.failed == 0
    v = res.verdicts[0]
    assert v["outcome"] == "reproduced", v
    assert v["effect"] > 10 and v["ci"][0] > 0 and v["n_seeds"] == 3 and v["proxy"]
    with store.session() as s:
        runs = s.exec(select(Run)).all()
        assert len(runs) == 6 and all(r.status == "FINISHED" and r.valid for r in runs)
        assert all(r.metrics["test"]["xx"]["n"] == 80 for r in runs)
        assert all("label_stats" in r.manifest and r.config["arm"] in ("baseline", "treatment") for r in runs)
        claim = s.get(Claim, "c1")
        assert claim.status == "reproduced"
        ev = s.exec(select(ClaimEvent).where(ClaimEvent.claim_id == "c1")).all()[-1]
        assert ev.cause == "experiment" and ev.new_status == "reproduced"
        b = ev.detail["bayes"]
        # proxy data (0.5) and the quick recipe (0.8), each a stated difference with its weight
        assert b["prior"]["report_confidence"] == 0.3 and b["tempering"]["w"] == pytest.approx(0.4)
        assert [d["aspect"] for d in b["tempering"]["differences"]] == ["data", "recipe"]
        assert claim.confidence == pytest.approx(b["posterior"], abs=1e-3) and claim.confidence > b["prior"]["prior"]
        vd = s.exec(select(Verdict)).one().detail
        assert vd["per_language"]["test"] and {r["key"] for r in vd["per_language"]["test"]} == {"en", "xx"}
        assert vd["per_seed"] and vd["decision_digest"]
    # resume: everything finished is reused, nothing re-runs, the verdict is not duplicated
    lines: list = []

    class Recorder(R.Reporter):
        def advance(self, message):
            lines.append(("advance", message))

        def note(self, message):
            lines.append(("note", message))

    res2 = run_and_judge(store, reg, ["c1"], Options(), reporter=Recorder())
    assert res2.ran == 0 and res2.reused == 6
    # six runs counted on the bar without a line each, then told in one line
    assert [m for k, m in lines if k == "advance"] == [None] * 6
    assert [m for k, m in lines if k == "note"][-1:] == ["better: 6 run(s) already finished (runs 1-6)"]
    with store.session() as s:
        assert len(s.exec(select(Run)).all()) == 6
        assert len(s.exec(select(Verdict)).all()) == 1
    from rich.console import Console

    from xlt_claims.verdict import claim_verdict_view, render_claim_verdicts

    with store.session() as s:
        view = claim_verdict_view(s, "c1")
    assert view["verdicts"][0]["outcome"] == "reproduced" and len(view["verdicts"][0]["runs"]) == 6
    con = Console(record=True, width=140)
    render_claim_verdicts(view, con)
    out = con.export_text()
    assert "reproduced" in out and "xx" in out and "per seed" in out


def test_identical_arms_never_reproduced(store, exp_dir, tiny_model):
    write_experiment(exp_dir, "same", model=tiny_model, metric="test:all:accuracy", min_effect=5.0)
    add_claim(store, "c2", CLAIM)
    res = run_and_judge(store, load_registry([exp_dir]), ["c2"], Options())
    v = res.verdicts[0]
    assert v["outcome"] != "reproduced" and v["outcome"] == "not-reproduced", v
    assert v["effect"] == 0
    with store.session() as s:
        runs = s.exec(select(Run).where(Run.arm == "treatment")).all()
        assert len(runs) == 3 and all(r.reused_from is not None for r in runs)  # identical config: not recomputed


def test_a_treatment_that_collapses_is_a_result(store, exp_dir, tiny_model):
    """Issue 18 #6: a method that stops the model from learning is a result (the claim fails), not an
    invalid comparison; the runs still carry the guard's flag."""
    write_experiment(exp_dir, "collapse", model=tiny_model, treatment={"method": "test-collapse"}, seeds=(1, 2, 3),
                     metric="test:all:accuracy")
    add_claim(store, "c3", CLAIM, confidence=0.4)
    res = run_and_judge(store, load_registry([exp_dir]), ["c3"], Options())
    v = res.verdicts[0]
    assert v["outcome"] == "not-reproduced" and v["effect"] < 0, v
    with store.session() as s:
        assert s.get(Claim, "c3").status == "not-reproduced"
        bad = s.exec(select(Run).where(Run.arm == "treatment")).all()
        assert all(r.valid is False and "collapsed" in r.invalid_reason for r in bad)
        assert s.exec(select(Verdict)).one().detail["guards"]["excluded_runs"] == []


def test_dry_run_and_untestable(store, exp_dir, tiny_model):
    write_experiment(exp_dir, "better", model=tiny_model, treatment=_rsda(exp_dir), seeds=(1, 2))
    add_claim(store, "c4", CLAIM)
    add_claim(store, "c5", "Some benchmarks provide tasks for cross-lingual transfer.")
    reg = load_registry([exp_dir])
    plan = reproduce(store, reg, [], Options(), all_claims=True, dry_run=True).to_dict()
    assert [e["experiment"] for e in plan["experiments"]] == ["better"]
    runs = plan["experiments"][0]["runs"]
    assert len(runs) == 4 and all(r["state"] == "pending" and r["estimate_s"] > 0 for r in runs)
    assert "c5" in plan["untestable"] and "not an effect" in plan["untestable"]["c5"]
    with store.session() as s:
        assert not s.exec(select(Run)).all()
    run_and_judge(store, reg, ["better"], Options(seeds=[1]))
    plan = reproduce(store, reg, ["c4"], Options(), dry_run=True).to_dict()
    states = {(r["arm"], r["seed"]): r for r in plan["experiments"][0]["runs"]}
    assert states[("baseline", 1)]["state"] == "finished" and states[("baseline", 2)]["state"] == "pending"
    assert states[("baseline", 2)]["estimate_source"].startswith("measured")


def test_dead_running_row_becomes_killed_and_reruns(store, exp_dir, tiny_model):
    write_experiment(exp_dir, "better", model=tiny_model, treatment=_rsda(exp_dir), seeds=(1,))
    reg = load_registry([exp_dir])
    plan = reproduce(store, reg, ["better"], Options(), dry_run=True).plans[0]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from xlt_claims.reproduce.runner import HOST

    sl = plan.slots[0]
    with store.session() as s:
        s.add(Run(experiment=sl.experiment, arm=sl.arm, seed=sl.seed, config_hash=sl.config_hash, status="RUNNING",
                  config=sl.config, pid=dead.pid, host=HOST))
    res = run_and_judge(store, reg, ["better"], Options())
    assert res.ran == 2
    with store.session() as s:
        rows = s.exec(select(Run).where(Run.arm == sl.arm, Run.seed == sl.seed).order_by(Run.id)).all()
        assert [r.status for r in rows] == ["KILLED", "FINISHED"]
        assert f"process {dead.pid}" in rows[0].error


def _cli(db: Path, exp_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "xlt_claims.cli", "reproduce", *args, "--db", str(db),
                             "--reproductions", str(exp_dir), "--json"], env=env, cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rows(db: Path) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT id, arm, seed, status, reused_from FROM run ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


@pytest.mark.slow
def test_sigkill_then_resume_reruns_only_unfinished(store, db_path, exp_dir, tiny_model):
    write_experiment(exp_dir, "better", model=tiny_model, treatment=_rsda(exp_dir), seeds=(1, 2),
                     overrides={"max_steps": 120})
    proc = _cli(db_path, exp_dir, "better")
    deadline = time.time() + 240
    before = None
    while time.time() < deadline:
        rows = _rows(db_path)
        if any(r[1] == "treatment" and r[2] == 1 and r[3] == "RUNNING" for r in rows):
            before = rows
            break
        if proc.poll() is not None:
            pytest.fail(f"reproduce exited early: {proc.communicate()}")
        time.sleep(0.05)
    assert before is not None, "never saw the third run start"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_before = {(r[1], r[2]): r[0] for r in before if r[3] == "FINISHED"}
    assert set(finished_before) == {("baseline", 1), ("baseline", 2)}
    res = run_and_judge(store, load_registry([exp_dir]), ["better"], Options())
    assert res.ran == 2 and res.reused == 2  # the killed seed and the one never started; baselines reused
    rows = _rows(db_path)
    killed = [r for r in rows if r[3] == "KILLED"]
    assert [(r[1], r[2]) for r in killed] == [("treatment", 1)]
    fin = [r for r in rows if r[3] == "FINISHED"]
    assert sorted((r[1], r[2]) for r in fin) == [("baseline", 1), ("baseline", 2), ("treatment", 1), ("treatment", 2)]
    assert {(r[1], r[2]): r[0] for r in fin if r[1] == "baseline"} == finished_before
    assert not [r for r in rows if r[3] == "RUNNING"]


@pytest.mark.slow
def test_two_concurrent_processes_store_every_run(store, db_path, exp_dir, tiny_model):
    write_experiment(exp_dir, "better", model=tiny_model, treatment=_rsda(exp_dir), seeds=(1, 2),
                     extra_decision="min_seeds = 2")
    add_claim(store, "c6", CLAIM)
    procs = [_cli(db_path, exp_dir, "c6") for _ in range(2)]
    outs = [p.communicate(timeout=400) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert "database is locked" not in err
    rows = _rows(db_path)
    fin = [r for r in rows if r[3] == "FINISHED"]
    assert sorted((r[1], r[2]) for r in fin) == [(a, s) for a in ("baseline", "treatment") for s in (1, 2)]
    assert not [r for r in rows if r[3] != "FINISHED"]
    results = [json.loads(o) for o, _ in outs]
    assert sum(r["ran"] for r in results) == 4  # nothing computed twice
    assert {r["verdicts"][0]["outcome"] for r in results} == {"reproduced"}
    with store.session() as s:
        assert len(s.exec(select(Verdict)).all()) == 1


def test_several_treatments_selected_on_dev(tmp_path):
    from xlt_claims.reproduce.registry import parse_experiment
    from xlt_claims.verdict.paired import select_treatment

    p = write_experiment(tmp_path, "sweep", model="m", extra_decision='select_metric = "dev:en:accuracy"')
    text = p.read_text().replace('treatment = "treatment"', 'treatment = ["treatment", "other"]')
    text = text.replace("[run]", '[[arms]]\nname = "other"\nmethod = "baseline"\n\n[run]')
    p.write_text(text)
    exp = parse_experiment(p)
    assert exp.decision.treatments == ["treatment", "other"]

    def run(dev, test):
        return Run(experiment="sweep", arm="x", seed=1, config_hash="h",
                   metrics={"dev": {"en": {"accuracy": dev}}, "test": {"xx": {"accuracy": test}}})

    by_arm = {"baseline": {1: run(0.7, 0.5)}, "treatment": {1: run(0.8, 0.5), 2: run(0.8, 0.5)},
              "other": {1: run(0.9, 0.1), 2: run(0.8, 0.1)}}
    chosen, sel = select_treatment(exp, by_arm)  # chosen on English dev, although its test score is worse
    assert chosen == "other" and sel["candidates"]["other"] == pytest.approx(0.85)
    by_arm["other"] = {1: run(0.8, 0.1)}
    assert select_treatment(exp, by_arm)[0] == "treatment"  # a tie goes to the first listed arm
    bad = p.read_text().replace('select_metric = "dev:en:accuracy"', 'select_metric = "test:xx:accuracy"')
    p.write_text(bad)
    from xlt_claims.reproduce.registry import RegistryError

    with pytest.raises(RegistryError, match="dev split"):
        parse_experiment(p)


def test_custom_experiment_kind_uses_runs_and_verdicts(store, tmp_path):
    """A new kind is a module with an ExperimentKind (plan, execute) and its judging rule in the verdict layer."""
    from xlt_claims.reproduce.kinds import ExperimentKind, Planned, RunOutput, Unit, register_kind
    from xlt_claims.verdict import Statistic, register_statistic
    from xlt_claims.verdict.confidence import Component

    calls = []

    @register_kind("test-probe")
    class _Probe(ExperimentKind):
        def validate(self, exp):
            if "layers" not in exp.params:
                raise ValueError("needs layers")

        def plan(self, exp, opts, model, profile, seeds):
            return Planned([Unit("probe", s, {"kind": exp.kind, "seed": s, "layers": exp.params["layers"]},
                                 estimate_s=2.0) for s in exp.seeds], proxy_data=True)

        def execute(self, exp, unit, opts, progress=None):
            calls.append(unit.seed)
            return RunOutput({"summary": {"value": 0.5 + unit.seed}}, {"note": "probe"})

    @register_statistic("test-probe")
    def _statistic(exp, claim, runs, *, scripts=None, alpha=None):
        vals = [r.metrics["summary"]["value"] for r in runs["probe"].values()]
        return Statistic("reproduced", "probe says so", metric="summary.value", effect=sum(vals) / len(vals),
                         n_seeds=len(vals), run_ids=[r.id for r in runs["probe"].values()],
                         components=[Component("value", sum(vals) / len(vals), 0.1, 2.0)])

    (tmp_path / "p.toml").write_text("""
name = "probe-x"
description = "a probe"
kind = "test-probe"
[params]
layers = [1, 2]
[match]
all = ['tiny keyword']
[task]
proxy = "logt-retrieval"
[run]
seeds = [1, 2]
[decision]
metric = "summary.value"
""")
    add_claim(store, "k1", CLAIM)
    reg = load_registry([tmp_path])
    plan = reproduce(store, reg, ["k1"], Options(), dry_run=True).to_dict()
    assert [r["estimate_s"] for r in plan["experiments"][0]["runs"]] == [2.0, 2.0]
    res = run_and_judge(store, reg, ["k1"], Options())
    assert calls == [1, 2] and res.verdicts[0]["outcome"] == "reproduced"
    run_and_judge(store, reg, ["k1"], Options())
    assert calls == [1, 2]  # finished units are reused
    with store.session() as s:
        c = s.get(Claim, "k1")
        v = s.exec(select(Verdict).where(Verdict.claim_id == "k1")).one()
        # the shared template applied prior, likelihood and weights to the kind's statistic
        assert c.status == "reproduced" and c.confidence == pytest.approx(v.detail["bayes"]["posterior"], abs=1e-4)
        assert c.confidence > v.detail["bayes"]["prior"]["prior"] and v.detail["registration"]["version"] == 1
    (tmp_path / "p.toml").write_text((tmp_path / "p.toml").read_text().replace("layers = [1, 2]", "x = 1"))
    from xlt_claims.reproduce.registry import RegistryError

    with pytest.raises(RegistryError, match="needs layers"):
        load_registry([tmp_path])


def test_both_arms_at_chance_is_invalid_and_keeps_the_arm_means(tmp_path):
    from xlt_claims.reproduce.registry import parse_experiment
    from xlt_claims.verdict.template import judge

    exp = parse_experiment(write_experiment(tmp_path, "chance", model="m", metric="test:nonen:accuracy"))
    stats = {"task_type": "classification", "num_labels": 2, "test": {"xx": {"n": 400, "majority": 0.5}},
             "dev": {"en": {"n": 400, "majority": 0.5}}}

    def run(i, xx, yy):
        return Run(id=i, experiment="chance", arm="x", seed=1, config_hash="h", manifest={"label_stats": stats},
                   metrics={"dev": {"en": {"accuracy": 0.9, "n": 400}},
                            "test": {"en": {"accuracy": 0.9, "n": 400}, "xx": {"accuracy": xx, "n": 400},
                                     "yy": {"accuracy": yy, "n": 400}}})

    by_arm = {"baseline": {s: run(s, 0.51, 0.49) for s in (1, 2, 3)},
              "treatment": {s: run(10 + s, 0.50, 0.52) for s in (1, 2, 3)}}
    v = judge(exp, None, by_arm, proxy_data=True, model="m")
    assert v.outcome == "invalid" and "at chance" in v.reason and v.effect is None
    means = v.detail["arm_means"]["test"]
    assert means["xx"]["baseline"] == pytest.approx(0.51) and means["yy"]["treatment"] == pytest.approx(0.52)
    assert "per_language" not in v.detail  # no effect is computed from chance-level arms
    by_arm["treatment"] = {s: run(10 + s, 0.70, 0.72) for s in (1, 2, 3)}  # one arm transfers: compared
    assert judge(exp, None, by_arm, proxy_data=True, model="m").outcome != "invalid"


def test_auc_decision_metric_has_chance_one_half(tmp_path):
    """A rule on ROC-AUC: arms ranking at random (AUC ~0.5) are invalid even when the majority rate is
    far from 0.5; an arm that ranks well is compared, and per-language rows use AUC too."""
    from xlt_claims.reproduce.registry import parse_experiment
    from xlt_claims.verdict.template import judge

    exp = parse_experiment(write_experiment(tmp_path, "auc", model="m", metric="test:nonen:auc", min_effect=1.0,
                                            extra_decision='per_language_measure = "auc"'))
    stats = {"task_type": "pair-classification", "num_labels": 2, "test": {"xx": {"n": 400, "majority": 0.8}},
             "dev": {"en": {"n": 400, "majority": 0.5}}}

    def run(i, auc):
        return Run(id=i, experiment="auc", arm="x", seed=1, config_hash="h", manifest={"label_stats": stats},
                   metrics={"dev": {"en": {"accuracy": 0.9, "n": 400}},
                            "test": {"en": {"accuracy": 0.9, "auc": 0.95, "n": 400},
                                     "xx": {"accuracy": 0.8, "auc": auc, "n": 400}}})

    by_arm = {"baseline": {s: run(s, 0.50 + 0.01 * s) for s in (1, 2, 3)},
              "treatment": {s: run(10 + s, 0.52 - 0.01 * s) for s in (1, 2, 3)}}
    v = judge(exp, None, by_arm, proxy_data=True, model="m")
    assert v.outcome == "invalid" and "at chance" in v.reason and v.detail["metric_chance"] == 0.5
    by_arm["treatment"] = {s: run(10 + s, 0.70 + 0.01 * s) for s in (1, 2, 3)}
    v = judge(exp, None, by_arm, proxy_data=True, model="m")
    assert v.outcome == "reproduced" and v.effect == pytest.approx(20.0)
    rows = {r["key"]: r for r in v.detail["per_language"]["test"]}
    assert rows["xx"]["baseline"] == pytest.approx(52.0) and rows["en"]["effect"] == pytest.approx(0.0)


@pytest.mark.slow
def test_runs_side_by_side_store_every_run_once(store, exp_dir, tiny_model):
    """--jobs 2: a worker process claims slots beside this one; every run is stored once, both
    processes ran some, and each manifest says how the runs were split."""
    write_experiment(exp_dir, "better", model=tiny_model, treatment=_rsda(exp_dir), seeds=(1, 2, 3, 4))
    add_claim(store, "c9", CLAIM)
    reg = load_registry([exp_dir])
    res = run_and_judge(store, reg, ["c9"], Options(jobs=2))
    assert res.side_by_side["runs"] == 2 and res.side_by_side["threads"] >= 1
    assert res.ran == 8 and res.failed == 0 and res.reused == 0
    with store.session() as s:
        runs = s.exec(select(Run)).all()
    assert sorted((r.arm, r.seed) for r in runs) == [(a, k) for a in ("baseline", "treatment") for k in (1, 2, 3, 4)]
    assert all(r.status == "FINISHED" for r in runs)
    pids = {r.manifest["reproduce"]["pid"] for r in runs}
    assert os.getpid() in pids and len(pids) == 2, pids
    assert {r.manifest["machine"]["side_by_side"]["runs"] for r in runs} == {2}
    assert {r.manifest["machine"]["threads_source"] for r in runs} == {"side-by-side"}
    assert res.verdicts[0]["outcome"] == "reproduced"


def test_jobs_auto_follows_calibration_and_load(monkeypatch):
    from xlt_claims.reproduce import machine as M

    cal = {"step_s": {"fp32": {"1": 2.0, "2": 1.2}}, "forward_s": {"fp32": {"1": 0.6, "2": 0.3}},
           "side_by_side": {"fp32": {"procs": 2, "threads": 1, "step_s": 2.0, "forward_s": 0.6}}}
    # two side by side: training 2 x 1.2 / 2.0 = 1.2x, evaluation 2 x 0.3 / 0.6 = 1.0x -> 2 runs
    assert M.choose_jobs(cal)[:2] == (2, 1)
    cal["side_by_side"]["fp32"]["forward_s"] = 0.7  # evaluation 0.86x: one run at a time
    n, _, why = M.choose_jobs(cal)
    assert n == 1 and "0.86x" in why
    cal["side_by_side"]["fp32"]["forward_s"] = 0.6
    monkeypatch.setattr(M, "load_calibration", lambda: cal)
    assert M.decide_jobs("auto", load={"cores": 2, "others_busy_cores": 0.1})[0] == 2
    n, _, why = M.decide_jobs("auto", load={"cores": 2, "others_busy_cores": 1.3})
    assert n == 1 and "busy" in why
    assert M.decide_jobs("auto", device_type="cuda")[0] == 1
    assert M.decide_jobs(3)[0] == 3 and M.decide_jobs(None)[0] == 1
    del cal["side_by_side"]
    assert M.choose_jobs(cal)[0] == 1
    with pytest.raises(M.MachineError):
        M.parse_jobs("0")


def test_runnable_slots_start_with_the_longest_estimate_and_skip_plans_that_cannot_run():
    from types import SimpleNamespace as NS

    from xlt_claims.reproduce.runner import _runnable_slots

    a = NS(error=None, data_guard=None, slots=[NS(name="a1", estimate_s=60.0), NS(name="a2", estimate_s=None)])
    b = NS(error=None, data_guard=None, slots=[NS(name="b1", estimate_s=300.0), NS(name="b2", estimate_s=60.0)])
    bad = NS(error="no data", data_guard=None, slots=[NS(name="x", estimate_s=999.0)])
    assert [sl.name for _, sl in _runnable_slots([a, bad, b])] == ["b1", "a1", "b2", "a2"]


def test_id_ranges_are_short():
    assert R._id_ranges([40, 38, 39, 70, 41]) == "runs 38-41, 70"
    assert R._id_ranges([5]) == "run 5"
