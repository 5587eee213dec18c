"""freeze_layers = K: the embeddings and the bottom K layers frozen, computed once per distinct token
sequence and cached; training and evaluation run layers K+1..L (experiments/models/frozen.py)."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from tests._train_util import same_colour_pair_task, span_task, synthetic_task, tiny_encoder, tiny_tokenizer  # noqa: E402
from xlt_claims.experiments.batching import collate  # noqa: E402
from xlt_claims.experiments.featurize import featurize_cls  # noqa: E402
from xlt_claims.experiments.heads import PoolingHead, TaskModel  # noqa: E402
from xlt_claims.experiments.methods import get_method  # noqa: E402
from xlt_claims.experiments.methods.fusion import LayerFusionHead  # noqa: E402
from xlt_claims.experiments.models.frozen import FrozenBottom, FrozenLayersError  # noqa: E402
from xlt_claims.experiments.models.runtime import autocast_context  # noqa: E402
from xlt_claims.experiments.profiles import ProfileError, hash_extras, resolve_profile  # noqa: E402
from xlt_claims.experiments.train import RunSpec, train_and_evaluate  # noqa: E402
from xlt_claims.experiments.types import Method  # noqa: E402

LAYERS = 4


def run(task, k, method=None, layers=LAYERS, **over):
    tok = tiny_tokenizer(task)
    enc = tiny_encoder(len(tok.get_vocab()), layers=layers)
    o = {"threads": 1, "batch_size": 16, "eval_every": 5, "lr": 3e-3, "max_steps": 8, "precision": "fp32",
         "freeze_word_embeddings": False, "freeze_layers": k, **over}
    res = train_and_evaluate(RunSpec(model="tiny", profile="quick", seed=0, device="cpu", overrides=o), task,
                             method or get_method("baseline"), progress=False, encoder=enc, tokenizer=tok)
    return res, enc


def _pair_models(task, k, head_factory, bi=False, seed=0):
    """(full model, cached model) with identical weights; the cached one freezes k layers."""
    tok = tiny_tokenizer(task)
    enc = tiny_encoder(len(tok.get_vocab()), layers=LAYERS, seed=seed)
    torch.manual_seed(1)
    head = head_factory()
    full = TaskModel(enc, head, Method(), task.task_type)
    cached = TaskModel(copy.deepcopy(enc), copy.deepcopy(head), Method(), task.task_type)
    keep = head.layers_read(LAYERS)

    def autocast():
        return autocast_context("cpu", enabled=False)

    cached.use_frozen(FrozenBottom(cached.encoder, k, keep, autocast))
    feats = featurize_cls(tok, task.train[:24], "", 64, bi)
    if task.task_type == "pair-classification" and not bi:  # token types, as a BERT tokenizer gives them
        tt = tok([e.text for e in task.train[:24]], [e.text_pair for e in task.train[:24]], truncation=True,
                 max_length=64, return_token_type_ids=True)["token_type_ids"]
        for f, t in zip(feats, tt):
            f["token_type_ids"] = t
    return full, cached, collate(feats, 0, torch.device("cpu"))


@pytest.mark.parametrize("case", ["single", "cross-pairs", "bi-pairs", "fusion-low", "fusion-high"])
def test_cached_path_gives_the_full_models_logits_and_gradients(case):
    """Eval mode (no dropout anywhere): logits and the gradients of the trainable upper layers equal the
    full model's; the frozen part gets no gradient."""
    k = 2
    if case in ("cross-pairs", "bi-pairs"):
        task = same_colour_pair_task()
        head_f = lambda: PoolingHead(32, 2, task.task_type, "mean", 0.1, bi_pairs=case == "bi-pairs")  # noqa: E731
    else:
        task = synthetic_task()
        if case == "single":
            head_f = lambda: PoolingHead(32, 3, task.task_type, "mean", 0.1)  # noqa: E731
        else:
            layer = 1 if case == "fusion-low" else 3
            head_f = lambda: LayerFusionHead(32, 3, mode="aif", layer=layer)  # noqa: E731
    full, cached, batch = _pair_models(task, k, head_f, bi=case == "bi-pairs")
    if case == "cross-pairs":
        assert "token_type_ids" in batch and int(batch["token_type_ids"].sum()) > 0
    if case == "bi-pairs":
        assert batch.get("pair_half")
    full.eval()
    cached.eval()
    lf, lc = full(batch, train=False)[1], cached(batch, train=False)[1]
    torch.testing.assert_close(lc, lf, rtol=1e-5, atol=1e-5)
    # once more: every sequence now comes from the cache
    n = cached.frozen.computed
    torch.testing.assert_close(cached(batch, train=False)[1], lf, rtol=1e-5, atol=1e-5)
    assert cached.frozen.computed == n > 0
    # gradients of the trainable layers are the full model's
    full(batch)[0].backward()
    cached(batch)[0].backward()
    gf = dict(full.named_parameters())
    for name, p in cached.named_parameters():
        upper = any(f"encoder.layer.{i}." in name for i in range(k, LAYERS)) or name.startswith("head.")
        if upper:
            assert p.grad is not None, name
            torch.testing.assert_close(p.grad, gf[name].grad, rtol=1e-4, atol=1e-6)
        else:
            assert not p.requires_grad and p.grad is None, name


