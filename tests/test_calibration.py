"""A fast subset of the rule calibration harness (benchmarks/bench_rules.py): every rule type, through the
real judging code on the shipped experiment files, at the seed count the experiments use (3), under no
effect and under the claimed effect. Issue 18's targets: P(reproduced | no effect) <= 5% and
P(not-reproduced | claimed effect real) <= 10% (plus a Monte Carlo margin of 3 standard errors here;
the benchmark runs more simulations)."""

from __future__ import annotations

import math
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_rules as B  # noqa: E402

SIMS = 300
CASES = [c for c in B.cases() if c.truth in ("no effect", "claimed")]


@pytest.fixture(scope="module")
def registry():
    return B.load_registry()


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    import xlt_claims.verdict.paired as paired
    import xlt_claims.verdict.task_suite as suite

    no_estimate = lambda *a, **k: {"more_seeds": None}  # noqa: E731 - advice only, never a decision
    monkeypatch.setattr(paired, "seeds_needed", no_estimate)
    monkeypatch.setattr(suite, "seeds_needed", no_estimate)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rule} | {c.truth}")
def test_rule_meets_its_error_targets_at_three_seeds(registry, case):
    p = B.calibrate(registry, case, 1 if case.rule.startswith("probe") else 3, SIMS, seed=7)
    if case.truth == "no effect":
        target, got = 0.05, p["reproduced"]
    else:
        target, got = 0.10, p["not-reproduced"]
    margin = 3 * math.sqrt(target * (1 - target) / SIMS)
    assert got <= target + margin, (case.rule, case.truth, p)


def test_sequential_looks_keep_the_false_positive_rate(registry):
    case = next(c for c in B.cases() if c.rule.startswith("paired, claimed") and c.truth == "no effect")
    p = B.sequential(registry, case, [3, 6, 10], 300, spend=True, seed=3)
    assert p["reproduced"] <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 300)


def test_one_collapsed_baseline_run_never_makes_a_verdict_invalid(registry):
    """Issue 18 #10: a run that collapses on one machine only asks for seeds; it is not a verdict."""
    for case in [c for c in B.cases() if c.rule.startswith(("paired", "best-gain")) and c.truth == "claimed"]:
        assert B.stability(registry, case, 3, 40, drift=0.5)["collapse_invalid"] == 0.0, case.rule
