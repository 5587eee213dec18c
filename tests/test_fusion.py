"""Fusion heads (DLFA static gate, AIF attention) on a tiny random encoder: shapes, gradients, masking."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tests._layers_util import tiny_encoder, tiny_tokenizer, single_thread  # noqa: E402,F401 (single_thread: autouse fixture)
from xlt_claims.experiments.methods.fusion import AIF, AIFFusion, DLFA, LastLayerHead, LayerFusionHead  # noqa: E402

TEXTS = ["open the file now", "save the document", "close it", "print all the pages of the file please"]


@pytest.fixture(scope="module")
def model():
    tok = tiny_tokenizer(TEXTS)
    enc = tiny_encoder(len(tok.get_vocab()), layers=4, hidden=32)
    return enc, tok


def _hidden(enc, tok, texts=TEXTS):
    b = tok(texts, padding=True, return_tensors="pt")
    out = enc(**b, output_hidden_states=True)
    return out.hidden_states, b["attention_mask"]


def test_aif_shapes_gate_range_and_gradients():
    torch.manual_seed(0)
    aif = AIF(16, reduction=4)
    x = torch.randn(3, 5, 16, requires_grad=True)
    y = torch.randn(3, 5, 16, requires_grad=True)
    mask = torch.ones(3, 5)
    mask[0, 3:] = 0
    z, m = aif(x, y, mask)
    assert z.shape == (3, 5, 16) and m.shape == (3, 5, 16)
    assert float(m.detach().min()) > 0 and float(m.detach().max()) < 1
    # the gate varies over tokens and examples (it is input dependent, not a constant)
    assert float(m.detach().std()) > 1e-4
    z.pow(2).sum().backward()
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0
    for name, p in aif.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # bottleneck: compress to dim/r then expand back
    assert aif.global_branch[0].out_features == 4 and aif.global_branch[-1].out_features == 16
    assert aif.local_branch[0].out_features == 4 and aif.local_branch[-1].out_features == 16


@pytest.mark.parametrize("mode", ["aif", "static", "last"])
def test_head_output_shape_and_gradient_reaches_fused_layer(model, mode):
    enc, tok = model
    enc.zero_grad()
    head = LayerFusionHead(32, num_labels=3, mode=mode, layer=1)
    hs, mask = _hidden(enc, tok)
    logits = head(hs, mask)
    assert logits.shape == (len(TEXTS), 3)
    logits.logsumexp(-1).sum().backward()
    # layer index 1 = first transformer layer; the last layer is 4. Only fusion heads read layer 1 directly,
    # but every head back-propagates into the encoder.
    g_first = enc.encoder.layer[0].output.dense.weight.grad
    g_last = enc.encoder.layer[-1].output.dense.weight.grad
    assert g_first is not None and g_first.abs().sum() > 0
    assert g_last is not None and g_last.abs().sum() > 0
    for name, p in head.named_parameters():
        assert p.grad is not None, name


def test_lower_layer_contributes_only_in_fusion_modes(model):
    """Perturbing the fused lower layer changes a fusion head's logits but not the last-layer head's."""
    enc, tok = model
    hs, mask = _hidden(enc, tok)
    hs = [h.detach() for h in hs]
    bumped = list(hs)
    bumped[1] = hs[1] + 1.0
    torch.manual_seed(0)
    for mode, should_change in (("aif", True), ("static", True), ("last", False)):
        head = LayerFusionHead(32, num_labels=2, mode=mode, layer=1).eval()
        a, b = head(hs, mask), head(bumped, mask)
        assert (not torch.allclose(a, b)) == should_change, mode


def test_padding_does_not_change_logits(model):
    enc, tok = model
    head = LayerFusionHead(32, num_labels=2, mode="aif", layer=2).eval()
    enc.eval()
    with torch.no_grad():
        hs1, m1 = _hidden(enc, tok, ["close it"])
        hs2, m2 = _hidden(enc, tok, ["close it", "print all the pages of the file please"])
        a = head(hs1, m1)[0]
        b = head(hs2, m2)[0]
    assert torch.allclose(a, b, atol=1e-5)


def test_span_head_shape(model):
    enc, tok = model
    head = LayerFusionHead(32, num_labels=2, mode="aif", layer=0, span=True)
    hs, mask = _hidden(enc, tok)
    out = head(hs, mask)
    assert out.shape == (len(TEXTS), mask.shape[1], 2)


def test_gate_measurement_per_language(model):
    """extra_metrics measures the AIF gate on test items of every language after training."""
    from types import SimpleNamespace

    from tests._layers_util import tiny_task

    enc, tok = model
    m = AIFFusion(layer=2, gate_items=3)
    m.build_head(enc, 2)
    task = tiny_task()
    task.test = {"en": task.test["en"], "xx": [e for e in task.test["en"]]}

    def encode(texts, pairs=None):
        return dict(tok(["open the file"] * len(texts), padding=True, return_tensors="pt"))

    ctx = SimpleNamespace(encoder=enc, task=task, encode=encode, autocast=lambda: torch.autocast("cpu", enabled=False))
    m.prepare(ctx)
    fm = m.extra_metrics()["fusion"]
    assert fm["n_examples"] == 6 and set(fm["lower_weight_by_lang"]) == {"en", "xx"}
    assert 0 < fm["lower_weight_mean"] < 1
    # identical inputs in both languages: identical gates, no spread
    assert fm["lower_weight_std_across_langs"] == pytest.approx(0.0, abs=1e-7)
    assert fm["mode"] == "aif" and fm["layer"] == 2
    assert "abstract" in m.describe()["source"]
    assert m._ctx is None  # the context is released after measuring


def test_methods_validate_layer(model):
    enc, _ = model
    with pytest.raises(ValueError):
        DLFA(layer=4).build_head(enc, 2)  # 4 is the last layer, not a lower one
    with pytest.raises(ValueError):
        AIFFusion().build_head(enc, 2)
    head = DLFA(layer=3).build_head(enc, 2)
    assert isinstance(head, LayerFusionHead) and head.mode == "static"
    assert LastLayerHead().build_head(enc, 2).mode == "last"
    d = DLFA(layer=3)
    d.build_head(enc, 2)
    assert d.extra_metrics()["fusion"]["lower_weight_static"] == pytest.approx(0.5)


def test_registered_and_ot_registered():
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.methods.ot import OTAlign

    assert type(get_method("aif", layer=3)) is AIFFusion and type(get_method("dlfa", layer=3)) is DLFA
    assert type(get_method("fusion-last")) is LastLayerHead
    assert type(get_method("ot-align", blur=0.5)) is OTAlign


@pytest.mark.parametrize("method_name,params", [("aif", {"layer": 1, "gate_items": 4}), ("dlfa", {"layer": 2})])
def test_fusion_methods_on_the_shared_train_loop(method_name, params):
    from tests._layers_util import TINY_OVERRIDES, tiny_task, tiny_task_texts
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    task = tiny_task("pair-classification")
    tok = tiny_tokenizer(tiny_task_texts(task))
    enc = tiny_encoder(len(tok.get_vocab()), layers=3, hidden=32)
    m = get_method(method_name, **params)
    res = train_and_evaluate(RunSpec(model="tiny", seed=1, device="cpu", overrides=TINY_OVERRIDES), task, m,
                             progress=False, encoder=enc, tokenizer=tok)
    f = res.metrics["fusion"]
    assert f["layer"] == params["layer"] and "abstract" in f["source"]
    assert set(res.metrics["test"]) == {"en", "de"}
    if method_name == "aif":
        assert f["mode"] == "aif" and set(f["lower_weight_by_lang"]) == {"en", "de"} and f["n_examples"] == 8
        assert 0 < f["lower_weight_mean"] < 1 and f["lower_weight_std_across_examples"] >= 0
    else:
        assert f["mode"] == "static" and 0 < f["lower_weight_static"] < 1
    assert res.manifest["model"]["custom_head"] is True
