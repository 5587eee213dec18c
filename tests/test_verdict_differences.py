"""Each verdict says what differs from the paper (issue 19): which benchmark it read (real or proxy, and
where from), the claim's model or another, the recipe in numbers read from the runs (training size, steps,
epochs, max length, test items), and the method's own substitutes (RS-DA neighbours from the encoder's
input embeddings, OT alignment on other parallel text). Stored on the verdict (JSON), shown by
`claims show` and on the report card."""

from __future__ import annotations

import io
from types import SimpleNamespace

from conftest import ROOT
from rich.console import Console

from xlt_claims.reproduce import load_registry
from xlt_claims.store.models import Run
from xlt_claims.verdict.display import benchmarks_text, render_claim_verdicts
from xlt_claims.verdict.recipe import ours_text, paper_text, recipe_texts
from xlt_claims.verdict.template import judge

REAL = {"task": "pawsx", "benchmark": "real", "where": "embedded", "note": None, "claim_dataset": "PAWS-X",
        "real": "pawsx"}
PROXY = {"task": "logt-pair", "benchmark": "proxy", "where": "LibreOffice proxy (LOGT)", "claim_dataset": "XNLI",
         "real": "xnli", "note": "XNLI is not at hand (CC BY-NC 4.0, never shipped): the offline proxy stands in; "
                                 "`claims data add xnli DIR` or --data DIR runs it on XNLI"}


def _manifest(task="pawsx", n_after=12000):
    return {"config": {"lr": 1e-4, "max_length": 64, "batch_size": 32, "effective_batch_size": 32,
                       "freeze_word_embeddings": True},
            "task": {"name": task, "task_type": "pair-classification", "n_train": 8593, "n_train_used": 1200,
                     "n_train_after_method": n_after, "n_test_used": {"en": 100, "de": 100, "ja": 100}, "n_pairs": 42},
            "train_steps": 90, "label_stats": {"task_type": "pair-classification", "num_labels": 2,
                                               "test": {"de": {"n": 100, "majority": 0.5}, "en": {"n": 100, "majority": 0.5}},
                                               "dev": {"en": {"n": 200, "majority": 0.5}}}}


def _run(i, acc, arm, manifest):
    return Run(id=i, experiment="robust-pawsx-rsda", arm=arm, seed=i, config_hash=f"h{i}", manifest=manifest,
               metrics={"test": {"en": {"accuracy": 0.8, "n": 100}, "de": {"accuracy": acc, "n": 100}},
                        "dev": {"en": {"accuracy": 0.8, "n": 200}}})


def test_recipe_is_read_from_the_runs_in_numbers():
    ours = ours_text(_manifest())
    assert ours == ("1,200 of 8,593 English training examples (12,000 after the method's augmentation), 90 steps at "
                    "batch 32 (0.2 epochs), lr 0.0001, max length 64, word embeddings frozen; 100 test items per "
                    "language, 42 language pairs")
    frozen = _manifest()
    frozen["config"]["freeze_layers"] = 6
    assert "max length 64, embeddings and the bottom 6 layers frozen; 100 test" in ours_text(frozen)
    paper = paper_text("pawsx", "pair-classification")
    assert paper.startswith("the full English train (49,401 examples), 3 epoch(s) at batch 32, lr 2e-05, max length 128")
    assert "2,000 test items per language" in paper
    runs = {"baseline": {1: SimpleNamespace(manifest=_manifest(n_after=1200))}}
    assert recipe_texts(runs, {"pawsx": "pawsx"})[1].startswith("1,200 of 8,593 English training examples, 90 steps")
    # a proxy task's paper side is its real counterpart's recipe; no recorded settings: the generic wording
    assert "49,401" in recipe_texts({"b": {1: SimpleNamespace(manifest=_manifest("logt-pair"))}}, {"logt-pair": "pawsx"})[0]
    assert recipe_texts({"b": {1: SimpleNamespace(manifest={"device": "cpu"})}}, {}) is None
    probe = SimpleNamespace(config={"kind": "probe", "max_items": 200, "max_length": 64}, manifest={})
    assert recipe_texts({"probe": {0: probe}}, {})[1] == "the first 200 pairs per language, max length 64"


def test_rsda_states_its_neighbour_source_unless_the_authors_file_is_given(tmp_path):
    from xlt_claims.experiments.methods import get_method

    d = get_method("rs-da", copies=10, max_neighbours=8, min_similarity=0.4).stated_differences("quick")
    assert [x["aspect"] for x in d] == ["method source"] and "counter-fitted" in d[0]["paper"]
    assert "input-embedding space" in d[0]["ours"] and "cosine >= 0.4" in d[0]["ours"] and d[0]["weight"] == 0.8
    f = tmp_path / "counterfitted_neighbors.json"
    f.write_text('{"good": ["fine"]}')
    assert get_method("rs-da", neighbours_file=str(f)).stated_differences("quick") == []
    ot = get_method("ot-align", blur=0.5, bitext="tatoeba").stated_differences("quick")
    assert ot[0]["aspect"] == "alignment data" and ot[0]["ours"].startswith("Tatoeba (LASER v1): up to 400 pairs")
    assert get_method("baseline").stated_differences("quick") == []


