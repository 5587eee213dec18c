"""Baselines of the bundled encoder beside XTREME's published mBERT numbers (issue 19).

Reads the FINISHED baseline-arm runs of a claim store (the runs the decision rules judge; their stored
test metrics are read, nothing is run or chosen from them) and prints one Markdown table per benchmark
and setup: per-language test accuracy (F1 for span tasks) as the mean over seeds with the number of
seeds and of test items, English, the average over non-English languages, the cross-lingual gap
(English minus that average) and the average per script, each beside XTREME's mBERT number.

    python benchmarks/baselines_table.py --db STORE [--task pawsx] [--include-proxy] [--json]

Runs are grouped by setup (task, data fingerprint, model, profile, overrides, pair encoding): runs of
different recipes are never averaged together. A run shared by several experiments (the same config
hash, e.g. a reused copy) counts once. Runs the runner flagged invalid (collapsed, at chance) are kept
and counted in the group's header, since they are the encoder's result under that recipe.

Reference numbers: Hu et al. 2020, "XTREME: A Massively Multilingual Multi-task Benchmark for Evaluating
Cross-lingual Generalization", arXiv 2003.11080 (zero-shot from English, mBERT cased). Per-language
values as reproduced in ../shared/docs/papers.md section 7: PAWS-X from the ERNIE-M README's copy of
XTREME's table, XQuAD F1 from google-deepmind/xquad's README (the 11 XTREME languages, Romanian left
out), XNLI for the six languages confirmed there (the other nine are left out, so XNLI's average over
non-English languages is not computed). The task averages (PAWS-X 81.9, XNLI 65.4, XQuAD F1 64.5) are
XTREME's, over all languages English included.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from statistics import mean, stdev
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

XTREME_SOURCE = "XTREME (Hu et al. 2020, arXiv 2003.11080), mBERT, zero-shot from English"
# benchmark -> {"metric", "avg" (XTREME's average over all its languages, English included), "langs"}
XTREME_MBERT: dict[str, dict[str, Any]] = {
    "pawsx": {"metric": "accuracy", "avg": 81.9,
              "langs": {"en": 94.0, "de": 85.7, "es": 87.4, "fr": 87.0, "ja": 73.0, "ko": 69.6, "zh": 77.0}},
    "xnli": {"metric": "accuracy", "avg": 65.4,
             "langs": {"en": 80.8, "bg": 68.0, "de": 70.0, "el": 65.3, "es": 73.5, "fr": 73.4}},
    "xquad": {"metric": "f1", "avg": 64.5,
              "langs": {"en": 83.5, "ar": 61.5, "de": 70.6, "el": 62.6, "es": 75.5, "hi": 59.2, "ru": 71.3,
                        "th": 42.7, "tr": 55.4, "vi": 69.5, "zh": 58.0}},
}
# XNLI's non-English per-language numbers are incomplete above: no average over them is computed
_COMPLETE = {"pawsx": True, "xnli": False, "xquad": True}
TITLES = {"pawsx": "PAWS-X", "xnli": "XNLI", "xquad": "XQuAD"}
WIDTH = 80


def _method_name(cfg: dict[str, Any]) -> Optional[str]:
    if cfg.get("method_name"):
        return str(cfg["method_name"])
    m = cfg.get("method")
    return str(m.get("method")) if isinstance(m, dict) and m.get("method") else None


def is_baseline_run(run: Any) -> bool:
    """A run of a baseline arm: the plain fine-tuning method ("baseline")."""
    return _method_name(run.config or {}) == "baseline"


def setup_key(run: Any) -> str:
    cfg, man = run.config or {}, run.manifest or {}
    pair = (man.get("model") or {}).get("pair_encoding")
    return json.dumps([cfg.get("task"), cfg.get("data_fingerprint"), cfg.get("model"), cfg.get("profile"),
                       cfg.get("overrides") or {}, pair], sort_keys=True, default=str)


def _recipe(man: dict[str, Any]) -> str:
    c = man.get("config") or {}
    task = man.get("task") or {}
    parts = []
    if man.get("train_steps") is not None:
        parts.append(f"{man['train_steps']} steps x {c.get('effective_batch_size', c.get('batch_size', '?'))}")
    if c.get("lr") is not None:
        parts.append(f"lr {c['lr']:g}")
    if c.get("max_length") is not None:
        parts.append(f"max length {c['max_length']}")
    if task.get("n_train_used") is not None:
        parts.append(f"{task['n_train_used']} training examples")
    pe = (man.get("model") or {}).get("pair_encoding")
    if pe:
        parts.append(f"{pe}-encoded pairs")
    return ", ".join(parts)


def collect(runs: list[Any], include_proxy: bool = False, task: Optional[str] = None) -> list[dict[str, Any]]:
    """The baseline runs grouped by setup: [{task, proxy, model, profile, recipe, experiments, runs,
    n_invalid, metric, langs: {lang: [values over seeds]}, items: {lang: n}}]."""
    seen: set[str] = set()
    groups: dict[str, dict[str, Any]] = {}
    for r in sorted(runs, key=lambda r: (r.id or 0)):
        if r.status != "FINISHED" or not is_baseline_run(r) or not r.metrics:
            continue
        cfg = r.config or {}
        if cfg.get("proxy") and not include_proxy:
            continue
        if task and cfg.get("task") != task:
            continue
        key = setup_key(r)
        g = groups.setdefault(key, {"task": cfg.get("task"), "proxy": bool(cfg.get("proxy")), "model": cfg.get("model"),
                                    "profile": cfg.get("profile"), "recipe": _recipe(r.manifest or {}),
                                    "experiments": [], "runs": 0, "n_invalid": 0, "seeds": [],
                                    "metric": None, "langs": {}, "items": {}})
        if r.experiment not in g["experiments"]:
            g["experiments"].append(r.experiment)
        if r.config_hash in seen:  # the same run under another experiment (reused copy): counted once
            continue
        seen.add(r.config_hash)
        m = r.metrics
        key_metric = (m.get("summary") or {}).get("metric") or "accuracy"
        g["metric"] = g["metric"] or key_metric
        g["runs"] += 1
        g["seeds"].append(r.seed)
        if r.valid is False or m.get("collapsed"):
            g["n_invalid"] += 1
        for lang, v in (m.get("test") or {}).items():
            if isinstance(v, dict) and v.get(key_metric) is not None:
                g["langs"].setdefault(lang, []).append(float(v[key_metric]))
                g["items"][lang] = int(v.get("n", 0)) or g["items"].get(lang, 0)
    return sorted(groups.values(), key=lambda g: (g["task"] or "", g["proxy"], ",".join(g["experiments"])))


def _avg(xs: list[float]) -> Optional[float]:
    return sum(xs) / len(xs) if xs else None


def summarise(g: dict[str, Any]) -> dict[str, Any]:
    """Points (x100) per language, English, average non-English, gap and per script, ours and mBERT's."""
    from xlt_claims.experiments.data.scripts import script_of

    ref = XTREME_MBERT.get(g["task"] or "")
    if ref and ref["metric"] != g["metric"]:
        ref = None
    ref_langs = ref["langs"] if ref else {}
    rows = []
    for lang in sorted(g["langs"], key=lambda lg: (lg != "en", script_of(lg), lg)):
        vals = [100 * v for v in g["langs"][lang]]
        rows.append({"lang": lang, "script": script_of(lang), "mean": mean(vals),
                     "sd": stdev(vals) if len(vals) > 1 else None, "n_seeds": len(vals),
                     "n_items": g["items"].get(lang), "mbert": ref_langs.get(lang)})
    ours = {r["lang"]: r["mean"] for r in rows}
    nonen = {lg: v for lg, v in ours.items() if lg != "en"}
    ref_complete = bool(ref) and _COMPLETE.get(g["task"], False)
    ref_nonen = {lg: v for lg, v in ref_langs.items() if lg != "en"} if ref_complete else {}
    # the reference averages over the languages both sides have (XTREME's own languages)
    common = sorted(set(nonen) & set(ref_nonen)) if ref_nonen else []
    out: dict[str, Any] = {
        "rows": rows,
        "en": ours.get("en"), "en_mbert": ref_langs.get("en"),
        "avg_nonen": _avg(list(nonen.values())), "avg_nonen_mbert": _avg([ref_nonen[lg] for lg in common]) if common else None,
        "avg_all": _avg(list(ours.values())), "avg_all_mbert": ref["avg"] if ref else None,
    }
    out["gap"] = out["en"] - out["avg_nonen"] if out["en"] is not None and out["avg_nonen"] is not None else None
    out["gap_mbert"] = (out["en_mbert"] - out["avg_nonen_mbert"]
                        if out["en_mbert"] is not None and out["avg_nonen_mbert"] is not None else None)
    scripts: dict[str, list[str]] = {}
    for lg in nonen:
        scripts.setdefault(script_of(lg), []).append(lg)
    out["by_script"] = [{"script": s, "langs": sorted(ls), "mean": _avg([nonen[lg] for lg in ls]),
                         "mbert": _avg([ref_nonen[lg] for lg in ls]) if ref_nonen and all(lg in ref_nonen for lg in ls)
                         else None} for s, ls in sorted(scripts.items())]
    if ref_nonen and set(nonen) != set(ref_nonen):
        out["note"] = (f"mBERT's non-English average is over the languages both have "
                       f"({', '.join(common)}); XTREME's own average covers {', '.join(sorted(ref_langs))}")
    return out


