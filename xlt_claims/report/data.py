"""Gather everything the verification report shows from the claim store into ONE plain dict.

That dict *is* the JSON report; the HTML and Markdown templates render it and nothing else, so the
three formats carry the same numbers by construction (a test checks the rendered text too).

Reliability score of a source report (documented in the report itself, `RELIABILITY_FORMULA`):

    problem share = (# of its current claims with at least one problem) / (# of its current claims)

where a claim has a problem when its current status is `not-in-cited-sources` (unsupported),
`contradicted-by-source` or `not-reproduced`, its textual verdict is `contradicted-by-source`, or it
carries an `invented-entity` or `off-topic-citation` flag (on the claim itself, or a report-level
invented-entity flag whose entity the claim names). Lower is better. Claims still `unverified`,
`inconclusive`, `invalid`, `contested` (cited sentences disagree) or `unchecked` (a cited paper could not
be read) count as no problem *yet*; the report shows how many there are, so the score is read as a
lower bound while they remain.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from sqlalchemy.orm import defer
from sqlmodel import Session, select

from .. import __version__
from ..papers import paper_text
from ..paths import PACKAGE_DIR
from ..reproduce.registry import RegistryError, load_registry
from ..store import models as m
from ..store.db import current_version
from ..store.status import Status, StatusGroup
from ..verdict.display import benchmarks_text
from ..verdict.record import primary_verdict
from .research import RESEARCH_TABLES, research_table
from .scripts import find_scripts, script_with_source

REPORT_SCHEMA = "xlt-claims-report/1"

# status -> (label, group, explanation), from the one Status definition (store/status.py)
STATUS_INFO: dict[str, tuple[str, str, str]] = {st.value: (st.label, st.group.value, st.explanation) for st in Status}
STATUS_ORDER = list(STATUS_INFO)
GROUP_LABEL = {g.value: g.label for g in StatusGroup}

PROBLEM_STATUSES = {st.value: st.problem for st in Status if st.problem}
PROBLEM_FLAG_KINDS = {"invented-entity": "invented entity", "off-topic-citation": "off-topic citation"}
RELIABILITY_FORMULA = (
    "problem share = claims with a problem / claims of the report; a claim has a problem when it is "
    "unsupported (not in cited sources), contradicted by a source, not reproduced, or carries an "
    "invented-entity or off-topic-citation flag. Lower is better; unverified, inconclusive, invalid, "
    "contested and unchecked (cited paper unreadable) claims are not counted as problems, so while any "
    "remain the score is a lower bound."
)

# Report-level flag kinds shown first, with human labels; other kinds follow under their own name.
FLAG_LABELS = {
    "invented-entity": "Invented entity (named in the report, found in no cited paper)",
    "unfound-entity": "Possibly invented: named in the report, found in no cited paper",
    "unfound-entity-known": "Known name, but absent from every cited paper",
    "missing-source": "Missing source (a topic of the report that no cited paper covers)",
    "missing-topic-source": "Missing source (a topic of the report that no cited paper covers)",
    "off-topic-citation": "Off-topic citation (a cited paper about something else)",
    "unreachable-reference": "Unreachable reference",
    "truncated": "Claim cut off mid-word",
}
FLAG_ORDER = ["invented-entity", "unfound-entity", "missing-source", "missing-topic-source", "off-topic-citation",
              "unfound-entity-known", "unreachable-reference", "truncated"]
# claim-level flags of these kinds are also listed in the report's prominent flag box
PROMINENT_KINDS = {"invented-entity", "unfound-entity", "missing-source", "missing-topic-source",
                   "off-topic-citation", "unreachable-reference"}


def flag_group(f: dict[str, Any]) -> str:
    """Display group of a flag: an unfound entity that is a well-known name elsewhere is not 'invented'."""
    if f["kind"] == "unfound-entity" and (f.get("detail") or {}).get("known_elsewhere"):
        return "unfound-entity-known"
    return f["kind"]


def is_invented(f: dict[str, Any]) -> bool:
    return f["kind"] == "invented-entity" or (f["kind"] == "unfound-entity"
                                              and not (f.get("detail") or {}).get("known_elsewhere"))


# --- small helpers ------------------------------------------------------------------------------

def _iso(dt: Optional[datetime]) -> Optional[str]:
    if dt is None:
        return None
    return dt.isoformat(timespec="seconds")


def _r(x: Optional[float], nd: int = 4) -> Optional[float]:
    if x is None:
        return None
    try:
        return round(float(x), nd)
    except (TypeError, ValueError):
        return None


def _jsonable(obj: Any) -> Any:
    """Deep copy into plain JSON types (datetimes -> ISO strings)."""
    return json.loads(json.dumps(obj, default=str, ensure_ascii=False))


def _sha256(text: Optional[str]) -> Optional[str]:
    if text is None:
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def status_info(status: str) -> dict[str, str]:
    label, group, expl = STATUS_INFO.get(status, (status, "open", "status not known to this report version"))
    return {"status": status, "label": label, "group": group, "explanation": expl}


_HEX = re.compile(r"^(sha256:)?[0-9a-f]{16,}$")


def collect_hashes(obj: Any, prefix: str = "", depth: int = 0) -> dict[str, str]:
    """Flatten every hash-looking value (hex >= 16 chars, under a key naming a hash/fingerprint/commit)."""
    out: dict[str, str] = {}
    if depth > 6:
        return out
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, str) and _HEX.match(v) and re.search(r"hash|sha|fingerprint|commit|digest", str(k), re.I):
                out[key] = v
            elif isinstance(v, (dict, list)):
                out.update(collect_hashes(v, key, depth + 1))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:20]):
            out.update(collect_hashes(v, f"{prefix}[{i}]", depth + 1))
    return out


def git_info(repo_dir: Optional[Path] = None) -> dict[str, Any]:
    repo_dir = repo_dir or PACKAGE_DIR.parent
    info: dict[str, Any] = {"commit": None, "dirty": None}
    if not (repo_dir / ".git").exists():
        return info
    try:
        commit = subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            info["commit"] = commit.stdout.strip()
            st = subprocess.run(["git", "-C", str(repo_dir), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
            info["dirty"] = bool(st.stdout.strip()) if st.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


# --- per-language metrics -----------------------------------------------------------------------

def _lang_metric(per_lang: dict[str, Any], prefer: Optional[str] = None) -> Optional[str]:
    for name in ((prefer,) if prefer else ()) + ("accuracy", "f1", "macro_f1", "em"):
        if any(isinstance(v, dict) and isinstance(v.get(name), (int, float)) for v in per_lang.values()):
            return name
    return None


def _mean(xs: list[float]) -> Optional[float]:
    return sum(xs) / len(xs) if xs else None


def _sd(xs: list[float]) -> Optional[float]:
    if len(xs) < 2:
        return None
    mu = sum(xs) / len(xs)
    return (sum((x - mu) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5


def language_table(runs: list[dict[str, Any]], baseline_arm: Optional[str] = None,
                 measure: Optional[str] = None) -> Optional[dict[str, Any]]:
    """Mean per language (and per language pair) and arm over the finished runs, grouped by script;
    `measure` (the decision rule's per-language measure, e.g. "auc") is shown where the runs have it."""
    finished = [r for r in runs if r["status"] == "FINISHED" and isinstance(r.get("metrics"), dict)
                and not r.get("collapsed")]  # collapsed / invalid runs never count, not even in a chart
    excluded = sum(1 for r in runs if r["status"] == "FINISHED" and r.get("collapsed"))
    if not finished:
        return None
    arms = sorted({r["arm"] for r in finished}, key=lambda a: (a != baseline_arm, a != "baseline", a))
    known_scripts: dict[str, str] = {}
    for r in finished:
        known_scripts = find_scripts(r.get("manifest") or {}) or find_scripts(r.get("metrics") or {}) \
            or find_scripts(r.get("config") or {})
        if known_scripts:
            break
    out: dict[str, Any] = {"arms": arms, "baseline": arms[0] if arms else None}
    for section, key in (("langs", "test"), ("pairs", "test_pairs")):
        values: dict[str, dict[str, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
        metric = None
        for r in finished:
            per = (r["metrics"] or {}).get(key) or {}
            if not isinstance(per, dict) or not per:
                continue
            metric = metric or _lang_metric(per, measure)
            if metric is None:
                continue
            for lang, d in per.items():
                if isinstance(d, dict) and isinstance(d.get(metric), (int, float)):
                    values[lang][r["arm"]].append((r["seed"], float(d[metric])))
        if not values:
            continue
        rows = []
        for lang in values:
            if section == "langs":
                script, src = script_with_source(lang, known_scripts)
                group = script
            else:
                l1, _, l2 = lang.partition("-")
                s1, src1 = script_with_source(l1, known_scripts)
                s2, src2 = script_with_source(l2, known_scripts)
                src = src1 if src1 == src2 else "mixed"
                script = f"{s1}/{s2}" if s1 != s2 else s1
                group = "same script" if s1 == s2 else "different scripts"
                if l1 == l2:
                    group = "same language"
            arm_vals = {}
            for arm in arms:
                pts = sorted(values[lang].get(arm, []))
                xs = [v for _, v in pts]
                arm_vals[arm] = {"mean": _r(_mean(xs)), "sd": _r(_sd(xs)), "n": len(xs),
                                 "seeds": [{"seed": s, "value": _r(v)} for s, v in pts]}
            diff = None
            base = arms[0]
            if len(arms) >= 2:
                others = arms[1:]
                b = dict(values[lang].get(base, []))
                t = dict(values[lang].get(others[0], []))
                paired = [t[s] - b[s] for s in sorted(set(b) & set(t))]
                if paired:
                    diff = {"arm": others[0], "vs": base, "mean": _r(_mean(paired)), "n_paired": len(paired)}
            rows.append({"lang": lang, "script": script, "script_source": src, "group": group,
                         "arms": arm_vals, "diff": diff})
        if section == "langs":
            order = {"Latin": 0}
            rows.sort(key=lambda r: (r["lang"] != "en", order.get(r["group"], 1), r["group"], r["lang"]))
        else:
            gorder = {"same language": 0, "same script": 1, "different scripts": 2}
            rows.sort(key=lambda r: (gorder.get(r["group"], 3), r["lang"]))
        out[section] = {"metric": metric, "rows": rows,
                        "groups": list(dict.fromkeys(r["group"] for r in rows))}
    if "langs" not in out and "pairs" not in out:
        return None
    out["scripts_from"] = "data" if known_scripts else "built-in table (the runs did not record scripts)"
    out["excluded_collapsed_runs"] = excluded
    return out


# --- the builder --------------------------------------------------------------------------------

def _run_dict(run: m.Run) -> dict[str, Any]:
    metrics = run.metrics or {}
    summary = metrics.get("summary") if isinstance(metrics, dict) else None
    return {
        "id": run.id,
        "anchor": f"run-{run.id}",
        "experiment": run.experiment,
        "arm": run.arm,
        "seed": run.seed,
        "status": run.status,
        "config_hash": run.config_hash,
        "device": run.device,
        "host": run.host,
        "wall_s": _r(run.wall_s, 1),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "error": run.error,
        # never counts: collapsed to one label / chance, or marked invalid by the runner's guards
        "collapsed": (bool(metrics.get("collapsed")) if isinstance(metrics, dict) else False)
        or getattr(run, "valid", None) is False,
        "invalid_reason": getattr(run, "invalid_reason", None),
        "reused_from": getattr(run, "reused_from", None),
        "summary": _jsonable(summary) if isinstance(summary, dict) else {},
        "config": _jsonable(run.config or {}),
        "manifest": _jsonable(run.manifest) if run.manifest is not None else None,
        "metrics": _jsonable(metrics) if metrics else None,
        "hashes": collect_hashes(run.manifest or {}),
    }


def _effect_scale(verdict: m.Verdict, detail: dict[str, Any]) -> tuple[float, str]:
    """(factor, unit) that turns the stored effect into the unit shown.

    The reproduce runner stores effects already scaled by the decision rule's `scale` (100: accuracy
    points for metrics in [0, 1]); other producers may say `unit` explicitly."""
    unit = detail.get("unit") or detail.get("effect_unit")
    if unit in ("points", "pp", "percentage points"):
        return 1.0, "points"
    if unit in ("fraction", "proportion", "ratio"):
        return 100.0, "points"
    if unit:
        return 1.0, str(unit)
    dec = detail.get("decision") if isinstance(detail.get("decision"), dict) else {}
    if dec.get("scale") == 100 or dec.get("scale") == 100.0:
        return 1.0, "points"
    return 1.0, verdict.metric or "metric units"


def _lang_stats(detail: dict[str, Any], factor: float) -> dict[str, Any]:
    """The verdict's own per-language / per-pair tests (mean paired effect, CI, Holm-adjusted p)."""
    pl = detail.get("per_language") if isinstance(detail.get("per_language"), dict) else {}
    out: dict[str, Any] = {}
    for split in ("test", "test_pairs"):
        rows = pl.get(split)
        if not isinstance(rows, list) or not rows:
            continue
        clean = []
        for r in rows:
            if not isinstance(r, dict) or r.get("effect") is None:
                continue
            clean.append({
                "key": r.get("key"), "script": r.get("script"), "n_seeds": r.get("n_seeds"),
                "baseline": _r(r.get("baseline")), "treatment": _r(r.get("treatment")),
                "effect": _r(float(r["effect"]) * factor), "ci_low": _r(_f(r.get("ci_low"), factor)),
                "ci_high": _r(_f(r.get("ci_high"), factor)), "p": _r(r.get("p")), "p_holm": _r(r.get("p_holm")),
                "significant": r.get("significant"), "n_items": r.get("n_items"),
            })
        if clean:
            out[split] = clean
            groups = pl.get(f"{split}_by_script")
            if isinstance(groups, list):
                out[f"{split}_by_script"] = [
                    {"group": g.get("group"), "keys": g.get("keys"), "effect": _r(_f(g.get("effect"), factor)),
                     "baseline": _r(g.get("baseline")), "treatment": _r(g.get("treatment"))}
                    for g in groups if isinstance(g, dict)]
    return out


def _f(x: Any, factor: float = 1.0) -> Optional[float]:
    return float(x) * factor if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _verdict_dict(v: m.Verdict, claim: m.Claim, runs_by_id: dict[int, dict[str, Any]]) -> dict[str, Any]:
    detail = _jsonable(v.detail or {})
    factor, unit = _effect_scale(v, detail)
    dec = detail.get("decision") if isinstance(detail.get("decision"), dict) else {}
    claimed_range = None
    claimed = detail.get("claimed_effect", detail.get("claimed"))
    claimed_source = detail.get("claimed_source") if claimed is not None else None
    if isinstance(claimed, (int, float)) and not isinstance(claimed, bool):
        claimed_scaled = float(claimed) * factor
        claimed_source = claimed_source or "decision rule"
    else:
        claimed_scaled = None
        value_high = getattr(claim, "value_high", None)
        if claim.value is not None and value_high is not None:
            # a stated range ("by 1 to 3 points"): numbers in claim text are in the shown unit already
            claimed_range, claimed_source = [float(claim.value), float(value_high)], "claim text (range)"
        elif claim.value is not None and unit == "points" and claim.comparator not in (None, "range"):
            claimed_scaled, claimed_source = float(claim.value), "claim text"
    if claimed_source == "none":
        claimed_source = None
    bar = _f(detail.get("bar"), factor)
    runs = [runs_by_id[i] for i in (v.run_ids or []) if i in runs_by_id]
    arms = detail.get("arms") if isinstance(detail.get("arms"), dict) else {}
    bl = arms.get("baseline") or dec.get("baseline") or detail.get("baseline_arm") or detail.get("baseline")
    baseline_arm = bl if isinstance(bl, str) else None
    tr = arms.get("treatment") or dec.get("treatment")
    treatment_arm = tr if isinstance(tr, str) else None
    per_seed = []
    ps = detail.get("per_seed")
    if isinstance(ps, dict):
        for seed, d in sorted(ps.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
            if isinstance(d, dict) and d.get("diff") is not None:
                per_seed.append({"seed": int(seed) if str(seed).isdigit() else seed, "diff": _r(_f(d["diff"], factor)),
                                 "baseline": _r(d.get("baseline")), "treatment": _r(d.get("treatment"))})
    seeds = sorted({r["seed"] for r in runs}) or sorted(p["seed"] for p in per_seed if isinstance(p["seed"], int))
    devices = sorted({r["device"] for r in runs if r["device"]}) or list(detail.get("devices") or [])
    wall = sum(r["wall_s"] or 0.0 for r in runs)
    seeds_needed = detail.get("seeds_needed", detail.get("more_seeds_needed"))
    if isinstance(seeds_needed, dict):
        seeds_needed = seeds_needed.get("more") or seeds_needed.get("n_more") or seeds_needed.get("total")
    bayes = detail.get("bayes") if isinstance(detail.get("bayes"), dict) else {}
    prior = bayes.get("prior", {}).get("prior") if isinstance(bayes.get("prior"), dict) else bayes.get("prior")
    likelihood = bayes.get("likelihood") if isinstance(bayes.get("likelihood"), dict) else {}
    tempering = bayes.get("tempering") if isinstance(bayes.get("tempering"), dict) else {}
    return {
        "id": v.id,
        "anchor": f"verdict-{v.id}",
        "experiment": v.experiment,
        "outcome": status_info(v.outcome),
        "proxy": bool(v.proxy),
        "proxy_reasons": list(detail.get("proxy_reasons") or []),
        "evidence_label": "proxy" if v.proxy else "claim's own data and model",
        "metric": v.metric,
        "unit": unit,
        "direction": dec.get("direction"),
        "effect": _r(v.effect * factor if v.effect is not None else None),
        "ci_low": _r(v.ci_low * factor if v.ci_low is not None else None),
        "ci_high": _r(v.ci_high * factor if v.ci_high is not None else None),
        "ci_level": detail.get("ci_level") or (1 - float(dec["alpha"]) if isinstance(dec.get("alpha"), (int, float)) else 0.95),
        "claimed_effect": _r(claimed_scaled),
        "claimed_source": claimed_source,
        "claimed_range": claimed_range,
        "bar": _r(bar),
        "bar_rule": detail.get("bar_rule"),
        "baseline_arm": baseline_arm,
        "treatment_arm": treatment_arm,
        "per_seed": per_seed,
        "n_seeds": v.n_seeds,
        "seeds": seeds,
        "devices": devices,
        "wall_s_total": _r(wall, 1),
        "seeds_needed": seeds_needed,
        "reason": detail.get("reason") or detail.get("invalid_reason") or detail.get("explanation"),
        "confidence_update": {"prior": _r(prior, 3), "posterior": _r(_f(bayes.get("posterior")), 3),
                              "bf": _r(_f(likelihood.get("bf")), 3), "weight": _r(_f(tempering.get("w")), 3),
                              "formula": bayes.get("formula")} if bayes else None,
        "interval": detail.get("interval") or (detail.get("effect") or {}).get("ci_method"),
        "differences": list(detail.get("differences") or []),
        "benchmark": benchmarks_text(detail.get("benchmarks")),
        "registration": detail.get("registration"),
        "sequential": detail.get("sequential"),
        "optional_stopping": detail.get("optional_stopping"),
        "task": detail.get("task"),
        "model": detail.get("model"),
        "claim_model": detail.get("claim_model"),
        "run_ids": list(v.run_ids or []),
        "lang_stats": _lang_stats(detail, factor),
        "per_language": language_table(runs, baseline_arm, dec.get("per_language_measure")),
        "created_at": _iso(v.created_at),
        "detail": detail,
    }


def _counts(statuses: Iterable[str]) -> dict[str, int]:
    c = Counter(statuses)
    return {s: c.get(s, 0) for s in STATUS_ORDER if c.get(s, 0)} | {s: n for s, n in c.items() if s not in STATUS_INFO}


def _entity_in(text: str, entity: str) -> bool:
    if not entity:
        return False
    return re.search(r"(?<!\w)" + re.escape(entity) + r"(?!\w)", text, re.IGNORECASE if " " in entity else 0) is not None


CHUNK = 1000  # claims loaded (with their evidence, events, verdicts, links, sources) at a time


class ClaimList(list):
    """The claims of a built report (a plain list, JSON-serialisable) with `of(key)` for one report's."""

    def of(self, key: str) -> Iterator[dict[str, Any]]:
        return (c for c in self if c["report_key"] == key)


class ClaimStream:
    """The claims of a streamed report, built chunk by chunk from the store each time they are read
    (a 100k-claim store never holds them all): iterate for every claim in (report key, row) order, or
    `of(key)` for one report's. Each pass reads in its own read-only transaction."""

    def __init__(self, store, keys: list[str], ctx: "_Context") -> None:
        self.store, self.keys, self.ctx = store, keys, ctx

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._gen(self.keys)

    def of(self, key: str) -> Iterator[dict[str, Any]]:
        return self._gen([key])

    def _gen(self, keys: list[str]) -> Iterator[dict[str, Any]]:
        with self.store.read() as s:
            yield from _claim_dicts(s, keys, self.ctx)


def build_report(store, report: Optional[str] = None, *, generated_at: Optional[datetime] = None) -> dict[str, Any]:
    """The whole verification report as a plain, JSON-serialisable dict.

    `report` restricts it to one source report: its key, file name, or numeric id of any version.
    Raises LookupError naming the known keys when nothing matches.
    """
    data = stream_report(store, report, generated_at=generated_at)
    data["claims"] = ClaimList(data["claims"])
    return data


def stream_report(store, report: Optional[str] = None, *, generated_at: Optional[datetime] = None) -> dict[str, Any]:
    """The same dict as `build_report`, but "claims" is a `ClaimStream`: the summaries (reports,
    totals, experiments, provenance) come from one pass over the claims, and the claims are built
    again, a chunk at a time, whenever the renderer reads them. For large stores (bounded memory)."""
    with store.read() as s:
        data = _build(s, store, report, generated_at or m.utcnow())
    _attach_research_tables(store, data)  # their producers open their own transactions
    return data


def experiments_not_at_hand() -> dict[str, str]:
    """Experiment -> why it is not run by the main job: its claim's own benchmark is a real set that is not
    at hand here (XNLI, which never ships, until `claims data add xnli DIR`). Read by the claim cards."""
    from ..reproduce.tasks import not_at_hand

    try:
        exps = load_registry().experiments
    except RegistryError:
        return {}
    out = {}
    for name, exp in exps.items():
        why = not_at_hand(getattr(exp.task, "real", None))
        if why:
            out[name] = f"{why}; to run it on the real set, register a copy: claims data add {exp.task.real} DIR"
    return out


def _research_question_matches(exp_name: str, research_question: str) -> bool:
    """The experiment's own match rule (its `all` patterns) applied to the research question."""
    try:
        exp = load_registry().experiments.get(exp_name)
    except RegistryError:  # a malformed reproduction file: attach to no report, show under Experiments
        return False
    pats = list(getattr(getattr(exp, "match", None), "all", []) or []) if exp is not None else []
    return bool(pats) and all(re.search(p, research_question or "", re.I) for p in pats)


def _attach_research_tables(store, data: dict[str, Any]) -> None:
    names = {e["name"] for e in data["experiments"]}
    tables = []
    for name in RESEARCH_TABLES:
        if name not in names:
            continue
        try:
            rows = research_table(store, name)[0]
        except Exception as exc:  # noqa: BLE001 - a broken producer must not sink the whole report
            rows, error = [], f"{type(exc).__name__}: {exc}"
        else:
            error = None
        if not rows and not error:
            continue
        table = {"experiment": name, "anchor": f"rq-{name}", "rows": _jsonable(rows), "error": error,
                 "reports": [r["key"] for r in data["reports"]
                             if _research_question_matches(name, r.get("research_question") or "")]}
        tables.append(table)
        for r in data["reports"]:
            if r["key"] in table["reports"]:
                r["research_results"].append({"name": name, "anchor": table["anchor"]})
    data["research_tables"] = tables


def _select_reports(s: Session, report: Optional[str]) -> list[m.Report]:
    latest = list(s.exec(select(m.Report).where(m.Report.is_latest == True).order_by(m.Report.key)))  # noqa: E712
    if report is None:
        return latest
    want = str(report)
    hits = [r for r in latest if r.key == want or r.file_name == want or Path(want).stem == r.key
            or r.key.startswith(want)]
    if not hits and want.isdigit():
        row = s.get(m.Report, int(want))
        if row is not None:
            hits = [r for r in latest if r.key == row.key]
    if not hits:
        keys = ", ".join(r.key for r in latest) or "(the store has no reports; run `claims ingest` first)"
        raise LookupError(f"no report matches {report!r}; known: {keys}")
    if len(hits) > 1:
        raise LookupError(f"{report!r} matches several reports: {', '.join(r.key for r in hits)}")
    return hits


class _Context:
    """What every claim dict needs from outside its own rows (loaded once per report build)."""

    def __init__(self, papers, claim_flags, report_flags, runs_by_id, runs_by_exp) -> None:
        self.papers, self.claim_flags, self.report_flags = papers, claim_flags, report_flags
        self.runs_by_id, self.runs_by_exp = runs_by_id, runs_by_exp
        self.not_at_hand = experiments_not_at_hand()


def _claim_dicts(s: Session, keys: list[str], ctx: _Context, light: bool = False) -> Iterator[dict[str, Any]]:
    """The claim dicts of these reports in (report key, row, id) order, built CHUNK claims at a time.
    `light` (the summary pass): no evidence rows, events or sources, only "evidence_models" (the set
    of evidence model ids); every number the summaries need is the same."""
    ct = m.Claim.__table__
    ids = [r[0] for r in s.execute(select(ct.c.id).where(ct.c.report_key.in_(keys))
                                   .order_by(ct.c.report_key, ct.c.row, ct.c.id))]
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        # the parser's extraction record is the largest column and the report never shows it
        claims = {c.id: c for c in s.exec(select(m.Claim).where(m.Claim.id.in_(chunk))
                                          .options(defer(m.Claim.extraction), defer(m.Claim.normalized)))}
        evidence, events, verdicts, links, sources = (defaultdict(list) for _ in range(5))
        models: dict[str, set[str]] = defaultdict(set)
        if light:
            for cid, model_id in s.execute(select(m.Evidence.claim_id, m.Evidence.model_id)
                                           .where(m.Evidence.claim_id.in_(chunk))):
                models[cid].add(model_id)
        else:
            for ev in s.exec(select(m.Evidence).where(m.Evidence.claim_id.in_(chunk)).order_by(m.Evidence.id)):
                evidence[ev.claim_id].append(ev)
            for ev in s.exec(select(m.ClaimEvent).where(m.ClaimEvent.claim_id.in_(chunk)).order_by(m.ClaimEvent.id)):
                events[ev.claim_id].append(ev)
        for v in s.exec(select(m.Verdict).where(m.Verdict.claim_id.in_(chunk)).order_by(m.Verdict.id)):
            verdicts[v.claim_id].append(v)
        for ln in s.exec(select(m.ExperimentLink).where(m.ExperimentLink.claim_id.in_(chunk))
                         .order_by(m.ExperimentLink.id)):
            links[ln.claim_id].append(ln)
        if not light:
            for cs in s.exec(select(m.ClaimSource).where(m.ClaimSource.claim_id.in_(chunk))
                             .order_by(m.ClaimSource.report_id, m.ClaimSource.id)):
                sources[cs.claim_id].append(cs)
        for cid in chunk:
            c = claims[cid]
            cd = _claim_dict(c, ctx.papers, evidence[cid], events[cid], verdicts[cid], links[cid],
                             ctx.claim_flags[cid], ctx.report_flags[c.report_key], sources[cid], ctx.runs_by_id,
                             ctx.runs_by_exp)
            cd["not_run"] = {e: ctx.not_at_hand[e] for e in cd["experiments"]
                             if e in ctx.not_at_hand and not ctx.runs_by_exp.get(e)}
            if light:
                cd["evidence_models"] = models[cid]
            yield cd
        del claims, evidence, events, verdicts, links, sources


class _ReportAcc:
    """The numbers `_report_dict` shows about a report's claims, accumulated one claim at a time."""

    def __init__(self) -> None:
        self.current = 0
        self.with_problem = 0
        self.open = 0
        self.reasons: Counter = Counter()
        self.marked = self.ticked = self.ticked_with_problem = self.ticked_holding = 0
        self.rconf: list[float] = []
        self.oconf: list[float] = []
        self.agreement: Counter = Counter()
        self.claim_level_flags: list[dict[str, Any]] = []
        self.truncated = self.repaired = 0
        self.claim_ids: list[str] = []
        self.retired_ids: list[str] = []
        self.by_status: Counter = Counter()
        self.linked: set[str] = set()

    def add(self, c: dict[str, Any]) -> None:
        self.claim_ids.append(c["id"])
        self.claim_level_flags += [f for f in c["flags"] if not f.get("inherited") and f["kind"] in PROMINENT_KINDS]
        self.linked.update(c["experiments"])
        self.linked.update(v["experiment"] for v in c["verdicts"])
        if c["retired"]:
            self.retired_ids.append(c["id"])
            return
        self.current += 1
        self.with_problem += bool(c["problems"])
        self.open += c["status"]["group"] == "open"
        self.reasons.update(c["problems"])
        if c["report_mark"] is not None:
            self.marked += 1
            if c["report_mark"]:
                self.ticked += 1
                self.ticked_with_problem += bool(c["problems"])
                self.ticked_holding += c["status"]["group"] in ("holds", "partial")
        if c["report_confidence"] is not None:
            self.rconf.append(c["report_confidence"])
        if c["confidence"] is not None:
            self.oconf.append(c["confidence"])
        self.agreement[c["agreement"]] += 1
        self.truncated += bool(c["looks_truncated"])
        self.repaired += bool(c["repaired_text"])
        self.by_status[c["status"]["status"]] += 1


def _build(s: Session, store, report_sel: Optional[str], generated_at: datetime) -> dict[str, Any]:
    reports = _select_reports(s, report_sel)
    keys = [r.key for r in reports]
    papers = {p.arxiv_id: p for p in s.exec(select(m.Paper))}
    flags = list(s.exec(select(m.Flag).where(m.Flag.report_key.in_(keys)).order_by(m.Flag.id)))
    all_runs = list(s.exec(select(m.Run).order_by(m.Run.experiment, m.Run.arm, m.Run.seed, m.Run.id)))
    runs_by_id = {r.id: _run_dict(r) for r in all_runs}
    runs_by_exp: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in all_runs:
        runs_by_exp[r.experiment].append(runs_by_id[r.id])
    versions = defaultdict(list)
    for r in s.exec(select(m.Report).where(m.Report.key.in_(keys)).order_by(m.Report.version)):
        versions[r.key].append(r)
    refs = defaultdict(list)
    for ref in s.exec(select(m.Reference).where(m.Reference.report_id.in_([r.id for r in reports])).order_by(m.Reference.position)):
        refs[ref.report_id].append(ref)

    report_flags = defaultdict(list)
    claim_flags = defaultdict(list)
    for f in flags:
        fd = {"id": f.id, "kind": f.kind, "kind_label": FLAG_LABELS.get(f.kind, f.kind), "subject": f.subject,
              "message": f.message, "claim_id": f.claim_id, "detail": _jsonable(f.detail or {}),
              "created_at": _iso(f.created_at), "inherited": False}
        if f.claim_id:
            claim_flags[f.claim_id].append(fd)
        else:
            report_flags[f.report_key].append(fd)

    # one pass over the claims, a chunk at a time: the per-report and overall numbers
    ctx = _Context(papers, claim_flags, report_flags, runs_by_id, runs_by_exp)
    accs = {k: _ReportAcc() for k in keys}
    n_all = n_current = with_problem = reproduced = 0
    by_status: Counter = Counter()
    by_group: Counter = Counter()
    used_runs: set[int] = set()
    model_ids: set[str] = set()
    for cd in _claim_dicts(s, keys, ctx, light=True):
        accs[cd["report_key"]].add(cd)
        used_runs.update(rid for v in cd["verdicts"] for rid in v["run_ids"])
        model_ids.update(cd["evidence_models"])
        n_all += 1
        if cd["retired"]:
            continue
        n_current += 1
        by_status[cd["status"]["status"]] += 1
        by_group[cd["status"]["group"]] += 1
        with_problem += bool(cd["problems"])
        reproduced += bool(cd["verdicts"])

    linked_experiments = set().union(*(a.linked for a in accs.values()))
    report_dicts = [
        _report_dict(r, versions[r.key], refs[r.id], papers, report_flags[r.key], accs[r.key], runs_by_exp)
        for r in reports
    ]
    experiments = [_experiment_dict(name, runs) for name, runs in sorted(runs_by_exp.items())
                   if report_sel is None or name in linked_experiments
                   or any(e.get("name") == name for rd in report_dicts for e in rd["research_results"])]

    totals = {
        "reports": len(report_dicts),
        "claims": n_current,
        "retired_claims": n_all - n_current,
        "by_status": _counts(by_status.elements()),
        "by_group": dict(by_group),
        "with_problem": with_problem,
        "reproduced_claims": reproduced,
        "report_flags": sum(len(rd["flags"]) for rd in report_dicts),
        "runs": {st: sum(1 for r in runs_by_id.values() if r["status"] == st)
                 for st in m.RUN_STATUSES if any(r["status"] == st for r in runs_by_id.values())},
    }
    used_runs |= {r["id"] for e in experiments for arm in e["arms"] for r in arm["runs"]}
    manifests = [runs_by_id[i] for i in sorted(used_runs) if i in runs_by_id]
    return {
        "schema": REPORT_SCHEMA,
        "title": "Claim verification report",
        "generated_at": _iso(generated_at),
        "selection": report_sel,
        "status_legend": [status_info(st) for st in STATUS_ORDER],
        "reliability_formula": RELIABILITY_FORMULA,
        "totals": totals,
        "reports": report_dicts,
        "claims": ClaimStream(store, keys, ctx),
        "experiments": experiments,
        "runs": [{k: r[k] for k in ("id", "anchor", "experiment", "arm", "seed", "status", "device", "wall_s",
                                     "config_hash", "started_at", "finished_at", "error", "collapsed",
                                     "invalid_reason", "reused_from", "summary", "manifest", "hashes")}
                 for r in manifests],
        "provenance": _provenance(s, store, reports, papers, manifests, model_ids),
    }


def _claim_dict(c: m.Claim, papers, evs, events, verdicts, links, cflags, rflags, sources, runs_by_id,
                runs_by_exp) -> dict[str, Any]:
    ev_rows = []
    # deciding sentences (support / contradict) first, then by similarity
    for ev in sorted(evs, key=lambda e: (e.stance not in ("support", "contradict"), -(e.score or 0.0), e.id)):
        paper = papers.get(ev.arxiv_id)
        offsets_ok = None
        if paper is not None:
            txt = paper_text(paper, ev.text_source)
            if txt is not None:
                offsets_ok = txt[ev.char_start:ev.char_end] == ev.quote
        ev_rows.append({
            "arxiv_id": ev.arxiv_id,
            "paper_title": paper.title if paper else None,
            "paper_version": ev.paper_version,
            "text_source": ev.text_source,
            "section": ev.section,
            "sentence_index": ev.sentence_index,
            "char_start": ev.char_start,
            "char_end": ev.char_end,
            "offsets_ok": offsets_ok,
            "quote": ev.quote,
            "score": _r(ev.score, 3),
            "stance": ev.stance,
            "stance_detail": _jsonable(ev.stance_detail or {}),
            "model_id": ev.model_id,
        })
    # Report-level entity flags the claim names (or that list the claim) count as the claim's own.
    def _names_claim(f: dict[str, Any]) -> bool:
        det = f.get("detail") or {}
        listed = c.id in (det.get("claim_ids") or []) or c.id in (det.get("claims") or [])
        return listed or (f["kind"] in ("invented-entity", "unfound-entity") and _entity_in(c.text, f["subject"]))

    named = [f for f in rflags if _names_claim(f)]
    flags_all = list(cflags) + [dict(f, inherited=True) for f in named]
    problems: list[str] = []
    if c.status in PROBLEM_STATUSES:
        problems.append(PROBLEM_STATUSES[c.status])
    if c.text_verdict == "contradicted-by-source" and "contradicted" not in problems:
        problems.append("contradicted")
    for f in flags_all:
        label = "invented entity" if is_invented(f) else (
            PROBLEM_FLAG_KINDS.get(f["kind"]) if f["kind"] != "invented-entity" else None)
        if label and label not in problems:
            problems.append(label)
    verdict_rows = []
    latest: dict[str, m.Verdict] = {}
    for v in verdicts:
        latest[v.experiment] = v  # ordered by id: the last one per experiment is current
    experiments = sorted({ln.experiment for ln in links if ln.active})
    # the status is set from actively linked experiments only (verdict.compute.latest_verdicts): same here
    prim = primary_verdict([v for v in latest.values() if v.experiment in experiments])
    for v in sorted(latest.values(), key=lambda v: v is not prim):  # the one that sets the status first
        verdict_rows.append(dict(_verdict_dict(v, c, runs_by_id), primary=v is prim and len(latest) > 1))
    older = len(verdicts) - len(latest)
    ev_rows_events = [{
        "at": _iso(e.at), "cause": e.cause,
        "old_status": e.old_status, "new_status": e.new_status,
        "old_label": status_info(e.old_status)["label"] if e.old_status else None,
        "new_label": status_info(e.new_status)["label"] if e.new_status else None,
        "old_confidence": _r(e.old_confidence, 3), "new_confidence": _r(e.new_confidence, 3),
        "detail": _jsonable(e.detail or {}),
    } for e in events]
    tv_detail = _jsonable(c.text_verdict_detail or {})
    return {
        "id": c.id,
        "anchor": f"claim-{c.id}",
        "report_key": c.report_key,
        "row": c.row,
        "line": c.line,
        "text": c.text,
        "repaired_text": c.repaired_text,
        "looks_truncated": c.looks_truncated,
        "kind": c.kind,
        "retired": c.retired,
        "parsed": {"datasets": list(c.datasets or []), "languages": list(c.languages or []), "metric": c.metric,
                   "value": c.value, "value_high": getattr(c, "value_high", None),
                   "unit": getattr(c, "unit", None), "direction": getattr(c, "direction", None),
                   "comparator": c.comparator, "model": c.model, "method": c.method},
        "report_mark": c.report_mark,
        "report_confidence": _r(c.report_confidence, 3),
        "status": status_info(c.status),
        "confidence": _r(c.confidence, 3),
        "text_verdict": status_info(c.text_verdict) if c.text_verdict else None,
        "text_verdict_detail": tv_detail,
        "checked_against": tv_detail.get("checked_against") or tv_detail.get("text_source"),
        "agreement": _agreement(c.report_mark, c.status),
        "problems": problems,
        "evidence": ev_rows,
        "flags": flags_all,
        "experiments": experiments,
        "verdicts": verdict_rows,
        "older_verdicts": older,
        "events": ev_rows_events,
        "sources": [{"report_id": cs.report_id, "row": cs.row, "line": cs.line, "report_mark": cs.report_mark,
                     "report_confidence": _r(cs.report_confidence, 3)} for cs in sources],
    }


def _agreement(mark: Optional[bool], status: str) -> str:
    """How the report's own ✓/× compares with what we found (for the marks-vs-ours table)."""
    group = status_info(status)["group"]
    if mark is None:
        return "no mark"
    if group == "open":
        return "marked ✓, open" if mark else "marked ×, open"
    if mark:
        return {"holds": "✓ and holds", "partial": "✓, partly holds", "problem": "✓ but problem"}[group]
    return {"holds": "× but holds", "partial": "×, partly holds", "problem": "× and problem"}[group]


def _report_dict(r: m.Report, versions, refs, papers, rflags, acc: _ReportAcc, runs_by_exp) -> dict[str, Any]:
    n = acc.current
    ref_rows = []
    for ref in refs:
        p = papers.get(ref.arxiv_id)
        ref_rows.append({
            "position": ref.position, "arxiv_id": ref.arxiv_id, "cited_version": ref.version,
            "cited_as": ref.cited_as, "line": ref.line,
            "title": p.title if p else None,
            "paper_version": p.version if p else None,
            "text_source": p.text_source if p else None,
            "fetched": bool(p and (p.abstract or p.full_text)),
            "paper_source": p.source if p else None,
            "last_error": p.last_error if p else None,
            "flags": [f["kind"] for f in rflags if f["subject"] in (ref.arxiv_id, f"arXiv:{ref.arxiv_id}")],
        })
    # the prominent box: report-level flags plus claim-level flags of the prominent kinds
    claim_level = acc.claim_level_flags
    seen_ids: set = set()
    pool = []
    for f in list(rflags) + claim_level:
        if f["id"] in seen_ids:
            continue
        seen_ids.add(f["id"])
        pool.append(dict(f, group=flag_group(f)))
    flag_rows = sorted(pool, key=lambda f: (FLAG_ORDER.index(f["group"]) if f["group"] in FLAG_ORDER
                                            else len(FLAG_ORDER), f["group"], f["subject"]))
    flag_groups = []
    for g in dict.fromkeys(f["group"] for f in flag_rows):
        items = [f for f in flag_rows if f["group"] == g]
        flag_groups.append({"kind": g, "label": FLAG_LABELS.get(g, g), "entries": items})
    research = []
    for name, runs in sorted(runs_by_exp.items()):
        cfgs = [rr.get("config") or {} for rr in runs]
        if any(cfg.get("report_key") == r.key or cfg.get("research_question_of") == r.key for cfg in cfgs):
            if name not in acc.linked:
                research.append({"name": name, "anchor": f"exp-{name}"})
    return {
        "key": r.key,
        "anchor": f"report-{r.key}",
        "id": r.id,
        "version": r.version,
        "versions": [{"version": v.version, "id": v.id, "content_hash": v.content_hash,
                      "ingested_at": _iso(v.ingested_at)} for v in versions],
        "file_name": r.file_name,
        "source_path": r.source_path,
        "content_hash": r.content_hash,
        "title": r.title,
        "date": r.date,
        "research_question": r.research_question,
        "stated": {"papers": r.stated_paper_count, "claims": r.stated_claims_count,
                   "verified": r.stated_verified_count, "quality_score": r.quality_score},
        "references": ref_rows,
        "flags": flag_rows,
        "flag_groups": flag_groups,
        "truncated_claims": acc.truncated,
        "repaired_claims": acc.repaired,
        "n_claims": n,
        "claim_ids": acc.claim_ids,
        "retired_claim_ids": acc.retired_ids,
        "by_status": _counts(acc.by_status.elements()),
        "by_group": {g: sum(n_ for st, n_ in acc.by_status.items() if status_info(st)["group"] == g) for g in GROUP_LABEL},
        "reliability": {
            "problem_claims": acc.with_problem,
            "claims": n,
            "problem_share": _r(acc.with_problem / n, 3) if n else None,
            "open_claims": acc.open,
            "lower_bound": bool(acc.open),
            "reasons": dict(acc.reasons),
            "direction": "lower is better",
        },
        "marks": {
            "marked": acc.marked,
            "ticked": acc.ticked,
            "crossed": acc.marked - acc.ticked,
            "ticked_with_problem": acc.ticked_with_problem,
            "ticked_holding": acc.ticked_holding,
            "report_mean_confidence": _r(_mean(acc.rconf), 3),
            "our_mean_confidence": _r(_mean(acc.oconf), 3),
            "our_confidence_n": len(acc.oconf),
            "agreement": dict(acc.agreement),
        },
        "research_results": research,
    }


def _experiment_dict(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    arms = []
    for arm in sorted({r["arm"] for r in runs}, key=lambda a: (a != "baseline", a)):
        rs = [r for r in runs if r["arm"] == arm]
        fin = [r for r in rs if r["status"] == "FINISHED"]
        valid = [r for r in fin if not r["collapsed"]]
        keys = sorted({k for r in valid for k, v in (r["summary"] or {}).items() if isinstance(v, (int, float))
                       and not isinstance(v, bool)})
        summary = {}
        for k in keys:
            xs = [float(r["summary"][k]) for r in valid if isinstance(r["summary"].get(k), (int, float))]
            summary[k] = {"mean": _r(_mean(xs)), "sd": _r(_sd(xs)), "n": len(xs)}
        arms.append({
            "arm": arm,
            "runs": [{"id": r["id"], "anchor": r["anchor"], "seed": r["seed"], "status": r["status"],
                      "collapsed": r["collapsed"], "device": r["device"], "wall_s": r["wall_s"]} for r in rs],
            "status_counts": dict(Counter(r["status"] for r in rs)),
            "collapsed": sum(1 for r in fin if r["collapsed"]),
            "summary": summary,
            "wall_s": _r(sum(r["wall_s"] or 0.0 for r in rs), 1),
        })
    return {"name": name, "anchor": f"exp-{name}", "arms": arms,
            "summary_keys": sorted({k for a in arms for k in a["summary"]}),
            "per_language": language_table(runs)}


def _provenance(s: Session, store, reports, papers, run_rows, evidence_models: set[str]) -> dict[str, Any]:
    schema = current_version(s.connection())  # same transaction: a second connection would wait on its lock
    model_ids = sorted(evidence_models)
    run_hashes: dict[str, set[str]] = defaultdict(set)
    models_used: set[str] = set()
    for r in run_rows:
        for k, v in r["hashes"].items():
            run_hashes[re.sub(r"\[\d+\]", "[]", k)].add(v)
        cfg = r.get("manifest") or {}
        for key in ("model", "model_id"):
            if isinstance(cfg.get(key), str):
                models_used.add(cfg[key])
    return {
        "tool": "xlt-claims",
        "tool_version": __version__,
        "git": git_info(),
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "store": {"url": store.url, "schema_version": schema},
        "reports": [{"key": r.key, "version": r.version, "file_name": r.file_name, "sha256": r.content_hash}
                    for r in reports],
        "papers": [{"arxiv_id": p.arxiv_id, "version": p.version, "source": p.source, "text_source": p.text_source,
                    "fetched_at": _iso(p.fetched_at),
                    "text_sha256": _sha256(p.full_text if p.text_source == "full-text" and p.full_text else p.abstract)}
                   for p in sorted(papers.values(), key=lambda p: p.arxiv_id)],
        "evidence_models": model_ids,
        "run_models": sorted(models_used),
        "run_hashes": {k: sorted(v) for k, v in sorted(run_hashes.items())},
    }
