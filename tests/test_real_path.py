"""The real-data path end to end: `claims reproduce <experiment> --data DIR --model M` with the registry
files AS SHIPPED, on small slices of the real benchmark files written in their official release layouts
(tests/_real_path_util.py) and tiny random encoders built here (a BERT with a WordPiece tokenizer and a
pooler, so token_type_ids and cross-encoded pairs run; an XLM-R-style one with a Unigram tokenizer).

Nothing here passes an argument the registry forgets: each experiment runs as `claims reproduce` runs it.
Every experiment that has a real counterpart must reach a verdict; an `invalid` verdict is accepted only
for what a random 32-wide model cannot do (learn the task, retrieve translations), never for plumbing (a
metric the rule reads that the runs lack, a task that cannot be loaded).

Speed only: the runs use one torch thread and fp32 (`--threads 1 --precision fp32`); the code path is
otherwise the one a user runs. The slices hold a dozen items per language, so the quick
profile's caps never bite and each run takes a few optimizer steps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPORTS_DIR, ROOT
from _real_path_util import HAVE_XNLI, XNLI_SKIP, make_tiny_bert, make_tiny_xlmr, write_real_slices
from _reproduce_util import add_claim

from xlt_claims.cli import app
from xlt_claims.reproduce.registry import load_registry

SHIPPED = ROOT / "reproductions"
# speed only, through the command's own flags: one thread and fp32 (bf16 autocast on a 32-wide model is
# slower on CPU, and a shared machine's cores are oversubscribed); no calibration is run
SPEED = ("--precision", "fp32", "--threads", "1")
needs_xnli = pytest.mark.skipif(not HAVE_XNLI, reason=XNLI_SKIP)
# what a random 32-wide model may legitimately fail at (a verdict says so); anything else is plumbing
LEARNING = re.compile(r"did not learn|collapsed|at chance|learned nothing|no layer reaches|too few|fewer than")
OT_CLAIM = ("The optimal transport regularization strength (entropic epsilon) changes zero-shot cross-lingual "
            "transfer on XQuAD more than on XNLI.")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Data slices, the two tiny models, and a store with the seed reports' claims (+ one OT claim)."""
    from xlt_claims.ingest import ingest_paths
    from xlt_claims.store import open_store

    base = tmp_path_factory.mktemp("real-path")
    data, texts = write_real_slices(base / "data")
    # named like the claim's model: a claim's model run with the quick recipe (bug 5) is this one
    bert = make_tiny_bert(base / "bert-base-multilingual-cased", texts)
    xlmr = make_tiny_xlmr(base / "tiny-xlmr", texts)
    db = base / "claims.db"
    store = open_store(db)
    ingest_paths(store, [REPORTS_DIR])
    add_claim(store, "ot0001", OT_CLAIM, report_key="998_ot")
    store.close()
    return {"data": str(data), "bert": bert, "xlmr": xlmr, "db": str(db), "base": base}


def reproduce(real, *targets: str, model: str = "bert", extra: tuple[str, ...] = ()) -> tuple[dict, str]:
    args = ["reproduce", *targets, "--data", real["data"], "--model", real[model], "--db", real["db"],
            "--reproductions", str(SHIPPED), "--device", "cpu", "--extended", *SPEED, *extra]
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    out = json.loads(res.stdout)
    return out, res.output


def runs_of(real, experiment: str) -> list:
    from sqlmodel import select

    from xlt_claims.store import open_store
    from xlt_claims.store.models import Run

    store = open_store(real["db"])
    try:
        with store.read() as s:
            return list(s.exec(select(Run).where(Run.experiment == experiment, Run.status == "FINISHED")).all())
    finally:
        store.close()


def assert_verdict(out: dict, experiment: str) -> list[dict]:
    """The experiment was planned without error, no run failed, and every linked claim got a verdict
    whose `invalid` (if any) is about learning, not plumbing."""
    plan = next(e for e in out["experiments"] if e["experiment"] == experiment)
    assert plan["error"] is None and plan["data_guard"] is None, plan
    assert plan["proxy_data"] is False, plan
    assert plan["runs"] and all(r["state"] in ("finished", "reuse", "shared") for r in plan["runs"]), plan["runs"]
    verdicts = [v for v in out["verdicts"] if v.get("experiment") == experiment]
    assert verdicts and all("skipped" not in v for v in verdicts), verdicts
    for v in verdicts:
        if v["outcome"] == "invalid":
            assert LEARNING.search(v["reason"] or ""), v
    return verdicts


# ---------------------------------------------------------------------------------------------------
# the five bugs of issue 19, each through the shipped registry


