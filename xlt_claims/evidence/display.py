"""Readable evidence for `claims show`: the textual verdict with its reason, then each stored evidence
sentence as a short block (stance, score, paper and section, the quote on its own lines, the rule that
decided), wrapped to the terminal's width (80 columns and up). The raw fields stay in `--json`."""

from __future__ import annotations

import textwrap
from typing import Any, Optional

STANCE_WORD = {"support": "SUPPORTS", "contradict": "CONTRADICTS", "neutral": "neutral"}
STANCE_STYLE = {"support": "green", "contradict": "red", "neutral": "dim"}
VERDICT_STYLE = {"supported-by-source": "green", "contradicted-by-source": "red", "contested": "magenta",
                 "not-in-cited-sources": "yellow", "unchecked": "cyan"}
QUOTE_LINES = 4  # a long sentence is cut after this many lines (the whole quote is in --json)


def evidence_lines(rows: list[dict[str, Any]], detail: Optional[dict[str, Any]], width: int = 80) -> list[tuple[str, str]]:
    """(style, text) lines, none longer than `width`: the verdict, its reason, then one block per row in
    rank order (the deciding and opposing sentences marked)."""
    width = max(40, width)
    out: list[tuple[str, str]] = []
    detail = detail or {}
    verdict = detail.get("verdict")
    if verdict:
        out.append((f"bold {VERDICT_STYLE.get(verdict, '')}".strip(),
                    _clip(f"textual verdict: {verdict} (checked against {detail.get('checked_against', '?')})", width)))
        for line in textwrap.wrap(detail.get("reason") or "", width - 2):
            out.append(("", "  " + line))
        if detail.get("papers_unavailable"):
            out.append(("yellow", _clip("  unreadable cited papers: " + ", ".join(detail["papers_unavailable"]), width)))
        lex = (detail.get("lexicon") or {}).get("wordnet")
        if isinstance(lex, str) and lex.startswith("unavailable"):
            out.append(("yellow", _clip(f"  WordNet {lex}: antonyms were not checked", width)))
    rows = sorted(rows, key=lambda r: (r.get("stance_detail") or {}).get("rank", 99))
    if not rows:
        out.append(("dim", "no evidence sentences stored"))
        return out
    for n, r in enumerate(rows, 1):
        sd = r.get("stance_detail") or {}
        role = sd.get("role") or ("decisive" if sd.get("decisive") else None)
        head = f"{n}. {STANCE_WORD.get(r.get('stance'), r.get('stance'))}  score {r.get('score', 0):.2f}"
        where = f"{r.get('arxiv_id')}" + (f" v{r['paper_version']}" if r.get("paper_version") else "") + \
            f", {r.get('text_source')}" + (f", {r['section']}" if r.get("section") else "") + \
            f", sentence {int(r.get('sentence_index', 0)) + 1}"
        tag = f"  [{role}]" if role else ""
        line = f"{head}  {where}{tag}"
        if len(line) > width:
            out.append((STANCE_STYLE.get(r.get("stance"), ""), _clip(f"{head}{tag}", width)))
            out.append(("", _clip("   " + where, width)))
        else:
            out.append((STANCE_STYLE.get(r.get("stance"), ""), line))
        quote = textwrap.wrap(f"\u201c{r.get('quote', '')}\u201d", width - 4)
        for q in quote[:QUOTE_LINES]:
            out.append(("italic", "    " + q))
        if len(quote) > QUOTE_LINES:
            out.append(("dim", "    \u2026 (full quote in --json)"))
        rule = sd.get("rule")
        if rule:
            wrapped = textwrap.wrap("rule: " + rule, width - 4)
            for q in wrapped[:3]:
                out.append(("dim", "    " + q))
            if len(wrapped) > 3:
                out.append(("dim", "    \u2026"))
    return out


def render_evidence(console, rows: list[dict[str, Any]], detail: Optional[dict[str, Any]]) -> None:
    """Print `evidence_lines` on a rich console (its width, at least 40 columns)."""
    from rich.text import Text

    console.print(Text("evidence", style="bold"))
    for style, text in evidence_lines(rows, detail, console.width or 80):
        console.print(Text(text, style=style or ""), soft_wrap=False, overflow="ignore", crop=False)


def _clip(s: str, width: int) -> str:
    return s if len(s) <= width else s[:width - 1] + "\u2026"
