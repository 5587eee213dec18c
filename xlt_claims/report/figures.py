"""Figures for the HTML report, drawn with matplotlib (Agg) and returned as inline SVG strings.

Text stays text (svg.fonttype = none) so the figures are searchable and small; every figure gets its
own id salt, so ids inside several inline SVGs never collide and the output is deterministic.
"""

from __future__ import annotations

import math

import io
import re
from typing import Any, Optional

from .scripts import script_with_source

# Colour-blind-safe palette (Okabe-Ito) for arms; outcome colours match the CSS badges.
ARM_COLOURS = ["#7a7a7a", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
OUTCOME_COLOURS = {
    "holds": "#1a7f37", "partial": "#9a6700", "problem": "#cf222e", "open": "#57606a",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _svg(fig, salt: str, label: str) -> str:
    import matplotlib

    plt = _plt()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight",
                    transparent=True)
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # Responsive: drop fixed width/height (the viewBox keeps the aspect ratio), add an accessible label.
    head_end = svg.index(">")
    head = svg[:head_end]
    w = re.search(r'width="([\d.]+)pt"', head)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head, count=2)
    width_px = f"{float(w.group(1)) * 4 / 3:.0f}px" if w else "100%"  # pt -> CSS px
    esc = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    head += f' class="fig" role="img" aria-label="{esc}" style="width:{width_px};max-width:100%;height:auto"'
    svg = head + svg[head_end:]
    return svg


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5, colors="#24292f")
    ax.grid(axis="x", color="#d0d7de", linewidth=0.6, alpha=0.8)
    ax.set_axisbelow(True)


def _finite(x) -> bool:
    """A number that can be drawn (not None, NaN or infinite)."""
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def forest_plot(claim: dict[str, Any], salt: str) -> Optional[str]:
    """Claimed vs measured effect (mean paired difference with CI) for each verdict of one claim."""
    rows = []  # (label, value, lo, hi, colour, marker)
    unit = None
    for v in claim.get("verdicts", []):
        if v.get("effect") is None:
            continue
        unit = unit or v.get("unit")
        proxy = "proxy" if v.get("proxy") else "own data"
        lvl = int(round(100 * float(v.get("ci_level") or 0.95)))
        if v.get("claimed_effect") is not None:
            rows.append((f"claimed ({v.get('claimed_source') or 'claim'})", v["claimed_effect"], None, None,
                         "#24292f", "D"))
        elif v.get("claimed_range"):
            lo_c, hi_c = v["claimed_range"]
            rows.append((f"claimed range ({v.get('claimed_source') or 'claim'})", (lo_c + hi_c) / 2, lo_c, hi_c,
                         "#24292f", "D"))
        colour = OUTCOME_COLOURS.get(v["outcome"]["group"], "#57606a")
        rows.append((f"measured: {v['experiment']}\n{v.get('metric') or ''}, {v['n_seeds']} seeds, {proxy}, {lvl}% CI",
                     v["effect"], v.get("ci_low"), v.get("ci_high"), colour, "o", v))
    if not rows:
        return None
    rows = [r if len(r) == 7 else (*r, None) for r in rows]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.7, 0.62 * len(rows) + 0.9))
    ys = list(range(len(rows)))[::-1]
    xs_all = [0.0]
    bars = []
    for y, (label, val, lo, hi, colour, marker, v) in zip(ys, rows):
        if v is not None:
            seeds = [p["diff"] for p in v.get("per_seed") or [] if _finite(p.get("diff"))]
            if seeds:
                ax.plot(seeds, [y - 0.22] * len(seeds), linestyle="none", marker="|", markersize=7, color=colour,
                        alpha=0.7)
                xs_all += seeds
            if _finite(v.get("bar")):
                bars.append((v["bar"], y))
        if not _finite(val):  # no effect to draw (e.g. an invalid verdict): the label says what was measured
            continue
        if _finite(lo) and _finite(hi):  # an unbounded interval (too few seeds) is not drawn
            ax.hlines(y, lo, hi, color=colour, linewidth=2.2)
            for end in (lo, hi):
                ax.vlines(end, y - 0.12, y + 0.12, color=colour, linewidth=1.6)
            xs_all += [lo, hi]
        ax.plot([val], [y], marker=marker, color=colour, markersize=7.5 if marker == "o" else 6.5,
                markeredgecolor="white", markeredgewidth=0.8, linestyle="none")
        xs_all.append(val)
        ax.annotate(f"{val:+.2f}", (val, y), textcoords="offset points", xytext=(0, 8), ha="center",
                    fontsize=8, color=colour)
    ax.axvline(0, color="#57606a", linewidth=1, linestyle="--")
    for b, y in bars:
        ax.vlines(b, y - 0.4, y + 0.4, color="#9a6700", linewidth=1.2, linestyles="dotted")
        ax.annotate("bar", (b, y + 0.4), textcoords="offset points", xytext=(0, 1), ha="center", fontsize=7,
                    color="#9a6700")
        xs_all.append(b)
    ax.set_yticks(ys)
    ax.set_yticklabels([r[0] for r in rows], fontsize=8.5)
    lo_x, hi_x = min(xs_all), max(xs_all)
    pad = (hi_x - lo_x) * 0.15 or 0.5
    ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"effect ({unit or 'metric units'}; 0 = no difference)", fontsize=8.5)
    _style(ax)
    return _svg(fig, f"forest-{salt}", f"Forest plot: claimed versus measured effect for claim {claim['id']}")


