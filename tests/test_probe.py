"""Layer-wise bitext retrieval probe on a tiny random encoder, and its pre-registered decision rule."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from tests._layers_util import tiny_encoder, tiny_tokenizer, toy_bitext, single_thread  # noqa: E402,F401 (single_thread: autouse fixture)
from xlt_claims.experiments.probe import (  # noqa: E402
    _bootstrap_stats,
    format_probe_table,
    probe_layers,
    retrieval_correct,
)
from xlt_claims.verdict.layer_probe import decide_lower_layers  # noqa: E402


def test_retrieval_correct_identity_and_shuffle():
    x = torch.nn.functional.normalize(torch.randn(3, 10, 8), dim=-1)
    assert retrieval_correct(x, x).all()
    perm = torch.roll(torch.arange(10), 1)
    assert not retrieval_correct(x, x[:, perm]).any()


def _probe(pairs, layers=3):
    tok = tiny_tokenizer([t for v in pairs.values() for pr in v for t in pr])
    enc = tiny_encoder(len(tok.get_vocab()), layers=layers, hidden=32)
    return probe_layers("tiny-random", "toy", encoder=enc, tokenizer=tok, pairs=pairs, bootstrap_reps=200)


def test_probe_layout_every_layer_language_direction_and_script():
    pairs = toy_bitext(n=15, langs=("de", "ru"))
    # make "ru" Cyrillic text so that script grouping has two groups
    pairs["ru"] = [(e, t.replace("ru_", "ру_")) for e, t in pairs["ru"]]
    pairs["en_copy"] = [(e, e) for e, _ in pairs["de"]]
    m = _probe(pairs, layers=3)
    assert m["kind"] == "probe" and m["n_layers"] == 3 and m["layers"] == [0, 1, 2, 3]
    assert set(m["per_lang"]) == {"de", "ru", "en_copy"}
    for r in m["per_lang"].values():
        assert len(r["en2xx"]) == len(r["xx2en"]) == len(r["mean"]) == 4 and r["n"] == 15
    # identical text retrieves itself at every layer
    assert m["per_lang"]["en_copy"]["en2xx"] == [1.0] * 4 and m["per_lang"]["en_copy"]["xx2en"] == [1.0] * 4
    assert m["per_lang"]["ru"]["script"] == "Cyrillic" and m["per_lang"]["de"]["script"] == "Latin"
    assert set(m["per_script"]) == {"Cyrillic", "Latin"}
    assert len(m["avg"]) == 4 and 0 <= m["best_layer"] <= 3
    assert "d_lower_minus_last" in m["stats"]
    table = format_probe_table(m)
    assert "Cyrillic" in table and "ALL" in table


def test_identical_texts_give_no_lower_layer_advantage():
    pairs = {"xx": [(e, e) for e, _ in toy_bitext(n=12, langs=("de",))["de"]]}
    m = _probe(pairs, layers=4)
    v = decide_lower_layers(m)
    assert v["effect"] == 0 and v["outcome"] == "not-reproduced"


def _stats_from(correct_by_layer, n=200, langs=3):
    """Synthetic correctness: layer k correct with probability correct_by_layer[k]."""
    rng = np.random.default_rng(0)
    L = len(correct_by_layer) - 1
    corr = {f"l{i}": np.stack([np.stack([rng.random(n) < p for p in correct_by_layer])] * 2) for i in range(langs)}
    stats = _bootstrap_stats(corr, L, reps=300, seed=0)
    avg = [float(np.mean([c[:, k].mean() for c in corr.values()])) for k in range(L + 1)]
    return {"stats": stats, "avg": avg, "best_layer": int(np.argmax(avg)), "per_script": {}, "model": "m", "bitext": "b"}


@pytest.mark.parametrize(
    "profile,outcome",
    [
        ([0.1, 0.9, 0.9, 0.6, 0.5], "reproduced"),  # lower half (1,2) far above the last layer (4)
        ([0.1, 0.3, 0.4, 0.8, 0.9], "not-reproduced"),  # the last layer is best
        ([0.01, 0.02, 0.02, 0.02, 0.02], "invalid"),  # nothing retrieves
    ],
)
def test_decision_rule(profile, outcome):
    v = decide_lower_layers(_stats_from(profile))
    assert v["outcome"] == outcome, v


def test_partial_when_direction_holds_below_margin():
    n = 4000  # layers 1-2 right on exactly 1% more items than the last layer: D = 1 point, CI > 0
    base = np.zeros(n, dtype=bool)
    base[: n // 2] = True
    up = base.copy()
    up[n // 2 : n // 2 + n // 100] = True
    corr = {"x": np.stack([np.stack([base, up, up, base, base])] * 2)}
    m = {"stats": _bootstrap_stats(corr, 4, reps=300, seed=0), "avg": [0.5] * 5, "best_layer": 1, "per_script": {},
         "model": "m", "bitext": "b"}
    v = decide_lower_layers(m)
    assert v["effect"] == pytest.approx(1.0) and 0 < v["ci_low"] and v["ci_high"] < 2.0
    assert v["outcome"] == "partially-reproduced"


def test_inconclusive_when_ci_straddles_margin():
    n = 60
    rng = np.random.default_rng(3)
    base = rng.random(n) < 0.5
    up = base.copy()
    up[np.where(~base)[0][:2]] = True  # +3.3 points on 60 items: CI straddles both 0 and the margin
    corr = {"x": np.stack([np.stack([base, up, up, base, base])] * 2)}
    m = {"stats": _bootstrap_stats(corr, 4, reps=500, seed=0), "avg": [0.5] * 5, "best_layer": 1, "per_script": {},
         "model": "m", "bitext": "b"}
    v = decide_lower_layers(m)
    assert v["ci_low"] <= 0 < 2.0 < v["ci_high"]
    assert v["outcome"] == "inconclusive"