def test_cached_path_under_bf16_autocast_stays_close():
    task = synthetic_task()
    full, cached, batch = _pair_models(task, 2, lambda: PoolingHead(32, 3, task.task_type, "mean", 0.1))
    cached.frozen.autocast = lambda: autocast_context("cpu", enabled=True, dtype=torch.bfloat16)
    full.eval()
    cached.eval()
    with torch.inference_mode(), autocast_context("cpu", enabled=True, dtype=torch.bfloat16):
        lf = full(batch, train=False)[1].float()
        lc = cached(batch, train=False)[1].float()
    torch.testing.assert_close(lc, lf, rtol=0.05, atol=0.05)


def test_frozen_part_stays_in_eval_mode_and_the_rest_trains():
    task = synthetic_task()
    _, cached, _ = _pair_models(task, 2, lambda: PoolingHead(32, 3, task.task_type, "mean", 0.1))
    cached.train()
    assert not cached.encoder.embeddings.training
    assert [layer.training for layer in cached.encoder.encoder.layer] == [False, False, True, True]


@pytest.mark.parametrize("make_task,over,method", [
    (lambda: synthetic_task(pairs=True), {}, ("baseline", {})),
    (same_colour_pair_task, {}, ("baseline", {})),
    (same_colour_pair_task, {"pair_encoding": "bi"}, ("baseline", {})),
    (lambda: span_task(40), {"max_steps": 4}, ("baseline", {})),
    (lambda: synthetic_task(pairs=True), {"precision": "bf16"}, ("aif", {"layer": 1, "gate_items": 4})),
    (lambda: synthetic_task(pairs=True), {}, ("dlfa", {"layer": 3})),
    (lambda: synthetic_task(pairs=True), {}, ("rs-da", {"copies": 2, "min_similarity": 0.0})),
])
def test_runs_with_frozen_layers(make_task, over, method):
    task = make_task()
    res, enc = run(task, 2, get_method(method[0], **method[1]), **over)
    frozen_before = {n: p.detach().clone() for n, p in tiny_encoder(enc.config.vocab_size, layers=LAYERS).named_parameters()
                     if n.startswith(("embeddings.", "encoder.layer.0.", "encoder.layer.1."))}
    after = dict(enc.named_parameters())
    for n, v in frozen_before.items():  # the frozen part did not move
        assert torch.equal(after[n].detach(), v), n
    assert not torch.equal(after["encoder.layer.3.output.dense.weight"].detach(),
                           dict(tiny_encoder(enc.config.vocab_size, layers=LAYERS).named_parameters())["encoder.layer.3.output.dense.weight"])
    fl = res.manifest["frozen_layers"]
    assert fl["k"] == 2 and res.manifest["config"]["freeze_layers"] == 2
    # each distinct sequence once: never more than the run's distinct texts allow
    n_seq = len({(e.text, e.text_pair) for e in task.train + task.dev + [x for v in task.test.values() for x in v]
                 + [x for v in task.test_pairs.values() for x in v]})
    if over.get("pair_encoding") == "bi":
        n_seq = len({t for e in task.train + task.dev + [x for v in task.test.values() for x in v] for t in (e.text, e.text_pair)})
    if method[0] != "rs-da" and task.task_type != "span-extraction":
        assert 0 < fl["cached_sequences"] <= n_seq
    assert res.manifest["model"]["n_trainable"] < sum(p.numel() for p in enc.parameters())
    assert res.metrics["summary"] is not None


def test_all_layers_frozen_trains_only_the_head():
    res, _ = run(synthetic_task(), LAYERS)
    assert res.manifest["model"]["n_trainable"] == 32 * 3 + 3


def test_k0_is_the_default_and_changes_nothing():
    a, _ = run(synthetic_task(), 0)
    tok_task = synthetic_task()
    tok = tiny_tokenizer(tok_task)
    enc = tiny_encoder(len(tok.get_vocab()), layers=LAYERS)
    o = {"threads": 1, "batch_size": 16, "eval_every": 5, "lr": 3e-3, "max_steps": 8, "precision": "fp32",
         "freeze_word_embeddings": False}
    b = train_and_evaluate(RunSpec(model="tiny", profile="quick", seed=0, device="cpu", overrides=o), tok_task,
                           get_method("baseline"), progress=False, encoder=enc, tokenizer=tok)
    assert a.metrics == b.metrics
    assert "frozen_layers" not in a.manifest and a.manifest["config"]["freeze_layers"] == 0
    assert resolve_profile("quick")["freeze_layers"] == 0 and resolve_profile("paper")["freeze_layers"] == 0