def _scale(values: list[float]) -> tuple[float, str]:
    return (100.0, " (%)") if values and max(abs(v) for v in values) <= 1.0 else (1.0, "")


def _layout(rows: list[dict[str, Any]]) -> tuple[list[float], list[tuple[str, float, float]]]:
    """x positions with a gap between groups, and each group's (name, first x, last x)."""
    xs: list[float] = []
    spans: list[tuple[str, float, float]] = []
    x = 0.0
    prev = None
    for r in rows:
        if prev is not None and r["group"] != prev:
            x += 0.7
        if r["group"] != prev:
            spans.append((r["group"], x, x))
        spans[-1] = (spans[-1][0], spans[-1][1], x)
        xs.append(x)
        prev = r["group"]
        x += 1.0
    return xs, spans


def _group_labels(ax, spans, offset: float = 22) -> None:
    for g, a, b in spans:
        ax.annotate(g, ((a + b) / 2, 0), xycoords=("data", "axes fraction"), xytext=(0, -offset),
                    textcoords="offset points", ha="center", va="top", fontsize=8.5, color="#57606a",
                    fontstyle="italic")
        if a > 0:
            ax.axvline(a - 0.85, color="#d0d7de", linewidth=0.8, zorder=1)


def language_chart(pl: dict[str, Any], salt: str, title: str, section: str = "langs") -> Optional[str]:
    """Per language (or language pair), grouped by script.

    With two or more arms: bars = mean paired difference (second arm - first arm) over seeds, one dot per
    seed's difference, zero line; the honest view of *where* an effect is. With one arm: absolute
    values as bars from zero with seed dots. Absolute values of every arm are in the table next to it."""
    data = (pl or {}).get(section)
    if not data or not data.get("rows"):
        return None
    arms = pl["arms"]
    rows = data["rows"]
    metric = data.get("metric") or "metric"
    if len(rows) > 60:  # e.g. XNLI's 225 pairs: one row per script group instead
        return _group_summary_chart(pl, data, salt, title)
    plt = _plt()
    width_in = min(11.0, max(4.6, 0.42 * len(rows) + 1.8))
    fig, ax = plt.subplots(figsize=(width_in, 2.9))
    xs, spans = _layout(rows)
    if len(arms) >= 2:
        a0, a1 = arms[0], arms[1]
        allv = [r["diff"]["mean"] for r in rows if r.get("diff") and r["diff"].get("mean") is not None]
        seed_diffs = []
        for r in rows:
            b = {s["seed"]: s["value"] for s in r["arms"].get(a0, {}).get("seeds", [])}
            t = {s["seed"]: s["value"] for s in r["arms"].get(a1, {}).get("seeds", [])}
            seed_diffs.append([t[k] - b[k] for k in sorted(set(b) & set(t))])
        k, pct = _scale([abs(v) for v in allv + [x for d in seed_diffs for x in d]] + [0.0])
        means = [(r["diff"]["mean"] * k if r.get("diff") and r["diff"].get("mean") is not None else 0.0) for r in rows]
        colours = ["#0072B2" if v >= 0 else "#D55E00" for v in means]
        ax.bar(xs, means, width=0.62, color=colours, zorder=2, alpha=0.9)
        for x, d in zip(xs, seed_diffs):
            if d:
                ax.plot([x] * len(d), [v * k for v in d], linestyle="none", marker="o", markersize=2.8,
                        color="#24292f", alpha=0.8, zorder=3)
        ax.axhline(0, color="#24292f", linewidth=0.9)
        ax.set_ylabel(f"{a1} − {a0}\n{metric}{' points' if pct else ''}", fontsize=8.5)
        lo = min([0.0] + means + [v * k for d in seed_diffs for v in d])
        hi = max([0.0] + means + [v * k for d in seed_diffs for v in d])
        pad = (hi - lo) * 0.12 or 0.5
        ax.set_ylim(lo - pad, hi + pad)
    else:
        arm = arms[0]
        vals = [r["arms"][arm]["mean"] for r in rows if r["arms"].get(arm, {}).get("mean") is not None]
        k, pct = _scale(vals)
        ax.bar(xs, [(r["arms"].get(arm, {}).get("mean") or 0.0) * k for r in rows], width=0.62, color="#0072B2",
               zorder=2)
        for x, r in zip(xs, rows):
            seeds = r["arms"].get(arm, {}).get("seeds") or []
            if len(seeds) > 1:
                ax.plot([x] * len(seeds), [s["value"] * k for s in seeds], linestyle="none", marker="o",
                        markersize=2.8, color="#24292f", alpha=0.8, zorder=3)
        ax.set_ylabel(f"{arm} {metric}{pct}", fontsize=8.5)
        ax.set_ylim(0, max(vals) * k * 1.1 if vals else 1)
    _style_language_axis(ax, xs, [r["lang"] for r in rows], spans, title)
    return _svg(fig, f"lang-{section}-{salt}", title)


