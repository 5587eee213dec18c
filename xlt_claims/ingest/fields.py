"""Structured fields of a claim: kind, datasets, tasks, languages, metric/unit/value, direction,
models and methods.

Everything is gazetteer + pattern based and explainable: `extract_fields(text).extraction` keeps,
for every field, the surface string and its character span, and whether a name came from a
gazetteer or from the unknown-name pattern (an ALL-CAPS name next to "dataset"/"benchmark"/...,
which is how an invented data set shows up).

Kinds:
* quantitative: states a measured number (a value with a unit or metric, "by 2.1", a range
  "1 to 3 points", a change "from 65.4 to 67.0"). Counts such as "four tasks" are not measurements.
* qualitative: states an effect or a comparison without a number (a direction verb such as
  "improves"/"outperforms", or a comparative such as "more ... than", "better").
* descriptive: everything else (definitions, background, what a module does).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

# --- gazetteers (canonical name, regex); the first alternative that matches at a position wins,
# so more specific names come first. (?i:...) marks case-insensitive entries.

DATASETS: list[tuple[str, str]] = [
    ("PAWS-X", r"PAWS[-\s]?X\b"), ("PAWS", r"PAWS\b"), ("XNLI", r"XNLI\b"), ("XQuAD", r"XQ[uU]AD\b"),
    ("MLQA", r"MLQA\b"), ("TyDiQA", r"(?:TyDi[-\s]?QA|TYDIQA|TyDiQA)(?:-GoldP|\s+GoldP)?\b"),
    ("WikiANN", r"(?i:wiki-?ann)\b|PAN-?X\b"), ("UD-POS", r"UD[-\s]?POS\b|Universal\s+Dependencies\b"),
    ("XTREME-R", r"XTREME-R\b"), ("XTREME", r"XTREME\b"), ("XGLUE", r"XGLUE\b"), ("BUCC", r"BUCC(?:\s?20\d\d)?\b"),
    ("Tatoeba", r"(?i:tatoeba)\b"), ("MLDoc", r"MLDoc\b"), ("XCOPA", r"XCOPA\b"), ("XStoryCloze", r"XStoryCloze\b"),
    ("XWinograd", r"XWinograd\b"), ("XL-WiC", r"XL-WiC\b"), ("MKQA", r"MKQA\b"), ("LAReQA", r"LAReQA\b"),
    ("Mewsli-X", r"Mewsli-X\b"), ("AmericasNLI", r"AmericasNLI\b"), ("MASSIVE", r"MASSIVE\b"), ("MARC", r"MARC\b"),
    ("MultiNLI", r"(?:Multi-?NLI|MNLI)\b"), ("SNLI", r"SNLI\b"), ("SQuAD", r"SQuAD(?:\s?v?[12](?:\.[01])?)?\b"),
    ("CoNLL", r"CoNLL(?:-?20\d\d)?\b"), ("SuperGLUE", r"SuperGLUE\b"), ("GLUE", r"GLUE\b"),
    ("FLORES", r"FLORES(?:-?\d+)?\b"), ("OPUS", r"OPUS(?:-100)?\b"), ("Europarl", r"(?i:europarl)\b"),
    ("WMT", r"WMT(?:\s?'?\d{2,4})?\b"), ("CC-100", r"CC-?100\b"), ("OSCAR", r"OSCAR\b"), ("MIRACL", r"MIRACL\b"),
    ("WikiMatrix", r"WikiMatrix\b"), ("CCMatrix", r"CCMatrix\b"), ("mLAMA", r"m-?LAMA\b"), ("X-FACTR", r"X-FACTR\b"),
    ("BMLAMA", r"BMLAMA(?:-\d+)?\b"), ("LAMA", r"LAMA\b"),
]
DATASET_TASK = {"XNLI": "NLI", "MultiNLI": "NLI", "SNLI": "NLI", "AmericasNLI": "NLI", "PAWS-X": "paraphrase",
                "PAWS": "paraphrase", "XQuAD": "QA", "MLQA": "QA", "TyDiQA": "QA", "SQuAD": "QA", "MKQA": "QA",
                "WikiANN": "NER", "CoNLL": "NER", "UD-POS": "POS", "BUCC": "retrieval", "Tatoeba": "retrieval",
                "LAReQA": "retrieval", "MLDoc": "classification", "MARC": "classification", "XCOPA": "reasoning",
                "mLAMA": "factual-knowledge", "BMLAMA": "factual-knowledge", "X-FACTR": "factual-knowledge"}

TASKS: list[tuple[str, str]] = [
    ("NLI", r"(?i:natural\s+language\s+inference|textual\s+entailment)|NLI\b"),
    ("paraphrase", r"(?i:paraphrase\s+(?:identification|detection))"),
    ("QA", r"(?i:question[-\s]answering|reading\s+comprehension)|QA\b"),
    ("NER", r"(?i:named[-\s]entity\s+recognition)|NER\b"),
    ("POS", r"(?i:part[-\s]of[-\s]speech(?:\s+tagging)?)|POS(?:\s+tagging)?\b"),
    ("retrieval", r"(?i:(?:sentence|bitext|cross-lingual)\s+retrieval|bitext\s+mining)"),
    ("classification", r"(?i:(?:text|sentence|document)\s+classification)"),
    ("parsing", r"(?i:dependency\s+parsing)"), ("MT", r"(?i:machine\s+translation)|NMT\b|MT\b"),
]

MODELS: list[tuple[str, str]] = [
    ("XLM-R", r"XLM-?R(?:oBERTa)?(?:[-\s](?:base|large|XXL|XL)\b)?\b|(?i:xlm-roberta)(?:[-\s](?:base|large))?\b"),
    ("XLM-E", r"XLM-E\b"), ("XLM-V", r"XLM-V\b"), ("InfoXLM", r"InfoXLM\b"), ("XGLM", r"XGLM\b"),
    ("XLM", r"XLM\b(?!-)"),
    ("mBERT", r"m-?BERT\b|M-BERT\b|(?i:multilingual[-\s]bert)\b|(?i:bert-base-multilingual(?:-cased|-uncased)?)\b"),
    ("mDeBERTa", r"mDeBERTa(?:-?v3)?\b"), ("DeBERTa", r"DeBERTa(?:-?v3)?\b"), ("DistilBERT", r"Distil(?:m)?BERT\b"),
    ("RemBERT", r"RemBERT\b"), ("MuRIL", r"(?i:muril)\b"), ("IndicBERT", r"IndicBERT\b"), ("AfriBERTa", r"AfriBERTa\b"),
    ("RoBERTa", r"RoBERTa\b"), ("BERT", r"BERT\b"), ("mT5", r"mT5\b"), ("mT0", r"mT0\b"), ("ByT5", r"ByT5\b"),
    ("T5", r"T5\b"), ("mBART", r"mBART(?:-50)?\b"), ("LaBSE", r"LaBSE\b"), ("LASER", r"LASER\b"),
    ("mE5", r"(?i:multilingual-e5(?:-small|-base|-large)?)|mE5\b"), ("E5", r"E5\b"), ("ERNIE-M", r"ERNIE-M\b"),
    ("VECO", r"VECO\b"), ("Unicoder", r"Unicoder\b"), ("BLOOM", r"BLOOMZ?\b"), ("mGPT", r"mGPT\b"),
    ("GPT", r"ChatGPT\b|GPT-?\d(?:\.\d)?(?:-?[a-z]+)?\b"), ("Llama", r"(?i:llama)(?:[-\s]?\d(?:\.\d)?)?\b"),
    ("ELECTRA", r"ELECTRA\b"), ("XLNet", r"XLNet\b"), ("MiniLM", r"MiniLM(?:-L\d+)?\b"), ("CANINE", r"CANINE\b"),
    ("fastText", r"(?i:fasttext)\b"), ("word2vec", r"(?i:word2vec)\b"),
]

METHODS: list[tuple[str, str]] = [
    ("RS-DA", r"RS-?DA\b|(?i:data[-\s]augmentation[-\s]based\s+randomi[sz]ed\s+smoothing)"),
    ("RS-RP", r"RS-?RP\b"),
    ("randomized smoothing", r"(?i:randomi[sz]ed\s+smoothing)"),
    ("adversarial training", r"(?i:adversarial(?:ly)?\s+(?:training|trained|learning|fine-tuning|perturbations?))"),
    ("robust training", r"(?i:robust(?:ness)?\s+training)"),
    ("bilingual alignment pre-training", r"(?i:bilingual\s+alignment\s+pre-?training)|WEAM\b"),
    ("optimal transport", r"(?i:optimal[-\s]transport|sinkhorn|wasserstein)|OT(?=[-\s](?:alignment|regulari[sz]ation|loss|objective|distance))"),
    ("feature aggregation", r"(?i:(?:feature|layer|representation)\s+aggregation|attention-based\s+aggregation|aggregation\s+models?)"),
    ("layer fusion", r"(?i:(?:layer|feature)\s+fusion|fusion\s+(?:layers?|embeddings?))"),
    ("word alignment", r"(?i:word[-\s]alignments?)"),
    ("embedding alignment", r"(?i:(?:embedding|representation|cross-lingual)\s+(?:space\s+)?alignment|align(?:ing|ment of)?\s+(?:the\s+)?(?:contextual\s+)?(?:word\s+)?embedding\s+spaces?)"),
    ("translate-train", r"(?i:translate[-\s]train)"), ("translate-test", r"(?i:translate[-\s]test)"),
    ("code-switching", r"(?i:code[-\s]switch(?:ing|ed)?)"),
    ("contrastive learning", r"(?i:contrastive\s+(?:learning|loss|objective|pre-?training))"),
    ("knowledge distillation", r"(?i:knowledge\s+distillation|distillation)"),
    ("data augmentation", r"(?i:data\s+augmentation)"),
    ("adapters", r"MAD-X\b|(?i:adapters?)\b"),
    ("vocabulary extension", r"(?i:vocabulary\s+(?:augmentation|extension|expansion))"),
    ("transliteration", r"(?i:translitera(?:tion|ted|ting))"),
    ("continued pre-training", r"(?i:(?:continued|language-adaptive|task-adaptive)\s+pre-?training)|LAPT\b|TAPT\b"),
    ("self-training", r"(?i:self-training|pseudo-label(?:s|ing|led)?)"),
    ("meta-learning", r"(?i:meta-learning)"),
]

LANGUAGES: dict[str, str] = {
    "English": "en", "French": "fr", "Spanish": "es", "German": "de", "Greek": "el", "Bulgarian": "bg",
    "Russian": "ru", "Turkish": "tr", "Arabic": "ar", "Vietnamese": "vi", "Thai": "th", "Chinese": "zh",
    "Mandarin": "zh", "Cantonese": "yue", "Hindi": "hi", "Swahili": "sw", "Urdu": "ur", "Japanese": "ja",
    "Korean": "ko", "Romanian": "ro", "Italian": "it", "Portuguese": "pt", "Dutch": "nl", "Polish": "pl",
    "Czech": "cs", "Slovak": "sk", "Slovenian": "sl", "Croatian": "hr", "Serbian": "sr", "Bosnian": "bs",
    "Ukrainian": "uk", "Belarusian": "be", "Hungarian": "hu", "Finnish": "fi", "Estonian": "et",
    "Latvian": "lv", "Lithuanian": "lt", "Swedish": "sv", "Norwegian": "no", "Danish": "da",
    "Icelandic": "is", "Irish": "ga", "Welsh": "cy", "Basque": "eu", "Catalan": "ca", "Galician": "gl",
    "Hebrew": "he", "Persian": "fa", "Farsi": "fa", "Kurdish": "ku", "Pashto": "ps", "Bengali": "bn",
    "Bangla": "bn", "Marathi": "mr", "Gujarati": "gu", "Punjabi": "pa", "Tamil": "ta", "Telugu": "te",
    "Kannada": "kn", "Malayalam": "ml", "Sinhala": "si", "Nepali": "ne", "Indonesian": "id", "Malay": "ms",
    "Tagalog": "tl", "Filipino": "tl", "Javanese": "jv", "Burmese": "my", "Khmer": "km", "Lao": "lo",
    "Mongolian": "mn", "Kazakh": "kk", "Uzbek": "uz", "Kyrgyz": "ky", "Tatar": "tt", "Azerbaijani": "az",
    "Georgian": "ka", "Armenian": "hy", "Albanian": "sq", "Macedonian": "mk", "Maltese": "mt",
    "Afrikaans": "af", "Amharic": "am", "Yoruba": "yo", "Igbo": "ig", "Hausa": "ha", "Zulu": "zu",
    "Xhosa": "xh", "Somali": "so", "Wolof": "wo", "Quechua": "qu", "Guarani": "gn", "Esperanto": "eo",
    "Latin": "la", "Haitian": "ht", "Tibetan": "bo", "Uyghur": "ug", "Yiddish": "yi", "Luxembourgish": "lb",
    "Faroese": "fo", "Breton": "br", "Occitan": "oc", "Frisian": "fy", "Scottish Gaelic": "gd",
}
ISO_CODES = frozenset(LANGUAGES.values())

_NUM = r"[+\-\u2212]?\d+(?:\.\d+)?"
# (the one-character lookahead first: it fails fast at most positions; both assertions are zero-width)
_NUM_START = r"(?=[+\-\u2212\d])(?:(?<=^)|(?<=[\s(~\u2248\[]))"
_UNIT = (r"(?:absolute\s+|relative\s+)?(?:percentage[-\s]points?|percent(?:age)?\s+points?|points?\b|pts?\b\.?|pp\b|"
         r"%|percent\b|F1\b|EM\b|BLEU\b|chrF\b|accuracy\b|x\b|times\b|fold\b)")
_METRICS: list[tuple[str, str]] = [
    ("accuracy", r"(?i:accuracy|acc\.)"), ("F1", r"(?i:macro[-\s]?F1|micro[-\s]?F1|F1(?:[-\s]score)?|F-score)"),
    ("EM", r"(?i:exact[-\s]match)|EM\b"), ("BLEU", r"(?i:spBLEU|BLEU)"), ("chrF", r"chrF\+*"),
    ("precision@1", r"(?i:precision@1|P@1)"), ("precision", r"(?i:precision)"), ("recall", r"(?i:recall)"),
    ("MRR", r"MRR\b"), ("AUC", r"(?i:AUC|AUROC)\b"), ("perplexity", r"(?i:perplexity)"),
    ("ROUGE", r"ROUGE(?:-[12L])?\b"), ("correlation", r"(?i:spearman|pearson|correlation)"),
    ("error rate", r"(?i:error\s+rate)"), ("consistency", r"(?i:consistency)"),
]

_DIRECTIONS: list[tuple[str, str]] = [
    ("outperform", r"outperform(?:s|ed|ing)?|surpass(?:es|ed|ing)?|beats?|exceed(?:s|ed)?|superior\s+to|better\s+than|higher\s+than"),
    ("underperform", r"underperform(?:s|ed|ing)?|worse\s+than|lower\s+than|lags?\s+behind|falls?\s+behind|inferior\s+to"),
    ("improve", r"improv(?:es|ed|ing|ements?)|(?<!to\s)improve|boost(?:s|ed)?|gains?|increas(?:es|ed)|enhanc(?:es|ed)|benefits?|helps"),
    ("decrease", r"decreas(?:es|ed)|(?<!to\s)(?:decrease|reduce|degrade)|reduc(?:es|ed|tion)|drops?|dropped|degrad(?:es|ed|ation)|"
                 r"hurts?|declines?|declined|lowers|harms?"),
    ("match", r"comparable\s+to|on\s+par\s+with|matches|competitive\s+with|similar\s+(?:performance|results)\s+to"),
]
_NEG = re.compile(r"\b(?:not|no|never|fails?\s+to|failed\s+to|cannot|can't|doesn't|don't|didn't|without|neither|nor)\b(?:\s+\w+){0,2}\s*$",
                  re.IGNORECASE)
_CUES = re.compile(r"(?=[bcefgilmorsuwBCEFGILMORSUW])\b(?i:more|less|fewer|better|worse|(?:higher|lower|larger|smaller|stronger|weaker|greater)\s+than|best|worst|"
                   r"significant(?:ly)?|substantial(?:ly)?|consistent(?:ly)?|remarkabl[ey]|effective(?:ly)?|superior|"
                   r"inferior|crucial|essential|outperform\w*|robustly)\b")
_UNKNOWN_DATASET = re.compile(
    r"\b(?:the\s+)?([A-Z][A-Z0-9]{2,}(?:-[A-Z0-9]+)*)\s+(?:dataset|data\s+set|benchmark|corpus|test\s+set|suite|challenge)s?\b"
    r"|\b(?:dataset|benchmark|corpus)\s+(?:called\s+|named\s+)?([A-Z][A-Z0-9]{2,}(?:-[A-Z0-9]+)*)\b")
_UNKNOWN_METHOD = re.compile(
    r"\b([A-Z](?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)\s+(?:module|method|approach|framework|objective|technique|strategy|regulari[sz]er)s?\b")
_UNKNOWN_DS_KEYS = ("dataset", "data set", "benchmark", "corpus", "corpora", "test set", "suite", "challenge")
_UNKNOWN_METHOD_KEYS = ("module", "method", "approach", "framework", "objective", "technique", "strateg", "regulari")
_ISO_PAIR = re.compile(r"(?<![\w-])([a-z]{2})\s?(?:-|\u2192|->|/)\s?([a-z]{2})(?![\w-])")
_ISO_LIST = re.compile(r"(?<![\w-])([a-z]{2}(?:\s*,\s*[a-z]{2}){2,})(?![\w-])")


def _first_chars(pattern: str) -> Optional[set[str]]:
    """Characters a match of `pattern` can start with (None: could not tell). Used to put a
    one-character lookahead in front of a large alternation, which lets the regex engine skip
    every position that cannot start a name (5x faster on typical claims)."""
    try:
        from re import _constants as C, _parser as P  # Python >= 3.11
    except ImportError:  # pragma: no cover
        import sre_constants as C  # type: ignore
        import sre_parse as P  # type: ignore

    def fold(ch: str) -> set[str]:
        # the characters `ch` matches case-insensitively, the non-ASCII ones included
        # (İ and ı match i, ſ matches s, the Kelvin sign matches k)
        out = {ch.lower(), ch.upper()}
        return out | set(_ICASE_EXTRA.get(ch.lower(), ""))

    def first(seq, icase: bool) -> Optional[set[str]]:
        for op, av in seq:
            if op is C.AT or op is C.ASSERT or op is C.ASSERT_NOT:
                continue  # consume nothing: the first character comes after them
            if op is C.LITERAL:
                ch = chr(av)
                return fold(ch) if icase else {ch}
            if op is C.SUBPATTERN:
                _, add, _, sub = av
                return first(sub, icase or bool(add & re.IGNORECASE))
            if op is C.BRANCH:
                out: set[str] = set()
                for b in av[1]:
                    r = first(b, icase)
                    if r is None:
                        return None
                    out |= r
                return out
            if op is C.IN:
                out = set()
                for iop, iav in av:
                    if iop is C.LITERAL:
                        out |= fold(chr(iav)) if icase else {chr(iav)}
                    elif iop is C.RANGE:
                        for c in range(iav[0], iav[1] + 1):
                            out |= fold(chr(c)) if icase else {chr(c)}
                    else:
                        return None
                return out
            return None
        return None

    try:
        parsed = P.parse(pattern)
    except re.error:
        return None
    return first(list(parsed), False)


_ICASE_EXTRA = {"i": "\u0130\u0131", "s": "\u017f", "k": "\u212a"}


def _alternation(entries: list[tuple[str, str]]) -> tuple[re.Pattern, list[str]]:
    """One regex for a whole gazetteer, dispatched on the first character: at each word start the
    engine enters only the alternatives that can begin with that character (in gazetteer order, so
    the more specific names listed first still win). Group `g<i>_<k>` is entry i. The branches
    (one per set of characters that start the same entries) sit in a balanced tree of one-character
    lookaheads, so a word start costs about log2(branches) checks instead of one per branch."""
    names = [n for n, _ in entries]
    firsts = [_first_chars(rx) for _, rx in entries]
    if any(fc is None for fc in firsts):
        parts = [f"(?P<g{i}_0>{rx})" for i, (_, rx) in enumerate(entries)]
        return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + ")"), names
    by_char: dict[str, list[int]] = {}
    for i, fc in enumerate(firsts):
        for c in fc:
            by_char.setdefault(c, []).append(i)
    # characters with the same entry list share one branch
    groups: dict[tuple[int, ...], list[str]] = {}
    for c, idx in by_char.items():
        groups.setdefault(tuple(idx), []).append(c)
    branches: list[tuple[set[str], str]] = []
    for k, (idx, chars) in enumerate(groups.items()):
        alts = "|".join(f"(?P<g{i}_{k}>{entries[i][1]})" for i in idx)
        branches.append((set(chars), f"(?:{alts})"))

    def cls(chars: set[str]) -> str:
        return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"

    def tree(items: list[tuple[set[str], str]]) -> str:
        # the character sets partition the first characters: exactly one leaf can match
        if len(items) == 1:
            return items[0][1]
        h = len(items) // 2
        halves = (items[:h], items[h:])
        return "(?:" + "|".join(f"(?={cls(set().union(*(c for c, _ in half)))}){tree(half)}"
                                for half in halves) + ")"

    # a lookahead for any first character before the lookbehind: most positions fail at once
    union = set().union(*(c for c, _ in branches))
    return re.compile(f"(?={cls(union)})" + r"(?<![\w-])" + tree(branches)), names


def _group_names(rx: re.Pattern, names: list[str]) -> dict[str, str]:
    """Group name `g<i>_<k>` -> canonical name of entry i."""
    return {g: names[int(g[1:].split("_", 1)[0])] for g in rx.groupindex}


_DS_RX, _DS_NAMES = _alternation(DATASETS)
_TASK_RX, _TASK_NAMES = _alternation(TASKS)
_MODEL_RX, _MODEL_NAMES = _alternation(MODELS)
_METHOD_RX, _METHOD_NAMES = _alternation(METHODS)
_METRIC_RX, _METRIC_NAMES = _alternation(_METRICS)
_DIR_RX, _ = _alternation([(n, f"(?i:{rx})\\b") for n, rx in _DIRECTIONS])
_DIR_NAMES = [n for n, _ in _DIRECTIONS]
_SIZE = re.compile(r"(?i)[-\s](base|large|xxl|xl)$")
# lower-case words one of which _Q_METRIC_FIRST needs (its case-insensitive names)
_METRIC_FIRST_KEYS = ("accuracy", "f1", "exact", "em", "bleu")
_DS_G, _TASK_G = _group_names(_DS_RX, _DS_NAMES), _group_names(_TASK_RX, _TASK_NAMES)
_MODEL_G, _METHOD_G = _group_names(_MODEL_RX, _MODEL_NAMES), _group_names(_METHOD_RX, _METHOD_NAMES)
_METRIC_G, _DIR_G = _group_names(_METRIC_RX, _METRIC_NAMES), _group_names(_DIR_RX, _DIR_NAMES)
_DIGIT = re.compile(r"\d")
_MODEL_SET = frozenset(m.lower() for m in _MODEL_NAMES)
_TASK_UPPER = frozenset(t.upper() for t in _TASK_NAMES) | {"NER", "POS", "NLI", "QA", "MT"}
_LANG_RX = re.compile(r"(?=[A-Z])\b(" + "|".join(sorted((re.escape(k) for k in LANGUAGES), key=len, reverse=True)) + r")\b")

# (no two unbounded quantifiers that can split one run of spaces between them: see parser.py)
_Q_RANGE = re.compile(_NUM_START + rf"(?:between\s+)?({_NUM})\s*(?:(?:%|points?)\s*)?(?:to|-|\u2013|and)\s*({_NUM})\s*({_UNIT})")
_Q_FROMTO = re.compile(rf"\bfrom\s+({_NUM})(?:\s*(%|points?))?\s+to\s+({_NUM})\s*({_UNIT})?")
_Q_UNIT = re.compile(_NUM_START + rf"({_NUM})\s*({_UNIT})")
_Q_BY = re.compile(rf"\bby\s+(?:about\s+|around\s+|roughly\s+|up\s+to\s+|over\s+|more\s+than\s+)?({_NUM})(?![\w.])")
_Q_METRIC_FIRST = re.compile(r"(?<![\w-])(?=[aAfFeEbB])(?i:accuracy|F1(?:\s+score)?|exact\s+match|EM|BLEU)\s+(?:score\s+)?(?:of|=|:|reaches|reached)\s*(" + _NUM + r")\b")

# known words for the truncation rule's completions (names and terms from these gazetteers)
LEXICON_WORDS = frozenset({w.lower() for k in LANGUAGES for w in k.split()} |
                       {w.lower() for k, _ in METHODS for w in re.findall(r"[A-Za-z]+", k)} |
                       {"accuracy", "precision", "recall", "performance", "language", "languages", "transfer",
                        "multilingual", "lingual", "cross", "benchmark", "benchmarks", "dataset", "datasets"})


@dataclass
class ClaimFields:
    kind: str = "descriptive"
    datasets: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    metric: Optional[str] = None
    unit: Optional[str] = None
    value: Optional[float] = None
    value_high: Optional[float] = None
    comparator: Optional[str] = None
    direction: Optional[str] = None
    model: Optional[str] = None
    method: Optional[str] = None
    extraction: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("kind", "datasets", "tasks", "languages", "metric", "unit", "value",
                                              "value_high", "comparator", "direction", "model", "method", "extraction")}


def _num(s: str) -> Optional[float]:
    """The number, or None for one no float holds (400 digits would be stored as infinity)."""
    if len(s) > 24:
        return None
    v = float(s.replace("\u2212", "-"))
    return v if math.isfinite(v) else None


MAX_QUANTITIES = 64  # a claim states a few numbers; a hostile one with thousands must not cost quadratic time


_SPACES = re.compile(r"\s+")
_REL_ABS = re.compile(r"^(?:absolute|relative) ")


@functools.lru_cache(maxsize=4096)
def _canon_unit(u: str) -> tuple[str, Optional[str]]:
    """(unit, metric named by the unit token); a pure function of a short surface string, cached"""
    u = _SPACES.sub(" ", u.strip().lower().rstrip("."))
    u = _REL_ABS.sub("", u)
    if u in ("%", "percent"):
        return "%", None
    if "percent" in u or "percentage" in u or u == "pp":
        return "percentage points", None
    if u in ("point", "points", "pt", "pts"):
        return "points", None
    if u in ("x", "times", "fold"):
        return "x", None
    names = {"f1": "F1", "em": "EM", "bleu": "BLEU", "chrf": "chrF", "accuracy": "accuracy"}
    return "points", names.get(u, u)


def _gaz(rx: re.Pattern, groups: dict[str, str], text: str) -> list[tuple[str, str, int, int]]:
    """(canonical name, surface, start, end) of each gazetteer hit; `groups` from `_group_names`."""
    return [(groups[m.lastgroup], m.group(), m.start(), m.end()) for m in rx.finditer(text)]


def _any_in(s: str, keys: tuple[str, ...]) -> bool:
    """any(k in s for k in keys) without a generator per call"""
    for k in keys:
        if k in s:
            return True
    return False


def _uniq(items):
    """Unique items, first occurrence order (items are hashable)."""
    return list(dict.fromkeys(items))


def extract_fields(text: str) -> ClaimFields:
    f = ClaimFields()
    ex: dict[str, Any] = {}
    # names ------------------------------------------------------------------------------------
    models = _gaz(_MODEL_RX, _MODEL_G, text)
    model_names = []
    for name, surf, a, b in models:
        size = _SIZE.search(surf)
        if name == "GPT":
            name = surf.replace(" ", "-")
        model_names.append(f"{name}-{size.group(1).lower()}" if size and name in ("XLM-R", "mE5") else name)
    datasets = _gaz(_DS_RX, _DS_G, text)
    ds_names = [d[0] for d in datasets]
    model_set = _MODEL_SET
    task_hits = _gaz(_TASK_RX, _TASK_G, text)
    unknown_ds = []
    low = text.lower()
    for m in (_UNKNOWN_DATASET.finditer(text) if _any_in(low, _UNKNOWN_DS_KEYS) else ()):
        name = m.group(1) or m.group(2)
        a = m.start(1) if m.group(1) else m.start(2)
        if name in ds_names or name.lower() in model_set or any(a >= s and a < e for _, _, s, e in datasets + task_hits):
            continue
        if name.upper() in _TASK_UPPER:
            continue
        unknown_ds.append((name, name, a, a + len(name)))
    f.datasets = _uniq(ds_names + [u[0] for u in unknown_ds])
    tasks = [t[0] for t in task_hits]
    inferred = [DATASET_TASK[d] for d in ds_names if d in DATASET_TASK]
    f.tasks = _uniq(tasks + inferred)
    methods = _gaz(_METHOD_RX, _METHOD_G, text)
    unknown_methods = []
    if _any_in(low, _UNKNOWN_METHOD_KEYS):
        known_spans = [(a, b) for _, _, a, b in models + datasets + methods]
        for m in _UNKNOWN_METHOD.finditer(text):
            name = m.group(1)
            if name in ds_names or name.lower() in model_set or any(s <= m.start(1) < e for s, e in known_spans):
                continue
            unknown_methods.append((name, name, m.start(1), m.end(1)))
    method_names = _uniq([x[0] for x in methods] + [x[0] for x in unknown_methods])
    f.model = ", ".join(_uniq(model_names)) or None
    f.method = ", ".join(method_names) or None
    # languages --------------------------------------------------------------------------------
    langs = [(LANGUAGES[m.group(1)], m.group(1), m.start(), m.end()) for m in _LANG_RX.finditer(text)]
    # (cheap substring tests skip patterns that cannot match: each needs the character or word tested)
    for m in (_ISO_PAIR.finditer(text) if "-" in text or "/" in text or "\u2192" in text else ()):
        if m.group(1) in ISO_CODES and m.group(2) in ISO_CODES and m.group(1) != m.group(2):
            langs += [(m.group(1), m.group(1), m.start(1), m.end(1)), (m.group(2), m.group(2), m.start(2), m.end(2))]
    for m in (_ISO_LIST.finditer(text) if text.count(",") >= 2 else ()):
        codes = [c.strip() for c in m.group(1).split(",")]
        if all(c in ISO_CODES for c in codes):
            langs += [(c, c, m.start(1), m.end(1)) for c in codes]
    f.languages = _uniq([x[0] for x in langs])
    # quantities ---------------------------------------------------------------------------------
    quantities: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []

    def _free(a: int, b: int) -> bool:
        return len(taken) < MAX_QUANTITIES and all(b <= s or a >= e for s, e in taken)

    digit = _DIGIT.search(text)
    has_digit = digit is not None
    # a number starts at its first digit or at a sign just before it: the two patterns that begin
    # with a number search from there (a lookbehind still sees the text before that position)
    num_from = max(0, digit.start() - 1) if has_digit else 0
    for m in (_Q_RANGE.finditer(text, num_from) if has_digit else ()):
        lo, hi = _num(m.group(1)), _num(m.group(2))
        if lo is None or hi is None or hi <= lo or not _free(m.start(), m.end()):
            continue
        unit, metric = _canon_unit(m.group(3))
        quantities.append({"value": lo, "value_high": hi, "unit": unit, "metric": metric, "form": "range",
                           "span": [m.start(), m.end()], "text": m.group(0)})
        taken.append((m.start(), m.end()))
    for m in (_Q_FROMTO.finditer(text) if has_digit and "from" in text else ()):
        if not _free(m.start(), m.end()):
            continue
        a, b = _num(m.group(1)), _num(m.group(3))
        if a is None or b is None:
            continue
        unit, metric = _canon_unit(m.group(4) or m.group(2) or "points")
        quantities.append({"value": round(b - a, 6), "from": a, "to": b, "unit": unit, "metric": metric,
                           "form": "change", "span": [m.start(), m.end()], "text": m.group(0)})
        taken.append((m.start(), m.end()))
    for m in (_Q_UNIT.finditer(text, num_from) if has_digit else ()):
        if not _free(m.start(), m.end()) or (value := _num(m.group(1))) is None:
            continue
        unit, metric = _canon_unit(m.group(2))
        quantities.append({"value": value, "unit": unit, "metric": metric,
                           "form": "signed" if m.group(1)[0] in "+-\u2212" else "amount",
                           "span": [m.start(), m.end()], "text": m.group(0)})
        taken.append((m.start(), m.end()))
    for m in (_Q_BY.finditer(text) if has_digit and "by" in text else ()):
        if not _free(m.start(1), m.end(1)) or _num(m.group(1)) is None:
            continue
        quantities.append({"value": _num(m.group(1)), "unit": None, "metric": None, "form": "by",
                           "span": [m.start(), m.end()], "text": m.group(0)})
        taken.append((m.start(), m.end()))
    for m in (_Q_METRIC_FIRST.finditer(text) if has_digit and _any_in(low, _METRIC_FIRST_KEYS) else ()):
        if not _free(m.start(1), m.end(1)) or _num(m.group(1)) is None:
            continue
        quantities.append({"value": _num(m.group(1)), "unit": None, "metric": None, "form": "level",
                           "span": [m.start(), m.end()], "text": m.group(0)})
        taken.append((m.start(1), m.end(1)))
    quantities.sort(key=lambda q: q["span"][0])
    metric_hits = _gaz(_METRIC_RX, _METRIC_G, text)
    for q in quantities:
        if q["metric"] is None and metric_hits:
            # the metric named closest to the number
            q["metric"] = min(metric_hits, key=lambda h: min(abs(h[2] - q["span"][1]), abs(h[3] - q["span"][0])))[0]
        near = [d for d in datasets + unknown_ds if abs(d[2] - q["span"][1]) < 40 or abs(q["span"][0] - d[3]) < 40]
        if near:
            q["dataset"] = min(near, key=lambda d: min(abs(d[2] - q["span"][1]), abs(q["span"][0] - d[3])))[0]
    # direction --------------------------------------------------------------------------------
    dirs = []
    for m in _DIR_RX.finditer(text):
        name = _DIR_G[m.lastgroup]
        neg = bool(_NEG.search(text[max(0, m.start() - 40):m.start()]))
        dirs.append((name, m.group(0), m.start(), m.end(), neg))
    if dirs:
        anchor = quantities[0]["span"][0] if quantities else None
        d = min(dirs, key=lambda x: abs(x[2] - anchor)) if anchor is not None else dirs[0]
        f.direction = "no-effect" if d[4] else d[0]
        ex["direction"] = {"surface": d[1], "span": [d[2], d[3]], "negated": d[4]}
    # fill the claim's main quantity ---------------------------------------------------------------
    if quantities:
        q = quantities[0]
        f.value = q["value"]
        f.value_high = q.get("value_high")
        f.unit = q["unit"]
        f.metric = q["metric"] or q["unit"]
        f.kind = "quantitative"
        f.comparator = "range" if q["form"] == "range" else f.direction
    else:
        if metric_hits:
            f.metric = metric_hits[0][0]
        masked = text
        for _, _, a, b in methods:
            masked = masked[:a] + " " * (b - a) + masked[b:]
        if f.direction is not None or _CUES.search(masked):
            f.kind = "qualitative"
        f.comparator = f.direction
    # provenance of each field ------------------------------------------------------------------
    ex["datasets"] = [{"name": n, "surface": s, "span": [a, b], "source": "gazetteer"} for n, s, a, b in datasets] + \
                     [{"name": n, "surface": s, "span": [a, b], "source": "pattern"} for n, s, a, b in unknown_ds]
    if task_hits or inferred:
        ex["tasks"] = [{"name": n, "surface": s, "span": [a, b]} for n, s, a, b in task_hits] + \
                      [{"name": DATASET_TASK[d], "inferred_from": d} for d in ds_names if d in DATASET_TASK]
    if langs:
        ex["languages"] = [{"code": c, "surface": s, "span": [a, b]} for c, s, a, b in langs]
    if models:
        ex["models"] = [{"name": n, "surface": s, "span": [a, b]} for n, s, a, b in models]
    if methods or unknown_methods:
        ex["methods"] = [{"name": n, "surface": s, "span": [a, b], "source": "gazetteer"} for n, s, a, b in methods] + \
                        [{"name": n, "surface": s, "span": [a, b], "source": "pattern"} for n, s, a, b in unknown_methods]
    if quantities:
        ex["quantities"] = quantities
    if not ex["datasets"]:
        del ex["datasets"]
    f.extraction = ex
    return f