@needs_xnli
def test_xnli_claim_runs_on_xnli_in_its_own_languages(real):
    """robust-xnli-rsda shares _robust-quick.toml's PAWS-X languages (ja, ko) for the proxy; on XNLI it
    must ask for XNLI's languages, not fail before training."""
    out, text = reproduce(real, "robust-xnli-rsda")
    assert_verdict(out, "robust-xnli-rsda")
    run = runs_of(real, "robust-xnli-rsda")[0]
    assert run.config["task"] == "xnli"
    langs = {k.split(":")[1] for k in _flat(run.metrics) if k.startswith("test:")}
    assert {"sw", "ur", "th", "en"} <= langs and not {"ja", "ko"} & langs


def _flat(metrics: dict) -> list[str]:
    """'split:lang' keys of a run's metrics (test:de, test_pairs:de-fr, dev:en)."""
    out = []
    for split in ("test", "test_pairs", "dev"):
        for k in (metrics.get(split) or {}):
            out.append(f"{split}:{k}")
    return out


def test_generalized_claims_read_cross_language_pawsx_pairs(real):
    """The generalized-setting rules read test_pairs:cross; on real PAWS-X the pairs must be built (sentence
    1 in one language, sentence 2 in another, same id), or the metric is missing and the verdict invalid."""
    out, _ = reproduce(real, "robust-gxlt-rsda", "robust-gxlt-rsda-auc")
    for name in ("robust-gxlt-rsda", "robust-gxlt-rsda-auc"):
        assert_verdict(out, name)
    run = runs_of(real, "robust-gxlt-rsda")[0]
    pairs = [k for k in _flat(run.metrics) if k.startswith("test_pairs:")]
    assert len(pairs) == 42, pairs
    # the standard-setting PAWS-X claim shares these runs (same data, same config hash)
    out, _ = reproduce(real, "robust-pawsx-rsda")
    plan = next(e for e in out["experiments"] if e["experiment"] == "robust-pawsx-rsda")
    assert {r["state"] for r in plan["runs"]} <= {"reuse", "finished"} and out["ran"] == 0


@needs_xnli
def test_ot_alignment_reads_real_parallel_text_with_data(real):
    """With --data the OT arms align on real parallel text (Tatoeba), never on the LibreOffice set, and the
    suite runs its real tasks (XQuAD with a TyDi QA-trained span head, XNLI)."""
    out, _ = reproduce(real, "ot-sweep", extra=("--seeds", "1"))
    assert_verdict(out, "ot-sweep")  # also its end-to-end check (left out of the list below: the slowest)
    runs = runs_of(real, "ot-sweep")
    assert {r.config["task"] for r in runs} == {"xquad", "xnli"}
    ot = [r for r in runs if r.config["method_name"] == "ot-align"]
    assert len(ot) == 8 and all(r.metrics.get("ot", {}).get("steps") for r in ot)
    assert {r.config["method_params"]["bitext"] for r in ot} == {"tatoeba"}
    assert {r.config["method_params"]["bitext_dir"] for r in ot} == {str(Path(real["data"]).resolve())}
    xq = next(r for r in ot if r.config["task"] == "xquad" and r.config["suite_arm"] == "ot-blur0.05")
    # aligned on the languages the task evaluates, found in Tatoeba
    assert set(xq.config["method_params"]["langs"]) == {"es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi"}
    assert set(xq.metrics["ot"]["languages"]) == set(xq.config["method_params"]["langs"])


def test_probe_with_data_reads_tatoeba_per_layer(real):
    """The lower-layers probe with --data is Tatoeba retrieval per layer (the XTREME setting), not the
    LibreOffice bitext; its verdict is proxy only for the model (not mBERT), never for the data."""
    out, _ = reproduce(real, "fusion-probe-lower-layers", model="xlmr")
    plan = next(e for e in out["experiments"] if e["experiment"] == "fusion-probe-lower-layers")
    assert plan["task"] == "tatoeba" and plan["proxy_data"] is False, plan
    run = runs_of(real, "fusion-probe-lower-layers")[-1]
    assert run.config["bitext"] == "tatoeba" and run.config["bitext_dir"] == str(Path(real["data"]).resolve())
    assert len(run.metrics["per_lang"]) == 36 and run.metrics["per_lang"]["de"]["n"] == 16
    for v in assert_verdict(out, "fusion-probe-lower-layers"):
        assert v["proxy"] is True  # the model is not the claim's
    show = json.loads(CliRunner().invoke(app, ["show", v["claim_id"], "--json", "--db", real["db"]]).stdout)
    aspects = {d["aspect"] for d in _differences(show)}
    assert "model" in aspects and "data" not in aspects


def _differences(show: dict) -> list[dict]:
    vs = show.get("verdicts") or []
    return [d for v in vs for d in ((v.get("detail") or {}).get("differences") or v.get("differences") or [])]


