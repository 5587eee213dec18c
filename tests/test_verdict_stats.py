"""Verdict statistics, decision rule, guards and the Bayesian confidence update (pure, fast)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlt_claims.verdict import confidence as conf
from xlt_claims.reproduce.guards import chance_margin, check_run, metric_chance
from xlt_claims.stats import holm, paired_by_language, paired_effect, seeds_needed
from xlt_claims.verdict.decision import decide


def test_paired_effect_interval_is_student_t_and_says_so():
    e = paired_effect([1.0, 2.0, 3.0], alpha=0.05)
    assert e.mean == pytest.approx(2.0)
    assert e.sd == pytest.approx(1.0)
    # t(0.975, 2) = 4.303: the interval over 3 seeds
    assert e.ci_low == pytest.approx(2.0 - 4.3027 / math.sqrt(3), abs=1e-3)
    assert e.ci_high == pytest.approx(2.0 + 4.3027 / math.sqrt(3), abs=1e-3)
    assert e.ci_method == "Student-t 95%, 3 seeds" and e.df == 2
    floored = paired_effect([2.0, 2.0, 2.0], sd_floor=0.5)
    assert floored.ci_method == "Student-t 95%, 3 seeds, sd floored at one test item"
    one = paired_effect([1.0])
    assert one.se == math.inf and one.ci_low == -math.inf and "one seed" in one.ci_method and one.df is None


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
    hits = sum(decide(paired_effect(rng.normal(0, 2.0, 3)), 1.0)[0] == "reproduced" for _ in range(400))
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


def _lr(d, se, mu1=2.0, **kw):
    return conf.log_lr(conf.Component("e", d, se, mu1, **kw))["log_lr"]


def test_likelihood_is_magnitude_aware():
    # a precise effect far below the claimed size counts against the claim; the claimed size for it
    assert _lr(0.3, 0.05, mu1=2.1) < 0 < _lr(2.1, 0.3, mu1=2.1)
    # an exact half of the claim says nothing either way; the wrong direction counts against
    assert _lr(1.05, 0.3, mu1=2.1) == pytest.approx(0.0, abs=1e-9)
    assert _lr(-8.0, 0.2) < 0
    # fewer seeds, wider: the same mean and se moves less with 3 seeds than with many
    assert 0 < _lr(2.0, 1.0, df=2) < _lr(2.0, 1.0)
    # no standard error (one seed) or nothing finite: exactly no information, never NaN
    for se in (math.inf, math.nan, 0.0):
        assert _lr(2.0, se) == 0.0
    assert _lr(math.nan, 1.0) == 0.0
    # a claimed range: inside it supports, far below it counts against
    assert _lr(2.0, 0.3, claimed_range=(1.0, 3.0)) > 0 > _lr(0.1, 0.3, claimed_range=(1.0, 3.0))
    # no direction claimed: +-mu1 are the same evidence
    assert _lr(2.0, 0.5, two_sided=True) == pytest.approx(_lr(-2.0, 0.5, two_sided=True))


def test_conjunction_uses_the_weakest_task_and_the_update_follows_the_status():
    """Issue 18 #5: one task at +3.0 +- 0.3 and one at 0.0 +- 0.2 give not-reproduced; confidence must fall."""
    parts = [conf.log_lr(conf.Component("a", 3.0, 0.3, 2.0)), conf.log_lr(conf.Component("b", 0.0, 0.2, 2.0))]
    lik = conf.likelihood_for("not-reproduced", parts, "all")
    assert lik["log_lr"] < 0 and lik["log_lr"] == pytest.approx(parts[1]["log_lr"])
    pri = conf.prior(0.5, None)
    w = conf.evidence_weight([])
    assert conf.update(pri, lik, w)["posterior"] < pri["prior"]
    # a likelihood against the status is held at 0 and says so
    held = conf.likelihood_for("reproduced", [parts[1]], "single")
    assert held["log_lr"] == 0.0 and "held_to_status" in held
    assert conf.likelihood_for("invalid", [parts[0]], "single")["log_lr"] == 0.0


