"""Truncation rule and structured-field extraction, on synthetic cases (not only the seeds)."""

from __future__ import annotations

import pytest

from xlt_claims.ingest import analyze_table, extract_fields
from xlt_claims.ingest.truncation import estimate_cut_length


def _flags(claims, context=()):
    return [t.truncated for t in analyze_table(claims, list(context))]


def test_incomplete_word_needs_a_completion_in_the_report():
    claims = ["Adapters help low-resource languages.", "Most gains come from better tokeniza"]
    res = analyze_table(claims, ["We study tokenization for many languages."])
    assert [r.truncated for r in res] == [False, True]
    assert res[1].signals == ["incomplete-word"] and res[1].completion == "tokenization"
    # the same ending with no longer word anywhere in the report is not evidence of a cut
    assert _flags(claims, ["We study subwords."]) == [False, False]


def test_complete_words_and_inflections_are_not_fragments():
    ctx = ["Embeddings and benchmarks are compared; the model transfers."]
    claims = ["The method aligns every embedding", "Results hold across benchmark", "The model transfer"]
    assert _flags(claims, ctx) == [False, False, False]


def test_dangling_function_word_or_punctuation():
    claims = ["Feature aggregation multiplies the result with the", "Accuracy improves for German,",
              "It helps cross-", "It works in practice"]
    assert _flags(claims) == [True, True, True, False]


def test_unpunctuated_but_complete_claims_are_left_alone():
    # a generator that never writes final periods: lengths spread out, no spike, whole words
    claims = ["XLM-R beats mBERT on XNLI", "Adapters help low-resource languages a lot in practice",
              "Translation quality matters", "Robust training improves PAWS-X accuracy for Chinese and Japanese"]
    assert _flags(claims) == [False] * 4
    assert estimate_cut_length(claims) is None


def test_cut_length_spike_flags_whole_word_endings():
    base = "The representation of each layer of the encoder carries information about the language of the input text "
    cut = 100
    claims = [(base + "and its script properties")[:cut].rstrip(), (base + "while the upper layers")[:cut].rstrip(),
              "Short complete claim.", (base * 2)[:cut].rstrip()]
    assert estimate_cut_length(claims) in (cut, cut - 1)
    res = analyze_table(claims)
    assert [r.truncated for r in res] == [True, True, False, True]
    assert all("at-cut-length" in r.signals for r in (res[0], res[1], res[3]))


def test_no_cut_when_a_punctuated_claim_is_longer():
    a = "x" * 10 + " first claim that has no final period and is fairly long in words"
    claims = [a, a.replace("first", "other"), "A punctuated claim that is clearly longer than both of the others above, by quite a margin."]
    assert len(claims[2]) > len(a) + 1
    assert estimate_cut_length(claims) is None


def test_paws_x_claim_fields():
    f = extract_fields("The cross-lingual transfer performance improves by 2.1 points on PAWS-X.")
    assert (f.kind, f.datasets, f.value, f.metric, f.unit, f.direction, f.comparator) == (
        "quantitative", ["PAWS-X"], 2.1, "points", "points", "improve", "improve")


def test_range_claim_fields():
    f = extract_fields("The best results of aggregation models in each task outperform the baseline by 1 to 3 "
                       "absolute percentage points.")
    assert (f.kind, f.value, f.value_high, f.unit, f.direction, f.comparator, f.method) == (
        "quantitative", 1.0, 3.0, "percentage points", "outperform", "range", "feature aggregation")


@pytest.mark.parametrize("text,expect", [
    ("XLM-R large outperforms mBERT by 3.2% accuracy on XNLI for en-de pairs.",
     dict(kind="quantitative", model="XLM-R-large, mBERT", value=3.2, unit="%", metric="accuracy",
          direction="outperform", datasets=["XNLI"], languages=["en", "de"])),
    ("Accuracy on XQuAD increases from 65.4 to 67.0 for German and Hindi.",
     dict(kind="quantitative", value=1.6, direction="improve", datasets=["XQuAD"], languages=["de", "hi"], tasks=["QA"])),
    ("Adversarial training does not improve TyDiQA results for Swahili.",
     dict(kind="qualitative", direction="no-effect", method="adversarial training", languages=["sw"], value=None)),
    ("The method gains +1.2 F1 on NER and +1.5 F1 on POS tagging.",
     dict(kind="quantitative", value=1.2, metric="F1", direction="improve", tasks=["NER", "POS"])),
    ("Scores on the FOOBAR benchmark decrease by 0.5 points.",
     dict(kind="quantitative", datasets=["FOOBAR"], direction="decrease", value=0.5)),
    ("XTREME and XGLUE provide benchmarks for zero-shot cross-lingual transfer learning.",
     dict(kind="descriptive", datasets=["XTREME", "XGLUE"], value=None, direction=None)),
    ("Lower layers of mBERT provide more cross-lingual information than upper layers.",
     dict(kind="qualitative", model="mBERT")),
    ("Learning to align embedding spaces is an important research topic to improve multilinguality.",
     dict(kind="descriptive", direction=None, method="embedding alignment")),
    ("The AIF module uses two convolution layers to expand and compress the dimension of features.",
     dict(kind="descriptive", method="AIF", value=None)),
    ("RS-DA with optimal transport regularization helps Arabic and Urdu on the XNLI dataset.",
     dict(method="RS-DA, optimal transport", languages=["ar", "ur"], direction="improve", kind="qualitative")),
])
def test_field_extraction_cases(text, expect):
    f = extract_fields(text)
    for k, v in expect.items():
        assert getattr(f, k) == v, (k, getattr(f, k), text)


def test_counts_and_model_versions_are_not_measurements():
    f = extract_fields("The feature aggregation module improves mBERT on all four tasks, unlike GPT-3 in 2020.")
    assert f.kind == "qualitative" and f.value is None
    assert "GPT-3" in f.model


def test_invented_dataset_name_comes_from_the_pattern_and_says_so():
    f = extract_fields("Alignment robustness matters on the TYPOS dataset.")
    assert f.datasets == ["TYPOS"]
    assert f.extraction["datasets"][0]["source"] == "pattern"
    g = extract_fields("Robustness matters on XNLI.")
    assert g.extraction["datasets"][0]["source"] == "gazetteer"
