"""Evaluation (train.predict) on a tiny random BERT: predictions do not depend on how the test items
are batched or ordered, and the bf16 evaluation without grad (autocast's weight cache, one cast per
call) gives bitwise the scores of casting every weight afresh for every batch (inference_mode)."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")

from tests._train_util import same_colour_pair_task, tiny_model  # noqa: E402
from xlt_claims.experiments.heads import PoolingHead, TaskModel  # noqa: E402
from xlt_claims.experiments.profiles import resolve_profile  # noqa: E402
from xlt_claims.experiments.train import Setup, predict  # noqa: E402
from xlt_claims.experiments.types import Method  # noqa: E402


def build(amp_dtype=None, **cfg_over):
    task = same_colour_pair_task(n_test=60)
    enc, tok = tiny_model(task, seed=0)
    torch.manual_seed(0)
    head = PoolingHead(enc.config.hidden_size, 2, task.task_type, "mean", 0.1)
    model = TaskModel(enc, head, Method(), task.task_type)
    cfg = {**resolve_profile("quick", task.name, task.task_type), **cfg_over}
    setup = Setup(cfg=cfg, device=torch.device("cpu"), amp_dtype=amp_dtype, tokenizer=tok, text_prefix="", max_len=64,
                  stride=21, pad_id=tok.pad_token_id or 0, pad_multiple=1, task_type=task.task_type, num_labels=2,
                  bi_pairs=False)
    return task, model, setup


def test_predictions_follow_the_items_whatever_the_batches_and_order():
    task, model, setup = build()
    items = list(task.test["en"]) + list(task.dev)
    _, s0 = predict(model, items, setup)
    with torch.no_grad():  # centre the label-1 margin: both labels get predicted
        model.head.classifier.bias[1] -= sorted(s0)[len(s0) // 2]
    ref_p, ref_s = predict(model, items, setup)
    assert len(set(ref_p)) == 2  # both labels occur: a mix-up of rows would show
    setup.cfg.update(eval_batch_size=1)
    one_p, one_s = predict(model, items, setup)
    setup.cfg.update(eval_batch_size=128, eval_batch_tokens=64)
    small_p, small_s = predict(model, items, setup)
    perm = list(range(len(items)))
    random.Random(0).shuffle(perm)
    setup.cfg.update(eval_batch_tokens=4096)
    sh_p, sh_s = predict(model, [items[i] for i in perm], setup)
    for p, s in ((one_p, one_s), (small_p, small_s)):
        assert p == ref_p and s == pytest.approx(ref_s, abs=1e-5)
    assert sh_p == [ref_p[i] for i in perm] and sh_s == pytest.approx([ref_s[i] for i in perm], abs=1e-5)
    assert model.training  # back in train mode


def test_bf16_evaluation_scores_equal_a_fresh_cast_per_batch():
    task, model, setup = build(amp_dtype=torch.bfloat16, eval_batch_tokens=96)
    items = list(task.test["en"]) + list(task.dev)
    preds, scores = predict(model, items, setup)
    feats = setup.featurize(items, train=False)
    batches = setup.eval_batches([len(f["input_ids"]) for f in feats])
    assert len(batches) > 2  # several batches share one autocast scope in predict
    ref = [None] * len(items)
    model.eval()
    for idx in batches:
        with torch.inference_mode(), setup.autocast():  # inference_mode: autocast never caches a cast
            batch = setup.batch([{k: feats[i][k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in feats[i]}
                                 for i in idx])
            lg = model(batch, train=False)[1].float()
        for j, i in enumerate(idx):
            ref[feats[i]["example_index"]] = lg[j]
    model.train()
    ref_l = torch.stack(ref)
    assert preds == ref_l.argmax(-1).tolist()
    assert scores == (ref_l[:, 1] - ref_l[:, 0]).tolist()  # bitwise, not approximately
