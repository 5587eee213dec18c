"""Render the report dict (see data.py) as self-contained HTML, Markdown or JSON.

The templates only format numbers through the filters below, so HTML and Markdown show the same
rounding of the same values; figures exist only in the HTML (Markdown carries their numbers as tables).

Data from reports is hostile until shown otherwise. HTML: autoescaped, and every string first has its
control characters made visible (`sanitise.visible`). Markdown: every `{{ ... }}` goes through
`sanitise.for_markdown` (the environment's finalize) unless a number filter below formatted it from
numbers (or it is the template's own macro, marked `| md_block`); data never stands inside a backtick code span (escapes do not work there; only hex hashes do).
"""

from __future__ import annotations

import functools
import json
import numbers
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ..sanitise import for_markdown, json_text, visible

from .data import status_info, stream_report
from .figures import effect_chart, forest_plot, language_chart, sweep_chart

FORMATS = ("html", "md", "json")


def fmt(x: Any, nd: int = 2) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    try:
        return f"{float(x):.{nd}f}"
    except (TypeError, ValueError):
        return str(x)


def signed(x: Any, nd: int = 2) -> str:
    if x is None:
        return "—"
    return f"{float(x):+.{nd}f}"


def ci(lo: Any, hi: Any, nd: int = 2) -> str:
    if lo is None or hi is None:
        return "—"
    return f"[{float(lo):+.{nd}f}, {float(hi):+.{nd}f}]"


def share(part: Optional[int], whole: Optional[int], value: Any = None) -> str:
    if not whole:
        return "— (no claims)"
    v = value if value is not None else part / whole
    return f"{fmt(v, 2)} ({part} of {whole})"


def metric_value(x: Any) -> str:
    """Per-language metric means: fractions are shown as percentages with one decimal."""
    if x is None:
        return "—"
    x = float(x)
    return f"{100 * x:.1f}" if abs(x) <= 1.0 else f"{x:.1f}"


def metric_diff(x: Any) -> str:
    if x is None:
        return "—"
    x = float(x)
    return f"{100 * x:+.1f}" if abs(x) <= 1.0 else f"{x:+.1f}"


def mark(m: Any) -> str:
    return {True: "✓", False: "×"}.get(m, "—")


def seconds(x: Any) -> str:
    if x is None:
        return "—"
    x = float(x)
    if x < 120:
        return f"{x:.0f} s"
    if x < 7200:
        return f"{x / 60:.1f} min"
    return f"{x / 3600:.1f} h"


def to_json(obj: Any, indent: int = 2) -> str:
    return json_text(json.dumps(obj, indent=indent, ensure_ascii=False, default=str, sort_keys=False))


class MdText(str):
    """Text already written for Markdown (escaped data, or numbers we formatted): finalize leaves it."""


def md_text(text: Any) -> MdText:
    """One data field for Markdown text or a table cell: it renders as itself (sanitise.for_markdown)."""
    return MdText("" if text is None else for_markdown(text))


md_cell = md_text


def md_anchor(text: Any) -> MdText:
    """An HTML id inside the Markdown (`<a id=...>`): only letters, digits and -_.: kept."""
    return MdText(re.sub(r"[^A-Za-z0-9_.:-]", "-", str(text)))


def md_block(text: Any) -> MdText:
    """The output of one of the Markdown template's own macros (its fields were escaped inside)."""
    return MdText(text)


def md_code(text: Any) -> MdText:
    """An id we made (a hex claim id) inside a backtick code span, where escapes do not work: any
    character but letters, digits and -_. becomes "?" (a backtick could close the span)."""
    return MdText(re.sub(r"[^A-Za-z0-9_.-]", "?", str(text)))


def _numbers_only(f: Callable[..., str]) -> Callable[..., str]:
    """A number filter for Markdown: its output is ours when every argument is a number (or None),
    otherwise (a string from data fell through to str()) finalize escapes it."""
    def wrapped(*args: Any) -> str:
        out = f(*args)
        return MdText(out) if all(a is None or isinstance(a, numbers.Number) for a in args) else out
    return wrapped


def _md_finalize(value: Any) -> Any:
    if isinstance(value, (MdText, numbers.Number)) or value is None:
        return value
    return for_markdown(value)


def _html_finalize(value: Any) -> Any:
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value, keep_newlines=True)
    return value


def claims_of(claims: Any, key: str) -> Any:
    """One report's claims: `of(key)` of a built or streamed report, or a filter over a plain list."""
    return claims.of(key) if hasattr(claims, "of") else (c for c in claims if c["report_key"] == key)


_FILTERS = dict(fmt=fmt, signed=signed, ci=ci, share=share, metric_value=metric_value, metric_diff=metric_diff,
                mark=mark, seconds=seconds)


