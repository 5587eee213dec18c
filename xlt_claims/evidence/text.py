"""Text utilities for evidence: sentence splitting with exact offsets, content words, numbers and
named-entity mentions. Pure Python (no NLP model), so it is fast and deterministic.

Everything that returns a span returns offsets into the string it was given: `text[start:end]` is
the sentence / mention verbatim.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..lexicon import is_english_word, is_verb_form, major_language_names

# --- sentences ---------------------------------------------------------------------------------

# Tokens that end with a period without ending the sentence.
_ABBREV = {
    "e.g", "i.e", "etc", "et al", "al", "fig", "figs", "eq", "eqs", "sec", "secs", "tab", "vs", "cf", "approx",
    "no", "nos", "dr", "mr", "mrs", "ms", "prof", "vol", "pp", "resp", "ca", "incl", "w.r.t", "viz", "st", "jr",
    "sr", "inc", "ltd", "co", "corp", "dept", "univ", "ref", "refs", "ch", "app", "def", "thm", "lem", "prop",
}
_BOUNDARY = re.compile(r"[.!?](?:[\"'”’)\]]*)(?=\s+)")
_NEXT_START = re.compile(r"\s+([\"'“‘(\[]?)([A-Z0-9])")


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str
    section: Optional[str] = None


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at `dot` closes an abbreviation or an initial (not a sentence)."""
    j = dot
    while j > 0 and not text[j - 1].isspace() and text[j - 1] not in "([":
        j -= 1
    word = text[j:dot].lower().rstrip(".")
    if not word:
        return False
    if word in _ABBREV:
        return True
    if text[max(0, dot - 5):dot].lower() == "et al":
        return True
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):  # "e.g", "u.s"
        return True
    return False


def split_sentences(text: str, start: int = 0, end: Optional[int] = None) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in `text[start:end]`, trimmed of surrounding whitespace.

    A boundary is [.!?] (plus closing quotes/brackets) followed by whitespace and an upper-case letter,
    digit or opening quote; abbreviations ("e.g.", "et al.", "Fig.") and initials do not end sentences.
    Blank lines (paragraph breaks) always end a sentence.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    # paragraphs first: a blank line always separates
    para_starts = [start]
    for m in re.finditer(r"\n[ \t]*\n", text[start:end]):
        para_starts.append(start + m.end())
    para_bounds = []
    for i, ps in enumerate(para_starts):
        pe = end if i + 1 == len(para_starts) else para_starts[i + 1]
        para_bounds.append((ps, pe))
    for ps, pe in para_bounds:
        seg_start = ps
        for m in _BOUNDARY.finditer(text, ps, pe):
            dot = m.start()
            nxt = _NEXT_START.match(text, m.end(), pe)
            if not nxt:
                continue
            if text[dot] == "." and _is_abbreviation(text, dot):
                continue
            spans.append((seg_start, m.end()))
            seg_start = m.end()
        spans.append((seg_start, pe))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 2:
            out.append((s, e))
    return out


# --- words -------------------------------------------------------------------------------------

STOPWORDS = frozenset(
    """a about above across after again against all almost along also although always am among an and another any
    are around as at be because been before being below between both but by can cannot could did do does doing done
    down during each either else even ever every few for from further had has have having he her here hers him his how
    however i if in into is it its itself just least less let like made make makes many may me might more most much
    must my near neither no nor not now of off often on once one only onto or other others our ours out over own per
    perhaps quite rather same several shall she should since so some such than that the their theirs them themselves
    then there therefore these they this those though through thus to too toward towards under until up upon us very
    via was we well were what whatever when where whether which while who whom whose why will with within without would
    yet you your yours based using used use uses called namely respectively particular especially usually mainly
    generally typically include includes including""".split()
)

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")