def test_a_real_data_verdict_lists_benchmark_model_recipe_and_method_source():
    exp = load_registry([ROOT / "reproductions"]).get("robust-pawsx-rsda")
    from xlt_claims.reproduce.kinds import get_kind
    from xlt_claims.reproduce.runner import Options

    planned = get_kind("train").plan(exp, Options(), exp.model.default, "quick", [1, 2, 3])
    assert planned.proxy_data is False and planned.benchmarks[0]["benchmark"] == "real"
    runs = {"baseline": {s: _run(s, 0.70, "baseline", _manifest(n_after=1200)) for s in (1, 2, 3)},
            "rs-da": {s: _run(10 + s, 0.72 + 0.002 * s, "rs-da", _manifest()) for s in (1, 2, 3)}}
    claim = SimpleNamespace(report_confidence=0.6, text_verdict=None, model=None, value=2.1, text="+2.1 on PAWS-X")
    res = judge(exp, claim, runs, proxy_data=planned.proxy_data, model=exp.model.default, profile="quick",
                loader_differences=planned.differences, benchmarks=planned.benchmarks)
    diffs = {d["aspect"]: d for d in res.detail["differences"]}
    assert "data" not in diffs  # the claim's own benchmark
    assert diffs["model"]["paper"] == "bert-base-multilingual-cased"
    assert diffs["recipe"]["ours"].startswith("1,200 of 8,593 English training examples") and "49,401" in diffs["recipe"]["paper"]
    assert diffs["training data"]["source"] == "data loader"  # PAWS-Wiki pairs instead of PAWS-X train
    assert diffs["method source"]["source"] == "method" and "counter-fitted" in diffs["method source"]["paper"]
    w = 1.0
    for d in res.detail["differences"]:
        w *= d["weight"]
    assert abs(res.detail["bayes"]["tempering"]["w"] - w) < 1e-12
    assert res.detail["benchmarks"] == planned.benchmarks and res.proxy  # other model: still proxy evidence
    assert res.detail["proxy_reasons"] == ["model offline:multilingual-e5-small instead of the claim's "
                                           "bert-base-multilingual-cased"]


def test_a_proxy_verdict_names_the_proxy_task_and_why_the_real_set_was_not_used():
    exp = load_registry([ROOT / "reproductions"]).get("robust-xnli-rsda")
    runs = {"baseline": {s: _run(s, 0.70, "baseline", {}) for s in (1, 2, 3)},
            "rs-da": {s: _run(10 + s, 0.71, "rs-da", {}) for s in (1, 2, 3)}}
    claim = SimpleNamespace(report_confidence=0.6, text_verdict=None, model=None, value=1.6, text="+1.6 on XNLI")
    res = judge(exp, claim, runs, proxy_data=True, model=exp.model.default, profile="quick", benchmarks=[PROXY])
    data = next(d for d in res.detail["differences"] if d["aspect"] == "data")
    assert data["paper"] == "XNLI" and data["ours"] == "logt-pair (LibreOffice proxy (LOGT))"
    assert "logt-pair (LibreOffice proxy (LOGT)) instead of the claim's data" in res.detail["proxy_reasons"]
    assert "claims data add xnli" in benchmarks_text(res.detail["benchmarks"])


def test_show_prints_the_benchmark_and_every_difference_within_80_columns():
    view = {"links": [{"experiment": "robust-pawsx-rsda", "origin": "rule", "active": True}], "verdicts": [{
        "experiment": "robust-pawsx-rsda", "outcome": "inconclusive", "proxy": True, "metric": "test:nonen:accuracy",
        "benchmarks": [REAL, PROXY], "ci": [-1.0, 2.0], "effect": 0.5, "reason": "r",
        "differences": [{"aspect": "recipe", "weight": 0.8, "paper": "3 epochs", "ours": ours_text(_manifest()),
                         "why": "short"},
                        {"aspect": "method source", "weight": 0.8, "paper": "counter-fitted", "ours": "embeddings"}]}]}
    buf = io.StringIO()
    render_claim_verdicts(view, Console(file=buf, width=80, force_terminal=False))
    out = buf.getvalue()
    assert "benchmark: pawsx (real benchmark, embedded); logt-pair (proxy for XNLI" in out
    assert "differs in recipe (weight 0.8): 3 epochs -> 1,200 of 8,593" in out
    assert "differs in method source (weight 0.8)" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_report_card_shows_the_benchmark_and_the_differences(store):
    from _reproduce_util import add_claim

    from xlt_claims.report import build_report, render_html, render_markdown
    from xlt_claims.store.models import Verdict

    add_claim(store, "c1", "Robust training improves PAWS-X by 2.1 points.")
    diffs = [{"aspect": "recipe", "weight": 0.8, "paper": "3 epochs", "ours": ours_text(_manifest()), "why": "short",
              "source": "detected"},
             {"aspect": "method source", "weight": 0.8, "paper": "counter-fitted neighbours",
              "ours": "input-embedding neighbours", "why": "", "source": "method"}]
    with store.session() as s:
        s.add(Verdict(claim_id="c1", experiment="robust-pawsx-rsda", outcome="inconclusive", proxy=True,
                      metric="test:nonen:accuracy", effect=0.5, ci_low=-1.0, ci_high=2.0, n_seeds=3, run_ids=[],
                      detail={"benchmarks": [REAL], "differences": diffs, "reason": "r"}))
    data = build_report(store)
    card = next(v for c in data["claims"] for v in c.get("verdicts") or [])
    assert card["benchmark"] == "pawsx (real benchmark, embedded)" and card["differences"] == diffs
    md, html = render_markdown(data), render_html(data)
    assert "Benchmark: pawsx (real benchmark, embedded)." in md
    assert "Differs in method source (weight 0.80)" in md and "1,200 of 8,593 English training examples" in md
    assert "<span>benchmark</span>pawsx (real benchmark, embedded)" in html
