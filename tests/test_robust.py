"""Robust training methods: RS-DA (the authors' substitution rule, neighbour file, embedding
neighbours), RS-RP and adversarial training on input embeddings (shapes, masks, radius, loop runs)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from _reproduce_util import XX, make_neighbours, make_task, make_tiny_model, TRAIN_OVERRIDES

from xlt_claims.experiments.methods import get_method
from xlt_claims.experiments.methods.robust import embedding_neighbours, load_neighbour_file, perturb_text
from xlt_claims.experiments.types import Example


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModel, AutoTokenizer

    path = make_tiny_model(tmp_path_factory.mktemp("tiny-robust") / "bert")
    return path, AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def test_perturb_text_follows_the_authors_rule():
    table = {"movie": ["film", "films"], "good": ["fine"]}
    rng = random.Random(0)
    seen = Counter()
    for _ in range(3000):
        out, changed = perturb_text("a good movie , Movie", table, rng)
        w = out.split(" ")
        assert w[0] == "a" and w[3] == "," and w[4] == "Movie"  # case-sensitive lookup, no neighbours: unchanged
        seen[w[2]] += 1
        assert changed == (w[1] != "good") + (w[2] != "movie")
    # uniform over [word] + neighbours
    for k in ("movie", "film", "films"):
        assert abs(seen[k] / 3000 - 1 / 3) < 0.04
    assert perturb_text(None, table, rng) == (None, 0)


def test_rsda_copies_pairs_and_numpy_rng(tmp_path):
    nb = tmp_path / "n.json"
    nb.write_text(json.dumps({"cat": ["kitten"], "sat": ["sits"], "x": []}))
    m = get_method("rs-da", copies=3, neighbours_file=str(nb))
    assert m.params["source"] == "file" and len(m.params["neighbours_sha256"]) == 64
    ex = [Example(id="1", text="the cat sat", text_pair="a cat", label=1, lang="en")]
    out = m.augment_train(ex, np.random.default_rng(0))
    assert len(out) == 3 and all(e.label == 1 and e.id.startswith("1#rsda") for e in out)  # copies only
    assert all(e.text_pair is not None for e in out)
    kept = get_method("rs-da", copies=2, neighbours_file=str(nb), keep_original=True).augment_train(ex, random.Random(1))
    assert len(kept) == 3 and kept[0] is ex[0]
    assert m.extra_metrics()["rs_da"]["examples"] == 1


def test_neighbour_file_validation(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"a": "b"}))
    with pytest.raises(ValueError, match="counterfitted_neighbors"):
        load_neighbour_file(bad)
    with pytest.raises(ValueError, match="not found"):
        get_method("rs-da", neighbours_file=str(tmp_path / "missing.json"))
    with pytest.raises(ValueError):
        get_method("rs-da", copies=0)


def test_embedding_neighbours(tiny):
    _, model, tok = tiny
    w = model.get_input_embeddings().weight
    words = ["red", "blue", "green", "cat", "dog", "Red", "zzzunknown", "a", "is", "the"]
    table, stats = embedding_neighbours(words, tok, w, max_neighbours=2, min_similarity=-1.0)
    assert "Red" not in table and "zzzunknown" not in table and "a" not in table  # lower-case, known, >= 2 letters
    assert set(table) == {"red", "blue", "green", "cat", "dog", "is", "the"}
    for k, v in table.items():
        assert len(v) == 2 and k not in v and set(v) <= set(table)
    strict, _ = embedding_neighbours(words, tok, w, max_neighbours=8, min_similarity=0.99)
    assert strict == {}  # random embeddings: no pair that similar
    assert stats["whole_word_pieces"] == 7


def test_rsda_embedding_source_through_prepare(tiny):
    _, model, tok = tiny

    class Ctx:
        encoder, tokenizer = model, tok

    m = get_method("rs-da", copies=2, min_similarity=-1.0, max_neighbours=1)
    m.prepare(Ctx())
    out = m.augment_train([Example(id="1", text="the red cat", label=0)], np.random.default_rng(0))
    assert len(out) == 2 and m.stats["source"] == "encoder-input-embeddings"
    assert all(len(e.text.split(" ")) == 3 for e in out)


class _Ctx:
    def __init__(self, model):
        self.encoder = model


def _batch():
    ids = torch.tensor([[2, 10, 11, 3, 0], [2, 12, 3, 0, 0]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long()}


@pytest.mark.parametrize("dist", ["uniform", "gaussian"])
def test_rsrp_noise(tiny, dist):
    _, model, _ = tiny
    m = get_method("rs-rp", radius=0.5, distribution=dist, samples=2)
    m.prepare(_Ctx(model))
    seen = []

    def forward(emb_delta=None):
        seen.append(emb_delta)
        return (emb_delta.pow(2).sum(), None)

    loss = m.training_loss(_Ctx(model), _batch(), forward)
    assert len(seen) == 2 and loss.item() > 0
    d = seen[0]
    assert d.shape == (2, 5, 32)
    assert torch.all(d[0, 4] == 0) and torch.all(d[1, 3:] == 0)  # padding untouched
    r = m.extra_metrics()["rs_rp"]["radius_abs"]
    assert r == pytest.approx(0.5 * m.extra_metrics()["rs_rp"]["embedding_rms"])
    if dist == "uniform":
        assert d.abs().max() <= r + 1e-6


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_adversarial_delta_in_ball_and_increases_loss(tiny, norm):
    _, model, _ = tiny
    m = get_method("adv", radius=2.0, norm=norm, steps=3, adv_weight=1.0)
    m.prepare(_Ctx(model))
    target = torch.randn(2, 5, 32)
    deltas = []

    def forward(emb_delta=None):
        d = emb_delta if emb_delta is not None else torch.zeros(2, 5, 32)
        deltas.append(d.detach().clone())
        return (((d - target) ** 2).sum() * -1.0 + 0.0, None)  # loss grows as delta moves away from target

    loss = m.training_loss(_Ctx(model), _batch(), forward)
    eps = m.extra_metrics()["adv"]["radius_abs"]
    final = deltas[-1]
    if norm == "l2":
        assert final.flatten(1).norm(dim=1).max() <= eps + 1e-5
    else:
        assert final.abs().max() <= eps + 1e-6
    assert torch.all(final[1, 3:] == 0)
    assert loss.item() > forward(None)[0].item()  # the adversary found a worse point than clean


def test_methods_run_through_the_train_loop(tiny, tmp_path):
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate
    from xlt_claims.reproduce.tasks import load_task_file

    path, _, _ = tiny
    task = load_task_file(make_task(tmp_path / "t.json", n_train=32, n_test=16))
    ov = {k: v for k, v in TRAIN_OVERRIDES.items() if v is not None}
    ov.update(max_steps=2, eval_every=2)
    for name, params in (("rs-rp", {"radius": 0.5}), ("adv", {"radius": 1.0, "steps": 2}),
                         ("rs-da", {"copies": 2, "neighbours_file": str(make_neighbours(tmp_path / "n.json"))})):
        res = train_and_evaluate(RunSpec(model=path, profile="quick", seed=1, overrides=ov), task,
                                 get_method(name, **params), progress=False)
        assert res.metrics["summary"]["train_steps"] == 2
        assert res.manifest["method"]["method"] == name
        key = name.replace("-", "_")
        assert key in res.metrics
    assert res.manifest["task"]["n_train_after_method"] == 64


@pytest.mark.parametrize("name,params", [("rs-rp", {"radius": 0.5}), ("adv", {"radius": 1.0, "steps": 2})])
def test_embedding_methods_on_bi_encoded_pairs(name, params):
    """RS-RP and adversarial training perturb the embeddings of both texts of a bi-encoded pair (the
    robust experiments' quick setup) and still learn the tiny pair task."""
    from tests._train_util import same_colour_pair_task, tiny_model
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    task = same_colour_pair_task()
    enc, tok = tiny_model(task, seed=0)
    spec = RunSpec(model="tiny-random-bert", profile="quick", seed=0, device="cpu",
                   overrides={"threads": 1, "batch_size": 16, "eval_every": 20, "lr": 3e-3, "max_steps": 60,
                              "freeze_word_embeddings": False, "pair_encoding": "bi"})
    res = train_and_evaluate(spec, task, get_method(name, **params), progress=False, encoder=enc, tokenizer=tok)
    assert res.manifest["model"]["pair_encoding"] == "bi" and res.manifest["method"]["method"] == name
    assert res.metrics["test"]["en"]["accuracy"] >= 0.75, res.metrics["test"]["en"]
