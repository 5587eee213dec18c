"""The task-suite kind end to end: claims reproduce runs tasks x arms x seeds through the train loop,
stores one Run per unit, judges across tasks, and shares identical runs between experiments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from tests._reproduce_util import TRAIN_OVERRIDES, add_claim, make_task, make_tiny_model, run_and_judge  # noqa: E402
from tests._layers_util import single_thread  # noqa: E402,F401 (autouse fixture)
from xlt_claims.verdict.record import primary_verdict  # noqa: E402


def _suite_toml(name: str, rule_block: str, overrides: dict, params: str = "") -> str:
    ov = "\n".join(f"{k} = {json.dumps(v)}" for k, v in overrides.items() if v is not None)
    return f"""
name = "{name}"
kind = "task-suite"
description = "suite test {name}"
[match]
all = ['tiny layer fusion claim']
[task]
proxy = "file:a.json"
[model]
default = "MODEL"
claim = "bert-base-multilingual-cased"
[params]
tasks = ["file:a.json", "file:b.json"]
{params}
[[arms]]
name = "baseline"
[[arms]]
name = "dlfa-L0"
method = "dlfa"
params = {{ layer = 0 }}
[[arms]]
name = "aif-L1"
method = "aif"
params = {{ layer = 1, gate_items = 8 }}
[run]
seeds = [1, 2]
profile = "quick"
[run.overrides.quick]
{ov}
[decision]
{rule_block}
"""


@pytest.fixture
def suite_dir(tmp_path):
    model = make_tiny_model(tmp_path / "model")
    for name, seed in (("a", 0), ("b", 1)):
        p = make_task(tmp_path / f"{name}.json", n_train=48, n_test=24, seed=seed)
        d = json.loads(p.read_text())
        d["name"] = f"tiny-{name}"
        p.write_text(json.dumps(d))
    ov = {**TRAIN_OVERRIDES, "max_steps": 3, "eval_every": 3}
    # suite-gain names real counterparts that the quick profile skips (as report 004's suites skip PAWS-X):
    # the task files run at their positions, and the verdict states why
    skip = ('real_tasks = ["xquad", "pawsx"]\n[params.skip_real.quick]\nxquad = "xquad: not learned here"\n'
            'pawsx = "pawsx: not learned here"')
    (tmp_path / "s1.toml").write_text(_suite_toml(
        "suite-gain", 'rule = "best-gain"\nbaseline = "baseline"\ncandidates = ["dlfa-L0", "aif-L1"]\nmin_seeds = 2',
        ov, skip).replace("MODEL", model))
    (tmp_path / "s2.toml").write_text(_suite_toml(
        "suite-gate", 'rule = "gate-differs"\ncandidates = ["aif-L1"]\ntasks = ["tiny-a", "tiny-b"]\nmin_seeds = 2',
        ov).replace("MODEL", model))
    return tmp_path


def test_suite_runs_judges_and_shares_runs(store, suite_dir):
    from sqlmodel import select

    from xlt_claims.reproduce.registry import load_registry
    from xlt_claims.reproduce.runner import Options, reproduce
    from xlt_claims.store.models import Claim, Run, Verdict

    add_claim(store, "c1", "A tiny layer fusion claim: fusing a lower layer improves every task.")
    reg = load_registry([suite_dir])
    res = run_and_judge(store, reg, ["c1"], Options(device="cpu"))
    assert res.failed == 0
    with store.session() as s:
        runs = s.exec(select(Run).where(Run.status == "FINISHED")).all()
        arms = sorted({r.arm for r in runs})
        assert arms == ["tiny-a/aif-L1", "tiny-a/baseline", "tiny-a/dlfa-L0",
                        "tiny-b/aif-L1", "tiny-b/baseline", "tiny-b/dlfa-L0"]
        # 2 tasks x 3 arms x 2 seeds = 12 units per experiment; the second experiment copies the first's
        assert len(runs) == 24 and len([r for r in runs if r.reused_from]) == 12
        aif = [r for r in runs if r.arm.endswith("aif-L1")]
        assert all(r.metrics["fusion"]["mode"] == "aif" and "lower_weight_by_lang" in r.metrics["fusion"] for r in aif)
        assert all(r.config["kind"] == "task-suite" and r.manifest["suite"]["label_stats"]["num_labels"] == 2 for r in runs)
        verdicts = s.exec(select(Verdict).where(Verdict.claim_id == "c1")).all()
        by_exp = {v.experiment: v for v in verdicts}
        assert set(by_exp) == {"suite-gain", "suite-gate"}
        g = by_exp["suite-gain"]
        assert g.proxy is True and set(g.detail["per_task"]) == {"tiny-a", "tiny-b"}
        skipped = {d["paper"]: d for d in g.detail["differences"] if d["aspect"] == "benchmark"}
        assert {p: (d["ours"], d["why"]) for p, d in skipped.items()} == {
            "XQuAD": ("tiny-a (proxy) in the quick profile, XQuAD not run", "xquad: not learned here"),
            "PAWS-X": ("tiny-b (proxy) in the quick profile, PAWS-X not run", "pawsx: not learned here")}
        assert [b["note"] for b in g.detail["benchmarks"]] == ["xquad: not learned here", "pawsx: not learned here"]
        assert not [d for d in by_exp["suite-gate"].detail["differences"] if d["aspect"] == "benchmark"]
        # the claim is about every task: the verdict is the documented conjunction of the per-task outcomes
        per_task = set(g.detail["task_outcomes"].values())
        assert g.detail["task_outcomes"].keys() == {"tiny-a", "tiny-b"}
        expected = ("not-reproduced" if "not-reproduced" in per_task else "invalid" if "invalid" in per_task
                    else "reproduced" if per_task == {"reproduced"}
                    else "partially-reproduced" if per_task <= {"reproduced", "partially-reproduced"}
                    else "inconclusive")
        assert g.outcome == expected
        # the claim's status is the primary verdict's of its two experiments
        assert s.get(Claim, "c1").status == primary_verdict(list(by_exp.values())).outcome
    assert res.ran == 12 and res.reused == 12

    # running again: nothing re-runs
    res2 = run_and_judge(store, reg, ["c1"], Options(device="cpu"))
    assert res2.ran == 0 and res2.reused == 24
