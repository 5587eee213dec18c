"""Helpers for the ingest/store/read tests: report builders and row counts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from xlt_claims.store.models import Claim, ClaimEvent, ClaimSource, Flag, Reference, Report

TABLES = (Report, Reference, Claim, ClaimSource, ClaimEvent, Flag)


def counts(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t.__tablename__: conn.execute(select(func.count()).select_from(t.__table__)).scalar_one() for t in TABLES}


def report_text(claims: list[tuple[str, str, str]], *, markdown: bool = False, title: str = "A Test Report on Transfer",
                refs: tuple[str, ...] = ("http://arxiv.org/abs/2104.08645v2",), table: str | None = None,
                results: str = "") -> str:
    h = "## " if markdown else ""
    rows = "\n".join("\t".join(c) for c in claims) if table is None else table
    header = "Claim\tVerified\tConfidence\n" if table is None else ""
    ref_lines = "\n".join(f"- <{r}>" for r in refs)
    return (f"{'# ' if markdown else ''}{title}\n\nAssignee Research\n\nJuly 6, 2026\n\n{h}Abstract\n\n"
            f"Multilingual encoders transfer across languages.\n\n{h}1 Introduction\n\nThis paper examines: X. "
            f"Research question: Does robust training help?.\n\n{h}3 Results\n\n{results}\n\n"
            f"{h}5 Extracted Claims\n\n{header}{rows}\n\n{h}References\n\n{ref_lines}\n")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD = [
    ("Robust training improves XNLI accuracy by 1.5 points.", "\u2713", "0.40"),
    ("mBERT transfers worse to Thai than to German.", "\u00d7", "0.20"),
]
