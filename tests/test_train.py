"""The one train loop on a tiny randomly initialised BERT (CPU, seconds): smoke, determinism, hooks,
model selection, span extraction, metrics, batching, profiles and the method registry."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests._train_util import span_task, synthetic_task, tiny_model  # noqa: E402
from xlt_claims.experiments.methods import get_method, list_methods, register_method  # noqa: E402
from xlt_claims.experiments.profiles import ProfileError, resolve_profile  # noqa: E402
from xlt_claims.experiments.batching import eval_batches, length_grouped_batches  # noqa: E402
from xlt_claims.experiments.metrics import classification_metrics, squad_em, squad_f1  # noqa: E402
from xlt_claims.experiments.train import RunSpec, train_and_evaluate  # noqa: E402
from xlt_claims.experiments.types import Method  # noqa: E402

FAST = {"threads": 1, "batch_size": 16, "eval_every": 10, "lr": 3e-3, "freeze_word_embeddings": False}


def run(task=None, method=None, seed=0, **over):
    task = task or synthetic_task(pairs=True)
    enc, tok = tiny_model(task, seed=0)
    spec = RunSpec(model="tiny-random-bert", profile="quick", seed=seed, device="cpu", overrides={**FAST, **over})
    return train_and_evaluate(spec, task, method, progress=False, encoder=enc, tokenizer=tok), enc


def test_two_step_smoke_run_layout_and_manifest():
    res, _ = run(max_steps=2, eval_every=1)
    m = res.metrics
    assert set(m) >= {"dev", "test", "test_pairs", "summary", "collapsed", "pred_label_dist"}
    assert set(m["test"]) == {"en", "xx"} and set(m["test_pairs"]) == {"en-xx", "xx-en"}
    for v in m["test"].values():
        assert set(v) == {"accuracy", "macro_f1", "n"} and v["n"] == 30
    assert m["dev"]["en"]["n"] == 30
    s = m["summary"]
    assert s["train_steps"] == 2 and s["test_avg_nonen"] == m["test"]["xx"]["accuracy"]
    assert s["pairs_avg"] == pytest.approx(np.mean([v["accuracy"] for v in m["test_pairs"].values()]))
    man = res.manifest
    for key in ("git", "packages", "device", "precision", "seeds", "task", "model", "method", "config", "timing", "tokens_per_s"):
        assert key in man, key
    assert man["task"]["fingerprint"] == synthetic_task(pairs=True).fingerprint()
    assert man["train_steps"] == 2 and man["train_tokens"] > 0 and man["tokens_per_s"] > 0
    assert man["packages"]["torch"] and man["method"] == {"method": "baseline"}
    assert any("loss" in h for h in res.history) and all(np.isfinite(h["loss"]) for h in res.history if "loss" in h)


def test_same_seed_same_numbers_other_seed_differs():
    a, _ = run(max_steps=12, seed=3)
    b, _ = run(max_steps=12, seed=3)
    c, _ = run(max_steps=12, seed=4)
    assert a.metrics == b.metrics
    assert [h.get("loss") for h in a.history] == [h.get("loss") for h in b.history]
    assert [h.get("loss") for h in a.history] != [h.get("loss") for h in c.history]


def test_learns_the_english_task_and_selects_on_dev_only():
    task = synthetic_task(n_train=192, pairs=True)
    res, _ = run(task, max_steps=60, epochs=10)
    m = res.metrics
    assert m["dev"]["en"]["accuracy"] >= 0.9 and m["test"]["en"]["accuracy"] >= 0.9
    devs = [(h["step"], h["dev"]["accuracy"]) for h in res.history if "dev" in h]
    best_acc = max(a for _, a in devs)
    first_best = min(s for s, a in devs if a == best_acc)
    assert m["summary"]["best_step"] == first_best and m["dev"]["en"]["accuracy"] == best_acc
    assert m["collapsed"] is False


def test_frozen_word_embeddings_do_not_change_and_accumulation_counts_steps():
    task = synthetic_task()
    enc, tok = tiny_model(task)
    before = enc.get_input_embeddings().weight.detach().clone()
    layer_before = enc.encoder.layer[0].attention.self.query.weight.detach().clone()
    spec = RunSpec(model="tiny", seed=0, device="cpu",
                   overrides={**FAST, "freeze_word_embeddings": True, "grad_accum": 2, "batch_size": 8, "max_steps": 3})
    res = train_and_evaluate(spec, task, None, progress=False, encoder=enc, tokenizer=tok)
    assert torch.equal(before, enc.get_input_embeddings().weight)
    assert not torch.equal(layer_before, enc.encoder.layer[0].attention.self.query.weight)
    assert res.manifest["train_steps"] == 3 and res.manifest["optimizer"]["effective_batch"] == 16
    assert res.manifest["model"]["n_trainable"] < res.manifest["model"]["n_params"]


class Recorder(Method):
    """Uses every hook: perturbs embeddings, adversarial-style delta through forward(emb_delta),
    an auxiliary loss, a custom head over all hidden states, augmentation and extra metrics."""

    name = "recorder"

    def __init__(self, **params):
        super().__init__(**params)
        self.calls = {"prepare": 0, "augment": 0, "perturb": 0, "loss": 0, "aux": 0, "head_layers": set()}

    def prepare(self, ctx):
        self.calls["prepare"] += 1
        assert ctx.encoder is not None and ctx.tokenizer is not None and ctx.hidden_size == 32
        batch = ctx.encode(["red car", "blue door"])
        assert batch["input_ids"].shape[0] == 2
        ctx.progress("prepare", 1, 1, "ok")

    def augment_train(self, examples, rng):
        self.calls["augment"] += 1
        return examples + examples[: len(examples) // 2]

    def build_head(self, encoder, num_labels, task_type="classification"):
        rec = self.calls

        class Head(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(encoder.config.hidden_size, num_labels)

            def forward(self, hidden_states, attention_mask):
                rec["head_layers"].add(len(hidden_states))
                x = hidden_states[1] + hidden_states[-1]
                return self.lin(x[:, 0])

        return Head()

    def perturb_embeddings(self, emb, batch):
        self.calls["perturb"] += 1
        return emb + 0.01 * torch.randn_like(emb)

    def training_loss(self, ctx, batch, forward):
        self.calls["loss"] += 1
        out = forward()
        delta = torch.zeros_like(out.embeddings, requires_grad=True)
        loss_adv, _ = forward(emb_delta=delta)
        (g,) = torch.autograd.grad(loss_adv, delta, retain_graph=True)
        assert g.shape == out.embeddings.shape and torch.isfinite(g).all()
        adv, _ = forward(emb_delta=0.01 * g.sign())
        return 0.5 * (out.loss + adv)

    def aux_loss(self, ctx, batch, outputs):
        self.calls["aux"] += 1
        return 0.0 * outputs.logits.sum()

    def extra_metrics(self):
        return {"recorder": {k: (sorted(v) if isinstance(v, set) else v) for k, v in self.calls.items()}}


def test_every_hook_is_called():
    method = Recorder(radius=0.01)
    res, _ = run(method=method, max_steps=4)
    c = method.calls
    assert c["prepare"] == 1 and c["augment"] == 1 and c["loss"] == 4 and c["aux"] == 4
    assert c["perturb"] == 4 * 3  # three forward() calls per step, only in training
    assert c["head_layers"] == {3}  # embedding output + 2 layers
    assert res.metrics["recorder"]["loss"] == 4
    assert res.manifest["method"] == {"method": "recorder", "radius": 0.01}
    assert res.manifest["task"]["n_train_after_method"] == 96 + 48
    assert res.manifest["model"]["custom_head"] is True


def test_collapsed_run_is_flagged():
    class Constant(Method):
        name = "constant"

        def build_head(self, encoder, num_labels, task_type="classification"):
            class Head(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.bias = torch.nn.Parameter(torch.tensor([0.0, 0.0, 5.0]))

                def forward(self, hidden_states, attention_mask):
                    return self.bias.expand(hidden_states[-1].shape[0], -1) + 0 * hidden_states[-1][:, 0, :3]

            return Head()

    res, _ = run(method=Constant(), max_steps=2, lr=1e-6)
    assert res.metrics["collapsed"] is True
    assert res.metrics["pred_label_dist"]["test"] == {"green": 1.0}


def test_span_extraction_learns_and_reports_f1_em():
    res, _ = run(span_task(60), max_steps=60, epochs=20)
    m = res.metrics
    assert m["summary"]["metric"] == "f1"
    assert set(m["test"]["en"]) == {"f1", "em", "n"}
    assert m["test"]["en"]["f1"] >= 80.0 and m["dev"]["en"]["f1"] >= 80.0
    assert "test_avg_nonen_em" in m["summary"] and m["collapsed"] is False


def test_progress_callback_receives_events():
    events = []
    task = synthetic_task()
    enc, tok = tiny_model(task)
    spec = RunSpec(model="tiny", seed=0, device="cpu", overrides={**FAST, "max_steps": 10, "log_every": 5})
    train_and_evaluate(spec, task, None, progress=lambda stage, i, n, info: events.append((stage, i, n)),
                       encoder=enc, tokenizer=tok)
    stages = {e[0] for e in events}
    assert {"train", "test"} <= stages and ("train", 10, 10) in events


def test_squad_metrics_normalisation():
    assert squad_em("The  Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert squad_f1("in the red house", ["red house"]) == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))
    assert squad_f1("", ["x"]) == 0.0 and squad_em("a", ["b", "A"]) == 1.0


def test_classification_metrics():
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], 2)
    assert m["accuracy"] == 0.75 and m["n"] == 4
    assert m["macro_f1"] == pytest.approx(np.mean([2 / 3, 0.8]))
    assert "auc" not in m  # no scores, no AUC
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], 2, scores=[-2.0, 0.5, 0.1, 3.0])
    assert m["auc"] == pytest.approx(0.75)  # 3 of the 4 (positive, negative) pairs are ordered right
    assert "auc" not in classification_metrics([0, 1, 2], [0, 1, 2], 3, scores=[0.0, 1.0, 2.0])


def test_roc_auc_is_the_share_of_correctly_ordered_pairs():
    from xlt_claims.experiments.metrics import roc_auc

    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0
    assert roc_auc([0, 1, 0, 1], [1.0, 1.0, 1.0, 1.0]) == 0.5  # ties count half
    assert roc_auc([1, 1, 1], [0.1, 0.2, 0.3]) is None and roc_auc([], []) is None
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 2, 300).tolist()
    scores = np.round(rng.normal(size=300) + 0.8 * np.array(gold), 1).tolist()  # rounding makes ties
    pos = [s for s, g in zip(scores, gold) if g == 1]
    neg = [s for s, g in zip(scores, gold) if g == 0]
    brute = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert roc_auc(gold, scores) == pytest.approx(brute)


def test_length_grouped_batches_cover_everything_and_cut_padding():
    rng_lengths = np.random.default_rng(0).integers(3, 60, size=1000).tolist()
    a = length_grouped_batches(rng_lengths, 32, np.random.default_rng(1))
    b = length_grouped_batches(rng_lengths, 32, np.random.default_rng(1))
    assert a == b and sorted(i for bb in a for i in bb) == list(range(1000))

    def pad(batches):
        return sum(max(rng_lengths[i] for i in bb) * len(bb) for bb in batches)

    plain = length_grouped_batches(rng_lengths, 32, np.random.default_rng(1), grouped=False)
    assert pad(a) < 0.8 * pad(plain)


def test_eval_batches_bound_rows_tokens_and_padding():
    rng = np.random.default_rng(0)
    lengths = [64, 60, 3] + rng.integers(10, 25, size=97).tolist()  # a few long texts among short ones
    batches = eval_batches(lengths, max_rows=128, max_tokens=4096)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # each item exactly once
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert lengths[b[0]] == longest and len(b) <= 128 and len(b) * longest <= 4096
        assert min(lengths[i] for i in b) >= 0.7 * longest or len(b) == 1
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert sum(lengths) / padded > 0.8  # one batch of all 100 would be padded to 64: under 0.3
    assert sum(lengths) / (len(lengths) * 64) < 0.3
    assert [len(b) for b in eval_batches([5] * 10, max_rows=4, max_tokens=10**6)] == [4, 4, 2]
    assert [len(b) for b in eval_batches([5] * 10, max_rows=100, max_tokens=20)] == [4, 4, 2]
    assert eval_batches([], 8, 64) == []


def test_profiles():
    q = resolve_profile("quick", "logt-cls", "classification")
    assert q["max_length"] == 64 and q["batch_size"] == 32 and q["freeze_word_embeddings"] is True
    p = resolve_profile("paper", "pawsx", "pair-classification")
    assert (p["lr"], p["effective_batch_size"], p["max_length"], p["epochs"]) == (2e-5, 32, 128, 3)
    assert resolve_profile("paper", "xnli", "pair-classification")["epochs"] == 1
    assert resolve_profile("paper", "xquad", "span-extraction")["max_length"] == 384
    with pytest.raises(ProfileError, match="unknown override"):
        resolve_profile("quick", overrides={"learning_rate": 1})
    with pytest.raises(ProfileError, match="unknown profile"):
        resolve_profile("fast")


def test_method_registry():
    assert "baseline" in list_methods()
    assert get_method("baseline").describe() == {"method": "baseline"}
    with pytest.raises(KeyError, match="unknown method"):
        get_method("no-such-method")

    @register_method("test-registry-probe")
    class Probe(Method):
        pass

    m = get_method("test-registry-probe", k=3)
    assert isinstance(m, Probe) and m.name == "test-registry-probe" and m.params == {"k": 3}
    with pytest.raises(ValueError, match="already registered"):
        @register_method("baseline")
        class Other(Method):
            pass


def test_bi_encoded_pairs_batch_layout_head_and_learning():
    from tests._train_util import same_colour_pair_task, tiny_tokenizer
    from xlt_claims.experiments.batching import collate
    from xlt_claims.experiments.featurize import featurize_cls
    from xlt_claims.experiments.heads import PoolingHead

    task = same_colour_pair_task()
    tok = tiny_tokenizer(task)
    exs = task.train[:3]
    feats = featurize_cls(tok, exs, "", 64, bi_pairs=True)
    # each text is its own sequence: [CLS] text [SEP], no segment ids
    assert feats[0]["input_ids"] == tok(exs[0].text)["input_ids"]
    assert feats[0]["pair_input_ids"] == tok(exs[0].text_pair)["input_ids"]
    batch = collate(feats, tok.pad_token_id, torch.device("cpu"))
    assert batch["input_ids"].shape[0] == 6 and batch["labels"].shape == (3,) and "token_type_ids" not in batch
    assert batch["input_ids"][3, : len(feats[0]["pair_input_ids"])].tolist() == feats[0]["pair_input_ids"]
    head = PoolingHead(8, 2, "pair-classification", "mean", 0.0, bi_pairs=True)
    hs = torch.randn(6, 5, 8, requires_grad=True)
    out = head((hs,), torch.ones(6, 5))
    assert out.shape == (3, 2) and head.classifier.in_features == 32
    out.sum().backward()
    assert hs.grad[:3].abs().sum() > 0 and hs.grad[3:].abs().sum() > 0  # both texts reach the logits

    # each half runs at its own length; the logits equal those of one 2B batch padded to the longest text
    from tests._train_util import tiny_encoder
    from xlt_claims.experiments.heads import TaskModel

    enc = tiny_encoder(len(tok.get_vocab())).eval()
    head = PoolingHead(32, 2, "pair-classification", "mean", 0.0, bi_pairs=True)
    model = TaskModel(enc, head, Method(), "pair-classification").eval()
    exs = [e for e in task.train[:6]]
    exs[0] = type(exs[0])(id="long", text="the " * 20 + "red", text_pair="navy", label=0, lang="en")
    feats = featurize_cls(tok, exs, "", 64, bi_pairs=True)
    batch = collate(feats, tok.pad_token_id, torch.device("cpu"))
    assert batch["pair_half"] == 6
    with torch.no_grad():
        split = model(batch, train=False).logits
        whole = model({k: v for k, v in batch.items() if k != "pair_half"}, train=False).logits
        # evaluation encodes each text once and scores pairs from the pooled vectors: the same logits
        one = [collate([{"input_ids": f[k]} for f in feats], tok.pad_token_id, torch.device("cpu"))
               for k in ("input_ids", "pair_input_ids")]
        u, w = (head.pool(model.hidden_states(b), b["attention_mask"]) for b in one)
        via_vectors = head.pair_logits(u, w)
    assert torch.allclose(split, whole, atol=1e-5) and torch.allclose(split, via_vectors, atol=1e-5)

    res, _ = run(task, max_steps=80, epochs=40, pair_encoding="bi")
    assert res.manifest["model"]["pair_encoding"] == "bi" and res.manifest["config"]["pair_encoding"] == "bi"
    assert res.metrics["test"]["en"]["accuracy"] >= 0.85, res.metrics["test"]["en"]
    assert res.metrics["test"]["en"]["auc"] >= 0.9 and res.metrics["dev"]["en"]["auc"] >= 0.9
    cross, _ = run(task, max_steps=2, pair_encoding="cross")
    assert cross.manifest["model"]["pair_encoding"] == "cross"


def test_bi_encoded_evaluation_encodes_each_test_text_once():
    """The generalized pairs reuse the standard-setting texts: after training, each distinct text goes
    through the encoder once; dev evaluations (weights still changing) encode their texts afresh."""
    import dataclasses

    from tests._train_util import same_colour_pair_task, translate

    task = same_colour_pair_task()
    en = task.test["en"]
    xx = [dataclasses.replace(e, id=e.id + "-xx", text=translate(e.text), text_pair=translate(e.text_pair), lang="xx")
          for e in en]
    pairs = {"en-xx": [dataclasses.replace(e, id=e.id + "-p1", text_pair=translate(e.text_pair), lang_pair="en-xx") for e in en],
             "xx-en": [dataclasses.replace(e, id=e.id + "-p2", text=translate(e.text), lang="xx", lang_pair="xx-en") for e in en]}
    task = dataclasses.replace(task, test={"en": en, "xx": xx}, test_pairs=pairs, scripts={"en": "Latin", "xx": "Latin"})
    enc, tok = tiny_model(task, seed=0)
    encoded = []

    def count(module, args, kwargs, out):
        if not torch.is_grad_enabled():  # evaluation (no_grad); training steps record grads
            encoded.append(int(kwargs["inputs_embeds"].shape[0]))

    enc.register_forward_hook(count, with_kwargs=True)
    spec = RunSpec(model="tiny-random-bert", profile="quick", seed=0, device="cpu",
                   overrides={**FAST, "max_steps": 20, "pair_encoding": "bi"})
    res = train_and_evaluate(spec, task, None, progress=False, encoder=enc, tokenizer=tok)
    dev_texts = {t for e in task.dev for t in (e.text, e.text_pair)}
    test_texts = {t for e in (*en, *xx) for t in (e.text, e.text_pair)}
    n_dev_evals = sum(1 for h in res.history if "dev" in h)
    assert n_dev_evals == 2 and sum(encoded) == n_dev_evals * len(dev_texts) + len(test_texts)
    m = res.metrics["test_pairs"]
    assert set(m) == {"en-xx", "xx-en"} and all(0.0 <= v["auc"] <= 1.0 and v["n"] == len(en) for v in m.values())
    # reuse_text_vectors=False (the benchmark's other side): every test set encodes its own texts, same numbers
    once = sum(encoded)
    encoded.clear()
    enc2, _ = tiny_model(task, seed=0)
    enc2.register_forward_hook(count, with_kwargs=True)
    spec.overrides["reuse_text_vectors"] = False
    res2 = train_and_evaluate(spec, task, None, progress=False, encoder=enc2, tokenizer=tok)
    assert sum(encoded) > once and res2.metrics["test_pairs"] == res.metrics["test_pairs"]


def test_bi_pairs_refused_with_a_custom_head_and_unknown_value():
    from tests._train_util import same_colour_pair_task

    class OwnHead(Method):
        name = "own-head"

        def build_head(self, encoder, num_labels, task_type="classification"):
            return torch.nn.Linear(4, num_labels)

    with pytest.raises(ValueError, match="pair_encoding='bi'"):
        run(same_colour_pair_task(), OwnHead(), max_steps=1, pair_encoding="bi")
    with pytest.raises(ProfileError, match="pair_encoding"):
        resolve_profile("quick", overrides={"pair_encoding": "siamese"})


def test_auto_pair_encoding_follows_the_encoder():
    """pair_encoding="auto": a dual encoder (e5) reads each text alone, a BERT-style encoder reads the
    pair as one sequence, and a method with its own one-sequence head always gets one sequence."""
    from tests._train_util import same_colour_pair_task
    from xlt_claims.experiments.models import encoder_info

    task = same_colour_pair_task()

    class OwnHead(Method):
        name = "own-head"

        def build_head(self, encoder, num_labels, task_type="classification"):
            class FirstToken(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.out = torch.nn.Linear(encoder.config.hidden_size, num_labels)

                def forward(self, hidden_states, attention_mask):
                    return self.out(hidden_states[-1][:, 0])

            return FirstToken()

    def mode(convention, method=None):
        enc, tok = tiny_model(task, seed=0)
        if convention:
            encoder_info(enc).pair_encoding = convention
        spec = RunSpec(model="tiny-random-bert", profile="quick", seed=0, device="cpu",
                       overrides={**FAST, "max_steps": 1, "pair_encoding": "auto"})
        res = train_and_evaluate(spec, task, method, progress=False, encoder=enc, tokenizer=tok)
        return res.manifest["model"]["pair_encoding"]

    assert mode(None) == "cross"  # a plain BERT-style model
    assert mode("bi") == "bi"  # what the e5 loaders declare
    assert mode("bi", OwnHead()) == "cross"


def test_pair_subsample_keeps_the_same_ids_in_every_pair():
    from xlt_claims.experiments.batching import id_ranking, subsample_parallel
    from xlt_claims.experiments.types import Example

    def items(key, ids):
        return [Example(id=f"x{i}", text="a", text_pair="b", label=0, lang_pair=key) for i in ids]

    sets = {"de-fr": items("de-fr", range(40)), "fr-de": items("fr-de", range(40)), "de-ja": items("de-ja", range(5, 30))}
    out = subsample_parallel(sets, 10, id_ranking([sets], np.random.default_rng(0)))
    assert all(len(v) == 10 for v in out.values())
    assert [e.id for e in out["de-fr"]] == [e.id for e in out["fr-de"]]
    # a pair missing some ids keeps the best-ranked ids it has, mostly the same ones
    assert len({e.id for e in out["de-ja"]} & {e.id for e in out["de-fr"]}) >= 5
    again = subsample_parallel(sets, 10, id_ranking([sets], np.random.default_rng(0)))
    assert {k: [e.id for e in v] for k, v in again.items()} == {k: [e.id for e in v] for k, v in out.items()}
    assert subsample_parallel(sets, None, {})["de-ja"] == sets["de-ja"]


def test_test_languages_and_pairs_are_drawn_on_the_same_items():
    """Parallel test sets keep the same ids in every language, and the generalized pairs draw from those
    ids: languages are compared on one sample of items, and the pairs' texts are the test sets' texts."""
    from xlt_claims.experiments.data.common import generalized_pairs
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.profiles import resolve_profile
    from xlt_claims.experiments.train import select_data
    from xlt_claims.experiments.types import Example, TaskData

    langs = ["en", "de", "ja"]
    test = {lg: [Example(id=f"q{i}", text=f"{lg} a{i}", text_pair=f"{lg} b{i}", label=i % 2, lang=lg) for i in range(60)]
            for lg in langs}
    del test["ja"][3]  # a parallel set missing an item keeps the others
    pairs = generalized_pairs(test, [(a, b) for a in langs for b in langs if a != b])
    train = [Example(id=f"t{i}", text=f"t{i}", text_pair="u", label=i % 2) for i in range(20)]
    task = TaskData(name="t", task_type="pair-classification", labels=["0", "1"], train=train, dev=train[:5],
                    test=test, test_pairs=pairs)
    cfg = resolve_profile("quick", "t", "pair-classification",
                          {"max_test_examples": 10, "max_pair_examples_total": 6 * 4})
    data = select_data(task, get_method("baseline"), cfg, np.random.default_rng(1), np.random.default_rng(2))
    ids = {lg: {e.id for e in v} for lg, v in data.test.items()}
    assert all(len(v) == 10 for v in ids.values())
    assert ids["en"] == ids["de"] and len(ids["ja"] & ids["en"]) >= 9
    texts = {t for v in data.test.values() for e in v for t in (e.text, e.text_pair)}
    assert all(len(v) == 4 for v in data.pairs.values())
    assert all(e.text in texts and e.text_pair in texts for v in data.pairs.values() for e in v)
