"""English and language-name lexicons from maintained resources, read offline (a leaf module).

* **WordNet 3.0** (Princeton; Debian package `wordnet-base`, read through nltk's WordNet reader):
  antonyms ("static"/"dynamic", "supervised"/"unsupervised", "increase"/"decrease"), synonyms, base
  forms ("lower" -> "low") and the set of English words. Looked for in `$XLT_CLAIMS_WORDNET`, then
  `/usr/share/wordnet` (Debian), then nltk's own data folders. `XLT_CLAIMS_WORDNET=off` turns it off.
  Without it every function here still answers (antonyms and synonyms empty, `is_english_word` False)
  and `wordnet_status()` says why, so callers can tell the user what was not checked.
* **Language names**: ISO 639-3 names from `pycountry` (Debian's iso-codes data).

Nothing here imports the rest of xlt_claims.
"""

from __future__ import annotations

import functools
import io
import os
import re
import warnings
from pathlib import Path
from typing import Any, Optional

WORDNET_ENV = "XLT_CLAIMS_WORDNET"
_DEBIAN_WORDNET = "/usr/share/wordnet"
# WordNet's lexicographer file names (lexnames(5WN)); Debian's wordnet-base ships the database
# without this small index file, which nltk's reader needs.
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_POS_NUMBER = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_STATUS: dict[str, Any] = {}


def _wordnet_dirs():
    """Candidate WordNet database folders, cheapest first (nltk is imported only if needed)."""
    env = os.environ.get(WORDNET_ENV)
    if env:
        yield Path(env)
        return
    yield Path(_DEBIAN_WORDNET)
    try:
        import nltk.data
    except ImportError:
        return
    for p in list(nltk.data.path):
        yield Path(str(p)) / "corpora" / "wordnet"


def _reader_class():
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class DebianWordNetReader(WordNetCorpusReader):
        """nltk's reader over a plain WordNet 3.0 database folder (no lexnames file, no OMW)."""

        def open(self, fileid):
            if fileid == "lexnames" and not (Path(str(self._root)) / "lexnames").exists():
                return io.StringIO("".join(f"{i:02d}\t{n}\t{_POS_NUMBER[n.split('.')[0]]}\n"
                                           for i, n in enumerate(_LEXNAMES)))
            return super().open(fileid)

        def map_wn(self, version="wordnet"):
            return None  # no mapping to another WordNet version is needed (English only)

    return DebianWordNetReader


@functools.lru_cache(maxsize=1)
def wordnet():
    """The WordNet reader, or None (then `wordnet_status()["reason"]` says why)."""
    if os.environ.get(WORDNET_ENV, "").lower() in ("off", "0", "none"):
        _STATUS.update(available=False, reason=f"turned off by {WORDNET_ENV}")
        return None
    try:
        import nltk.data
    except ImportError:
        _STATUS.update(available=False, reason="nltk is not installed (pip install nltk)")
        return None
    for d in _wordnet_dirs():
        if not (d / "data.noun").is_file():
            continue
        if str(d) not in [str(p) for p in nltk.data.path]:
            nltk.data.path.append(str(d))  # nltk reads only below its data paths
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "multilingual functions are not available"
                wn = _reader_class()(str(d), None)
            version = wn.get_version()
        except Exception as exc:  # a damaged database: say so, work without it
            _STATUS.update(available=False, reason=f"cannot read WordNet in {d}: {exc.__class__.__name__}: {exc}")
            return None
        _STATUS.update(available=True, path=str(d), version=version, reason=None)
        return wn
    _STATUS.update(available=False, reason="WordNet database not found (Debian: apt-get install wordnet-base; "
                                           f"or set {WORDNET_ENV} to a WordNet dict folder)")
    return None


def wordnet_status() -> dict[str, Any]:
    wordnet()
    return dict(_STATUS)


_POS = ("n", "v", "a", "r")