@pytest.mark.parametrize("name,params", [("adv", {"radius": 1.0}), ("rs-rp", {"radius": 0.5}), ("ot-align", {})])
def test_refused_for_methods_that_change_the_bottom(name, params):
    with pytest.raises(FrozenLayersError, match=f"method '{name}'.*freeze_layers=0"):
        run(synthetic_task(), 2, get_method(name, **params))


def test_refused_for_a_method_that_perturbs_embeddings_and_for_bad_values():
    class Noisy(Method):
        name = "noisy"

        def perturb_embeddings(self, embeddings, batch):
            return embeddings * 1.0

    with pytest.raises(FrozenLayersError, match="'noisy'"):
        run(synthetic_task(), 1, Noisy())
    with pytest.raises(FrozenLayersError, match="has 4 layers"):
        run(synthetic_task(), LAYERS + 1)
    for bad in (-1, 1.5, True, "6"):
        with pytest.raises(ProfileError, match="freeze_layers"):
            resolve_profile("quick", overrides={"freeze_layers": bad})


def test_emb_delta_is_refused_at_run_time():
    task = synthetic_task()
    _, cached, batch = _pair_models(task, 2, lambda: PoolingHead(32, 3, task.task_type, "mean", 0.1))
    with pytest.raises(FrozenLayersError, match="delta"):
        cached(batch, emb_delta=torch.zeros(1))


def test_hash_extras_name_k_only_when_set():
    plain = {"test_sample": "parallel"}  # how test items are drawn, in every hash
    assert hash_extras("quick", "logt-cls", "classification", {}) == plain
    assert hash_extras("quick", "logt-cls", "classification", {"freeze_layers": 0}) == plain
    assert hash_extras("quick", "logt-cls", "classification", {"freeze_layers": 6}) == {**plain, "freeze_layers": 6}


@pytest.mark.parametrize("name,kind", [("robust-gxlt-rsrp", "train"), ("fusion-aif-dynamic", "task-suite")])
def test_planned_config_hash_carries_k_only_when_set(name, kind, monkeypatch):
    from pathlib import Path

    from xlt_claims.reproduce import load_registry
    from xlt_claims.reproduce.kinds import get_kind
    from xlt_claims.reproduce.runner import Options, config_hash

    exp = load_registry([Path(__file__).resolve().parent.parent / "reproductions"]).get(name)
    k = get_kind(kind)
    plain = k.plan(exp, Options(proxy=True), exp.model.default, "quick", [0]).units
    frozen = k.plan(exp, Options(proxy=True, overrides={"freeze_layers": 6}), exp.model.default, "quick", [0]).units
    assert plain and all("freeze_layers" not in u.config for u in plain)
    assert all(u.config["freeze_layers"] == 6 for u in frozen)
    assert {config_hash(u.config) for u in plain}.isdisjoint(config_hash(u.config) for u in frozen)
    # K from the profile's default (not an override) is hashed too
    from xlt_claims.experiments import profiles

    monkeypatch.setitem(profiles.PROFILES["quick"], "freeze_layers", 6)
    by_default = k.plan(exp, Options(proxy=True), exp.model.default, "quick", [0]).units
    if "freeze_layers" in exp.overrides.get("quick", {}):  # the file's own K (rs-rp: 0) wins over the profile's
        assert all("freeze_layers" not in u.config for u in by_default)
    else:
        assert all(u.config["freeze_layers"] == 6 and "freeze_layers" not in u.config["overrides"] for u in by_default)


def test_the_robust_quick_setup_freezes_six_layers_and_the_embedding_methods_do_not():
    """_robust-quick.toml sets freeze_layers = 6 (chosen by the session-10 PAWS-X pilot, docs/performance.md):
    every planned rs-da / baseline run carries K = 6 in its config hash; rs-rp and adv, whose methods
    perturb the input embeddings, set K = 0 and so plan their own baselines."""
    from pathlib import Path

    from xlt_claims.reproduce import load_registry
    from xlt_claims.reproduce.kinds import get_kind
    from xlt_claims.reproduce.runner import Options, config_hash

    reg = load_registry([Path(__file__).resolve().parent.parent / "reproductions"])
    k = get_kind("train")

    def units(name):
        exp = reg.get(name)
        return {u.arm: u for u in k.plan(exp, Options(proxy=True), exp.model.default, "quick", [1]).units}

    rsda, rsrp = units("robust-gxlt-rsda"), units("robust-gxlt-rsrp")
    assert rsda["baseline"].config["freeze_layers"] == 6 and rsda["rs-da"].config["freeze_layers"] == 6
    assert "freeze_layers" not in rsrp["baseline"].config and "freeze_layers" not in rsrp["rs-rp"].config
    assert config_hash(rsda["baseline"].config) != config_hash(rsrp["baseline"].config)
