"""Writing systems of the languages the benchmarks use, for grouping per-language results by script.

Runs normally carry the data set's own `scripts` map (TaskData.scripts, copied into the manifest);
this table is only the fallback when a run does not say, and the report marks which source it used.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

# ISO 639-1 (and a few 639-3) codes -> script, for XNLI / PAWS-X / XQuAD / MLQA / the LibreOffice proxy.
FALLBACK_SCRIPTS: dict[str, str] = {
    "en": "Latin", "de": "Latin", "es": "Latin", "fr": "Latin", "it": "Latin", "pt": "Latin", "nl": "Latin",
    "tr": "Latin", "vi": "Latin", "sw": "Latin", "pl": "Latin", "cs": "Latin", "ro": "Latin", "id": "Latin",
    "fi": "Latin", "hu": "Latin", "sv": "Latin", "da": "Latin", "nb": "Latin", "et": "Latin", "lt": "Latin",
    "lv": "Latin", "sk": "Latin", "sl": "Latin", "hr": "Latin", "ca": "Latin", "eu": "Latin", "gl": "Latin",
    "ms": "Latin", "tl": "Latin", "af": "Latin", "is": "Latin", "ga": "Latin", "cy": "Latin", "eo": "Latin",
    "ru": "Cyrillic", "bg": "Cyrillic", "uk": "Cyrillic", "sr": "Cyrillic", "mk": "Cyrillic", "be": "Cyrillic",
    "kk": "Cyrillic", "mn": "Cyrillic",
    "el": "Greek",
    "ar": "Arabic", "ur": "Arabic", "fa": "Arabic", "ps": "Arabic", "ug": "Arabic",
    "he": "Hebrew", "yi": "Hebrew",
    "hi": "Devanagari", "mr": "Devanagari", "ne": "Devanagari",
    "bn": "Bengali", "as": "Bengali",
    "ta": "Tamil", "te": "Telugu", "kn": "Kannada", "ml": "Malayalam", "gu": "Gujarati", "pa": "Gurmukhi",
    "si": "Sinhala", "th": "Thai", "lo": "Lao", "km": "Khmer", "my": "Myanmar",
    "ka": "Georgian", "hy": "Armenian", "am": "Ethiopic",
    "zh": "Han", "zh-cn": "Han", "zh-tw": "Han", "zh_CN": "Han", "zh_TW": "Han",
    "ja": "Japanese", "ko": "Hangul",
}


def find_scripts(obj: Any, depth: int = 0) -> dict[str, str]:
    """The first mapping named `scripts` (lang -> script name) anywhere inside a manifest/metrics dict."""
    if depth > 6:
        return {}
    if isinstance(obj, Mapping):
        s = obj.get("scripts")
        if isinstance(s, Mapping) and s and all(isinstance(v, str) for v in s.values()):
            return {str(k): str(v) for k, v in s.items()}
        for v in obj.values():
            found = find_scripts(v, depth + 1)
            if found:
                return found
    elif isinstance(obj, list):
        for v in obj[:50]:
            found = find_scripts(v, depth + 1)
            if found:
                return found
    return {}


def script_of(lang: str, known: Optional[Mapping[str, str]] = None) -> tuple[str, str]:
    """(script, where the answer came from: "data" | "fallback" | "unknown")."""
    if known and lang in known:
        return known[lang], "data"
    base = lang.split("-")[0].split("_")[0].lower()
    if known and base in known:
        return known[base], "data"
    if lang in FALLBACK_SCRIPTS:
        return FALLBACK_SCRIPTS[lang], "fallback"
    if base in FALLBACK_SCRIPTS:
        return FALLBACK_SCRIPTS[base], "fallback"
    return "other", "unknown"