@functools.lru_cache(maxsize=100_000)
def base_forms(word: str) -> frozenset[str]:
    """Dictionary forms of a word in any part of speech ("lower" -> {"low", "lower"}), lower case."""
    w = word.lower()
    wn = wordnet()
    if wn is None or not re.fullmatch(r"[a-z][a-z'-]*", w):
        return frozenset()
    out = set()
    for pos in _POS:
        try:  # every candidate form ("lower" is an adjective itself and also "low" + -er)
            out.update(wn._morphy(w, pos, check_exceptions=True))
        except (AttributeError, TypeError):  # an nltk without the internal helper
            b = wn.morphy(w, pos)
            if b:
                out.add(b)
    return frozenset(out)


@functools.lru_cache(maxsize=100_000)
def is_verb_form(word: str) -> bool:
    """An inflected form of a WordNet verb ("improves", "ranked"), not the word itself as a noun."""
    wn = wordnet()
    if wn is None:
        return False
    try:
        forms = wn._morphy(word.lower(), "v", check_exceptions=True)
    except (AttributeError, TypeError):
        forms = [wn.morphy(word.lower(), "v")] if wn.morphy(word.lower(), "v") else []
    return any(f != word.lower() for f in forms)


@functools.lru_cache(maxsize=100_000)
def is_adjective(word: str) -> bool:
    wn = wordnet()
    return wn is not None and bool(wn.synsets(word.lower(), "a") or wn.synsets(word.lower(), "s"))


@functools.lru_cache(maxsize=100_000)
def is_verb(word: str) -> bool:
    """A WordNet verb lemma as written ("cover", "span", "perform")."""
    wn = wordnet()
    return wn is not None and any(s.name().split(".")[0] == word.lower() or word.lower() in s.lemma_names()
                                  for s in wn.synsets(word.lower(), "v"))


@functools.lru_cache(maxsize=100_000)
def is_noun(word: str) -> bool:
    wn = wordnet()
    return wn is not None and bool(wn.synsets(word.lower(), "n"))


def is_english_word(word: str) -> bool:
    """A word (or an inflection of one) in WordNet."""
    return bool(base_forms(word))


@functools.lru_cache(maxsize=100_000)
def antonyms(word: str) -> frozenset[str]:
    """Direct (lemma-level) WordNet antonyms of any sense of any base form of `word`, lower case."""
    wn = wordnet()
    if wn is None:
        return frozenset()
    out = set()
    for b in base_forms(word):
        for pos in _POS:
            for syn in wn.synsets(b, pos):
                for lem in syn.lemmas():
                    if lem.name().lower() == b:
                        out.update(a.name().lower().replace("_", " ") for a in lem.antonyms())
                        # an adverb's adjective ("slowly" -> "slow") carries the antonym ("fast")
                        for per in (lem.pertainyms() if pos == "r" else []):
                            out.update(a.name().lower() for a in per.antonyms())
    return frozenset(out)


def are_antonyms(a: str, b: str) -> bool:
    """`a` and `b` (any inflection) are WordNet antonyms."""
    ants = antonyms(a)
    return bool(ants) and bool(ants & (base_forms(b) | {b.lower()}))


@functools.lru_cache(maxsize=100_000)
def opposed_by_synonym(a: str, b: str) -> bool:
    """`a` is a near-synonym (first two senses) of an antonym of `b`, or the reverse, for adjectives and
    adverbs: "poorly" ~ "badly" <-> "well"; "negligible" ~ "insignificant" <-> "significant"."""
    wn = wordnet()
    if wn is None:
        return False
    return bool(_adj_adv_synonyms(a) & _antonyms_of_set(_adj_adv_synonyms(b)) or
                _adj_adv_synonyms(b) & _antonyms_of_set(_adj_adv_synonyms(a)))


