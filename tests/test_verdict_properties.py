"""Properties of the one judging path, over random inputs (hypothesis), and the paired decisions against
an independent implementation (scipy.stats)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from xlt_claims.reproduce.registry import parse_experiment
from xlt_claims.stats import paired_effect
from xlt_claims.store.models import Run
from xlt_claims.verdict import confidence as conf
from xlt_claims.verdict.decision import decide
from xlt_claims.verdict.template import judge

# --- against scipy.stats ------------------------------------------------------------------------------


def _scipy_decision(diffs: np.ndarray, bar: float, alpha: float) -> tuple[str, float, float, float]:
    res = sps.ttest_1samp(diffs, 0.0)
    lo, hi = res.confidence_interval(1 - alpha)
    m = float(np.mean(diffs))
    if lo > 0:
        out = "reproduced" if m >= bar else "partially-reproduced"
    elif hi < bar:
        out = "not-reproduced"
    else:
        out = "inconclusive"
    return out, float(lo), float(hi), float(res.pvalue)


def test_paired_decisions_agree_with_scipy_on_random_arrays():
    rng = np.random.default_rng(20261202)
    checked = 0
    for _ in range(600):
        n = int(rng.integers(2, 12))
        diffs = rng.normal(rng.normal(1.0, 2.0), rng.uniform(0.2, 4.0), n)
        bar = float(rng.uniform(0.2, 3.0))
        alpha = float(rng.choice([0.05, 0.01, 0.0167]))
        eff = paired_effect(diffs, alpha=alpha)
        want, lo, hi, p = _scipy_decision(diffs, bar, alpha)
        assert eff.ci_low == pytest.approx(lo, rel=1e-9, abs=1e-9) and eff.ci_high == pytest.approx(hi, rel=1e-9, abs=1e-9)
        assert eff.p_two_sided == pytest.approx(p, rel=1e-7, abs=1e-12)
        assert decide(eff, bar)[0] == want
        checked += 1
    assert checked == 600


# --- status and confidence move together; confidence is always finite ---------------------------------

_TOML = """
name = "prop"
description = "property test"
[match]
all = ['x']
[task]
proxy = "logt-pair"
[model]
claim = "{claim_model}"
[[arms]]
name = "baseline"
[[arms]]
name = "treatment"
[decision]
baseline = "baseline"
treatment = "treatment"
metric = "test:nonen:accuracy"
{claimed}
min_effect = {min_effect}
magnitude_fraction = {fraction}
"""


def _run(i: int, acc: float, en: float = 0.8) -> Run:
    stats = {"task_type": "classification", "num_labels": 2, "test": {"de": {"n": 300, "majority": 0.5},
                                                                     "en": {"n": 300, "majority": 0.5}},
             "dev": {"en": {"n": 300, "majority": 0.5}}}
    return Run(id=i, experiment="prop", arm="x", seed=1, config_hash=f"h{i}", manifest={"label_stats": stats},
               metrics={"test": {"en": {"accuracy": en, "n": 300}, "de": {"accuracy": acc, "n": 300}},
                        "dev": {"en": {"accuracy": en, "n": 300}}})


_exp_cache: dict = {}


def _experiment(tmp, claimed, min_effect, fraction, other_model):
    key = (claimed, min_effect, fraction, other_model)
    if key not in _exp_cache:
        p = tmp / f"prop{len(_exp_cache)}.toml"
        p.write_text(_TOML.format(claim_model="bert-base-multilingual-cased" if other_model else "offline:m",
                                  claimed=f"claimed = {claimed}" if claimed else "", min_effect=min_effect,
                                  fraction=fraction))
        _exp_cache[key] = parse_experiment(p)
    return _exp_cache[key]


DIRECTION = {"reproduced": 1, "partially-reproduced": -1, "not-reproduced": -1}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.lists(st.floats(0.55, 0.9), min_size=1, max_size=8),
    delta=st.lists(st.floats(-0.15, 0.15), min_size=8, max_size=8),
    baseline_en=st.lists(st.sampled_from([0.8, 0.8, 0.8, 0.5]), min_size=8, max_size=8),
    claimed=st.sampled_from([None, 0.5, 2.1, 6.0]),
    min_effect=st.sampled_from([0.5, 1.0, 3.0]),
    fraction=st.sampled_from([0.25, 0.5, 1.0]),
    report_conf=st.one_of(st.none(), st.floats(0.0, 1.0), st.just(float("nan"))),
    text=st.sampled_from([None, "supported-by-source", "contradicted-by-source", "not-in-cited-sources"]),
    other_model=st.booleans(), proxy_data=st.booleans(), profile=st.sampled_from(["quick", "paper"]),
)
def test_status_and_confidence_never_move_apart(tmp_path, base, delta, baseline_en, claimed, min_effect, fraction,
                                                report_conf, text, other_model, proxy_data, profile):
    exp = _experiment(tmp_path, claimed, min_effect, fraction, other_model)
    runs = {"baseline": {}, "treatment": {}}
    for s, b in enumerate(base, 1):
        runs["baseline"][s] = _run(2 * s, b, en=baseline_en[s - 1])
        runs["treatment"][s] = _run(2 * s + 1, min(1.0, max(0.0, b + delta[s - 1])))
    claim = SimpleNamespace(report_confidence=report_conf, text_verdict=text, model=None, value=None, text="")
    res = judge(exp, claim, runs, proxy_data=proxy_data, model="offline:m", profile=profile)
    if res.confidence is None:
        assert res.outcome in ("invalid", "inconclusive")
        return
    assert math.isfinite(res.confidence) and 0 < res.confidence < 1
    prior = res.detail["bayes"]["prior"]["prior"]
    direction = DIRECTION.get(res.outcome)
    if res.outcome == "invalid":
        pytest.fail("an invalid verdict must not change confidence")
    if direction == 1:
        assert res.confidence >= min(prior, conf.CLIP[1]) - 1e-12
    elif direction == -1:
        assert res.confidence <= max(prior, conf.CLIP[0]) + 1e-12


@settings(max_examples=300, deadline=None)
@given(
    ds=st.lists(st.one_of(st.floats(-50, 50), st.sampled_from([math.nan, math.inf, -math.inf])), min_size=1, max_size=5),
    ses=st.lists(st.one_of(st.floats(0, 50), st.sampled_from([math.nan, math.inf])), min_size=5, max_size=5),
    mu1=st.floats(1e-6, 20), how=st.sampled_from(["single", "all", "any"]),
    outcome=st.sampled_from(["reproduced", "partially-reproduced", "not-reproduced", "inconclusive", "invalid"]),
    w=st.floats(0.01, 1.0), report_conf=st.one_of(st.none(), st.floats(0, 1)),
    two_sided=st.booleans(), df=st.one_of(st.none(), st.integers(1, 30)),
)
def test_confidence_is_finite_for_every_input(ds, ses, mu1, how, outcome, w, report_conf, two_sided, df):
    parts = [conf.log_lr(conf.Component(f"c{i}", d, ses[i], mu1, df=df, two_sided=two_sided)) for i, d in enumerate(ds)]
    lik = conf.likelihood_for(outcome, parts, how)
    post = conf.update(conf.prior(report_conf, None), lik, {"w": w})["posterior"]
    assert math.isfinite(post) and conf.CLIP[0] <= post <= conf.CLIP[1]
    assert math.isfinite(lik["log_lr"])
