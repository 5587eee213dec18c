"""Pure-text parts of evidence (no model): sentence offsets, numbers, entities, stance rules, repair, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from xlt_claims.evidence.calibrate import youden_threshold
from xlt_claims.evidence.repair import find_continuation
from xlt_claims.evidence.stance import analyse, compare_numbers, judge
from xlt_claims.evidence.text import (
    TextIndex,
    abbreviation_definitions,
    extract_entities,
    extract_quantities,
    split_sentences,
    stem,
)


class TH:  # thresholds stand-in
    support, related = 0.6, 0.4


def test_sentence_offsets_are_exact_and_skip_abbreviations():
    text = ("  Prior work (e.g. Smith et al. 2020) used Fig. 3 of J. Doe's paper.  Gains reach +1.5 % on XNLI. "
            "Is it robust? \"Yes,\" they say.\n\nA new paragraph starts here")
    spans = split_sentences(text)
    got = [text[s:e] for s, e in spans]
    assert got == [
        "Prior work (e.g. Smith et al. 2020) used Fig. 3 of J. Doe's paper.",
        "Gains reach +1.5 % on XNLI.",
        "Is it robust?",
        "\"Yes,\" they say.",
        "A new paragraph starts here",
    ]


def test_quantities_units_ranges_counts_and_non_results():
    qs = extract_quantities("XNLI (+1.5 %), PAWS-X (+2.4 %), NER (+1.2 F1); by 1 to 3 absolute percentage points; "
                            "four datasets; XLM-100 trained in 2020 with lr 2e-5 [12]")
    vals = [(q.value, q.value2, q.unit) for q in qs if not q.is_count]
    assert vals == [(1.5, None, "%"), (2.4, None, "%"), (1.2, None, "f1"), (1.0, 3.0, "percentage points")]
    counts = [(q.value, q.noun) for q in qs if q.is_count]
    assert counts == [(4.0, "dataset")]
    assert extract_quantities("accuracy fell by -0.8 points")[0].value == -0.8


def test_numbers_attach_to_their_dataset():
    a = analyse("The method obtains improvements on XNLI (+1.5 %), PAWS-X (+2.4 %) and NER (+1.2 F1).")
    anchors = {q.text: q.anchor for q in a.quantities}
    assert anchors == {"+1.5 %": "xnli", "+2.4 %": "pawsx", "+1.2 F1": "ner"}
    c = analyse("It improves by 2.1 points on PAWS-X.")
    assert c.quantities[0].anchor == "pawsx"
    cmp = compare_numbers(c, a)
    assert cmp["conflict"] and cmp["conflict"][0]["about"] == "pawsx" and not cmp["agree"]
    ok = compare_numbers(analyse("It improves by 2.4 points on PAWS-X."), a)
    assert ok["agree"] and not ok["conflict"]
    # a claimed value for XNLI that equals the PAWS-X number does not agree
    wrong_entity = compare_numbers(analyse("It improves by 2.4 points on XNLI."), a)
    assert wrong_entity["conflict"] and not wrong_entity["agree"]
    rng = compare_numbers(analyse("Gains range from 1 to 3 points."), a)
    assert rng["agree"] and not rng["conflict"]


def test_entities_acronyms_terms_and_method_phrases():
    names = {e.text for e in extract_entities(
        "How does optimal transport regularization affect Named Entity Recognition on the TYPOS dataset "
        "with mBERT and XLM-R? The AIF module helps. NLP is a field.")}
    assert {"optimal transport", "Named Entity Recognition", "TYPOS", "mBERT", "XLM-R", "AIF"} <= names
    assert "NLP" not in names and "How" not in " ".join(names)


def test_text_index_matching_rules():
    idx = TextIndex(["Multilingual BERT (mBERT) and XLM-R, evaluated on PAWS-X and Named Entity Recognition (NER) "
                     "with mBERT-based taggers and adversarial trainings."])
    for key in ("mbert", "xlmr", "pawsx", "ner", "namedentityrecognition", "multilingualbert", "adversarialtraining"):
        assert idx.contains(key), key
    assert not idx.contains("xlm")  # XLM is not mentioned by "XLM-R"
    assert not idx.contains("typos")
    assert abbreviation_definitions("a Ranking-based Consistency (RankC) metric") == {"rankc": "Ranking-based Consistency"}


def test_stem_groups_inflections():
    assert stem("improvements") == stem("improves") == stem("improved") == stem("improve")
    assert stem("languages") == stem("language") and stem("datasets") == stem("dataset")


def _judge(claim, sentence, sim, prev=""):
    return judge(analyse(claim), analyse(sentence), sim, TH, analyse(prev) if prev else None)


def test_similarity_alone_is_not_support():
    # very similar, but the claim's number is not in the sentence
    st = _judge("The method improves XNLI accuracy by 1.6 points.", "The method improves XNLI accuracy.", 0.9)
    assert st.stance == "neutral" and st.reasons["numbers"]["missing"]
    # entity the sentence does not name
    st = _judge("The DLFA module improves XNLI accuracy.", "The fusion module improves XNLI accuracy.", 0.9)
    assert st.stance == "neutral" and st.reasons["entities"]["missing"] == ["DLFA"]
    # all parts agree
    st = _judge("The fusion module improves XNLI accuracy by 1.6 points.",
                "Our fusion module improves accuracy on XNLI by +1.6 points.", 0.8)
    assert st.stance == "support"
    # reversed polarity of the same statement
    st = _judge("The fusion module improves XNLI accuracy.", "The fusion module does not improve XNLI accuracy.", 0.9)
    assert st.stance == "contradict"
    # topical but unrelated similarity never contradicts on numbers of another dataset
    st = _judge("It improves by 2.1 points on PAWS-X.", "It improves by 2.4 points on XNLI.", 0.5)
    assert st.stance == "neutral"


def test_repair_needs_a_real_continuation():
    sents = [("2104.08645", 0, "In short, robust training improves zero-shot cross-lingual transfer on text "
                               "classification tasks.", 0, 100, "abstract")]
    rep = find_continuation("Robust training improves zero-shot cross-lingual transfer on text classif", sents)
    assert rep and rep.text == "Robust training improves zero-shot cross-lingual transfer on text classification tasks."
    assert find_continuation("Robust training improves zero-shot cross-lingual transfer on speech", sents) is None
    assert find_continuation("Some research considers additional syntactic fea", sents) is None
    assert find_continuation("on text classif", sents) is None  # too short a prefix to trust


def test_youden_threshold_separates():
    pos, neg = np.array([0.7, 0.8, 0.9]), np.array([0.2, 0.3, 0.5])
    t = youden_threshold(pos, neg)
    assert 0.5 < t < 0.7
    assert youden_threshold(np.array([0.5]), np.array([0.5])) == pytest.approx(0.5, abs=1e-3)


def test_gains_are_not_compared_with_levels_and_modifier_negation_is_not_polarity():
    # "+1.6 on XNLI" vs "XNLI accuracy of 75.4": a gain vs a level -> no conflict
    cmp = compare_numbers(analyse("It improves XNLI by 1.6 points."), analyse("It reaches 75.4 accuracy on XNLI."))
    assert not cmp["conflict"]
    st = _judge("The fusion module improves XNLI accuracy.",
                "With no extra parameters, the fusion module improves XNLI accuracy.", 0.9)
    assert st.stance == "support"


def test_equivalent_negations_are_not_a_conflict():
    st = _judge("The method does not require parallel data.", "The method requires no parallel data.", 0.9)
    assert st.stance == "support" and not st.reasons["polarity_conflict"]
    st = _judge("The method requires parallel data.", "The method does not require parallel data.", 0.9)
    assert st.stance == "contradict"


def test_numbers_attach_to_the_dataset_not_the_baseline():
    c = analyse("CPMH improves over mDeBERTa by 2.6 points on MARC.")
    assert c.quantities[0].anchor == "marc"
    s = analyse("CPMH improves over the mDeBERTa baseline by +1.4 points on Tatoeba, +2.4 points on XNLI and "
                "+2.6 points on MARC.")
    assert [q.anchor for q in s.quantities] == ["tatoeba", "xnli", "marc"]
    assert compare_numbers(c, s)["agree"] and not compare_numbers(c, s)["conflict"]
    assert analyse("On PAWS-X, accuracy improves by 2.1 points.").quantities[0].anchor == "pawsx"


def test_a_unit_named_before_the_number():
    from xlt_claims.evidence.text import extract_quantities
    q = extract_quantities("our model establishes a new state-of-the-art BLEU score of 41.8 after training")
    assert q[0].unit == "bleu"
    assert extract_quantities("it reaches a test F1 of 93.2")[0].unit == "f1"
    assert extract_quantities("it reaches 93.2 on the test set")[0].unit == ""


def test_a_name_made_a_modifier_names_the_same_thing():
    from xlt_claims.evidence.text import extract_entities
    assert [e.key for e in extract_entities("The OT-based method is benchmarked on XNLI.")] == ["ot", "xnli"]
    assert [e.key for e in extract_entities("mBERT-style models transfer well.")] == ["mbert"]
    assert [e.key for e in extract_entities("PAWS-X is a dataset.")] == ["pawsx"]


def test_the_m_of_a_model_name_is_multilingual():
    from xlt_claims.evidence.text import TextIndex
    assert TextIndex(["encoders such as multilingual BERT and XLM-R"]).contains("mbert")
    assert TextIndex(["mBERT is pre-trained on Wikipedia"]).contains("multilingualbert")
    assert not TextIndex(["multilingual BERT"]).contains("mlqa")
    assert not TextIndex(["BERT"]).contains("mbert")
