"""Does a claim look cut off? A rule over the whole claims table, not one string at a time.

A claim can only look truncated if it lacks sentence-final punctuation. Then any one of three
independent signals is enough:

* ``incomplete-word``: its last word is not a word of the report (counting every other occurrence
  in the file) nor an inflection of one, but is a proper prefix of one: "...syntactic fea" where the
  report elsewhere says "features". The completion is kept as evidence.
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

from .text import has_terminal_punctuation, words

_DANGLING_WORDS = frozenset(
    "a an the and or nor but of with than to for from by between versus vs via whose whereas "
    "its their our your his such both each every either neither into onto upon toward towards "
    "among amongst including e.g i.e".split()
)
_DANGLING_END = re.compile(r"[,;:(\[{/&+\-\u2013\u2014]\s*$")
_INFLECTIONS = ("s", "es", "ed", "d", "ing", "er", "ers", "est", "ly", "'s")
_LAST_TOKEN = re.compile(r"([^\W\d_]+)[^\w]*$", re.UNICODE)
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
        self.counts: Counter[str] = Counter(words("\n".join(texts)))
        self.extra = extra if isinstance(extra, (set, frozenset)) else {w.lower() for w in extra}
        self._sorted_cache: Optional[list[str]] = None

    @property
    def _sorted(self) -> list[str]:
        if self._sorted_cache is None:
            self._sorted_cache = sorted(set(self.counts) | set(self.extra))
        return self._sorted_cache

    def known(self, w: str, discount: int = 0) -> bool:
        return self.counts.get(w, 0) - discount > 0 or w in self.extra

    def is_stem(self, w: str) -> bool:
        return any(self.known(w + suf) for suf in _INFLECTIONS) or (
            w.endswith("e") and any(self.known(w[:-1] + suf) for suf in ("ing", "ed")))

    def completion(self, prefix: str) -> Optional[str]:
        srt = self._sorted
        i = bisect.bisect_right(srt, prefix)
        best = None
        while i < len(srt) and srt[i].startswith(prefix):
            w = srt[i]
            if len(w) > len(prefix) and w[len(prefix):] not in _INFLECTIONS:
                if best is None or self.counts.get(w, 0) > self.counts.get(best, 0):
                    best = w
            i += 1
        return best


def analyze_table(claims: list[str], context: Iterable[str] = (), lexicon: Iterable[str] = ()) -> list[Truncation]:
    """Truncation verdict for each claim of one table. `context` is the rest of the report's text
    (title, abstract, sections); `lexicon` extra known words (names from the gazetteers)."""
    punctuated = [has_terminal_punctuation(t) for t in claims]
    cut = estimate_cut_length(claims, punctuated)
    candidates = [not p for p in punctuated]
    last: list[Optional[str]] = []
    for t, cand in zip(claims, candidates):
        # _LAST_TOKEN.search(t) read from the end: a match of the reversed pattern at the start of
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
            elif vocab is not None and (tok == lw or (tok[:1].isupper() and tok[1:] == lw[1:])) \
                    and not vocab.known(lw, ends_with[lw]) \
                    and not vocab.is_stem(lw) and (lw not in ("i",)):
                comp = vocab.completion(lw)
                if comp is not None:
                    sig.append("incomplete-word")
                    info.completion = comp
        info.signals = sig
        info.truncated = bool(sig)
        out.append(info)
    return out