@functools.lru_cache(maxsize=None)
def _env(markdown: bool = False):
    """One environment per format for the process (compiling the templates costs about 0.4 s)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("xlt_claims.report", "templates"),
        autoescape=lambda name: bool(name) and name.endswith((".html.j2", ".html")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_md_finalize if markdown else _html_finalize,
    )
    filters = {k: _numbers_only(f) for k, f in _FILTERS.items()} if markdown else dict(_FILTERS)
    env.filters.update(filters, to_json=to_json, md_cell=md_cell, md_text=md_text, md_anchor=md_anchor,
                       md_code=md_code, md_block=md_block)
    env.globals["status_info"] = status_info
    env.globals["claims_of"] = claims_of
    env.globals["ci"] = filters["ci"]
    return env


def claim_figures(c: dict[str, Any]) -> dict[str, Any]:
    """Inline SVG figures of one claim card (forest plot, per-language charts); {} without verdicts."""
    if not c["verdicts"]:
        return {}
    entry: dict[str, Any] = {"forest": forest_plot(c, c["id"]), "langs": {}}
    for v in c["verdicts"]:
        if v["outcome"]["status"] == "invalid":
            continue  # invalid runs never count, so nothing of them is charted
        salt = f"{c['id']}-{v['id']}"
        ls = v.get("lang_stats") or {}
        pl = v.get("per_language")
        t1 = f"{v['experiment']}: per language (standard setting), by script"
        t2 = f"{v['experiment']}: language pairs (generalized setting)"
        entry["langs"][v["id"]] = {
            "langs": (effect_chart(ls["test"], salt, t1 + ", 95% CI", v["unit"]) if ls.get("test") else None)
            or (language_chart(pl, salt, t1) if pl else None),
            "pairs": (effect_chart(ls["test_pairs"], salt, t2 + ", 95% CI", v["unit"], pairs=True)
                      if ls.get("test_pairs") else None) or (language_chart(pl, salt, t2, "pairs") if pl else None),
        }
    return entry


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    """Inline SVG figures keyed by experiment name (not part of the JSON report); a claim card's are
    drawn when the card is (`claim_figures`), so streamed claims are never all held."""
    figs: dict[str, Any] = {"experiments": {}}
    figs["research"] = {t["experiment"]: sweep_chart(t["rows"], t["experiment"], f"{t['experiment']}: effect by "
                                                     f"regularisation strength, 95% CI")
                        for t in report.get("research_tables", [])}
    # experiment-level per-language charts would repeat the claim cards' charts: tables only there
    return figs


def _html_chunks(report: dict[str, Any]) -> Iterator[str]:
    tpl = _env().get_template("report.html.j2")
    css = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    return tpl.generate(r=report, figs=_figures(report), claim_figs=claim_figures, css=css)


def _markdown_chunks(report: dict[str, Any]) -> Iterator[str]:
    return _env(markdown=True).get_template("report.md.j2").generate(r=report)


def _indented(text: str, by: int) -> str:
    return text.replace("\n", "\n" + " " * by)


def _json_chunks(report: dict[str, Any]) -> Iterator[str]:
    """The same text as `to_json(report) + "\\n"`, written a claim at a time (the claims may be a stream)."""
    yield "{"
    for i, (k, v) in enumerate(report.items()):
        head = ("," if i else "") + "\n  " + json.dumps(k, ensure_ascii=False) + ": "
        if k != "claims" or isinstance(v, list):
            yield head + _indented(to_json(v), 2)
            continue
        yield head + "["
        n = 0
        for n, c in enumerate(v, 1):
            yield ("," if n > 1 else "") + "\n    " + _indented(to_json(c), 4)
        yield "\n  ]" if n else "]"
    yield "\n}\n" if report else "}\n"


def render_chunks(report: dict[str, Any], fmt_name: str) -> Iterator[str]:
    """The rendered report piece by piece (for `stream_report`'s claims: bounded memory)."""
    if fmt_name == "html":
        return _html_chunks(report)
    if fmt_name == "md":
        return _markdown_chunks(report)
    if fmt_name == "json":
        return _json_chunks(report)
    raise ValueError(f"unknown report format {fmt_name!r}; choose one of {', '.join(FORMATS)}")


def render_html(report: dict[str, Any]) -> str:
    return "".join(_html_chunks(report))


def render_markdown(report: dict[str, Any]) -> str:
    return "".join(_markdown_chunks(report))


def render_json(report: dict[str, Any]) -> str:
    return to_json(report) + "\n"


def render(report: dict[str, Any], fmt_name: str) -> str:
    return "".join(render_chunks(report, fmt_name))


def format_for_path(path: Path | str) -> Optional[str]:
    """The report format a file's suffix names (.html/.htm, .md/.markdown, .json), or None."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt_name = {"htm": "html", "markdown": "md"}.get(suffix, suffix)
    return fmt_name if fmt_name in FORMATS else None


def write_report(store, path: Path | str, fmt_name: Optional[str] = None, report: Optional[str] = None) -> Path:
    """Build and write the report; the format follows the suffix unless given. Written atomically."""
    path = Path(path)
    fmt_name = fmt_name or format_for_path(path) or "html"
    write_chunks(path, render_chunks(stream_report(store, report), fmt_name))
    return path


def write_chunks(path: Path, chunks: Iterator[str]) -> int:
    """Write the chunks to path through a temporary file beside it, renamed into place at the end: a
    reader never sees half a report. On an error (a full disk: OSError ENOSPC) the temporary file is
    removed and the error raised; the old file at path is kept. Returns the bytes written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for chunk in chunks:
                f.write(chunk)
                n += len(chunk.encode("utf-8"))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n
