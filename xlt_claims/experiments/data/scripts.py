"""Writing systems: a static table for the languages the tool knows, and detection from text.

Script names follow Unicode (ISO 15924 long names); Japanese is "Han+Kana" because its text mixes
Han with Hiragana/Katakana. The proxy builder detects each language's script from its strings and
checks it against this table, so a wrong entry fails the build instead of mislabelling results.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

LANG_SCRIPTS: dict[str, str] = {
    "en": "Latin", "fr": "Latin", "es": "Latin", "de": "Latin", "tr": "Latin", "vi": "Latin",
    "sw": "Latin", "ro": "Latin", "it": "Latin", "pt": "Latin", "nl": "Latin", "pl": "Latin", "cs": "Latin",
    "id": "Latin", "fi": "Latin", "hu": "Latin", "sv": "Latin", "da": "Latin", "nb": "Latin", "et": "Latin",
    "lt": "Latin", "lv": "Latin", "sk": "Latin", "sl": "Latin", "hr": "Latin", "ca": "Latin", "eu": "Latin",
    "gl": "Latin", "ms": "Latin", "tl": "Latin", "af": "Latin", "is": "Latin", "ga": "Latin", "cy": "Latin",
    "eo": "Latin",
    "ru": "Cyrillic", "bg": "Cyrillic", "uk": "Cyrillic", "sr": "Cyrillic", "mk": "Cyrillic", "be": "Cyrillic",
    "kk": "Cyrillic", "mn": "Cyrillic",
    "el": "Greek",
    "ar": "Arabic", "fa": "Arabic", "ur": "Arabic", "ps": "Arabic", "ug": "Arabic",
    "he": "Hebrew", "yi": "Hebrew",
    "hi": "Devanagari", "mr": "Devanagari", "ne": "Devanagari",
    "as": "Bengali", "lo": "Lao", "my": "Myanmar", "hy": "Armenian",
    "th": "Thai",
    "zh": "Han", "zh_Hant": "Han",
    "ja": "Han+Kana",
    "ko": "Hangul",
    "ka": "Georgian",
    "am": "Ethiopic",
    "bn": "Bengali",
    "ta": "Tamil",
    "te": "Telugu",
    "kn": "Kannada",
    "ml": "Malayalam",
    "gu": "Gujarati",
    "pa": "Gurmukhi",
    "or": "Odia",
    "si": "Sinhala",
    "km": "Khmer",
    "dz": "Tibetan",
}

# Unicode character-name prefixes -> script (the first word(s) of unicodedata.name)
_NAME_TO_SCRIPT = {
    "LATIN": "Latin", "CYRILLIC": "Cyrillic", "GREEK": "Greek", "ARABIC": "Arabic", "HEBREW": "Hebrew",
    "DEVANAGARI": "Devanagari", "THAI": "Thai", "CJK": "Han", "HIRAGANA": "Kana", "KATAKANA": "Kana",
    "HANGUL": "Hangul", "GEORGIAN": "Georgian", "ETHIOPIC": "Ethiopic", "BENGALI": "Bengali",
    "TAMIL": "Tamil", "TELUGU": "Telugu", "KANNADA": "Kannada", "MALAYALAM": "Malayalam",
    "GUJARATI": "Gujarati", "GURMUKHI": "Gurmukhi", "ORIYA": "Odia", "SINHALA": "Sinhala",
    "KHMER": "Khmer", "TIBETAN": "Tibetan", "ARMENIAN": "Armenian", "LAO": "Lao", "MYANMAR": "Myanmar",
}


def char_script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    first = name.split(" ", 1)[0]
    if first in _NAME_TO_SCRIPT:
        return _NAME_TO_SCRIPT[first]
    if name.startswith("HALFWIDTH KATAKANA"):
        return "Kana"
    if name.startswith(("FULLWIDTH LATIN",)):
        return "Latin"
    return "Other"


def detect_script(texts) -> str:
    """Dominant script of the letters in `texts` (Latin letters are ignored when another script has
    at least 20% of the letters: localized strings keep Latin product names). Han with >= 5% Kana
    is Japanese ("Han+Kana")."""
    counts: Counter = Counter()
    for t in texts:
        for ch in t:
            s = char_script(ch)
            if s:
                counts[s] += 1
    total = sum(counts.values())
    if not total:
        return "Unknown"
    non_latin = {k: v for k, v in counts.items() if k not in ("Latin", "Other")}
    if non_latin:
        best, n = max(sorted(non_latin.items()), key=lambda kv: kv[1])
        if n >= 0.2 * total:
            if best in ("Han", "Kana") and counts.get("Kana", 0) >= 0.05 * total:
                return "Han+Kana"
            return best
    return "Latin"


def script_of(lang: str) -> str:
    return LANG_SCRIPTS.get(lang, "Unknown")