def test_quick_recipe_on_the_claims_model_is_stated_and_warned(real):
    """The claim's model (mBERT; here a tiny BERT saved under that name) run with the quick profile: the
    verdict states the recipe it ran (examples, steps, max length, test items) against the paper's,
    and the command warns before it trains."""
    out, text = reproduce(real, "robust-pawsx-rsda")
    v = assert_verdict(out, "robust-pawsx-rsda")[0]
    res = CliRunner().invoke(app, ["reproduce", "robust-pawsx-rsda", "--data", real["data"], "--model", real["bert"],
                                   "--db", real["db"], "--reproductions", str(SHIPPED), "--device", "cpu", *SPEED])
    flat = re.sub(r"\s+", " ", res.output)
    assert re.search(r"bert-base-multilingual-cased runs the quick recipe \(at most 1,200 English training "
                     r"examples, 114 steps, max length 64, embeddings and the bottom 6 layers frozen, at most 100 test items "
                     r"per language\)", flat), flat
    assert "--profile paper" in flat
    show = json.loads(CliRunner().invoke(app, ["show", v["claim_id"], "--json", "--db", real["db"]]).stdout)
    recipe = [d for d in _differences(show) if d["aspect"] == "recipe"]
    assert len(recipe) == 1, _differences(show)
    ours = recipe[0]["ours"]  # what ran, in numbers (the slice is small, so fewer examples and steps than the caps)
    for part in ("of 16 English training examples", "steps at batch 32", "max length 64", "12 test items per language"):
        assert part in ours, ours
    assert "max length 128" in recipe[0]["paper"] and "49,401" in recipe[0]["paper"]
    assert not any(d["aspect"] == "model" for d in _differences(show))  # it is the claim's model


# ---------------------------------------------------------------------------------------------------
# every experiment with a real counterpart reaches a verdict


def _real_experiments() -> list[str]:
    out = []
    for e in load_registry([SHIPPED]):
        if e.name == "ot-sweep":  # run end to end by test_ot_alignment_reads_real_parallel_text_with_data
            continue
        if e.task.real or e.params.get("real_tasks") or e.kind == "probe":
            out.append(e.name)
    return sorted(out)


def _needs_xnli(name: str) -> bool:
    e = load_registry([SHIPPED]).get(name)
    return e.task.real == "xnli" or "xnli" in (e.params.get("real_tasks") or [])


@pytest.mark.parametrize("name", _real_experiments())
def test_every_real_experiment_reaches_a_verdict(real, name):
    """Registry entries with a real counterpart (a real task, real suite tasks, or the probe's bitext)."""
    if _needs_xnli(name) and not HAVE_XNLI:
        pytest.skip(XNLI_SKIP)
    e = load_registry([SHIPPED]).get(name)
    seeds = ("--seeds", "1") if e.kind == "task-suite" else ()  # 5 arms x 2 tasks: one seed is enough here
    out, _ = reproduce(real, name, extra=seeds)
    assert_verdict(out, name)
    for r in runs_of(real, name):  # read from the folder given (the probe's bitext: bitext_dir)
        assert r.config.get("data_dir", r.config.get("bitext_dir")) == str(Path(real["data"]).resolve()), r.config
    if e.kind == "task-suite":
        assert {r.config["task"] for r in runs_of(real, name)} == set(e.params["real_tasks"])


def test_xlmr_style_model_runs_cross_encoded_pairs(real):
    """An XLM-R-style encoder (no token_type_ids, "<s> a </s></s> b </s>") through the generalized claim."""
    out, _ = reproduce(real, "robust-gxlt-rsda-auc", model="xlmr", extra=("--seeds", "1,2"))
    assert_verdict(out, "robust-gxlt-rsda-auc")
    run = next(r for r in runs_of(real, "robust-gxlt-rsda-auc") if r.config["model"] == real["xlmr"])
    assert run.manifest["model"]["pair_encoding"] == "cross" or run.manifest.get("pair_encoding") == "cross"


def test_a_data_folder_without_tatoeba_leaves_the_bitexts_on_the_shipped_copy(real, tmp_path):
    """Tatoeba is auxiliary text with --data (the probe's bitext, the OT alignment's parallel text): a folder
    holding only another set reads the registered or embedded copy, and says so, instead of failing."""
    from _real_path_util import write_pawsx

    write_pawsx(tmp_path / "pawsx")
    res = CliRunner().invoke(app, ["reproduce", "fusion-probe-lower-layers", "--data", str(tmp_path), "--model",
                                   real["bert"], "--db", real["db"], "--reproductions", str(SHIPPED), "--dry-run",
                                   "--json"])
    plan = json.loads(res.stdout)["experiments"][0]
    assert plan["error"] is None and plan["task"] == "tatoeba" and plan["proxy_data"] is False, plan
    assert "no tatoeba files under" in plan["benchmarks"][0]["where"]
