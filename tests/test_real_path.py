"""The real-data path end to end: `claims reproduce <experiment> --data DIR --model M` with the registry
files AS SHIPPED, on small slices of the real benchmark files written in their official release layouts
(tests/_real_path_util.py) and tiny random encoders built here (a BERT with a WordPiece tokenizer and a
pooler, so token_type_ids and cross-encoded pairs run; an XLM-R-style one with a Unigram tokenizer).

Nothing here passes an argument the registry forgets: each experiment runs as `claims reproduce` runs it.
Every experiment that has a real counterpart must reach a verdict; an `invalid` verdict is accepted only
for what a random 2-layer model cannot do (learn the task, retrieve translations), never for plumbing (a
metric the rule reads that the runs lack, a task that cannot be loaded).

Speed only: the runs use one torch thread and fp32 (bf16 autocast on a 32-wide model is slower on CPU);
the code path is otherwise the one a user runs. The slices hold a dozen items per language, so the quick
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
needs_xnli = pytest.mark.skipif(not HAVE_XNLI, reason=XNLI_SKIP)
# what a random 2-layer model may legitimately fail at (a verdict says so); anything else is plumbing
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


@pytest.fixture(autouse=True)
def _one_thread_fp32(monkeypatch):
    import torch

    from xlt_claims.experiments.models import runtime

    monkeypatch.setattr(runtime, "cpu_supports_bf16", lambda: False)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def reproduce(real, *targets: str, model: str = "bert", extra: tuple[str, ...] = ()) -> tuple[dict, str]:
    args = ["reproduce", *targets, "--data", real["data"], "--model", real[model], "--db", real["db"],
            "--reproductions", str(SHIPPED), "--device", "cpu", "--extended", *extra]
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
