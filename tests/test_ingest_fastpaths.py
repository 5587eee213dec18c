"""The ingest hot paths give exactly what their plain definitions give.

Each fast path in the parser/fields/truncation code replaces a simpler formulation (a plain
regex alternation, a backtracking search, json.dumps, two regex substitutions). These tests
compare both on seeded random text so that a later edit cannot change results silently.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata

import pytest

from xlt_claims.ingest import fields as F
from xlt_claims.ingest.ingest import _ENCODER, _json
from xlt_claims.ingest.text import _QUOTES, WORD, normalize_text, words
from xlt_claims.ingest.truncation import _LAST_TOKEN_REV

_LAST_TOKEN = re.compile(r"([^\W\d_]+)[^\w]*$", re.UNICODE)  # the plain (quadratic) definition

_EXOTIC = "\u0130\u0131\u017f\u212a\u00e9\u2019\u201c\u00a0\u2009\u3000\u2028\u0301\u00b2"
_WORDS = ("improves outperforms surpasses does not improve fails to reduces drops better than worse than "
          "comparable to by from to points % pp F1 EM BLEU accuracy exact match of on for in the with and "
          ", ; - / \u2192 -> en de fr zh dataset benchmark method approach called named more less "
          "significantly zero-shot cross-lingual fine-tuning \u017furpasses \u0130mproves \u017finkhorn "
          "\u212aNN (XNLI) acc.F1 chrF+BLEU").split()


def _texts(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    names = [name for name, _ in F.DATASETS + F.MODELS + F.METHODS + F.TASKS + F._METRICS] + list(F.LANGUAGES)[:30]
    names += ["XLM-R large", "PAWS X", "TyDi QA GoldP", "randomised smoothing", "word alignments", "GPT-4"]
    out = []
    for _ in range(n):
        toks = []
        for _ in range(rng.randint(2, 18)):
            r = rng.random()
            if r < 0.35:
                toks.append(rng.choice(names))
            elif r < 0.5:
                toks.append(str(round(rng.uniform(-5, 90), rng.choice([0, 1]))))
            elif r < 0.55:
                toks.append(rng.choice(_EXOTIC) + rng.choice(names).lower())
            else:
                toks.append(rng.choice(_WORDS))
        out.append(rng.choice([" ", " ", ", ", "-", ""]).join(toks) + rng.choice(["", ".", " fea", " and", " \u2026"]))
    return out


def _plain(entries: list[tuple[str, str]]) -> re.Pattern:
    return re.compile(r"(?<![\w-])(?:" + "|".join(f"(?P<g{i}_0>{rx})" for i, (_, rx) in enumerate(entries)) + ")")


@pytest.mark.parametrize("entries,rx,groups", [
    (F.DATASETS, F._DS_RX, F._DS_G), (F.TASKS, F._TASK_RX, F._TASK_G), (F.MODELS, F._MODEL_RX, F._MODEL_G),
    (F.METHODS, F._METHOD_RX, F._METHOD_G), (F._METRICS, F._METRIC_RX, F._METRIC_G),
    ([(n, f"(?i:{r})\\b") for n, r in F._DIRECTIONS], F._DIR_RX, F._DIR_G),
], ids=["datasets", "tasks", "models", "methods", "metrics", "directions"])
def test_dispatched_gazetteer_equals_plain_alternation(entries, rx, groups):
    plain = _plain(entries)
    names = [n for n, _ in entries]
    for t in _texts(1500):
        want = [(names[int(m.lastgroup[1:].split("_")[0])], m.group(), m.start(), m.end()) for m in plain.finditer(t)]
        assert F._gaz(rx, groups, t) == want, t


def test_first_characters_cover_case_insensitive_equivalents():
    # (?i) 's' also matches the long s, 'k' the Kelvin sign, 'i' the dotted/dotless I
    assert {"s", "S", "\u017f"} <= F._first_chars(r"(?i:sinkhorn)")
    assert {"k", "K", "\u212a"} <= F._first_chars(r"(?i:kernel)")
    assert {"i", "I", "\u0130", "\u0131"} <= F._first_chars(r"(?i:improves)")
    assert F._first_chars(r"(?<!to\s)improve") == {"i"}
    assert F._gaz(F._METHOD_RX, F._METHOD_G, "\u017finkhorn distances") == [("optimal transport", "\u017finkhorn", 0, 8)]


def test_normalize_text_equals_its_regex_definition():
    rng = random.Random(5)
    alphabet = "ab .;:,!?\t\n\r\u00a0\u2009\u3000\u2028\x1c\x85\u00e9\u2019\u201c\ufb01"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(5000)] + _texts(500)

    _WS, _TRAILING = re.compile(r"\s+"), re.compile(r"[\s.;:,!?]+$")  # the plain definition (quadratic)

    def reference(text: str) -> str:
        t = unicodedata.normalize("NFKC", text).translate(_QUOTES)
        return _TRAILING.sub("", _WS.sub(" ", t).strip().lower())

    for t in texts:
        assert normalize_text(t) == reference(t), repr(t)


def test_words_equal_the_unicode_word_pattern():
    rng = random.Random(9)
    alphabet = "aZ9_-' \n\u00e9\u0130\u017f\u212a\u00b2\u0301\u3042"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(20000)] + _texts(500)
    texts += ["".join(rng.choice("aZq9_- .,") for _ in range(rng.randint(0, 14))) for _ in range(5000)]  # ASCII
    for t in texts:
        assert words(t) == WORD.findall(t.lower()), repr(t)


def test_last_token_read_from_the_end_equals_the_forward_search():
    rng = random.Random(3)
    alphabet = "ab1_ .,-)\u00e9\u00b2\u0301\n\tZ$"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(20000)] + _texts(500)
    for t in texts:
        m, r = _LAST_TOKEN.search(t), _LAST_TOKEN_REV.match(t[::-1])
        assert (m.group(1) if m else None) == (r.group(1)[::-1] if r else None), repr(t)


def test_json_fast_paths_equal_the_encoder():
    values = [[], ["PAWS-X", "XNLI"], ["a\"b"], ["x\\y"], ["\u00e9t\u00e9"], ["a\nb"], ["\x7f\u2028"], [""], ["a", 1],
              {"a": float("nan"), "b": [1.5, -0.0, 1e300, True, None], "c": "x\"\\\n\u2028\u00e9"},
              {1: 2, 2.5: "k", None: 1, True: 0}]
    values += [F.extract_fields(t).extraction for t in _texts(300)]
    for v in values:
        assert _json(v) == _ENCODER.encode(v) == json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def test_number_patterns_searched_from_the_first_digit_find_the_same_matches():
    # extract_fields starts the two patterns that begin with a number one character before the first
    # digit (a sign); their lookbehinds still see the text before that position
    rng = random.Random(7)
    alphabet = "12.+-\u2212 (~\u2248[x%pa\n"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(20000)] + _texts(1500)
    for t in texts:
        digit = F._DIGIT.search(t)
        if digit is None:
            continue
        start = max(0, digit.start() - 1)
        for rx in (F._Q_RANGE, F._Q_UNIT):
            assert [m.groups() + m.span() for m in rx.finditer(t, start)] == \
                   [m.groups() + m.span() for m in rx.finditer(t)], (rx.pattern[:30], t)
