"""Writing systems of the languages the benchmarks use, for grouping per-language results by script.

Runs normally carry the data set's own `scripts` map (TaskData.scripts, copied into the manifest);
this table is only the fallback when a run does not say, and the report marks which source it used.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

# One table for the whole tool: the data sets label their languages from the same one.
from ..experiments.data.scripts import LANG_SCRIPTS as FALLBACK_SCRIPTS


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


def script_with_source(lang: str, known: Optional[Mapping[str, str]] = None) -> tuple[str, str]:
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
