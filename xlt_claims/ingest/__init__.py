"""Ingest literature reports into the claim store, and read claims back.

Library first: `parse_report(path) -> ParsedReport`, `ingest_paths(store, paths, dry_run=False) ->
IngestResult`, `list_claims`, `show_claim`, `list_reports`. The CLI verbs in `commands.py` are thin.
"""

from .fields import ClaimFields, extract_fields
from .ingest import FileOutcome, IngestResult, ingest_paths, prepare_report
from .parser import ParsedClaim, ParsedReference, ParsedReport, ParseError, parse_report
from .read import NotFound, find_claim_id, list_claims, list_reports, show_claim
from .text import normalize_text
from .truncation import analyze_table

__all__ = [
    "ClaimFields", "extract_fields", "FileOutcome", "IngestResult", "ingest_paths", "prepare_report", "ParsedClaim",
    "ParsedReference", "ParsedReport", "ParseError", "parse_report", "NotFound", "find_claim_id", "list_claims",
    "list_reports", "show_claim", "normalize_text", "analyze_table",
]