# --- opposites WordNet does not link ------------------------------------------------------------------
# WordNet 3.0 links antonyms between the heads of adjective clusters ("large"/"small", "easy"/"difficult")
# and lets satellites reach them only through "similar to" links; many evaluative words of research prose
# sit in clusters with no antonym at all ("remarkable", "negligible", "considerable", "challenging",
# "competitive", "poor" in the sense "low quality") or link verbs not at all ("uphold"/"undermine"). These
# scales are lexical knowledge about English, not about any claim: each side lists words that say "much /
# good / hard / ..." versus "little / bad / easy / ...". Two words on opposite sides of one scale are
# opposites; two on the same side are near-synonyms for comparing comparatives ("more significant" and
# "larger" order their sides the same way).
# (one side, the other side, near: the words of one side say nearly the same thing, so a claim may
# use one for another: scale_synonyms; not so for quality, importance or likeness: "competitive" is
# not "superior", "related" is not "similar")
_SCALE_TABLE: tuple[tuple[str, str, bool], ...] = (
    # size / amount (WordNet: "large"/"small" only)
    ("large big great huge vast substantial considerable sizable sizeable significant marked pronounced "
     "dramatic",
     "small little tiny slight negligible marginal insignificant modest minimal", True),
    # importance
    ("major important integral crucial essential central key significant main primary principal dominant",
     "minor unimportant negligible marginal peripheral insignificant", False),
    # quality of a result
    ("good remarkable impressive excellent strong competitive superior outstanding promising "
     "well favourable favorable",
     "poor bad weak inferior disappointing mediocre poorly badly unfavourable unfavorable", False),
    # difficulty / complexity
    ("hard difficult challenging complex complicated demanding nontrivial",
     "easy simple trivial straightforward", True),
    # cost
    ("expensive costly", "cheap inexpensive", True),
    # speed
    ("fast faster quick rapid", "slow slower", True),
    # frequency of use
    ("common widespread frequent popular standard", "uncommon rare unusual infrequent", True),
    # likeness
    ("similar alike close related", "dissimilar different distant unrelated", False),
    # spread / width
    ("wide widely broad broadly", "narrow narrowly", True),
)
SCALES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split()), frozenset(b.split())) for a, b, _ in _SCALE_TABLE)
# verbs (any inflection) that state opposite things of the same object
VERB_OPPOSITES: tuple[tuple[str, str], ...] = (
    ("uphold", "undermine"), ("confirm", "refute"), ("confirm", "disprove"), ("support", "undermine"),
    ("accept", "reject"), ("include", "exclude"), ("enable", "prevent"), ("simplify", "complicate"),
    ("strengthen", "weaken"), ("widen", "narrow"), ("succeed", "fail"), ("add", "remove"),
    ("require", "dispense"), ("need", "dispense"), ("rely", "dispense"),
    ("use", "ignore"), ("exploit", "ignore"), ("consider", "ignore"), ("leverage", "ignore"),
    ("include", "omit"), ("use", "discard"), ("keep", "discard"), ("keep", "remove"),
)


# adjectives of research prose that exclude each other and that WordNet 3.0 does not link as antonyms
# (checked with nltk's reader over Debian's wordnet-base: no direct or similar-to antonym link)
ADJECTIVE_OPPOSITES: tuple[tuple[str, str], ...] = (
    ("static", "dynamic"), ("online", "offline"), ("generative", "discriminative"), ("global", "local"),
    ("lower", "upper"), ("frozen", "trainable"), ("contextualized", "static"), ("contextualised", "static"),
    ("monolingual", "bilingual"), ("zero-shot", "few-shot"), ("character-level", "word-level"),
    ("sentence-level", "word-level"), ("token-level", "sentence-level"),
    # the two kinds of text corpora of cross-lingual NLP: aligned translations vs one language alone
    ("monolingual", "parallel"),
)


# the scales whose words on one side say nearly the same ("costly" / "expensive", "large" / "substantial")
_NEAR_SYNONYM_SCALES = frozenset(i for i, (_, _, near) in enumerate(_SCALE_TABLE) if near)


def scale_synonyms(a: str, b: str) -> bool:
    """`a` and `b` sit on the same side of one of the _NEAR_SYNONYM_SCALES."""
    sa, sb = _scale_sides(a), _scale_sides(b)
    return any(i in _NEAR_SYNONYM_SCALES and (i, d) in sb for i, d in sa)


