"""Render the report dict (see data.py) as self-contained HTML, Markdown or JSON.

The templates only format numbers through the filters below, so HTML and Markdown show the same
rounding of the same values; figures exist only in the HTML (Markdown carries their numbers as tables).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from .data import build_report, status_info
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
    return json.dumps(obj, indent=indent, ensure_ascii=False, default=str, sort_keys=False)


def md_cell(text: Any) -> str:
    """Escape a value for one Markdown table cell."""
    s = "" if text is None else str(text)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def md_text(text: Any) -> str:
    s = "" if text is None else str(text)
    for ch in ("\\", "*", "_", "`", "[", "]", "<", ">", "#"):
        s = s.replace(ch, "\\" + ch)
    return s


def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("xlt_claims.report", "templates"),
        autoescape=lambda name: bool(name) and name.endswith((".html.j2", ".html")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt=fmt, signed=signed, ci=ci, share=share, metric_value=metric_value,
                       metric_diff=metric_diff, mark=mark, seconds=seconds, to_json=to_json,
                       md_cell=md_cell, md_text=md_text)
    env.globals["status_info"] = status_info
    env.globals["ci"] = ci
    return env


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    """Inline SVG figures keyed by claim id / experiment name (not part of the JSON report)."""
    figs: dict[str, Any] = {"claims": {}, "experiments": {}}
    for c in report["claims"]:
        if not c["verdicts"]:
            continue
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
        figs["claims"][c["id"]] = entry
    figs["research"] = {t["experiment"]: sweep_chart(t["rows"], t["experiment"], f"{t['experiment']}: effect by "
                                                     f"regularisation strength, 95% CI")
                        for t in report.get("research_tables", [])}
    # experiment-level per-language charts would repeat the claim cards' charts: tables only there
    return figs


def render_html(report: dict[str, Any]) -> str:
    env = _env()
    tpl = env.get_template("report.html.j2")
    css = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    return tpl.render(r=report, figs=_figures(report), css=css)


def render_markdown(report: dict[str, Any]) -> str:
    return _env().get_template("report.md.j2").render(r=report)


def render_json(report: dict[str, Any]) -> str:
    return to_json(report) + "\n"


def render(report: dict[str, Any], fmt_name: str) -> str:
    if fmt_name == "html":
        return render_html(report)
    if fmt_name == "md":
        return render_markdown(report)
    if fmt_name == "json":
        return render_json(report)
    raise ValueError(f"unknown report format {fmt_name!r}; choose one of {', '.join(FORMATS)}")


def write_report(store, path: Path | str, fmt_name: Optional[str] = None, report: Optional[str] = None) -> Path:
    """Build and write the report; the format follows the suffix unless given. Written atomically."""
    path = Path(path)
    if fmt_name is None:
        suffix = path.suffix.lower().lstrip(".")
        fmt_name = {"htm": "html", "markdown": "md"}.get(suffix, suffix)
        if fmt_name not in FORMATS:
            fmt_name = "html"
    text = render(build_report(store, report), fmt_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