def test_differences_weigh_the_evidence_and_files_refine_them():
    from types import SimpleNamespace

    exp = SimpleNamespace(task=SimpleNamespace(claim_dataset="PAWS-X"), differences=[
        {"aspect": "model", "weight": 0.1, "why": "contrastive encoder"},
        {"aspect": "method source", "weight": 0.7, "why": "from the abstract", "paper": "p", "ours": "o"}])
    diffs = conf.differences(exp, proxy_data=True, data_label="proxy benchmark", model="e5", claim_model="mbert",
                             profile="quick", loader=[{"aspect": "training data", "paper": "PAWS-X train", "ours": "wiki"}])
    by = {d.aspect: d for d in diffs}
    assert by["data"].weight == 0.5 and by["model"].weight == 0.1 and by["model"].source == "experiment file"
    assert by["recipe"].weight == 0.8 and by["method source"].weight == 0.7 and by["training data"].weight == 0.8
    assert conf.evidence_weight(diffs)["w"] == pytest.approx(0.5 * 0.1 * 0.8 * 0.8 * 0.7)
    # the claim's own model: the file's model statement does not apply
    own = conf.differences(exp, proxy_data=False, data_label="x", model="mbert", claim_model="mbert", profile="paper")
    assert [d.aspect for d in own] == ["method source"]
    assert conf.proxy_reasons(diffs) == ["proxy benchmark instead of the claim's data", "model e5 instead of the claim's mbert"]


def test_confidence_update_direction_and_tempering():
    pri = conf.prior(0.5, None)
    assert pri["prior"] == pytest.approx(0.5)
    assert conf.prior(0.5, "supported-by-source")["prior"] > 0.5 > conf.prior(0.5, "contradicted-by-source")["prior"]
    hit = conf.likelihood_for("reproduced", [conf.log_lr(conf.Component("e", 2.0, 0.2, 2.0, df=2))], "single")
    miss = conf.likelihood_for("not-reproduced", [conf.log_lr(conf.Component("e", 0.0, 0.2, 2.0, df=2))], "single")
    strong, weak = conf.evidence_weight([]), {"w": 0.25}
    own, proxy = conf.update(pri, hit, strong)["posterior"], conf.update(pri, hit, weak)["posterior"]
    assert own > proxy > 0.5
    down_own, down_proxy = conf.update(pri, miss, strong)["posterior"], conf.update(pri, miss, weak)["posterior"]
    assert down_own < down_proxy < 0.5
    assert conf.CLIP[0] <= down_own and own <= conf.CLIP[1]
    assert conf.prior(float("nan"), None)["prior"] == pytest.approx(0.5)


def test_guards():
    stats = {"task_type": "classification", "num_labels": 2, "dev": {"en": {"n": 100, "majority": 0.5}},
             "test": {"en": {"n": 200, "majority": 0.5}, "de": {"n": 200, "majority": 0.6}}}
    good = {"test": {"en": {"accuracy": 0.8, "n": 200}}, "collapsed": False}
    assert check_run(good, stats)["valid"]
    chance = {"test": {"en": {"accuracy": 0.52, "n": 200}}, "collapsed": False}
    g = check_run(chance, stats)
    assert not g["valid"] and "at chance" in g["reasons"][0]
    # the larger English sample decides (issue 18 #6): 100-item test at chance, 400-item dev clearly above
    both = {"test": {"en": {"accuracy": 0.55, "n": 100}}, "dev": {"en": {"accuracy": 0.70, "n": 400}}, "collapsed": False}
    g = check_run(both, stats)
    assert g["valid"] and g["checks"]["english"]["split"] == "dev"
    # span extraction has a floor too: English F1 (points) at or below 10 learned nothing
    span = {"task_type": "span-extraction"}
    assert not check_run({"test": {"en": {"f1": 4.0, "em": 1.0, "n": 100}}}, span)["valid"]
    assert check_run({"test": {"en": {"f1": 61.0, "em": 45.0, "n": 100}}}, span)["valid"]
    # a span run's answer statistics are not a label table (846 distinct answers is no collapse)
    ok_span = {"test": {"en": {"f1": 36.7, "em": 28.0, "n": 100}}, "collapsed": False,
               "pred_label_dist": {"empty_answer_share": 0.0, "distinct_answers": 846}}
    assert check_run(ok_span, span)["valid"]
    assert not check_run({**ok_span, "collapsed": True}, span)["valid"]
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