@functools.lru_cache(maxsize=100_000)
def derived_forms(word: str) -> frozenset[str]:
    """WordNet derivationally related forms of the word's base forms ("tolerant" -> "tolerate",
    "analysis" -> "analyze"), single words, lower case."""
    wn = wordnet()
    if wn is None:
        return frozenset()
    out = set()
    for b in base_forms(word):
        for syn in wn.synsets(b)[:4]:
            for lem in syn.lemmas():
                if lem.name().lower() == b:
                    out.update(d.name().lower() for d in lem.derivationally_related_forms() if "_" not in d.name())
    return frozenset(out)


def _scale_sides(word: str) -> set[tuple[int, int]]:
    w = word.lower()
    forms = {w} | set(base_forms(w))
    out = set()
    for i, (pos, neg) in enumerate(SCALES):
        if forms & pos:
            out.add((i, 1))
        if forms & neg:
            out.add((i, -1))
    return out


@functools.lru_cache(maxsize=100_000)
def scale_relation(a: str, b: str) -> int:
    """+1 when `a` and `b` sit on the same side of one of SCALES, -1 on opposite sides, 0 otherwise."""
    sa, sb = _scale_sides(a), _scale_sides(b)
    if not sa or not sb:
        return 0
    if any((i, -d) in sb for i, d in sa):
        return -1 if not any((i, d) in sb for i, d in sa) else 0
    return 1 if any(x in sb for x in sa) else 0


@functools.lru_cache(maxsize=100_000)
def verb_opposites(a: str, b: str) -> bool:
    """`a` and `b` (inflected) are a pair of VERB_OPPOSITES or ADJECTIVE_OPPOSITES."""
    fa = {a.lower()} | set(base_forms(a))
    fb = {b.lower()} | set(base_forms(b))
    return any((x in fa and y in fb) or (y in fa and x in fb) for x, y in VERB_OPPOSITES + ADJECTIVE_OPPOSITES)


def verb_pair_opposites(a: str, b: str) -> bool:
    """`a` and `b` (inflected) are a pair of VERB_OPPOSITES (they oppose only over the same object)."""
    fa = {a.lower()} | set(base_forms(a))
    fb = {b.lower()} | set(base_forms(b))
    return any((x in fa and y in fb) or (y in fa and x in fb) for x, y in VERB_OPPOSITES)


@functools.lru_cache(maxsize=100_000)
def _adj_adv_synonyms(word: str) -> frozenset[str]:
    wn = wordnet()
    out = set()
    for b in base_forms(word):
        for pos in ("a", "s", "r"):
            for syn in wn.synsets(b, pos)[:2]:
                out.update(n.lower() for n in syn.lemma_names() if "_" not in n)
    return frozenset(out)


def _antonyms_of_set(words: frozenset[str]) -> set[str]:
    out: set[str] = set()
    for w in words:
        out |= antonyms(w)
    return out


@functools.lru_cache(maxsize=100_000)
def cluster_heads(word: str, senses: int = 3) -> frozenset[str]:
    """For an adjective that WordNet files as a satellite of a cluster ("costly", "pronounced"), the
    single-word lemmas of the cluster's head ("expensive", "noticeable"): the word means a shade of the
    head. Heads themselves give nothing (a head's cluster spans far: "different" holds "opposite")."""
    wn = wordnet()
    if wn is None:
        return frozenset()
    out = set()
    for b in base_forms(word):
        for syn in wn.synsets(b, "s")[:senses]:
            for head in syn.similar_tos():
                out.update(n.lower() for n in head.lemma_names() if "_" not in n)
    return frozenset(out)


