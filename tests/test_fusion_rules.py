"""Cross-task decision rules of the task-suite kind (report 004 aggregation claims), on synthetic runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from xlt_claims.verdict.template import judge
from xlt_claims.reproduce.registry import parse_experiment

ARMS = ["baseline", "aif-L3", "aif-L6", "aif-L9"]
_TOML = """
name = "t-{rule}"
kind = "task-suite"
description = "test"
[match]
all = ['x']
[task]
proxy = "logt-cls"
[model]
claim = "bert-base-multilingual-cased"
[params]
tasks = ["a", "b"]
[[arms]]
name = "baseline"
[[arms]]
name = "aif-L3"
method = "aif"
params = {{ layer = 3 }}
[[arms]]
name = "aif-L6"
method = "aif"
params = {{ layer = 6 }}
[[arms]]
name = "aif-L9"
method = "aif"
params = {{ layer = 9 }}
[decision]
rule = "{rule}"
{extra}
"""


def _exp(tmp_path: Path, rule: str, extra: str):
    p = tmp_path / f"{rule}.toml"
    p.write_text(_TOML.format(rule=rule, extra=extra))
    return parse_experiment(p)


_ids = iter(range(1, 10**6))


def _run(test: float, dev: float = 0.8, *, gate=None, spread=0.05, collapsed=False, n=300):
    stats = {"task": "x", "task_type": "classification", "num_labels": 2,
             "dev": {"en": {"n": n, "majority": 0.5}}, "test": {"en": {"n": n, "majority": 0.5}}}
    m = {"summary": {"test_avg_nonen": test, "dev_en": dev}, "dev": {"en": {"accuracy": dev, "n": n}},
         "test": {"en": {"accuracy": 0.9, "n": n}, "de": {"accuracy": test, "n": n}, "ru": {"accuracy": test, "n": n}},
         "collapsed": collapsed}
    if gate is not None:
        m["fusion"] = {"lower_weight_mean": gate, "lower_weight_std_across_examples": spread}
    return SimpleNamespace(id=next(_ids), metrics=m, manifest={"suite": {"label_stats": stats}}, config={"proxy": True})


def _runs(spec):
    """spec: {task: {arm: [per-seed (test, dev) or dict]}} -> {"task/arm": {seed: Run}}"""
    out = {}
    for task, arms in spec.items():
        for arm, vals in arms.items():
            out[f"{task}/{arm}"] = {i + 1: (_run(**v) if isinstance(v, dict) else _run(*v)) for i, v in enumerate(vals)}
    return out


def _judge(exp, runs):
    return judge(exp, None, runs, proxy_data=True, model="offline:multilingual-e5-small", profile="quick")


GAIN = 'baseline = "baseline"\ncandidates = ["aif-L3", "aif-L6", "aif-L9"]\nmin_effect = 1.0'


def _gain_spec(delta_a, delta_b, base=0.6, jitter=(0.0, 0.004, -0.003)):
    spec = {}
    for task, delta in (("a", delta_a), ("b", delta_b)):
        spec[task] = {
            "baseline": [(base + j, 0.8) for j in jitter],
            "aif-L3": [(base + j + delta, 0.85) for j in jitter],  # best on dev
            "aif-L6": [(base + j, 0.80) for j in jitter],
            "aif-L9": [(base + j + 0.10, 0.70) for j in jitter],  # best on test, worst on dev: never selected
        }
    return spec


def test_best_gain_reproduced_on_all_tasks_and_selected_on_dev(tmp_path):
    v = _judge(_exp(tmp_path, "best-gain", GAIN), _runs(_gain_spec(0.02, 0.025)))
    assert v.outcome == "reproduced" and v.proxy is True
    per = v.detail["per_task"]
    assert per["a"]["selected"] == "aif-L3"  # best on dev, although aif-L9 is best on test
    assert max(per["a"]["table"], key=lambda a: per["a"]["table"][a]["test_mean"]) == "aif-L9"
    assert v.effect == pytest.approx(2.0, abs=0.01)  # the weakest task's gain
    assert v.confidence is not None and 0 < v.confidence < 1
    assert "proxy tasks" in v.detail["proxy_reasons"][0]


def test_best_gain_one_task_fails_is_not_reproduced(tmp_path):
    v = _judge(_exp(tmp_path, "best-gain", GAIN), _runs(_gain_spec(0.02, -0.02)))
    assert v.outcome == "not-reproduced"
    assert v.detail["task_outcomes"] == {"a": "reproduced", "b": "not-reproduced"}


def test_identical_arms_never_reproduce(tmp_path):
    v = _judge(_exp(tmp_path, "best-gain", GAIN), _runs(_gain_spec(0.0, 0.0)))
    assert v.outcome in ("not-reproduced", "inconclusive")


def test_an_unselected_candidate_that_collapsed_changes_nothing(tmp_path):
    """Issue 18 #6: a bad run of an arm that dev selection did not choose must not void the task."""
    runs = _runs(_gain_spec(0.02, 0.025))
    runs["b/aif-L6"][2] = _run(0.5, 0.5, collapsed=True)
    assert _judge(_exp(tmp_path, "best-gain", GAIN), runs).outcome == "reproduced"


