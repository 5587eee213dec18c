"""Readers for the file formats of the real benchmarks. Each reader takes the file's text and a name
for it (`where`: a path, or "embedded:pawsx/dev-de.tsv") and raises DataError naming the file and
line of the first problem, so a truncated or malformed file stops a run before anything is trained.

  XTREME TSV        no header, one item per line, tab-separated, no quoting (sentences contain bare
                    quotes): dev-{lang}.tsv (s1, s2, label), test-{lang}.tsv (s1, s2; labels in a
                    side file: PAWS-X test-labels.tsv with an id column, XNLI test-labels.txt)
  headed TSV        official release files with a header row (PAWS-X x-final, XNLI-1.0, MultiNLI)
  SQuAD v1.1 JSON   XQuAD, TyDi QA GoldP (SQuAD form), SQuAD, MLQA
  aligned lines     Tatoeba: line i of one file translates line i of the other
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from ..types import Example
from .common import DataError


def text_lines(text: str, where: str) -> list[str]:
    """The file's lines without line ends; a final newline does not make an empty last line.
    A blank line inside the file is an error: it would shift every later row against its labels."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    for i, ln in enumerate(lines, start=1):
        if not ln.strip():
            raise DataError(f"{where}:{i}: blank line (rows must be contiguous; a blank line would shift "
                            "every later row against its labels)")
    return lines


def tsv_rows(text: str, where: str, n_cols: int, first_line: int = 1) -> list[list[str]]:
    """Rows of exactly `n_cols` tab-separated cells (no quoting). A row with fewer cells is reported as
    a truncated row, one with more as a stray tab."""
    rows = []
    for i, ln in enumerate(text_lines(text, where), start=first_line):
        cells = ln.split("\t")
        if len(cells) < n_cols:
            raise DataError(f"{where}:{i}: {len(cells)} column(s), expected {n_cols} (truncated row?)")
        if len(cells) > n_cols:
            raise DataError(f"{where}:{i}: {len(cells)} columns, expected {n_cols} (a tab inside a sentence?)")
        rows.append(cells)
    return rows


def headed_tsv(text: str, where: str, required: Sequence[Sequence[str]]) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """A TSV with a header row. `required`: for each needed column, its accepted names (first found
    wins). Returns ({first accepted name: column index}, [(line number, cells), ...]); every data row
    must have as many cells as the header."""
    lines = text_lines(text, where)
    if not lines:
        raise DataError(f"{where}: empty file")
    header = [h.strip() for h in lines[0].split("\t")]
    cols: dict[str, int] = {}
    for names in required:
        hit = next((n for n in names if n in header), None)
        if hit is None:
            raise DataError(f"{where}:1: no column {' / '.join(names)} in the header {header}")
        cols[names[0]] = header.index(hit)
    rows = []
    for i, ln in enumerate(lines[1:], start=2):
        cells = ln.split("\t")
        if len(cells) < len(header):
            raise DataError(f"{where}:{i}: {len(cells)} column(s), the header has {len(header)} (truncated row?)")
        rows.append((i, cells))
    return cols, rows


def parse_label(raw: str, labels: Sequence[str], where: str, line: int, aliases: Optional[dict[str, str]] = None) -> int:
    """A label cell as an index into `labels`: the label's name, an alias, or its index as a digit."""
    v = raw.strip()
    v = (aliases or {}).get(v, v)
    if v in labels:
        return list(labels).index(v)
    if v.isdigit() and int(v) < len(labels):
        return int(v)
    allowed = ", ".join(list(labels) + [str(i) for i in range(len(labels))])
    raise DataError(f"{where}:{line}: unknown label {raw!r} (expected one of {allowed})")


def label_lines(text: str, where: str, labels: Sequence[str], aliases: Optional[dict[str, str]] = None) -> list[int]:
    """A side file with one label per line (XNLI test-labels.txt)."""
    return [parse_label(ln, labels, where, i, aliases) for i, ln in enumerate(text_lines(text, where), start=1)]


def check_row_counts(n_items: int, items_where: str, n_labels: int, labels_where: str) -> None:
    if n_items != n_labels:
        raise DataError(f"{items_where} has {n_items} rows but its label file {labels_where} has {n_labels}: "
                        "rows and labels are paired by position, so neither can be used")


def squad_examples(text: str, where: str, lang: str) -> list[Example]:
    """SQuAD v1.1 JSON -> Examples (text = question, text_pair = context, answers). Every question must
    have at least one answer whose text is found at its answer_start in the context."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}:{exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DataError(f"{where}: no top-level 'data' list (not SQuAD v1.1 format)")

    def line_of(qid: str) -> int:
        pos = text.find(json.dumps(qid))
        return text.count("\n", 0, pos) + 1 if pos >= 0 else 1

    out = []
    for art in data["data"]:
        for para in art.get("paragraphs", []):
            ctx = para.get("context")
            if not isinstance(ctx, str):
                raise DataError(f"{where}: a paragraph without a 'context' string (article {art.get('title', '?')!r})")
            for qa in para.get("qas", []):
                qid = str(qa.get("id", ""))
                if not qid or not isinstance(qa.get("question"), str):
                    raise DataError(f"{where}:{line_of(qid) if qid else 1}: a question without 'id' or 'question'")
                ans = qa.get("answers")
                if not ans:
                    raise DataError(f"{where}:{line_of(qid)}: question {qid} has no answers (a SQuAD file without "
                                    "gold answers cannot be trained or evaluated on)")
                texts, starts = [], []
                for a in ans:
                    try:
                        t, s = str(a["text"]), int(a["answer_start"])
                    except (KeyError, TypeError, ValueError):
                        raise DataError(f"{where}:{line_of(qid)}: question {qid}: an answer without 'text' and an "
                                        "integer 'answer_start'") from None
                    if ctx[s:s + len(t)] != t:
                        raise DataError(f"{where}:{line_of(qid)}: question {qid}: answer {t[:40]!r} is not at "
                                        f"answer_start {s} of its context")
                    texts.append(t)
                    starts.append(s)
                out.append(Example(id=qid, text=qa["question"], text_pair=ctx,
                                   answers={"text": texts, "answer_start": starts}, lang=lang))
    return out


def aligned_lines(text_a: str, where_a: str, text_b: str, where_b: str) -> list[tuple[str, str]]:
    """Two files aligned line by line (line i of one translates line i of the other)."""
    a, b = text_lines(text_a, where_a), text_lines(text_b, where_b)
    if len(a) != len(b):
        raise DataError(f"{where_a} has {len(a)} lines but {where_b} has {len(b)}: aligned files must have the "
                        "same number of lines (a truncated file?)")
    return list(zip(a, b))