@functools.lru_cache(maxsize=100_000)
def synonyms(word: str, senses: int = 3) -> frozenset[str]:
    """Single-word lemmas sharing one of the first `senses` synsets of each base form (lower case)."""
    wn = wordnet()
    if wn is None:
        return frozenset()
    out = set()
    for b in base_forms(word):
        for pos in _POS:
            for syn in wn.synsets(b, pos)[:senses]:
                out.update(n.lower() for n in syn.lemma_names() if "_" not in n)
    return frozenset(out)


def _database_dir() -> Optional[Path]:
    if os.environ.get(WORDNET_ENV, "").lower() in ("off", "0", "none"):
        return None
    return next((d for d in _wordnet_dirs() if (d / "index.noun").is_file()), None)


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Every single-word WordNet lemma (lower case), read straight from the index files (fast: no nltk
    reader is built, so ingest can use it); empty without WordNet."""
    d = _database_dir()
    if d is None:
        return frozenset()
    out: set[str] = set()
    for pos in ("noun", "verb", "adj", "adv"):
        # one lemma per line, first field; the licence header lines start with a space
        out.update(m.decode().lower() for m in re.findall(rb"^([A-Za-z]+) ", (d / f"index.{pos}").read_bytes(), re.M))
    return frozenset(out)


@functools.lru_cache(maxsize=1)
def english_words_sorted() -> tuple[str, ...]:
    return tuple(sorted(english_words()))


@functools.lru_cache(maxsize=1)
def word_counts() -> dict[str, int]:
    """How often each lemma is tagged in WordNet's sense-tagged corpus (cntlist.rev): a rough word
    frequency ("team" 51, "te" 0). Empty without WordNet."""
    d = _database_dir()
    if d is None or not (d / "cntlist.rev").is_file():
        return {}
    out: dict[str, int] = {}
    for m in re.finditer(rb"^([^%\s]+)%\S+ \d+ (\d+)$", (d / "cntlist.rev").read_bytes(), re.M):
        w = m.group(1).decode(errors="replace").lower()
        out[w] = out.get(w, 0) + int(m.group(2))
    return out


@functools.lru_cache(maxsize=1)
def language_names() -> frozenset[str]:
    """Lower-cased ISO 639-3 language names from pycountry, with qualifiers in parentheses removed
    ("Swahili (macrolanguage)" -> "swahili") and inverted names ("Albanian, Arbëreshë") both ways."""
    try:
        import pycountry
    except ImportError:
        return frozenset()
    out = set()
    for lang in pycountry.languages:
        for attr in ("name", "common_name", "inverted_name"):
            n = getattr(lang, attr, None)
            if not n:
                continue
            n = re.sub(r"\s*\(.*?\)", "", n).strip().lower()
            out.add(n)
            if "," in n:
                a, b = [p.strip() for p in n.split(",", 1)]
                out.add(f"{b} {a}")
    return frozenset(out)


@functools.lru_cache(maxsize=1)
def major_language_names() -> frozenset[str]:
    """Names of the languages with a two-letter ISO 639-1 code (the ones research usually names)."""
    try:
        import pycountry
    except ImportError:
        return frozenset()
    out = set()
    for lang in pycountry.languages:
        if getattr(lang, "alpha_2", None):
            for attr in ("name", "common_name"):
                n = getattr(lang, attr, None)
                if n:
                    out.add(re.sub(r"\s*\(.*?\)", "", n).strip().lower())
    return frozenset(out)


def is_language_name(name: str) -> bool:
    n = re.sub(r"\s+", " ", name.strip().lower())
    return n in language_names()


def language_status() -> dict[str, Any]:
    n = len(language_names())
    return {"available": n > 0, "names": n, "reason": None if n else "pycountry is not installed"}


def lexicon_status() -> dict[str, Any]:
    """What the lexical checks had to work with (shown by `claims evidence`, stored on verdicts)."""
    return {"wordnet": wordnet_status(), "language_names": language_status()}


def english_word_status_line() -> Optional[str]:
    """One sentence for users when WordNet is missing, else None."""
    st = wordnet_status()
    if st.get("available"):
        return None
    return f"WordNet unavailable ({st.get('reason')}): antonyms and synonyms were not checked"