def _style_language_axis(ax, xs, labels: list[str], spans, title: str) -> None:
    """Shared look of the per-language charts: language ticks grouped by script, light grid."""
    rot = 0 if max(len(x) for x in labels) <= 3 and len(labels) <= 30 else 90
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=8.5, rotation=rot)
    _group_labels(ax, spans, 22 if rot == 0 else 40)
    ax.set_title(title, fontsize=9.5, loc="left", color="#24292f")
    ax.grid(axis="y", color="#d0d7de", linewidth=0.6, alpha=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5)


def _group_summary_chart(pl, data, salt: str, title: str) -> Optional[str]:
    """Many languages/pairs: per script group, one dot per item (difference or value) and the group mean."""
    arms = pl["arms"]
    rows = data["rows"]
    if len(arms) >= 2:
        item = {id(r): r["diff"]["mean"] for r in rows if r.get("diff") and r["diff"].get("mean") is not None}
        xlabel = f"{arms[1]} − {arms[0]} ({data.get('metric')}"
    else:
        item = {id(r): r["arms"][arms[0]]["mean"] for r in rows if r["arms"].get(arms[0], {}).get("mean") is not None}
        xlabel = f"{arms[0]} ({data.get('metric')}"
    if not item:
        return None
    groups = data["groups"]
    k, pct = _scale([abs(v) for v in item.values()])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 0.5 * len(groups) + 1.3))
    for gi, g in enumerate(groups):
        ds = [item[id(r)] * k for r in rows if r["group"] == g and id(r) in item]
        if not ds:
            continue
        y = len(groups) - 1 - gi
        ax.plot(ds, [y] * len(ds), linestyle="none", marker="o", markersize=3, alpha=0.45, color="#0072B2")
        mu = sum(ds) / len(ds)
        ax.plot([mu], [y], marker="D", color="#24292f", markersize=6)
        ax.annotate(f"{mu:+.2f} (n={len(ds)})" if len(arms) >= 2 else f"{mu:.1f} (n={len(ds)})", (mu, y),
                    textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    if len(arms) >= 2:
        ax.axvline(0, color="#57606a", linewidth=1, linestyle="--")
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels(list(reversed(groups)), fontsize=8.5)
    ax.set_xlabel(xlabel + (" points)" if pct and len(arms) >= 2 else f"{pct})"), fontsize=8.5)
    ax.set_title(title, fontsize=9.5, loc="left")
    _style(ax)
    return _svg(fig, f"groups-{salt}", title)


def effect_chart(rows: list[dict[str, Any]], salt: str, title: str, unit: str, pairs: bool = False) -> Optional[str]:
    """The verdict's own per-language (or per-pair) tests: mean paired effect with CI per item, grouped by
    script (pairs: same language / same script / different scripts); * = significant after Holm."""
    rows = [r for r in rows if _finite(r.get("effect"))]  # an item with no finite effect has no bar to draw
    if not rows:
        return None
    items = []
    for r in rows:
        key = str(r["key"])
        if pairs and "-" in key:
            l1, _, l2 = key.partition("-")
            s1, s2 = script_with_source(l1)[0], script_with_source(l2)[0]
            group = "same language" if l1 == l2 else ("same script" if s1 == s2 else "different scripts")
        else:
            group = r.get("script") or script_with_source(key)[0]
        items.append({**r, "group": group, "lang": key})
    if pairs:
        order = {"same language": 0, "same script": 1, "different scripts": 2}
        items.sort(key=lambda r: (order.get(r["group"], 3), r["lang"]))
    else:
        items.sort(key=lambda r: (r["group"] != "Latin", r["group"], r["lang"] != "en", r["lang"]))
    if len(items) > 60:
        return None
    plt = _plt()
    width_in = min(11.0, max(4.6, 0.42 * len(items) + 1.8))
    fig, ax = plt.subplots(figsize=(width_in, 2.9))
    xs, spans = _layout(items)
    eff = [r["effect"] for r in items]
    # an unbounded or undefined interval (too few seeds) is drawn as no interval
    lo = [r["ci_low"] if _finite(r.get("ci_low")) else r["effect"] for r in items]
    hi = [r["ci_high"] if _finite(r.get("ci_high")) else r["effect"] for r in items]
    colours = ["#0072B2" if v >= 0 else "#D55E00" for v in eff]
    ax.bar(xs, eff, width=0.62, color=colours, alpha=0.9, zorder=2)
    ax.errorbar(xs, eff, yerr=[[e - l for e, l in zip(eff, lo)], [h - e for e, h in zip(eff, hi)]], fmt="none",
                ecolor="#24292f", elinewidth=0.9, capsize=2.5, zorder=3)
    top = max(hi + [0.0])
    bottom = min(lo + [0.0])
    pad = (top - bottom) * 0.12 or 0.5
    for x, r, h, l in zip(xs, items, hi, lo):
        if r.get("significant") in ("+", "-"):
            yy = h if r["significant"] == "+" else l
            ax.annotate("*", (x, yy), textcoords="offset points", xytext=(0, 1 if r["significant"] == "+" else -9),
                        ha="center", fontsize=10, color="#24292f")
    ax.axhline(0, color="#24292f", linewidth=0.9)
    ax.set_ylim(bottom - pad, top + pad)
    ax.set_ylabel(f"effect ({unit})", fontsize=8.5)
    _style_language_axis(ax, xs, [r["lang"] for r in items], spans, title)
    return _svg(fig, f"eff-{'pairs' if pairs else 'langs'}-{salt}", title)


def sweep_chart(rows: list[dict[str, Any]], salt: str, title: str) -> Optional[str]:
    """A research-question sweep: effect vs the swept quantity (log x), one line per task, CI bars."""
    pts = [r for r in rows if r.get("effect") is not None and isinstance(r.get("blur"), (int, float))]
    if not pts:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 2.9))
    for i, task in enumerate(dict.fromkeys(r["task"] for r in pts)):
        rs = sorted((r for r in pts if r["task"] == task), key=lambda r: r["blur"])
        xs = [r["blur"] for r in rs]
        ys = [r["effect"] for r in rs]
        lo = [r["effect"] - r["ci_low"] if r.get("ci_low") is not None else 0 for r in rs]
        hi = [r["ci_high"] - r["effect"] if r.get("ci_high") is not None else 0 for r in rs]
        colour = ARM_COLOURS[(i + 1) % len(ARM_COLOURS)]
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", markersize=4, capsize=3, color=colour, label=task, linewidth=1.4)
    ax.axhline(0, color="#57606a", linewidth=1, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlabel(f"{pts[0].get('swept') or 'swept quantity'} (log scale)", fontsize=8.5)
    ax.set_ylabel("effect vs baseline (points)", fontsize=8.5)
    ax.set_title(title, fontsize=9.5, loc="left")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(color="#d0d7de", linewidth=0.6, alpha=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5)
    return _svg(fig, f"sweep-{salt}", title)