def test_a_collapsed_baseline_run_asks_for_seeds_not_a_verdict(tmp_path):
    """Issue 18 #10: one baseline run that collapsed (on one machine) voids its seed; with fewer valid seeds
    than pre-registered the task is inconclusive and says to add seeds."""
    runs = _runs(_gain_spec(0.02, 0.025))
    runs["b/baseline"][2] = _run(0.5, 0.5, collapsed=True)
    v = _judge(_exp(tmp_path, "best-gain", GAIN), runs)
    assert v.detail["task_outcomes"] == {"a": "reproduced", "b": "inconclusive"}
    assert v.outcome == "inconclusive" and "add seeds" in v.detail["per_task"]["b"]["reason"]


def test_a_failed_valid_task_decides_an_all_tasks_claim_even_beside_an_invalid_task(tmp_path):
    runs = _runs(_gain_spec(-0.02, 0.02))
    for seed in (1, 2, 3):  # task b's baseline never learned: that task is invalid
        runs["b/baseline"][seed] = _run(0.5, 0.5, collapsed=True)
    v = _judge(_exp(tmp_path, "best-gain", GAIN), runs)
    assert v.detail["task_outcomes"] == {"a": "not-reproduced", "b": "invalid"}
    assert v.outcome == "not-reproduced"
    assert v.effect == pytest.approx(-2.0, abs=0.01)  # the headline is the valid task's effect
    b_ids = {r.id for r in runs["b/aif-L6"].values()} | {r.id for r in runs["b/baseline"].values()}
    assert not (set(v.run_ids) & b_ids)  # the invalid task's runs are not evidence


def test_range_rule(tmp_path):
    exp = _exp(tmp_path, "best-gain", GAIN + "\nrange = [1.0, 3.0]")
    assert _judge(exp, _runs(_gain_spec(0.02, 0.015))).outcome == "reproduced"
    assert _judge(exp, _runs(_gain_spec(0.06, 0.02))).outcome == "partially-reproduced"  # 6 points: outside
    assert _judge(exp, _runs(_gain_spec(0.0, 0.0))).outcome == "not-reproduced"


def test_rule_validation(tmp_path):
    from xlt_claims.reproduce.registry import RegistryError

    with pytest.raises(RegistryError, match="select_metric"):
        _exp(tmp_path, "best-gain", GAIN + '\nselect_metric = "summary.test_avg_nonen"')
    with pytest.raises(RegistryError, match="candidates"):
        _exp(tmp_path, "best-gain", 'baseline = "baseline"\ncandidates = ["nope"]')
    with pytest.raises(RegistryError, match="rule"):
        _exp(tmp_path, "nonsense", "")


LAYERS = 'candidates = ["aif-L3", "aif-L6", "aif-L9"]'


def _layer_spec(best_a, best_b, gap=0.03, noise=0.002, dev_gap=0.02, test_noise=()):
    spec = {}
    for task, best in (("a", best_a), ("b", best_b)):
        spec[task] = {arm: [(0.6 + (gap if arm == best else 0) + noise * k + (test_noise[i] if test_noise else 0),
                             0.8 + (dev_gap if arm == best else 0)) for i, k in enumerate((-1, 0, 1))]
                      for arm in ("aif-L3", "aif-L6", "aif-L9")}
    return spec


def test_best_layer_differs_chosen_on_dev_and_confirmed_on_test(tmp_path):
    exp = _exp(tmp_path, "best-layer-differs", LAYERS)
    v = _judge(exp, _runs(_layer_spec("aif-L3", "aif-L9")))
    assert v.outcome == "reproduced"
    assert {t: v.detail["per_task"][t]["chosen_layer"] for t in ("a", "b")} == {"a": 3, "b": 9}
    assert v.confidence is not None
    v = _judge(exp, _runs(_layer_spec("aif-L6", "aif-L6")))
    assert v.outcome == "not-reproduced" and "every task chose layer 6" in v.reason
    # dev picks different layers, but test shows no difference between them: not confirmed
    v = _judge(exp, _runs(_layer_spec("aif-L3", "aif-L9", gap=0.0, noise=0.01)))
    assert v.outcome == "inconclusive" and "not established" in v.reason
    # the test argmax alone (dev shows nothing) no longer decides: the old rule said reproduced here
    v = _judge(exp, _runs(_layer_spec("aif-L3", "aif-L9", dev_gap=0.0)))
    assert v.outcome != "reproduced"


GATE = 'candidates = ["aif-L3", "aif-L6", "aif-L9"]\ntasks = ["a", "b"]'


def _gate_spec(ga, gb, spread=0.05):
    spec = {}
    for task, g in (("a", ga), ("b", gb)):
        spec[task] = {arm: [{"test": 0.6, "dev": 0.8, "gate": g + 0.003 * k, "spread": spread} for k in (-1, 0, 1)]
                      for arm in ("aif-L3", "aif-L6", "aif-L9")}
    return spec


def test_gate_differs(tmp_path):
    exp = _exp(tmp_path, "gate-differs", GATE)
    assert _judge(exp, _runs(_gate_spec(0.30, 0.45))).outcome == "reproduced"
    assert _judge(exp, _runs(_gate_spec(0.40, 0.40))).outcome == "not-reproduced"
    assert _judge(exp, _runs(_gate_spec(0.30, 0.45, spread=0.001))).outcome == "not-reproduced"