def _f(x: Optional[float], nd: int = 1) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def render(groups: list[dict[str, Any]]) -> str:
    if not groups:
        return "No finished baseline-arm runs on a real benchmark in this store.\n"
    lines: list[str] = []

    def para(text: str) -> None:
        lines.extend(textwrap.wrap(text, WIDTH, break_on_hyphens=False))

    for g in groups:
        s = summarise(g)
        title = TITLES.get(g["task"], g["task"]) + (" (proxy)" if g["proxy"] else "")
        lines.append(f"### {title}: {g['metric']}, bundled encoder vs mBERT")
        lines.append("")
        seeds = sorted(set(g["seeds"]))
        para(f"Model {g['model']}, profile {g['profile']}: {g['recipe']}. {g['runs']} baseline run(s), seeds "
             f"{', '.join(map(str, seeds))}; experiments: {', '.join(g['experiments'])}."
             + (f" {g['n_invalid']} run(s) flagged invalid (collapsed or at chance) are included."
                if g["n_invalid"] else ""))
        lines.append("")
        lines.append("| language | script | ours (sd) | seeds | items | mBERT |")
        lines.append("|---|---|---|---|---|---|")
        for r in s["rows"]:
            sd = f" ({r['sd']:.1f})" if r["sd"] is not None else ""
            lines.append(f"| {r['lang']} | {r['script']} | {r['mean']:.1f}{sd} | {r['n_seeds']} | "
                         f"{r['n_items'] or '–'} | {_f(r['mbert'])} |")
        lines.append(f"| **English** | | {_f(s['en'])} | | | {_f(s['en_mbert'])} |")
        lines.append(f"| **avg non-English** | | {_f(s['avg_nonen'])} | | | {_f(s['avg_nonen_mbert'])} |")
        lines.append(f"| **gap en - avg** | | {_f(s['gap'])} | | | {_f(s['gap_mbert'])} |")
        lines.append(f"| avg all languages | | {_f(s['avg_all'])} | | | {_f(s['avg_all_mbert'])} |")
        for b in s["by_script"]:
            lines.append(f"| script {b['script']} | {len(b['langs'])} lang. | {_f(b['mean'])} | | | {_f(b['mbert'])} |")
        lines.append("")
        if s.get("note"):
            para(s["note"] + ".")
            lines.append("")
    para(f"Ours: mean over seeds of the stored test metrics (x100), sd over seeds. mBERT: {XTREME_SOURCE}; "
         "its non-English average, gap and script averages are computed from its per-language numbers; "
         "'avg all languages' is XTREME's printed task average.")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, help="claim store (SQLite path or database URL)")
    ap.add_argument("--task", default=None, help="one benchmark only (e.g. pawsx)")
    ap.add_argument("--include-proxy", action="store_true", help="also the offline proxy tasks (no mBERT column)")
    ap.add_argument("--json", action="store_true", help="the groups and their summaries as JSON")
    a = ap.parse_args(argv)

    from sqlmodel import select

    from xlt_claims.store import models as m
    from xlt_claims.store.db import StoreError, open_store

    db = a.db
    if "://" not in db and not Path(db).exists():
        print(f"error: claim store {db} not found", file=sys.stderr)
        return 2
    try:
        store = open_store(db, read_only=True)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with store.read() as s:
            runs = list(s.exec(select(m.Run).where(m.Run.status == "FINISHED")))
    finally:
        store.close()
    groups = collect(runs, include_proxy=a.include_proxy, task=a.task)
    if a.json:
        print(json.dumps([{**{k: v for k, v in g.items()}, "summary": summarise(g)} for g in groups], indent=1))
    else:
        sys.stdout.write(render(groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
