"""What `claims show` (and the report) display for a claim's experimental verdicts.

    view = claim_verdict_view(session, claim_id)     # JSON-able dict, for --json and the report
    render_claim_verdicts(view, console)             # rich tables: verdict, effect, CI, seeds, languages
"""

from __future__ import annotations

import textwrap
from typing import Any, Optional

from sqlmodel import Session, select

from ..sanitise import for_terminal as _t

from ..store.models import ExperimentLink, Run, Verdict
from .record import latest_verdicts, primary_verdict


def _runs(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = session.exec(select(Run).where(Run.id.in_(ids)).order_by(Run.arm, Run.seed)).all()
    return [{"run_id": r.id, "arm": r.arm, "seed": r.seed, "status": r.status, "valid": r.valid,
             "invalid_reason": r.invalid_reason, "device": r.device, "wall_s": r.wall_s, "reused_from": r.reused_from,
             "config_hash": r.config_hash[:12]} for r in rows]


def claim_verdict_view(session: Session, claim_id: str) -> dict[str, Any]:
    """Links, the current (primary) verdict and every latest verdict per experiment with its runs."""
    links = session.exec(select(ExperimentLink).where(ExperimentLink.claim_id == claim_id)).all()
    vs = latest_verdicts(session, claim_id)
    prim = primary_verdict(vs)
    out: dict[str, Any] = {
        "links": [{"experiment": l.experiment, "origin": l.origin, "active": l.active} for l in links],
        "primary": prim.id if prim else None,
        "verdicts": [],
    }
    for v in sorted(vs, key=lambda v: v.id != (prim.id if prim else None)):
        d = v.detail or {}
        eff = d.get("effect") or {}
        out["verdicts"].append({
            "verdict_id": v.id, "experiment": v.experiment, "outcome": v.outcome, "proxy": v.proxy,
            "proxy_reasons": d.get("proxy_reasons", []), "metric": v.metric, "effect": v.effect,
            "ci": [v.ci_low, v.ci_high], "ci_method": d.get("interval") or eff.get("ci_method"),
            "p": eff.get("p_two_sided"), "differences": d.get("differences") or [],
            "benchmarks": d.get("benchmarks") or [],
            "registration": d.get("registration"), "sequential": d.get("sequential"),
            "optional_stopping": d.get("optional_stopping"),
            "n_seeds": v.n_seeds, "seeds": d.get("seeds"), "per_seed": d.get("per_seed"), "bar": d.get("bar"),
            "claimed": d.get("claimed"), "reason": d.get("reason"), "seeds_needed": d.get("seeds_needed"),
            "confidence": d.get("confidence"), "bayes": d.get("bayes"), "model": d.get("model"),
            "task": d.get("task"), "profile": d.get("profile"), "baseline_mean": d.get("baseline_mean"),
            "treatment_mean": d.get("treatment_mean"), "arms": d.get("arms"),
            "per_language": d.get("per_language") or {}, "arm_means": d.get("arm_means") or {},
            "per_language_measure": (d.get("decision") or {}).get("per_language_measure"),
            "guards": d.get("guards"), "created_at": v.created_at,
            "runs": _runs(session, list(v.run_ids or [])),
        })
    return out


def benchmark_words(b: dict[str, Any]) -> str:
    """One task's benchmark in words: 'pawsx (real benchmark, embedded)' or 'logt-pair (proxy for XNLI:
    LibreOffice proxy (LOGT)); <why the real set was not used>'."""
    if b.get("benchmark") == "real":
        out = f"{b.get('task')} (real benchmark, {b.get('where') or '?'})"
    else:
        cd = b.get("claim_dataset")
        out = f"{b.get('task')} (proxy{' for ' + cd if cd else ''}: {b.get('where') or 'offline'})"
    return out + (f"; {b['note']}" if b.get("note") else "")


def benchmarks_text(benchmarks: Optional[list[dict[str, Any]]]) -> Optional[str]:
    """A verdict's benchmarks in one line (None when the verdict predates them)."""
    return "; ".join(benchmark_words(b) for b in benchmarks) if benchmarks else None


def _f(x: Optional[float], fmt: str = "{:+.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _say(console: Any, text: str, indent: int = 2) -> None:
    """One statement wrapped to the terminal, continuation lines indented under it (plain text)."""
    width = max(40, int(getattr(console, "width", 80) or 80))
    console.print(textwrap.fill(text, width=width, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2)),
                  highlight=False, markup=False, soft_wrap=True)


def render_claim_verdicts(view: dict[str, Any], console: Any, *, max_rows: int = 60) -> None:
    from rich.table import Table

    if not view.get("links") and not view.get("verdicts"):
        return
    if view.get("links"):
        console.print("[bold]Experiments[/]: " + _t(", ".join(
            f"{l['experiment']} ({l['origin']}{'' if l['active'] else ', unlinked'})" for l in view["links"])), highlight=False)
    for v in view.get("verdicts", []):
        tag = " [proxy]" if v["proxy"] else ""
        console.print(f"[bold]Verdict[/] ({_t(v['experiment'])}): [bold]{_t(v['outcome'])}[/]{_t(tag)} on {_t(v['metric'])}",
                      highlight=False)
        if v.get("benchmarks"):
            _say(console, f"benchmark: {benchmarks_text(v['benchmarks'])}")
        for diff in v.get("differences") or []:
            _say(console, f"differs in {diff['aspect']} (weight {diff['weight']:g}): {diff['paper']} -> {diff['ours']}"
                          + (f"; {diff['why']}" if diff.get("why") else ""))
        reg = v.get("registration") or {}
        if reg:
            _say(console, f"rule v{reg.get('version')} ({reg.get('digest')}), {reg.get('relation')}")
        if v.get("sequential"):
            q = v["sequential"]
            _say(console, f"sequential: look {q['look']} of {q['looks']}, each at alpha {q['alpha_per_look']:.4g}")
        if v.get("optional_stopping"):
            _say(console, v["optional_stopping"])
        ci = v["ci"]
        unit = "AUC points" if str(v.get("metric") or "").endswith(":auc") else "points"
        _say(console, f"effect {_f(v['effect'])} {unit}, CI [{_f(ci[0], '{:.2f}')}, {_f(ci[1], '{:.2f}')}]"
                      f" ({v.get('ci_method') or '-'}), bar {_f(v.get('bar'), '{:.2f}')}, seeds {v.get('seeds')}"
                      f"; baseline {_f(v.get('baseline_mean'), '{:.2f}')} -> treatment "
                      f"{_f(v.get('treatment_mean'), '{:.2f}')}")
        _say(console, v.get("reason") or "")
        if v.get("seeds_needed"):
            _say(console, f"seeds: {v['seeds_needed'].get('note')} (add them with --until-decided --max-seeds N, a "
                          "stopping rule fixed in advance)")
        if v.get("confidence") is not None and v.get("bayes"):
            b = v["bayes"]
            _say(console, f"confidence {b['prior']['prior']:.2f} -> {v['confidence']:.2f} (likelihood ratio "
                          f"{b['likelihood'].get('bf', 1):.3g}, claimed size vs none; weight {b['tempering']['w']:.2f})")
            held = b["likelihood"].get("held_to_status")
            if held:
                _say(console, held)
        if v.get("per_seed"):
            t = Table("seed", "baseline", "treatment", "diff", title="per seed", title_justify="left")
            for s, r in v["per_seed"].items():
                t.add_row(_t(s), f"{r['baseline']:.2f}", f"{r['treatment']:.2f}", f"{r['diff']:+.2f}")
            console.print(t)
        measure = v.get("per_language_measure") or "accuracy"
        for split, title in (("test", f"per language (standard), {measure}"),
                             ("test_pairs", f"per language pair (generalized), {measure}")):
            rows = (v.get("per_language") or {}).get(split) or []
            means = (v.get("arm_means") or {}).get(split) or {}
            if not rows and means:
                # an invalid comparison: what each arm scored, without an effect (it is not evidence)
                line = ", ".join(f"{k} {_f(r['baseline'], '{:.2f}')}/{_f(r['treatment'], '{:.2f}')}" for k, r in means.items())
                console.print(f"  arm means {_t(title)}, baseline/treatment (not evidence): {_t(line)}", highlight=False)
            if not rows:
                continue
            t = Table("lang" if split == "test" else "pair", "script", "baseline", "treatment", "effect", "CI",
                      "p (Holm)", title=title, title_justify="left")
            shown = rows if len(rows) <= max_rows else sorted(rows, key=lambda r: -abs(r["effect"]))[:max_rows]
            for r in shown:
                sig = {"+": " [green]+[/]", "-": " [red]-[/]"}.get(r.get("significant") or "", "")
                t.add_row(_t(r["key"]), _t(r.get("script") or ""), f"{r['baseline']:.1f}", f"{r['treatment']:.1f}",
                          f"{r['effect']:+.2f}", f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]",
                          ("-" if r.get("p_holm") is None else f"{r['p_holm']:.3f}") + sig)
            console.print(t)
            if len(rows) > max_rows:
                console.print(f"  ({len(rows) - max_rows} more rows in --json)")
            by_script = (v.get("per_language") or {}).get(f"{split}_by_script") or []
            if by_script and split == "test":
                console.print("  by script: " + _t(", ".join(f"{g['group']} {g['effect']:+.2f}" for g in by_script)),
                              highlight=False)
