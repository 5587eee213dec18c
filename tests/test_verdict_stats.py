"""Verdict statistics, decision rule, guards and the Bayesian confidence update (pure, fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlt_claims.verdict import confidence as conf
from xlt_claims.reproduce.guards import chance_margin, check_run, metric_chance
from xlt_claims.stats import holm, paired_by_language, paired_effect, seeds_needed
from xlt_claims.verdict.decision import decide


def test_paired_effect_interval_is_at_least_student_t():
    e = paired_effect([1.0, 2.0, 3.0], alpha=0.05)
    assert e.mean == pytest.approx(2.0)
    assert e.sd == pytest.approx(1.0)
    # t(0.975, 2) = 4.303: the interval must be at least that wide at n = 3
    assert e.ci_low <= 2.0 - 4.30 / math.sqrt(3) + 1e-6
    assert e.ci_high >= 2.0 + 4.30 / math.sqrt(3) - 1e-6
    assert e.boot_ci[0] >= e.ci_low and e.boot_ci[1] <= e.ci_high
    # three differences: the percentile bootstrap lies inside [min, max], always inside the t interval
    assert e.ci_method == "student-t" and (e.ci_low, e.ci_high) == e.t_ci
    big = paired_effect(list(np.random.default_rng(0).normal(1.0, 1.0, 200)))
    assert big.ci_low < 1.0 < big.ci_high
    # many seeds: each end is the wider of the two intervals, and the label names where each end came from
    assert (big.ci_low, big.ci_high) == (min(big.boot_ci[0], big.t_ci[0]), max(big.boot_ci[1], big.t_ci[1]))
    from_boot = (big.ci_low == big.boot_ci[0], big.ci_high == big.boot_ci[1])
    assert big.ci_method == {(True, True): "bootstrap", (False, False): "student-t"}.get(from_boot, "bootstrap+t")


def test_sd_floor_prevents_zero_width_interval():
    e = paired_effect([2.0, 2.0, 2.0], sd_floor=1.0)
    assert e.ci_high - e.ci_low > 1.0
    assert e.p_two_sided is not None and e.p_two_sided > 0


@pytest.mark.parametrize("diffs,bar,want", [
    ([3.0, 3.2, 2.9], 1.0, "reproduced"),
    ([0.4, 0.5, 0.45], 1.0, "partially-reproduced"),
    ([0.0, 0.1, -0.1], 1.0, "not-reproduced"),
    ([-2.0, -2.1, -1.9], 1.0, "not-reproduced"),
    ([-3.0, 4.0, 1.0], 1.0, "inconclusive"),
    ([2.0], 1.0, "inconclusive"),
])
def test_decide(diffs, bar, want):
    assert decide(paired_effect(diffs, sd_floor=0.01), bar)[0] == want


def test_identical_arms_never_reproduced():
    for bar in (0.01, 0.5, 2.1):
        for n in (2, 3, 5, 10):
            out, _ = decide(paired_effect([0.0] * n, sd_floor=0.0), bar)
            assert out != "reproduced"
    with pytest.raises(ValueError):
        decide(paired_effect([0.0, 0.0]), 0.0)


def test_null_effect_rarely_reproduced():
    rng = np.random.default_rng(1)
    hits = sum(decide(paired_effect(rng.normal(0, 2.0, 3), n_boot=200), 1.0)[0] == "reproduced" for _ in range(400))
    assert hits / 400 <= 0.025 + 0.02


def test_seeds_needed():
    e = paired_effect([1.5, -0.5, 2.5])
    out, _ = decide(e, 1.0)
    assert out == "inconclusive"
    s = seeds_needed(e, 1.0)
    assert s["more_seeds"] is not None and s["more_seeds"] >= 1 and s["total_seeds"] == 3 + s["more_seeds"]
    assert "seed" in s["note"]
    assert seeds_needed(paired_effect([1.0]), 1.0)["more_seeds"] is None
    # a null effect with a large spread against a small bar cannot be settled cheaply
    far = seeds_needed(paired_effect([2.0, -2.0, 0.0]), 0.5, max_seeds=8)
    assert far["more_seeds"] is None and "more than" in far["note"]


def test_holm():
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])
    assert holm([]) == []


def test_per_language_holm_and_signs():
    base = [{"test": {"de": {"accuracy": 0.50 + 0.01 * s, "n": 500}, "fr": {"accuracy": 0.6, "n": 500}}} for s in range(3)]
    treat = [{"test": {"de": {"accuracy": 0.60 + 0.011 * s, "n": 500}, "fr": {"accuracy": 0.6, "n": 500}}} for s in range(3)]
    rows = paired_by_language(base, treat, split="test", measure="accuracy", sign=1, scale=100, alpha=0.05,
                        scripts={"de": "Latin", "fr": "Latin"})
    by = {r.key: r for r in rows}
    assert by["de"].effect == pytest.approx(10.1, abs=0.05) and by["de"].significant == "+"
    assert by["fr"].effect == 0 and by["fr"].significant is None
    assert by["de"].p_holm >= by["de"].p


def test_confidence_update_direction_and_proxy_tempering():
    pri = conf.prior(0.5, None)
    assert pri["prior"] == pytest.approx(0.5)
    assert conf.prior(0.5, "supported-by-source")["prior"] > 0.5 > conf.prior(0.5, "contradicted-by-source")["prior"]
    hit = paired_effect([2.0, 2.2, 1.9], sd_floor=0.1)
    miss = paired_effect([0.0, 0.1, -0.1], sd_floor=0.1)
    bf_hit = conf.bayes_factor(hit, 2.0)
    bf_miss = conf.bayes_factor(miss, 2.0)
    assert bf_hit["bf"] > 1 > bf_miss["bf"]
    own = conf.update(pri, bf_hit, conf.evidence_weight(False, False))["posterior"]
    proxy = conf.update(pri, bf_hit, conf.evidence_weight(True, True))["posterior"]
    assert own > proxy > 0.5
    down_own = conf.update(pri, bf_miss, conf.evidence_weight(False, False))["posterior"]
    down_proxy = conf.update(pri, bf_miss, conf.evidence_weight(True, False))["posterior"]
    assert down_own < down_proxy < 0.5
    assert conf.CLIP[0] <= down_own and own <= conf.CLIP[1]
    assert conf.bayes_factor(paired_effect([1.0]), 2.0)["bf"] == 1.0  # one seed: no update
    # an effect far in the WRONG direction, measured precisely, is evidence against the claim
    # (a point null at 0 would count it for the claim: -8 is even less likely under delta = 0)
    wrong = paired_effect([-8.0, -8.2, -7.9], sd_floor=0.1)
    assert conf.bayes_factor(wrong, 2.0)["bf"] < 1
    assert conf.bayes_factor(wrong, 2.0)["log_bf"] <= conf.bayes_factor(miss, 2.0)["log_bf"]


def test_guards():
    stats = {"task_type": "classification", "num_labels": 2, "dev": {"en": {"n": 100, "majority": 0.5}},
             "test": {"en": {"n": 200, "majority": 0.5}, "de": {"n": 200, "majority": 0.6}}}
    good = {"test": {"en": {"accuracy": 0.8, "n": 200}}, "collapsed": False}
    assert check_run(good, stats)["valid"]
    chance = {"test": {"en": {"accuracy": 0.52, "n": 200}}, "collapsed": False}
    g = check_run(chance, stats)
    assert not g["valid"] and "at chance" in g["reasons"][0]
    col = {"test": {"en": {"accuracy": 0.8, "n": 200}}, "collapsed": True}
    assert not check_run(col, stats)["valid"]
    assert not check_run(None, stats)["valid"]
    assert metric_chance(stats, "test:nonen:accuracy") == pytest.approx(0.6)
    assert metric_chance(stats, "summary.test_avg") is None
    # ROC-AUC: chance is 0.5 whatever the label balance; the margin is 2 Hanley-McNeil null SEs
    assert metric_chance(stats, "test:nonen:auc") == 0.5 and metric_chance(stats, "test:zz:auc") is None
    n1, n0 = 0.6 * 200, 0.4 * 200
    assert chance_margin(stats, "test:nonen:auc", 0.5, 200) == pytest.approx(2 * np.sqrt(201 / (12 * n1 * n0)))
    assert chance_margin(stats, "test:nonen:accuracy", 0.6, 200) == pytest.approx(2 * np.sqrt(0.6 * 0.4 / 200))
    assert chance_margin(stats, "test:nonen:auc", 0.5, 10**6) == 0.01  # never below one point


def test_primary_verdict_order():
    """Core before extended, own data before proxy, decided before inconclusive before invalid, and
    between decided verdicts that disagree, the least supportive one (whatever the order they came in)."""
    from xlt_claims.store.models import Verdict
    from xlt_claims.verdict.record import primary_verdict

    def v(i, outcome, proxy=True, tier="core", seeds=3):
        return Verdict(id=i, claim_id="c", experiment=f"e{i}", outcome=outcome, proxy=proxy, metric="m",
                       n_seeds=seeds, run_ids=[], detail={"tier": tier})

    assert primary_verdict([]) is None
    assert primary_verdict([v(1, "invalid"), v(2, "inconclusive")]).id == 2
    assert primary_verdict([v(1, "inconclusive"), v(2, "reproduced", tier="extended")]).id == 1
    assert primary_verdict([v(1, "reproduced"), v(2, "inconclusive", proxy=False)]).id == 2
    for order in ((1, 2, 3), (3, 2, 1), (2, 3, 1)):
        vs = {1: v(1, "reproduced"), 2: v(2, "not-reproduced"), 3: v(3, "partially-reproduced")}
        assert primary_verdict([vs[i] for i in order]).outcome == "not-reproduced"
    assert primary_verdict([v(1, "reproduced"), v(2, "partially-reproduced")]).outcome == "partially-reproduced"
    assert primary_verdict([v(1, "reproduced", seeds=5), v(2, "reproduced")]).id == 1
