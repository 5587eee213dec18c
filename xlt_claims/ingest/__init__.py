"""Ingest literature reports into the claim store, and read claims back.

Library first: `parse_report(path) -> ParsedReport`, `ingest_paths(store, paths, dry_run=False) ->
IngestResult`, `list_claims`, `show_claim`, `list_reports`. The CLI verbs in `commands.py` are thin.
Names are imported lazily so that `claims --help` does not load the store or the gazetteers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ClaimFields": "fields", "extract_fields": "fields",
    "FileOutcome": "ingest", "IngestResult": "ingest", "ingest_paths": "ingest", "prepare_report": "ingest",
    "ParsedClaim": "parser", "ParsedReference": "parser", "ParsedReport": "parser", "ParseError": "parser",
    "parse_report": "parser",
    "NotFound": "read", "find_claim_id": "read", "list_claims": "read", "list_reports": "read", "show_claim": "read",
    "normalize_text": "text", "analyze_table": "truncation",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
