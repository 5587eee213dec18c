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


def test_an_example_is_tokenized_alike_whatever_list_it_is_in():
    """A single text evaluated in one pass beside pairs gets no empty second segment (before, any pair
    in the list gave every single text a trailing [SEP] and different logits)."""
    from xlt_claims.experiments.featurize import featurize_cls
    from xlt_claims.experiments.types import Example

    task, _, setup = build()
    tok = setup.tokenizer
    single = Example(id="s", text="red apple", label=0)
    pair = Example(id="p", text="red apple", text_pair="blue sky", label=1)
    alone = featurize_cls(tok, [single], "", 64)[0]
    mixed = featurize_cls(tok, [pair, single], "", 64)
    assert mixed[1]["input_ids"] == alone["input_ids"] and mixed[1]["example_index"] == 1
    assert mixed[0]["input_ids"] == featurize_cls(tok, [pair], "", 64)[0]["input_ids"]
    assert len(mixed[0]["input_ids"]) > len(alone["input_ids"])


def test_one_evaluation_pass_over_all_sets_equals_a_pass_per_set():
    """evaluate_sets: every test language and pair in one pass gives each set the metrics and predictions
    of its own pass (fp32: batch shapes change the rounding only)."""
    from xlt_claims.experiments.train import evaluate_sets
    from xlt_claims.experiments.types import Example

    task, model, setup = build()
    items = list(task.test["en"])
    _, s0 = predict(model, items, setup)
    with torch.no_grad():
        model.head.classifier.bias[1] -= sorted(s0)[len(s0) // 2]
    singles = [Example(id=e.id + "-s", text=e.text, label=e.label, lang="xx") for e in items[:25]]
    sets = {("test", "en"): items, ("test", "xx"): singles, ("pairs", "en-en"): list(task.dev)}
    one = evaluate_sets(model, sets, setup)
    apart = evaluate_sets(model, sets, setup, one_pass=False)
    assert list(one) == list(sets)
    for k in sets:
        assert one[k][1] == apart[k][1]
        assert one[k][0]["accuracy"] == apart[k][0]["accuracy"] and one[k][0]["n"] == len(sets[k])
        assert one[k][0]["auc"] == pytest.approx(apart[k][0]["auc"], abs=1e-6)
    assert len(set(one[("test", "en")][1])) == 2