def fold(text: str) -> str:
    """Unicode-normalise quotes, dashes and ligatures; keep length stable is NOT guaranteed (use for matching)."""
    text = unicodedata.normalize("NFKC", text)
    return (
        text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
        .replace("‐", "-").replace("‑", "-").replace("–", "-").replace("—", "-").replace("−", "-")
    )


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light, conservative suffix stripper (plural, verb and nominal endings) for overlap tests:
    "improvements", "improved", "improves" -> "improv"; "languages" -> "languag"."""
    w = word.lower()
    if len(w) <= 3:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suf, repl in (
        ("ational", "ate"), ("ization", "ize"), ("isation", "ize"), ("ement", "e"), ("ment", ""),
        ("ation", "ate"), ("ness", ""), ("ity", ""), ("ingly", ""), ("edly", ""), ("ing", ""), ("ied", "y"),
        ("ed", ""), ("ly", ""),
    ):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: len(w) - len(suf)] + repl
            break
    # undouble a final consonant left by -ing/-ed ("mapped" -> "map")
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def content_stems(text: str) -> list[str]:
    """Stems of the content words (no stop words, no pure numbers), in order, hyphenated parts split too."""
    out: list[str] = []
    for w in words(text):
        # a possessive is the noun itself: "LaBSE's accuracy" names LaBSE ("labse'" matched nothing)
        if w.lower().endswith("'s"):
            w = w[:-2]
        for p in w.split("-"):
            lw = p.lower()
            if lw in STOPWORDS or len(lw) < 2 or lw.isdigit():
                continue
            out.append(stem(lw))
    return out


def squash(text: str) -> str:
    """Lower-case alphanumerics only: "PAWS-X" -> "pawsx", "XLM-R" -> "xlmr"."""
    return re.sub(r"[^a-z0-9]+", "", fold(text).lower())


def word_tokens(text: str) -> list[tuple[str, int, int]]:
    """(lower-cased token, start, end) for alphanumeric runs; hyphens and punctuation separate tokens."""
    return [(m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z0-9]+", text)]


# --- numbers -----------------------------------------------------------------------------------

_NUMWORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30,
    "hundred": 100, "both": 2, "twice": 2, "dozen": 12,
}
_NUM = re.compile(
    r"(?<![A-Za-z0-9.])(?P<sign>[+\-−±])?\s?(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)"
    r"(?:\s?(?:-|–|to|and)\s?(?P<num2>\d+(?:\.\d+)?))?"
    r"(?:\s|-(?=points?\b))?(?:absolute\s+)?(?P<unit>%|percent(?:age)?(?:\s+points?)?|pp\b|points?\b|pts\b|F1\b|BLEU\b|x\b|×|k\b|K\b|M\b|B\b)?"
)
_RANGE_PREFIX = re.compile(r"(?:between|from)\s+$", re.I)
_DELTA_BEFORE = re.compile(
    r"(?:\bby|\bgains?\s+of|\bgain(?:s|ed|ing)?|\blos(?:e|es|t|ing)|\bimprovements?\s+of|\bincreases?\s+of|\bdrops?\s+of|\bdecreases?\s+of|"
    r"\bmargin\s+of|\bboosts?\s+of|\bbetween|\bfrom)\s*(?:about\s+|around\s+|roughly\s+|up\s+to\s+|over\s+|"
    r"more\s+than\s+|at\s+least\s+|nearly\s+|almost\s+)?$", re.I)
# "7.7 points absolute improvement", "1.5 points higher": the number is a change, not a level
_DELTA_AFTER = re.compile(r"\s*\)?\s*(?:absolute\s+|relative\s+)?(?:gains?|improvements?|increases?|drops?|decreases?|"
                          r"boosts?|higher|lower|more|better|worse|above|below|less)\b", re.I)
_LEVEL_BEFORE = re.compile(r"\b(?:to|of|at|reach(?:es|ed)?|achiev(?:es|ed)?|obtain(?:s|ed)?)\s*(?:a\s+|an\s+)?$", re.I)
# units that only ever measure a difference of two percentages
_DIFFERENCE_UNITS = ("pp", "percentage point", "percentage points")
_EFFECT_BEFORE = re.compile(r"\b(?:improv|increas|gain|boost|outperform|rais|drop|decreas|reduc|degrad|lower|hurt|los|"
                            r"surpass|exceed)\w*\b[^.;:]{0,60}$", re.I)
_BOUND_MIN = re.compile(r"(?:\bover|\bmore\s+than|\babove|\bat\s+least|\bexceeding)\s*$", re.I)
_BOUND_MAX = re.compile(r"(?:\bup\s+to|\bat\s+most|\bless\s+than|\bunder|\bbelow|\bwithin)\s*$", re.I)
_UNIT_BEFORE = re.compile(r"\b(BLEU|F1)\s+(?:scores?\s+)?(?:of|is|was|=|:)\s*$", re.I)
# determiner-like words skipped between a count and its noun ("two such adaptations")
_COUNT_SKIP = frozenset("such other more additional main different distinct separate".split())


@dataclass
class Quantity:
    value: float
    value2: Optional[float]  # upper end of a range "1 to 3"
    unit: str  # "%", "points", "f1", "count", "" ...
    signed: bool  # written with +/- (a gain / loss)
    decimals: int
    start: int
    end: int
    text: str
    anchor: Optional[str] = None  # squashed entity this number is attached to
    noun: Optional[str] = None  # for counts: stem of the counted noun ("layer")
    delta: bool = False  # a change ("+1.5", "by 2.1 points", "a gain of 3") rather than a level ("75.4")
    bound: Optional[str] = None  # "min" ("over 2", "more than 9") | "max" ("up to 12") | None (a value)
    implied_sign: int = 0  # for an unsigned change: +1 / -1 from the verb before it ("decreases ... by 1.5")

    @property
    def is_count(self) -> bool:
        return self.unit == "count"

    def tolerance(self) -> float:
        """Half a unit of the last written digit: "2.1" covers [2.05, 2.15]."""
        return 0.5 * 10 ** (-self.decimals) + 1e-9

    @property
    def sign(self) -> int:
        """-1 / +1 when the text says which way the change goes (a sign or a verb), else 0."""
        if self.signed:
            return -1 if self.value < 0 else 1
        return self.implied_sign


_UNIT_CLASS = {"%": "pct", "percent": "pct", "percentage": "pct", "percentage points": "pct", "percentage point": "pct",
               "pp": "pct", "points": "pct", "point": "pct", "pts": "pct", "f1": "f1", "bleu": "bleu", "x": "ratio",
               "×": "ratio", "k": "k", "m": "m", "b": "b"}


def unit_class(unit: str) -> str:
    return _UNIT_CLASS.get(unit.lower(), unit.lower())


def _is_change(text: str, m: re.Match, sign: Optional[str], unit: str) -> bool:
    """A number written as a change: signed, after "by"/"a gain of", before "absolute improvement",
    or a difference unit (pp, or points after an effect verb that does not say "to <level>")."""
    before = text[max(0, m.start() - 40):m.start()]
    if sign is not None or _DELTA_BEFORE.search(before) or _DELTA_AFTER.match(text, m.end()):
        return True
    if _LEVEL_BEFORE.search(before):
        return False
    if unit.lower() in _DIFFERENCE_UNITS:
        return True
    return unit.lower() in ("points", "point", "pts") and bool(_EFFECT_BEFORE.search(text[max(0, m.start() - 80):m.start()]))


def extract_quantities(text: str) -> list[Quantity]:
    """Numbers with sign, unit and range; count words ("four tasks"); skips years, citations, and digits
    that belong to names ("XLM-100", "BMLAMA-17", "L6")."""
    out: list[Quantity] = []
    for m in _NUM.finditer(text):
        s, e = m.start("num"), m.end()
        raw = m.group("num").replace(",", "")
        try:
            v = float(raw)
        except ValueError:
            continue
        prev = text[max(0, m.start() - 1):m.start()]
        if prev in "-_/'" and prev and m.group("sign") is None:
            continue  # part of a name like XLM-100, WMT'16
        if prev.isalpha():
            continue  # part of a token like "v1", "L6"
        if text[m.start() - 1:m.start()] == "[" or re.match(r"\s*\]", text[m.end():]):
            continue  # citation [12]
        unit = (m.group("unit") or "").strip()
        if not unit:
            # the unit named before the number: "a BLEU score of 41.8", "a test F1 of 93.2"
            ub = _UNIT_BEFORE.search(text[max(0, m.start() - 30):m.start()])
            if ub and m.group("sign") is None:
                unit = ub.group(1)
        if not unit and "." not in raw and 1900 <= v <= 2100:
            continue  # a year
        if re.match(r"[eE][-+]?\d", text[m.end("num"):m.end("num") + 3]):
            continue  # scientific notation (learning rates): not a reported result
        v2 = float(m.group("num2")) if m.group("num2") else None
        if v2 is not None and v2 <= v:
            v2 = None
        sign = m.group("sign")
        if sign in ("-", "−") and not unit and v2 is None and m.start("sign") > 0 and text[m.start("sign") - 1].isalnum():
            sign = None
        if sign in ("-", "−"):
            v = -v
        if sign == "±":
            sign = None
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        # a bare integer followed by a noun is a count ("2 layers")
        if not unit and decimals == 0 and v2 is None and sign is None:
            noun = _counted_noun(text[m.end("num"):])
            if noun:
                out.append(Quantity(v, None, "count", False, 0, m.start(), m.end("num"), text[m.start():m.end("num")],
                                    noun=noun))
                continue
        before = text[max(0, m.start() - 40):m.start()]
        bound = "min" if _BOUND_MIN.search(before) else "max" if _BOUND_MAX.search(before) else None
        delta = _is_change(text, m, sign, unit)
        q = Quantity(v, v2, unit.lower(), sign is not None, decimals, m.start(), e, text[m.start():e].strip(),
                     delta=delta, bound=bound)
        if delta and sign is None:
            q.implied_sign = _verb_sign(text[max(0, m.start() - 80):m.start()])
        out.append(q)
    # "one hundred languages", "two thousand sentences": one count, the product
    taken = []
    for m in re.finditer(r"\b(?:(one|a|" + "|".join(w for w in _NUMWORDS if w not in ("both", "twice", "hundred", "dozen"))
                         + r")\s+)?(hundred|thousand)\b((?:\s+[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*){1,6})", text, re.I):
        first = (m.group(1) or "one").lower()
        v = (1 if first in ("one", "a") else _NUMWORDS[first]) * (100 if m.group(2).lower() == "hundred" else 1000)
        out.append(Quantity(float(v), None, "count", False, 0, m.start(), m.end(2), text[m.start():m.end(2)],
                            noun=_counted_noun(m.group(3))))
        taken.append((m.start(), m.end(2)))
    for m in re.finditer(r"\b(" + "|".join(_NUMWORDS) + r")\b((?:\s+[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*){1,6})", text, re.I):
        w = m.group(1).lower()
        if w in ("both", "twice") or any(a <= m.start(1) < b for a, b in taken):
            continue
        out.append(Quantity(float(_NUMWORDS[w]), None, "count", False, 0, m.start(1), m.end(1), m.group(1),
                            noun=_counted_noun(m.group(2))))
    # "one" only as a count ("with just one additional output layer", "on one GPU"), never the pronoun
    # ("a supervised one that ...", "one of the")
    for m in re.finditer(r"\b(?:(?:just|only|exactly|with|on|in|for|by|using|uses|use|than)\s+(?:a\s+)?|a\s+)(one|single)\b"
                         r"((?:\s+[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*){1,6})", text, re.I):
        run = []
        for tok in m.group(2).split():
            if tok.lower() in STOPWORDS or (run and re.search(r"(?:[^s]s|ed)$", tok.lower()) and is_verb_form(tok)):
                break  # "a single layer suffices": the singular noun ends before the verb
            run.append(tok)
        noun = stem(run[-1].split("-")[-1]) if run else None
        if noun and not re.match(r"\s+of\b", m.group(2), re.I) and not any(a <= m.start(1) < b for a, b in taken):
            out.append(Quantity(1.0, None, "count", False, 0, m.start(1), m.end(1), m.group(1), noun=noun))
    # ranges written "between 1 and 3" / "1 to 3" are handled by num2 above
    return sorted(out, key=lambda q: q.start)


def _counted_noun(after: str) -> Optional[str]:
    """Stem of the noun a count counts: the last word of the run of up to four words after it, stopping
    at a stop word ("four low-resource languages" -> "languag", "two such adaptations" -> "adaptat")."""
    # a version stays one token ("240 SQuAD v1.1 paragraphs")
    nm = re.match(r"((?:\s*[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)(?:\s+[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*){0,5})",
                  after)
    run = []
    for tok in (nm.group(1).split() if nm else []):
        lw = tok.lower()
        if lw in _COUNT_SKIP and not run:
            continue
        if (lw.endswith("ly") and len(lw) > 4) or (lw in ("used", "known", "adopted") and run == []):
            continue  # "two widely used methods"
        if lw in STOPWORDS:
            break
        run.append(tok)
    if not run:
        return None
    # the counted noun is the first plural in the run ("nine diverse low-resource languages uphold")
    plural = next((t for t in run if re.search(r"[^s]s$", t.split("-")[-1].lower())), None)
    return stem((plural or run[-1]).split("-")[-1])


_UP_VERB = re.compile(r"\b(?:improv\w*|increas\w*|outperform\w*|gain\w*|boost\w*|enhanc\w*|rais\w*|surpass\w*|"
                      r"exceed\w*|higher|better|more)\b", re.I)
_DOWN_VERB = re.compile(r"\b(?:decreas\w*|degrad\w*|hurt\w*|harm\w*|drop\w*|reduc\w*|declin\w*|lower\w*|los(?:e|es|t|ing)|"
                        r"underperform\w*|deteriorat\w*|diminish\w*|worse|fall\w*|fell|less)\b", re.I)


def _verb_sign(before: str) -> int:
    """+1 / -1 from the last direction word before a change ("decreases accuracy by 1.5" -> -1)."""
    clause = re.split(r"[.;:](?:\s|$)", before)[-1]
    last_up = max((m.end() for m in _UP_VERB.finditer(clause)), default=-1)
    last_down = max((m.end() for m in _DOWN_VERB.finditer(clause)), default=-1)
    if last_up < 0 and last_down < 0:
        return 0
    return 1 if last_up > last_down else -1


# --- entities ----------------------------------------------------------------------------------

# Acronyms that name a field or a thing in general, not a specific dataset / method / module.
GENERIC_ACRONYMS = frozenset(
    """NLP AI ML DL NN DNN CNN RNN LSTM GPU GPUS CPU TPU API URL PDF HTML USA UK EU II III IV OK NB TL DR AND OR
    NOT SOTA LM LMS PLM PLMS LLM LLMS QA IR MT NMT ID IDS OOD CV EN""".split()
)

# Method phrases that are named techniques even though they are written in lower case.
METHOD_PHRASES = (
    "optimal transport", "adversarial training", "randomized smoothing", "randomised smoothing", "data augmentation",
    "knowledge distillation", "contrastive learning", "meta-learning", "meta learning", "self-training",
    "code-switching", "code switching", "back-translation", "back translation", "feature aggregation",
    "attention mechanism", "model editing", "vocabulary augmentation", "script transliteration", "transliteration",
    "active learning", "adapter tuning", "prompt tuning", "prefix tuning", "curriculum learning", "label smoothing",
    "mixup", "sinkhorn", "wasserstein", "procrustes", "gradient reversal", "domain adaptation", "word alignment",
    "cross-lingual alignment", "translate-train", "translate-test", "pseudo-labeling", "pseudo-labelling",
    "continued pretraining", "continued pre-training", "language-adaptive pre-training",
)
# Phrases that are about the field rather than a specific technique are not in the list above on purpose
# ("zero-shot cross-lingual transfer", "multilingual language models").

_ENT_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])("
    r"[A-Z]-[A-Z]{2,}[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"  # M-BERT (the same key as mBERT)
    r"|[A-Za-z]*[A-Z][A-Za-z0-9]*[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"  # >= 2 capitals: XNLI, mBERT, RankC, PAWS-X
    r"|[A-Z][a-z]*[0-9][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"  # GPT-3 style / T5 / mT5 handled above
    r"|[a-z]+[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"  # lower then capital: mBERT, mT5
    r")(?![A-Za-z0-9])"
)
_CAP_WORD = re.compile(r"[A-Z][a-z]+(?:-[A-Za-z]+)*|[A-Z]{2,}[A-Za-z0-9-]*")
_CONNECT = {"of", "for", "and", "in", "on", "the", "to", "-"}
_LEADING_FUNCTION = {
    "The", "A", "An", "This", "That", "These", "Those", "Some", "Most", "Many", "Our", "We", "It", "In", "On", "For",
    "By", "With", "As", "At", "To", "From", "When", "While", "Although", "However", "Additional", "Such", "Each",
    "All", "Both", "Its", "Their", "Finally", "First", "Second", "Then", "Using", "How", "What", "Which", "Does", "Do",
    "Is", "Are", "Can", "Improving", "Towards", "Toward",
}


@dataclass
class Entity:
    text: str  # as written
    key: str  # squashed form used for matching
    kind: str  # "acronym" | "term" | "method" | "language"
    start: int
    end: int
    aliases: list[str] = field(default_factory=list)


def _sentence_starts(text: str) -> set[int]:
    starts = {0}
    for s, _ in split_sentences(text):
        starts.add(s)
    for m in re.finditer(r"[:;]\s+|\n", text):
        starts.add(m.end())
    return starts


def extract_entities(text: str) -> list[Entity]:
    """Named things in a claim or question: acronyms / mixed-case tokens (TYPOS, XNLI, mBERT, PAWS-X),
    capitalised multi-word terms (Named Entity Recognition) and known method phrases (optimal transport)."""
    found: dict[str, Entity] = {}
    starts = _sentence_starts(text)
    for m in _ENT_TOKEN.finditer(text):
        tok = m.group(1).strip("-")
        # "OT-based", "mBERT-style": a lower-case suffix that makes a name a modifier names the same thing
        tok = re.sub(r"-(?:based|style|like|driven|specific|only|enhanced|powered|inspired)$", "", tok)
        core = re.sub(r"[^A-Za-z]", "", tok)
        if len(core) < 2 or tok.upper() in GENERIC_ACRONYMS or core.upper() in GENERIC_ACRONYMS:
            continue
        if re.fullmatch(r"[IVXLC]+", tok):  # roman numerals
            continue
        vm = re.match(r"\s+v\d+(?:\.\d+)*(?![\w.]*\d)", text[m.start(1) + len(tok):])
        if vm:  # "SQuAD v1.1" and "SQuAD v2.0" are two datasets: the version is part of the name
            tok = tok + vm.group(0)
        key = squash(tok)
        found.setdefault(key, Entity(tok, key, "acronym", m.start(1), m.start(1) + len(tok)))
    # capitalised multi-word terms
    toks = list(re.finditer(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*|[^\sA-Za-z0-9]", text))
    i = 0
    while i < len(toks):
        t = toks[i]
        if _CAP_WORD.fullmatch(t.group(0)):
            j = i
            run = [t]
            while j + 1 < len(toks):
                nxt = toks[j + 1]
                if _CAP_WORD.fullmatch(nxt.group(0)):
                    run.append(nxt)
                    j += 1
                elif nxt.group(0) in ("of", "for") and j + 2 < len(toks) and _CAP_WORD.fullmatch(toks[j + 2].group(0)):
                    # "Bag of Words" is one name; "Hindi and Urdu" are two, so "and" never joins
                    run.extend([nxt, toks[j + 2]])
                    j += 2
                else:
                    break
            # drop a leading function word / sentence-initial ordinary word or gerund ("Combining CLIME")
            while run and (run[0].group(0) in _LEADING_FUNCTION or (run[0].start() in starts and len(run) >= 1
                                                                    and (run[0].group(0).lower() in STOPWORDS
                                                                         or re.fullmatch(r"[A-Z][a-z]{3,}ing",
                                                                                         run[0].group(0))))):
                run = run[1:]
            if len(run) >= 2 and run[0].start() in starts and not run[0].group(0).isupper() \
                    and all(re.search(r"[A-Z].*[A-Z]", r.group(0)) for r in run[1:]) \
                    and is_english_word(run[0].group(0).lower()):
                run = run[1:]  # "Multilingual PLMs ..." at a sentence start: an English word before a name
            if len(run) >= 2 and any(r.group(0).lower() in major_language_names() for r in run):
                run = []  # "Urdu XNLI", "English NER": a language and a dataset, two names
            while run and run[-1].group(0) in ("of", "for", "and"):
                run = run[:-1]
            caps = [r for r in run if _CAP_WORD.fullmatch(r.group(0))]
            if len(caps) >= 2 and not all(c.group(0).isupper() for c in caps):
                s, e = run[0].start(), run[-1].end()
                phrase = text[s:e]
                key = squash(phrase)
                if key not in found:
                    found[key] = Entity(phrase, key, "term", s, e)
            i = j + 1
        else:
            i += 1
    for m in re.finditer(r"(?<![A-Za-z0-9-])[A-Z][a-z]{2,}(?![A-Za-z0-9])", text):
        key = squash(m.group(0))
        if key in found:
            continue
        if key in KNOWN_TERMS:  # single-word names: Tatoeba, Europarl, Wikipedia
            found[key] = Entity(m.group(0), key, "acronym", m.start(), m.end())
        elif m.group(0).lower() in major_language_names():  # Hindi, Swahili, German (ISO 639-1 names)
            found[key] = Entity(m.group(0), key, "language", m.start(), m.end())
    low = fold(text).lower()
    for phrase in METHOD_PHRASES:
        for m in re.finditer(r"(?<![a-z])" + re.escape(phrase) + r"(?![a-z])", low):
            key = squash(phrase)
            if key not in found and not any(key in k for k in found):
                found[key] = Entity(text[m.start():m.end()], key, "method", m.start(), m.end())
            break
    # drop entities contained in a longer one ("Entity Recognition" inside "Named Entity Recognition")
    ents = sorted(found.values(), key=lambda e: e.start)
    keep = []
    for e in ents:
        if any(o is not e and o.start <= e.start and e.end <= o.end and (o.end - o.start) > (e.end - e.start)
               for o in ents):
            continue
        keep.append(e)
    return keep


_DEF_PAREN = re.compile(r"\(([A-Za-z][A-Za-z0-9\-]*[A-Z][A-Za-z0-9\-]*)\)")


def abbreviation_definitions(text: str) -> dict[str, str]:
    """"Long Form (LF)" definitions: {squashed abbreviation: long form}. The long form is the shortest run of
    words before the parenthesis whose initials spell the abbreviation (Schwartz & Hearst style)."""
    out: dict[str, str] = {}
    for m in _DEF_PAREN.finditer(text):
        abbr = m.group(1)
        letters = [c.lower() for c in abbr if c.isalpha()]
        if len(letters) < 2:
            continue
        before = text[max(0, m.start() - 120):m.start()]
        ws = re.findall(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*", before)
        for n in range(1, min(len(ws), len(letters) + 3) + 1):
            cand = ws[-n:]
            if cand[0].lower() in STOPWORDS:
                continue
            if _initials_match(abbr, cand):
                out[squash(abbr)] = " ".join(cand)
                break
    return out


def _initials_match(abbr: str, cand: list[str]) -> bool:
    a = [c.lower() for c in abbr if c.isalnum()]
    joined = " ".join(cand).lower()
    if not a or joined[0] != a[0]:
        return False
    # every abbreviation letter, in order, inside the candidate words; the first letter starts a word
    pos = 0
    for ch in a:
        k = joined.find(ch, pos)
        if k < 0:
            return False
        pos = k + 1
    initials = [w[0].lower() for w in cand]
    return sum(1 for w in initials if w in a) >= max(1, len(cand) - 1)


class TextIndex:
    """Fast membership tests for entity mentions in a body of text (case-, hyphen- and plural-insensitive).

    Hyphenated compounds count as one token ("XLM-R" -> "xlmr", so "XLM" is not found inside "XLM-R");
    their parts count too unless the last part is a one-character or numeric variant suffix ("-R", "-X",
    "-100"), so "mBERT-based" still mentions mBERT.
    """

    MAX_N = 6

    def __init__(self, texts: Iterable[str]):
        self.grams: set[str] = set()
        self.aliases: dict[str, str] = {}
        for t in texts:
            if not t:
                continue
            streams: list[list[str]] = [[]]
            for m in re.finditer(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*", fold(t)):
                tok = m.group(0)
                parts = tok.split("-")
                streams[0].append(squash(tok))
                if len(parts) > 1 and not (len(parts[-1]) == 1 or parts[-1].isdigit()):
                    for p in parts:
                        self._add([p.lower()])
            self._add(streams[0])
            for k, v in abbreviation_definitions(t).items():
                self.aliases[k] = squash(v)
                self.aliases[squash(v)] = k

    def _add(self, toks: list[str]) -> None:
        for n in range(1, self.MAX_N + 1):
            for i in range(len(toks) - n + 1):
                g = "".join(toks[i:i + n])
                self.grams.add(g)
                if g.endswith("s") and len(g) > 3:
                    self.grams.add(g[:-1])

    def contains(self, key: str) -> bool:
        if key in self.grams or (key.endswith("s") and key[:-1] in self.grams):
            return True
        alt = self.aliases.get(key)
        if alt and alt in self.grams:
            return True
        # the "m" of a model name is "multilingual" (mBERT / M-BERT, mT5, mBART): "multilingual BERT" names
        # mBERT and back (step 14)
        if len(key) > 3 and key.startswith("m") and "multilingual" + key[1:] in self.grams:
            return True
        return key.startswith("multilingual") and len(key) > 14 and "m" + key[12:] in self.grams


# Widely used benchmark / model / task names of (multilingual) NLP. An entity on this list that no cited
# paper mentions is still flagged, but as "known elsewhere" rather than "possibly invented".
KNOWN_TERMS = frozenset(squash(t) for t in """
XNLI PAWS-X PAWS XQuAD MLQA TyDiQA TyDi-QA XTREME XTREME-R XGLUE WikiANN PAN-X UD UD-POS UDPOS Tatoeba BUCC MLDoc
MARC XCOPA XStoryCloze AmericasNLI MasakhaNER FLORES FLORES-200 WMT SQuAD GLUE SuperGLUE MNLI MultiNLI SNLI CoNLL
OntoNotes Europarl OPUS CCNet CC-100 CC100 Wikipedia BMLAMA LAMA mLAMA XWinograd XL-WiC MKQA
BERT mBERT XLM XLM-R XLM-RoBERTa RoBERTa mT5 T5 mT0 BART mBART BLOOM BLOOMZ LASER LaBSE GPT GPT-2 GPT-3 GPT-4
LLaMA InfoXLM ERNIE-M VECO Unicoder XLM-Align AMBER MUSE VecMap fastText word2vec GloVe ELMo DistilBERT
mDeBERTa DeBERTa ALBERT ELECTRA Rembert RemBERT ByT5 CANINE ROME MEMIT
NER POS NLI NLU NLG QA MRC BLEU chrF COMET ROUGE METEOR BPE WordPiece SentencePiece
Adam AdamW SGD LoRA
""".split())
