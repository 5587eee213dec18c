"""Restore a truncated claim ("... by considering additional syntactic fea") from a source sentence that
continues it. Token-level, normalised (case, quotes, dashes, punctuation): all claim tokens but the last
must occur contiguously in the sentence, and the claim's last (cut) token must be a prefix of the next
sentence token. The repaired text is the claim's own wording up to the cut plus the rest of the source
sentence; without such a sentence the claim stays as it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from .text import fold

MIN_PREFIX_TOKENS = 4  # shorter prefixes continue too many sentences by chance


@dataclass
class Repair:
    text: str
    arxiv_id: str
    sentence_index: int
    char_start: int
    char_end: int
    source: str


def _toks(text: str) -> list[tuple[str, int, int]]:
    t = fold(text)
    return [(m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z0-9]+", t)]


def find_continuation(claim_text: str, sentences: Iterable[tuple[str, int, str, int, int, str]]) -> Optional[Repair]:
    """sentences: (arxiv_id, sentence_index, text, char_start, char_end, text_source). Returns the repair
    from the first sentence that continues the claim, or None."""
    ct = _toks(claim_text.rstrip())
    if len(ct) < MIN_PREFIX_TOKENS + 1:
        return None
    head, last = [t for t, _, _ in ct[:-1]], ct[-1][0]
    ends_mid_word = claim_text.rstrip()[-1:].isalnum()
    for arxiv_id, idx, text, cs, ce, src in sentences:
        st = _toks(text)
        words = [t for t, _, _ in st]
        n = len(head)
        for i in range(0, len(words) - n):
            if words[i:i + n] != head:
                continue
            nxt = words[i + n]
            if not (nxt.startswith(last) if ends_mid_word else nxt == last):
                continue
            if nxt == last and i + n + 1 >= len(words):
                continue  # nothing left to restore
            # claim up to the cut, then the source from the cut point on
            cut_src = st[i + n][1] + len(last)
            rest = fold(text)[cut_src:]
            repaired = claim_text.rstrip() + rest
            repaired = repaired.rstrip()
            if not repaired.endswith((".", "!", "?")):
                repaired += "."
            return Repair(repaired, arxiv_id, idx, cs, ce, src)
    return None
