"""Does a claim look cut off? A rule over the whole claims table, not one string at a time.

A claim can only look truncated if it lacks sentence-final punctuation. Then any one of three
independent signals is enough:

* ``incomplete-word``: its last word is not a word of the report (counting every other occurrence
  in the file), nor an English word (WordNet, when installed), nor an inflection of one, but is a
  proper prefix of one: "...syntactic fea" ("features"), "...text classif" ("classification") at any
  cut length; a fragment that is itself a rare English word ("te", "prop") counts when it starts a
  common one (WordNet tag counts). The completion is kept as evidence.
* ``dangling-word``: it ends on a word or mark that cannot end an English sentence: an article, a
  conjunction, "of"/"with"/"than"..., or a hyphen/comma/opening bracket.
* ``at-cut-length``: the table shows a length limit. Generators that cut claims at a fixed number of
  characters leave several unpunctuated claims of (almost) exactly the same, maximal length. The
  limit L counts as established when at least two unpunctuated claims are within 1 character of the
  longest unpunctuated claim (rstrip can remove a space left at the cut), they make up at least a
  quarter of the unpunctuated claims, and no punctuated claim is longer than L + 1. Every
  unpunctuated claim of length >= L - 1 is then truncated, even one that ends on a whole word.

Single claims of a table with no length spike and no incomplete or dangling last word are left
alone: a sentence without a final period is not by itself evidence of a cut.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..lexicon import english_words, english_words_sorted, word_counts
from .text import has_terminal_punctuation, words

_DANGLING_WORDS = frozenset(
    "a an the and or nor but of with than to for from by between versus vs via whose whereas "
    "its their our your his such both each every either neither into onto upon toward towards "
    "among amongst including e.g i.e".split()
)
_DANGLING_END = re.compile(r"[,;:(\[{/&+\-\u2013\u2014]\s*$")
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "er", "ers", "est", "ly", "'s")
# the last word: r"([^\W\d_]+)[^\w]*$" searched forward is quadratic on a long word that does not
# end the text; the reversed pattern matched at the start of the reversed text is linear
_LAST_TOKEN_REV = re.compile(r"[^\w]*([^\W\d_]+)", re.UNICODE)  # on the reversed text


@dataclass
class Truncation:
    truncated: bool
    signals: list[str] = field(default_factory=list)
    last_token: Optional[str] = None
    completion: Optional[str] = None  # a word of the report that the last token starts
    cut_length: Optional[int] = None

    def as_detail(self) -> dict:
        return {"signals": self.signals, "last_token": self.last_token, "completion": self.completion,
                "cut_length": self.cut_length}


def estimate_cut_length(texts: list[str], punctuated: Optional[list[bool]] = None) -> Optional[int]:
    """`punctuated[i]`: has_terminal_punctuation(texts[i]), when the caller has it already."""
    if punctuated is None:
        punctuated = [has_terminal_punctuation(t) for t in texts]
    lens_unp = [len(t) for t, p in zip(texts, punctuated) if not p]
    if len(lens_unp) < 2:
        return None
    m = max(lens_unp)
    spike = [n for n in lens_unp if n >= m - 1]
    if len(spike) < 2 or len(spike) < 0.25 * len(lens_unp) or m < 30:
        return None
    if any(len(t) > m + 1 for t, p in zip(texts, punctuated) if p):
        return None
    return m


class Vocabulary:
    """Word counts of a report, and a sorted list for prefix look-ups."""

    def __init__(self, texts: Iterable[str], extra: Iterable[str] = ()):
        texts = list(texts)
        self._texts = texts
        self._names: Optional[list[str]] = None
        self.counts: Counter[str] = Counter(words("\n".join(texts)))
        self.extra = extra if isinstance(extra, (set, frozenset)) else {w.lower() for w in extra}
        self._sorted_cache: Optional[list[str]] = None

    @property
    def _sorted(self) -> list[str]:
        if self._sorted_cache is None:
            self._sorted_cache = sorted(set(self.counts) | set(self.extra))
        return self._sorted_cache

    def known(self, w: str, discount: int = 0) -> bool:
        return self.counts.get(w, 0) - discount > 0 or w in self.extra or w in english_words()

    def longer_name(self, tok: str) -> Optional[str]:
        """A case-sensitive token of the report that `tok` is a proper prefix of ("XNL" -> "XNLI")."""
        if self._names is None:
            self._names = sorted({m for t in self._texts for m in re.findall(r"[A-Za-z][A-Za-z0-9]*", t)})
        i = bisect.bisect_right(self._names, tok)
        if i < len(self._names) and self._names[i].startswith(tok) and self._names[i] != tok:
            return self._names[i]
        return None

    def _in_report(self, w: str, discount: int = 0) -> bool:
        return self.counts.get(w, 0) - discount > 0 or w in self.extra

    def is_stem(self, w: str) -> bool:
        """`w` is a base form of a word of the report ("feature" of "features"). Only the report's own
        words count: against the English word list "clas" + "s" would make "class"."""
        return any(self._in_report(w + suf) for suf in _INFLECTIONS) or (
            w.endswith("e") and any(self._in_report(w[:-1] + suf) for suf in ("ing", "ed")))

    def completion(self, prefix: str) -> Optional[str]:
        """The report's most frequent word that `prefix` starts (not by an inflection), else the
        shortest such English word."""
        best = _completion_in(self._sorted, prefix, self.counts)
        if best is None and len(prefix) >= 2:
            best = _completion_in(english_words_sorted(), prefix, None)
        return best


def _completion_in(srt, prefix: str, counts: Optional[Counter], inflections: bool = False) -> Optional[str]:
    i = bisect.bisect_right(srt, prefix)
    best = None
    while i < len(srt) and srt[i].startswith(prefix):
        w = srt[i]
        if len(w) > len(prefix) and (inflections or w[len(prefix):] not in _INFLECTIONS):
            if best is None or (counts is not None and counts.get(w, 0) > counts.get(best, 0)) or \
                    (counts is None and len(w) < len(best)):
                best = w
        i += 1
    return best


RARE_COUNT, COMMON_COUNT = 5, 5  # tag counts in WordNet's cntlist ("te" 0, "cr" 3; "team" 51)


def rare_word_cut(w: str, vocab: Optional["Vocabulary"] = None) -> Optional[str]:
    """A cut can leave a fragment that happens to be a rare English word ("te", "cr", "lingua", "prop"):
    when it is rare and starts a word of the report or a common English word, that word is the likely
    completion."""
    counts = word_counts()
    if len(w) < 2 or not counts or counts.get(w, 0) >= RARE_COUNT:
        return None
    if vocab is not None:
        own = _completion_in(vocab._sorted, w, vocab.counts)
        if own is not None and vocab.counts.get(own, 0) > 0:
            return own
    srt = english_words_sorted()
    i = bisect.bisect_right(srt, w)
    best = None
    while i < len(srt) and srt[i].startswith(w):
        cand = srt[i]
        if cand[len(w):] not in _INFLECTIONS and counts.get(cand, 0) >= COMMON_COUNT and \
                (best is None or counts[cand] > counts[best]):
            best = cand
        i += 1
    return best


def load_word_lists() -> None:
    """Read the English word lists the rule may consult (cached per process). Ingest calls it before
    it forks its parser processes, which then share one copy instead of each reading its own."""
    english_words()
    english_words_sorted()
    word_counts()


def analyze_table(claims: list[str], context: Iterable[str] = (), lexicon: Iterable[str] = ()) -> list[Truncation]:
    """Truncation verdict for each claim of one table. `context` is the rest of the report's text
    (title, abstract, sections); `lexicon` extra known words (names from the gazetteers)."""
    punctuated = [has_terminal_punctuation(t) for t in claims]
    cut = estimate_cut_length(claims, punctuated)
    candidates = [not p for p in punctuated]
    last: list[Optional[str]] = []
    for t, cand in zip(claims, candidates):
        # the forward search read from the end: a match of the reversed pattern at the start of
        # the reversed text is the same letter run (linear instead of a backtracking scan)
        m = _LAST_TOKEN_REV.match(t[::-1]) if cand else None
        tok = m.group(1)[::-1] if m else None
        last.append(tok if tok and t.rstrip().endswith(tok) else None)
    needs_vocab = any(w is not None and w.lower() not in _DANGLING_WORDS for w in last)
    vocab = Vocabulary(list(context) + list(claims), lexicon) if needs_vocab else None
    ends_with = Counter(w.lower() for w in last if w)
    out = []
    for t, cand, tok in zip(claims, candidates, last):
        if not cand:
            out.append(Truncation(False))
            continue
        sig: list[str] = []
        info = Truncation(False, last_token=tok, cut_length=cut)
        s = t.rstrip()
        if cut is not None and len(s) >= cut - 1:
            sig.append("at-cut-length")
        if _DANGLING_END.search(s):
            sig.append("dangling-word")
        elif tok is not None:
            lw = tok.lower()
            if lw in _DANGLING_WORDS:
                sig.append("dangling-word")
            elif vocab is not None and len(tok) >= 2 and tok != lw and not (tok[:1].isupper() and tok[1:] == lw[1:]):
                # an acronym or mixed-case name cut short ("XNL", "mBER"): a longer name of the report
                # starts with it
                comp = vocab.longer_name(tok)
                if comp is not None:
                    sig.append("incomplete-word")
                    info.completion = comp
            elif vocab is not None and (tok == lw or (tok[:1].isupper() and tok[1:] == lw[1:])) and lw != "i":
                comp = None
                english = bool(english_words())
                if not vocab.known(lw, ends_with[lw]):
                    if not vocab.is_stem(lw):
                        comp = vocab.completion(lw)
                    elif english:  # "embedd" (of "embeddings") is no word, but starts English ones
                        comp = _completion_in(english_words_sorted(), lw, None, inflections=True)
                elif english and not vocab._in_report(lw, ends_with[lw]):
                    comp = rare_word_cut(lw, vocab)
                if comp is not None:
                    sig.append("incomplete-word")
                    info.completion = comp
        info.signals = sig
        info.truncated = bool(sig)
        out.append(info)
    return out
