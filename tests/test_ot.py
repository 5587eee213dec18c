"""OT alignment (GeomLoss debiased Sinkhorn + L2 anchor) on a tiny random encoder."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("geomloss")

from tests._layers_util import tiny_encoder, tiny_tokenizer, toy_bitext, single_thread  # noqa: E402,F401 (single_thread: autouse fixture)
from xlt_claims.experiments.methods.ot import (  # noqa: E402
    AlignConfig,
    OTAlign,
    align_encoder,
    epsilon_of,
    sinkhorn_divergence,
    word_index,
)


def test_divergence_is_zero_for_identical_clouds_and_positive_otherwise():
    torch.manual_seed(0)
    x = torch.randn(7, 16)
    assert float(sinkhorn_divergence(x, x.clone(), blur=0.05)) == pytest.approx(0.0, abs=1e-4)
    assert float(sinkhorn_divergence(x, x[torch.randperm(7)], blur=0.05)) == pytest.approx(0.0, abs=1e-4)
    y = torch.randn(5, 16) + 1.0
    assert float(sinkhorn_divergence(x, y, blur=0.05)) > 1.0


def test_batched_with_padding_equals_per_pair():
    torch.manual_seed(1)
    x = torch.randn(3, 6, 8)
    y = torch.randn(3, 4, 8)
    mx = torch.ones(3, 6)
    mx[1, 4:] = 0
    my = torch.ones(3, 4)
    my[2, 2:] = 0
    batched = sinkhorn_divergence(x, y, mx, my, blur=0.1)
    single = torch.stack([sinkhorn_divergence(x[i][mx[i] > 0], y[i][my[i] > 0], blur=0.1) for i in range(3)])
    assert torch.allclose(batched, single, rtol=1e-4, atol=1e-4)


def test_larger_blur_is_smaller_divergence_and_epsilon_recorded():
    torch.manual_seed(2)
    x, y = torch.randn(8, 4), torch.randn(8, 4) + 0.5
    vals = [float(sinkhorn_divergence(x, y, blur=b)) for b in (0.05, 0.5, 2.0, 8.0)]
    assert vals == sorted(vals, reverse=True)
    assert epsilon_of(0.05) == pytest.approx(0.0025)
    assert epsilon_of(0.5, p=1) == pytest.approx(0.5)


def test_word_index_last_subword_and_prefix():
    # "query:" (word 0) + words 1 (2 pieces) and 2 (3 pieces); None = special tokens
    ids = [None, 0, 0, 1, 1, 2, 2, 2, None, None]
    assert word_index(ids, skip_words=1, level="word") == [4, 7]
    assert word_index(ids, skip_words=0, level="word") == [2, 4, 7]
    assert word_index(ids, skip_words=1, level="subword") == [3, 4, 5, 6, 7]
    with pytest.raises(ValueError):
        word_index(ids, level="char")


def _setup(seed=0):
    pairs = toy_bitext(n=30, langs=("de", "ru"))
    tok = tiny_tokenizer([t for v in pairs.values() for pr in v for t in pr])
    enc = tiny_encoder(len(tok.get_vocab()), layers=2, hidden=32, seed=seed)
    return pairs, tok, enc


def test_alignment_decreases_ot_on_aligned_pairs_and_anchor_holds_english():
    pairs, tok, enc = _setup()
    en_probe = tok(["item1 alpha1 beta1 gamma"], return_tensors="pt")
    with torch.no_grad():
        before = enc(**en_probe).last_hidden_state.clone()
    cfg = AlignConfig(blur=0.5, lr=2e-3, steps=40, batch_size=8, max_pairs_per_lang=None, heldout_pairs=6, lam=1.0,
                      precision="fp32")
    st = align_encoder(enc, tok, pairs, cfg)
    assert st.steps == 40 and st.languages == ["de", "ru"]
    assert st.ot_last < 0.5 * st.ot_first
    # held-out pairs (never trained on) are better aligned too
    assert st.heldout_after < st.heldout_before
    assert st.config["swept"] == "blur" and st.config["epsilon"] == pytest.approx(0.25)
    with torch.no_grad():
        after = enc(**en_probe).last_hidden_state
    moved_anchored = float((after - before).pow(2).sum(-1).mean())

    # without the anchor, English representations move further
    pairs, tok, enc2 = _setup()
    cfg0 = AlignConfig(blur=0.5, lr=2e-3, steps=40, batch_size=8, max_pairs_per_lang=None, heldout_pairs=6, lam=0.0,
                       precision="fp32")
    align_encoder(enc2, tok, pairs, cfg0)
    with torch.no_grad():
        moved_free = float((enc2(**en_probe).last_hidden_state - before).pow(2).sum(-1).mean())
    assert moved_anchored < moved_free


def test_method_records_swept_quantity():
    m = OTAlign(blur=2.0)
    d = m.describe()
    assert d["swept"] == "blur" and d["blur"] == 2.0 and d["epsilon"] == pytest.approx(4.0) and d["p"] == 2
    cfg = m.align_config(profile="quick", seed=3)
    assert cfg.blur == 2.0 and cfg.seed == 3 and cfg.steps is not None
    assert m.extra_metrics()["ot"] == {"swept": "blur", "blur": 2.0, "epsilon": 4.0, "p": 2}
    assert OTAlign(blur=0.05).describe()["epsilon"] == pytest.approx(0.0025)


def test_ot_method_on_the_shared_loop_records_sweep_and_reuses_alignment(monkeypatch, tmp_path):
    import xlt_claims.experiments.data as data
    from tests._layers_util import TINY_OVERRIDES, tiny_task, tiny_task_texts
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    monkeypatch.setenv("XLT_CLAIMS_CACHE", str(tmp_path))
    task = tiny_task()
    pairs = {"de": [(e.text, d.text) for e, d in zip(task.test["en"], task.test["de"])] * 3}
    monkeypatch.setattr(data, "load_bitext", lambda name, langs=None: pairs)
    tok = tiny_tokenizer(tiny_task_texts(task))

    def run(blur, task_obj):
        enc = tiny_encoder(len(tok.get_vocab()), layers=2, hidden=32, seed=0)
        m = get_method("ot-align", blur=blur, steps=3, batch_size=4, heldout_pairs=2)
        spec = RunSpec(model="tiny", seed=1, device="cpu", overrides={**TINY_OVERRIDES, "freeze_word_embeddings": True})
        res = train_and_evaluate(spec, task_obj, m, progress=False, encoder=enc, tokenizer=tok)
        return res, enc

    res, enc1 = run(0.5, task)
    ot = res.metrics["ot"]
    assert ot["swept"] == "blur" and ot["blur"] == 0.5 and ot["epsilon"] == pytest.approx(0.25) and ot["p"] == 2
    assert ot["steps"] == 3 and ot["cache_hit"] is False and ot["config"]["freeze_word_embeddings"] is True
    assert ot["languages"] == ["de"] and ot["heldout_before"] is not None
    assert res.manifest["method"]["swept"] == "blur" and res.manifest["method"]["epsilon"] == pytest.approx(0.25)

    # the same alignment for another task of the sweep comes from the cache, bit-identical
    other = tiny_task("pair-classification")
    res2, _ = run(0.5, other)
    assert res2.metrics["ot"]["cache_hit"] is True and res2.metrics["ot"]["cache_key"] == ot["cache_key"]
    assert res2.metrics["ot"]["ot_first"] == ot["ot_first"]
    # a different blur is a different alignment
    res3, _ = run(2.0, task)
    assert res3.metrics["ot"]["cache_hit"] is False and res3.metrics["ot"]["epsilon"] == pytest.approx(4.0)


def test_ot_sweep_table_from_stored_runs(store):
    from xlt_claims.report.research import format_ot_table, ot_sweep_table
    from xlt_claims.store.models import Run

    def metrics(acc, blur=None):
        m = {"summary": {"test_avg_nonen": acc}}
        if blur is not None:
            m["ot"] = {"swept": "blur", "blur": blur, "epsilon": blur**2, "p": 2, "heldout_before": 3.0,
                       "heldout_after": 2.0, "heldout_ref_before": 3.5, "heldout_ref_after": 2.5, "steps": 40,
                       "wall_s": 30.0, "cache_hit": False}
        return m

    with store.session() as s:
        for seed, j in ((1, 0.0), (2, 0.01), (3, -0.005)):
            s.add(Run(experiment="ot-sweep", arm="logt-cls/baseline", seed=seed, config_hash=f"b{seed}",
                      status="FINISHED", metrics=metrics(0.60 + j), wall_s=10))
            s.add(Run(experiment="ot-sweep", arm="logt-cls/ot-blur0.5", seed=seed, config_hash=f"o{seed}",
                      status="FINISHED", metrics=metrics(0.62 + j, 0.5), wall_s=12))
            s.add(Run(experiment="ot-sweep", arm="logt-cls/ot-blur8", seed=seed, config_hash=f"p{seed}",
                      status="FINISHED", metrics=metrics(0.60 + j, 8.0), wall_s=12, valid=(seed != 2)))
    rows = ot_sweep_table(store)
    assert [(r["task"], r["blur"]) for r in rows] == [("logt-cls", 0.5), ("logt-cls", 8.0)]
    r = rows[0]
    assert r["swept"] == "blur" and r["epsilon"] == pytest.approx(0.25) and r["n_seeds"] == 3
    assert r["effect"] == pytest.approx(2.0, abs=1e-6) and r["ci_low"] <= 2.0 <= r["ci_high"]
    assert rows[1]["invalid_runs"] == 1 and rows[1]["n_seeds"] == 2 and rows[1]["effect"] == pytest.approx(0.0, abs=1e-6)
    assert "logt-cls" in format_ot_table(rows)
    from xlt_claims.report.research import research_table

    rows2, text = research_table(store, "ot-sweep")
    assert rows2 == rows and text == format_ot_table(rows)
    assert research_table(store, "robust-gxlt-rsda") is None

    from types import SimpleNamespace

    from xlt_claims.cli.reproduce import _research_tables

    plan = SimpleNamespace(experiment=SimpleNamespace(name="ot-sweep"), error=None)
    other = SimpleNamespace(experiment=SimpleNamespace(name="robust-gxlt-rsda"), error=None)
    shown = _research_tables(store, SimpleNamespace(plans=[plan, other]))
    assert list(shown) == ["ot-sweep"] and shown["ot-sweep"][1] == format_ot_table(rows)
