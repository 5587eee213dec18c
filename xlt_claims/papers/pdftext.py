"""Full text from a PDF (pypdf): de-hyphenated, lines joined into paragraphs, headings kept as their
own paragraphs and recorded as sections with character offsets into the returned text."""

from __future__ import annotations

import io
import re
from typing import Any

_KNOWN_HEADINGS = (
    "abstract", "introduction", "related work", "background", "method", "methods", "methodology", "approach",
    "model", "experiments", "experimental setup", "experimental results", "results", "evaluation", "analysis",
    "discussion", "conclusion", "conclusions", "conclusion and future work", "limitations", "ethics statement",
    "acknowledgments", "acknowledgements", "references", "bibliography", "appendix", "appendices",
)
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+){0,3}\.?|[A-Z]\.(?:\d+)?|[IVX]+\.)\s+([A-Z][A-Za-z0-9 ,:&()'\-]{1,70})$")
REFERENCE_SECTIONS = ("references", "bibliography")


def _heading(line: str) -> str | None:
    s = line.strip()
    if not s or len(s) > 80 or s.endswith((".", ",", ";")):
        return None
    if s.lower().rstrip(":") in _KNOWN_HEADINGS:
        return s.rstrip(":")
    m = _NUMBERED.match(s)
    if m and len(m.group(1).split()) <= 8 and not re.search(r"\d{3,}", m.group(1)):
        return s
    return None


def normalise_pages(pages: list[str]) -> tuple[str, list[dict[str, Any]]]:
    """(text, sections) from page texts. Sections: [{"name", "start", "end"}] offsets into text."""
    lines: list[str] = []
    for p in pages:
        lines.extend(p.replace("\r", "").split("\n"))
        lines.append("")
    paras: list[tuple[str, bool]] = []  # (text, is_heading)
    cur = ""
    for raw in lines:
        line = re.sub(r"\s+", " ", raw).strip()
        h = _heading(line)
        if h:
            if cur:
                paras.append((cur, False))
                cur = ""
            paras.append((h, True))
            continue
        if not line:
            if cur and cur.rstrip().endswith((".", "?", "!", ":")):
                paras.append((cur, False))
                cur = ""
            continue
        if not cur:
            cur = line
        elif re.search(r"[A-Za-z]-$", cur) and line[:1].islower():
            cur = cur[:-1] + line  # "multi-" + "lingual"
        else:
            cur = cur + " " + line
    if cur:
        paras.append((cur, False))
    text = ""
    sections: list[dict[str, Any]] = []
    for para, is_head in paras:
        if text:
            text += "\n\n"
        if is_head:
            if sections:
                sections[-1]["end"] = len(text.rstrip())
            sections.append({"name": para, "start": len(text), "end": None, "heading_end": len(text) + len(para)})
        text += para
    if sections:
        sections[-1]["end"] = len(text)
    return text, sections


def pdf_to_text(data: bytes) -> tuple[str, list[dict[str, Any]], int]:
    """(text, sections, n_pages). Raises ValueError when the PDF holds no extractable text."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [(pg.extract_text() or "") for pg in reader.pages]
    text, sections = normalise_pages(pages)
    if len(text.strip()) < 20:
        raise ValueError("the PDF has no extractable text (scanned?)")
    return text, sections, len(pages)


def section_at(sections: list[dict[str, Any]], offset: int) -> str | None:
    name = None
    for s in sections:
        if s["start"] <= offset:
            name = s["name"]
        else:
            break
    return name
