"""Cleaning rules for gettext (msgid, msgstr) pairs, in the order they are applied.

Every rule is named; `clean_pair` returns either the cleaned pair or the name of the rule that
dropped it, so the builder can count drops per rule and docs/data.md can list them. The rules follow
the recipe of shared/docs/offline-data.md §7.3 (skip -> mnemonics -> NFC -> multiline -> placeholders
-> markup -> code -> no-words -> identical -> whitespace).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Optional, Union

# --- rule names, in application order (docs/data.md documents each one) ---------------------------
RULES = (
    "obsolete",  # entry marked obsolete (only .po)
    "fuzzy",  # entry marked fuzzy (only .po; msgfmt already drops fuzzy entries from .mo)
    "plural",  # entry with msgid_plural
    "untranslated",  # empty msgstr (or empty msgid)
    "multiline",  # a newline or tab on either side (after mnemonic removal and NFC)
    "placeholder",  # printf/format/template placeholder on either side
    "markup",  # an HTML/XML tag or entity on either side
    "code",  # URL, path, option, identifier, code on the English side
    "no_words",  # English has no alphabetic word of >= 2 letters, or the translation has no letter
    "identical",  # translation equals the English after normalisation (untranslated copy / fallback)
)

_PAREN_MNEMONIC = re.compile(r"\s*[(（][~_&]\w[)）]")
_UNDERSCORE_MNEMONIC = re.compile(r"_(?=\w)")

PLACEHOLDER = re.compile(
    r"%(?:\d+\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t|I64|I)?[diouxXeEfFgGaAcCsSpnm%]"
    r"|%\([^)]*\)[-+ #0]*\d*(?:\.\d+)?[a-zA-Z]"
    r"|%[A-Z_]{2,}%?"
    r"|%\d"
    r"|\{[^{}\s]*\}"
    r"|\$\{?[A-Za-z_]\w*\}?"
    r"|\$\d"
    r"|\[[A-Z_]{2,}\]"
    r"|<[A-Z_]{2,}>"
    # LibreOffice's own placeholders: $(ARG1), $(ROW), #1, #servicename#, 'XX' (basctl)
    r"|\$\(\w+\)|#\d\b|#[a-z]+#|\bXX\b"
)
MARKUP = re.compile(r"</?[A-Za-z][^<>]*>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")
CODE = re.compile(
    r"https?://|www\.|\w@\w|`|\b\w+\(\)|(?:^|\s)--?[a-z][\w-]*|(?:^|\s)/[\w.-]+/"
    r"|\b[a-z]+_[a-z_]+\b|\b[a-z]+[A-Z]\w+\b|\\"
)
WORD2 = re.compile(r"[^\W\d_]{2,}")
# code-like benchmark items (offline-data.md §7.4 CODEY): formulas, cell refs, file extensions, ...
CODEY = re.compile(r"[=;:]\s*$|[A-Z]{2,}[A-Z0-9.]*\(|[=<>$#]|\b[A-Z]\d+\b|\.\w{2,4}\b")
TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9.+-]{2,}")

_STRIP_CHARS = " \t.:;!?…,\"'“”«»()[]-–—·。：！？、，"
_WS = re.compile(r"\s+")


def normkey(text: str) -> str:
    """The comparison key: NFKC, casefold, collapsed whitespace, '...'->'…', edge punctuation stripped."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = _WS.sub(" ", t).replace("...", "…")
    return t.strip(_STRIP_CHARS)


def tokens(text: str) -> list[str]:
    return [t.lower() for t in TOKEN.findall(text)]


def strip_mnemonics(en: str, tr: str) -> tuple[str, str]:
    """Remove accelerator markers: '~' (LibreOffice), '_' (GTK .ui files), '(~X)'/'(_X)' CJK suffixes."""
    tr_had_paren = bool(_PAREN_MNEMONIC.search(tr))
    tr = _PAREN_MNEMONIC.sub("", tr)
    if "~" in en:
        en = en.replace("~", "")
        tr = tr.replace("~", "")
    n_en = len(_UNDERSCORE_MNEMONIC.findall(en))
    n_tr = len(_UNDERSCORE_MNEMONIC.findall(tr))
    if n_en == 1:
        i = _UNDERSCORE_MNEMONIC.search(en).start()  # type: ignore[union-attr]
        if i == 0 or en[i - 1] == " " or tr_had_paren or n_tr == 1:
            en = en[:i] + en[i + 1 :]
            if n_tr == 1:
                tr = _UNDERSCORE_MNEMONIC.sub("", tr, count=1)
    elif n_en == 0 and n_tr == 1:
        tr = _UNDERSCORE_MNEMONIC.sub("", tr, count=1)
    return en, tr


def clean_pair(
    en: str,
    tr: str,
    *,
    plural: bool = False,
    fuzzy: bool = False,
    obsolete: bool = False,
    code_re: re.Pattern = CODE,
) -> Union[tuple[str, str], str]:
    """Return (en, tr) cleaned, or the name of the first rule (see RULES) that drops the pair."""
    if obsolete:
        return "obsolete"
    if fuzzy:
        return "fuzzy"
    if plural:
        return "plural"
    if not en or not tr or not en.strip() or not tr.strip():
        return "untranslated"
    en, tr = strip_mnemonics(en, tr)
    en = unicodedata.normalize("NFC", en).strip()
    tr = unicodedata.normalize("NFC", tr).strip()
    if not en or not tr:
        return "untranslated"
    if any(c in s for s in (en, tr) for c in "\n\t\r"):
        return "multiline"
    if PLACEHOLDER.search(en) or PLACEHOLDER.search(tr):
        return "placeholder"
    if MARKUP.search(en) or MARKUP.search(tr):
        return "markup"
    if code_re.search(en):
        return "code"
    if not WORD2.search(en) or not any(c.isalpha() for c in tr):
        return "no_words"
    if normkey(en) == normkey(tr):
        return "identical"
    return _WS.sub(" ", en), _WS.sub(" ", tr)


def latin_copy_rate(en: str, tr: str) -> float:
    """Share of the English Latin tokens (>= 3 chars) that reappear verbatim in the translation."""
    toks = LATIN_TOKEN.findall(en)
    if not toks:
        return 0.0
    return sum(1 for t in toks if t in tr) / len(toks)


def is_codey(text: str) -> bool:
    return bool(CODEY.search(text))


def first_rule(result: Union[tuple[str, str], str]) -> Optional[str]:
    return result if isinstance(result, str) else None
