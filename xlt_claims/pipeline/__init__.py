"""The one-command main job: ingest -> papers -> evidence -> reproduce -> report.

`verify(store, paths)` runs the stages in order, each through the owning area's library function,
and returns what each stage did. Every stage is idempotent and resumable: ingesting an unchanged
report is a no-op, papers are upserted, evidence embeddings are cached, and the reproduce runner
skips (experiment, arm, seed) runs that already FINISHED, so an interrupted job is resumed by
running it again. A stage that fails is reported as failed with its error; later stages still run
on what the store has.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .. import papers as P
from ..evidence import compute_evidence
from ..ingest import ingest_paths
from ..paths import PACKAGE_DIR
from ..report import format_for_path, render_chunks, stream_report, write_chunks
from ..reproduce import Options, load_registry
from ..reproduce.machine import load_calibration, run_calibration
from ..reproduce.runner import build_plans, run_plans
from ..reproduce.tasks import not_at_hand
from ..verdict.judge import judge_plans

STAGES = ("ingest", "papers", "evidence", "reproduce", "report")


class PipelineInterrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM during a stage; finished work is in the store, re-run to resume."""

    def __init__(self, stage: str, result: "VerifyResult"):
        super().__init__(stage)
        self.stage = stage
        self.result = result


@dataclass
class StageResult:
    name: str
    status: str  # "done" | "skipped" | "failed" | "interrupted" | "partial"
    summary: str = ""
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class VerifyResult:
    stages: list[StageResult] = field(default_factory=list)
    report_path: Optional[str] = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.status in ("done", "skipped") for s in self.stages)

    def stage(self, name: str) -> Optional[StageResult]:
        return next((s for s in self.stages if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "report": self.report_path, "seconds": round(self.seconds, 1),
                "stages": [asdict(s) | {"seconds": round(s.seconds, 1)} for s in self.stages]}


def _examples_dir(sub: str) -> Optional[Path]:
    """examples/<sub> of the current directory, else of the package's repository checkout."""
    for base in (Path.cwd(), PACKAGE_DIR.parent):
        p = base / "examples" / sub
        if p.is_dir():
            return p
    return None


def default_report_paths() -> list[Path]:
    d = _examples_dir("reports")
    return [d] if d else []


def default_fixtures_dir() -> Optional[Path]:
    return _examples_dir("arxiv")


class Reporter:
    """Progress sink (no-op). The CLI passes a rich implementation."""

    def stage_start(self, index: int, name: str, what: str) -> None: ...
    def stage_end(self, result: StageResult) -> None: ...
    def note(self, message: str) -> None: ...
    def bar(self, description: str, total: Optional[int]) -> Callable[..., None]:
        return lambda *a, **k: None
    def bar_done(self) -> None: ...
    def reproduce_reporter(self) -> Any:
        return None


# --- stages ---------------------------------------------------------------------------------------

def stage_ingest(store, paths: Sequence[Path | str], rep: Reporter) -> StageResult:
    if not paths:
        return StageResult("ingest", "failed", "no report paths given and no examples/reports folder found")
    res = ingest_paths(store, [str(p) for p in paths])
    d = res.to_dict()
    for f in res.failed:
        rep.note(f"[red]{f.path}{':' + str(f.line) if f.line else ''}: {f.error}")
    summary = (f"{d['new_reports']} new, {d['new_versions']} new version(s), {d['unchanged']} unchanged report(s); "
               f"{d['claims_stored']} claims stored ({d['new_claims']} new), {d['references_stored']} references")
    status = "done" if res.ok else ("partial" if d["reports_stored"] or d["unchanged"] else "failed")
    return StageResult("ingest", status, summary, detail={k: v for k, v in d.items() if k != "files"})


def stage_papers(store, rep: Reporter, *, online: bool, fixtures_dir: Optional[Path]) -> StageResult:
    ids = P.referenced_ids(store)
    if not ids:
        return StageResult("papers", "skipped", "no references in the store")
    detail: dict[str, Any] = {"referenced": ids, "mode": "online" if online else "offline"}
    failed: dict[str, str] = {}
    fetched: list[str] = []
    if online:
        tick = rep.bar("fetching papers from arXiv", len(ids))
        res = P.fetch_papers(store, ids, progress=lambda pid, msg: tick(advance=0, description=f"{pid}: {msg}"))
        rep.bar_done()
        fetched = list(res.fetched)
        failed = dict(res.failed)
        detail["fetch"] = res.as_dict()
    todo = [i for i in ids if i not in fetched]
    imported: list[str] = []
    missing: list[str] = []
    if todo:
        if fixtures_dir is None or not Path(fixtures_dir).is_dir():
            missing = todo
        else:
            if online:
                rep.note(f"[yellow]could not reach arXiv for {', '.join(todo)}: falling back to the bundled "
                         f"arXiv API responses in {fixtures_dir}")
            else:
                rep.note(f"[yellow]offline: importing the bundled arXiv API responses from {fixtures_dir} "
                         f"(use --online to fetch from arXiv)")
            for pid in todo:
                f = Path(fixtures_dir) / f"{pid}.atom"
                if f.is_file():
                    imported += P.import_atom(store, f)
                else:
                    missing.append(pid)
    detail.update(imported=imported, missing=missing, fixtures_dir=str(fixtures_dir) if fixtures_dir else None)
    parts = []
    if fetched:
        parts.append(f"{len(fetched)} fetched from arXiv")
    if imported:
        parts.append(f"{len(set(imported) & set(ids))} imported from the bundled fixtures (offline)")
    if missing:
        parts.append(f"{len(missing)} not available: {', '.join(missing)}")
    status = "done" if not missing else "partial"
    return StageResult("papers", status, "; ".join(parts) or "nothing to do", detail=detail)


def stage_evidence(store, rep: Reporter) -> StageResult:
    tick = rep.bar("evidence (embedding claims and sentences)", None)

    def progress(done: int, total: int) -> None:
        tick(completed=done, total=total)

    summ = compute_evidence(store, progress=progress)
    rep.bar_done()
    d = summ.as_dict()
    verdicts = ", ".join(f"{n} {k}" for k, n in sorted(d["verdicts"].items())) or "none"
    summary = (f"{d['claims']} claims against the cited papers with {d['model']}: {verdicts}; "
               f"{len(d['flags'])} flag(s), {len(d['repaired'])} truncated claim(s) repaired")
    return StageResult("evidence", "done", summary,
                       detail={"model": d["model"], "verdicts": d["verdicts"], "flags": len(d["flags"]),
                               "repaired": d["repaired"], "skipped": d["skipped"], "timings_s": d["timings_s"],
                               "embedding_cache": d["embedding_cache"]})


def stage_reproduce(store, rep: Reporter, *, profile: str, device: str, seeds: Optional[list[int]],
                    n_seeds: Optional[int], extended: bool, proxy: bool = False,
                    precision: Optional[str] = None, threads: Any = None, jobs: Any = None) -> StageResult:
    registry = load_registry()
    opts = Options(seeds=seeds, n_seeds=n_seeds, profile=profile, device=device, extended=extended, proxy=proxy,
                   precision=precision, threads=threads, jobs=jobs)
    if "auto" in (precision, threads) and load_calibration() is None:
        rep.note("calibrating this machine once (precision and threads by measurement, about a minute)")
        run_calibration()
    result = build_plans(store, registry, [], opts, all_claims=True)
    left_out = {} if proxy else leave_out_missing_benchmarks(result)
    todo = [sl for p in result.plans if not (p.error or p.data_guard) for sl in p.slots
            if sl.state in ("pending", "stale", "killed", "failed")]
    done = sum(1 for p in result.plans for sl in p.slots if sl.state in ("finished", "reuse"))
    est = result.estimate_s()  # wall clock: the runs side by side share it
    measured = sum(1 for sl in todo if (sl.estimate_source or "").startswith(("measured", "calibrated")))
    real = sorted({b["task"] for p in result.plans for b in p.benchmarks if b.get("benchmark") == "real"})
    rep.note(f"benchmarks: {', '.join(real) or 'none'} real; the rest on the LibreOffice proxy (LOGT)"
             + (" (--proxy)" if proxy else ""))
    notes: dict[str, list[str]] = {}  # note -> the experiments it is about (suites share their notes)
    for p in result.plans:
        for b in p.benchmarks:
            if b.get("note") and not proxy and p.experiment.name not in notes.setdefault(b["note"], []):
                notes[b["note"]].append(p.experiment.name)
    for note, names in sorted(notes.items()):
        who = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
        rep.note(f"[yellow]{who}: {note}")
    for name, why in left_out.items():
        rep.note(f"[yellow]{name}: not run: {why}")
    rep.note(f"{len(result.plans)} experiment(s) test {sum(len(p.claims) for p in result.plans)} claim(s): "
             f"{len(todo)} run(s) to do, {done} already finished; estimated {est / 60:.0f} min "
             f"({measured} of {len(todo)} estimates from this machine's calibration or runs)"
             + (f"; {result.side_by_side['runs']} runs at a time" if (result.side_by_side or {}).get("runs", 1) > 1 else ""))
    run_plans(store, result, opts, reporter=rep.reproduce_reporter())
    judge_plans(store, result)
    d = result.to_dict()
    runnable = [p for p in result.plans if not (p.error or p.data_guard)]
    cannot = {p.experiment.name: (p.error or f"data guard: {p.data_guard}") for p in result.plans
              if p.error or p.data_guard}
    for name, why in cannot.items():
        rep.note(f"[yellow]{name}: cannot run here: {why}")
    outcomes: dict[str, int] = {}
    for v in result.verdicts:
        if "outcome" in v:
            outcomes[v["outcome"]] = outcomes.get(v["outcome"], 0) + 1
    summary = (f"{len(runnable)} experiment(s) in the {profile} profile: {result.ran} run(s) trained, "
               f"{result.reused} already finished/reused, {result.failed} failed; verdicts: "
               + (", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "none")
               + f"; {len(result.unlinked)} claim(s) no experiment can test")
    refused = [v for v in result.verdicts if v.get("rule_not_registered")]
    for v in refused:
        rep.note(f"[red]{v['experiment']}: not judged: {v['skipped']}")
    status = "done" if not (result.failed or refused) else "partial"
    return StageResult("reproduce", status, summary,
                       detail={"experiments": [p["experiment"] for p in d["experiments"]], "cannot_run": cannot,
                               "not_run": left_out,
                               "ran": result.ran, "reused": result.reused, "failed": result.failed,
                               "verdicts": outcomes, "untestable": d["untestable"], "estimate_s": round(est, 1)})


def leave_out_missing_benchmarks(result) -> dict[str, str]:
    """The main job runs a claim on its own benchmark or on a proxy for what no real set covers, never on a
    proxy standing in for a real set that is merely not at hand (XNLI, which never ships, until it is
    registered): LibreOffice sentence pairs say nothing about NLI, and such a run costs minutes. Those
    plans are taken out of `result` (experiment -> why); `claims reproduce ID` still runs them on the
    proxy, with the same note, and `claims verify --proxy` runs every proxy."""
    left: dict[str, str] = {}
    keep = []
    for p in result.plans:
        rows = [b for b in p.benchmarks if b.get("benchmark") == "proxy" and not_at_hand(b.get("real"))]
        missing = sorted({b["real"] for b in rows})
        if p.benchmarks and not (p.error or p.data_guard) and len(rows) == len(p.benchmarks):
            left[p.experiment.name] = (f"{'; '.join(not_at_hand(r) for r in missing)}; `claims data add {missing[0]} "
                                       f"DIR` runs it on the real set, `claims reproduce` on the LibreOffice proxy")
        else:
            keep.append(p)
    result.plans = keep
    return left


def stage_report(store, output: Path | str, fmt: Optional[str]) -> StageResult:
    fmt_name = fmt or format_for_path(output) or "html"
    data = stream_report(store)  # claims written a chunk at a time: bounded memory on large stores
    out = Path(output)
    write_chunks(out, render_chunks(data, fmt_name))
    t = data["totals"]
    summary = (f"{out} ({fmt_name}): {t['reports']} report(s), {t['claims']} claims, {t['with_problem']} with a "
               f"problem, {t['reproduced_claims']} re-measured, {t['report_flags']} report-level flag(s)")
    return StageResult("report", "done", summary, detail={"path": str(out), "totals": t})


# --- the job --------------------------------------------------------------------------------------

def verify(
    store,
    paths: Optional[Sequence[Path | str]] = None,
    *,
    output: Path | str = "report.html",
    fmt: Optional[str] = None,
    online: bool = False,
    fixtures_dir: Optional[Path | str] = None,
    skip_reproduce: bool = False,
    profile: str = "quick",
    device: str = "auto",
    seeds: Optional[list[int]] = None,
    n_seeds: Optional[int] = None,
    extended: bool = False,
    proxy: bool = False,
    reporter: Optional[Reporter] = None,
    precision: Optional[str] = None,
    threads: Any = None,
    jobs: Any = None,
) -> VerifyResult:
    """Run the whole job on `store`. Raises PipelineInterrupted (with the partial result) on Ctrl-C."""
    rep = reporter or Reporter()
    paths = list(paths) if paths else default_report_paths()
    fixtures = Path(fixtures_dir) if fixtures_dir else default_fixtures_dir()
    result = VerifyResult()
    t_all = time.perf_counter()
    plan: list[tuple[str, str, Callable[[], StageResult]]] = [
        ("ingest", f"ingesting {', '.join(str(p) for p in paths) or '(nothing)'}",
         lambda: stage_ingest(store, paths, rep)),
        ("papers", "fetching the cited papers from arXiv" if online else
         f"cited papers, offline, from the bundled fixtures ({fixtures})",
         lambda: stage_papers(store, rep, online=online, fixtures_dir=fixtures)),
        ("evidence", "finding each claim's evidence in the cited papers", lambda: stage_evidence(store, rep)),
        ("reproduce", f"re-running every claim's linked experiment ({profile} profile, resumable)",
         (lambda: StageResult("reproduce", "skipped", "--skip-reproduce")) if skip_reproduce else
         (lambda: stage_reproduce(store, rep, profile=profile, device=device, seeds=seeds, n_seeds=n_seeds,
                                  extended=extended, proxy=proxy, precision=precision,
                                  threads=threads, jobs=jobs))),
        ("report", f"writing {output}", lambda: stage_report(store, output, fmt)),
    ]
    for i, (name, what, fn) in enumerate(plan, 1):
        rep.stage_start(i, name, what)
        t0 = time.perf_counter()
        try:
            sr = fn()
        except KeyboardInterrupt:
            sr = StageResult(name, "interrupted", "interrupted; finished work is kept, run again to resume",
                             seconds=time.perf_counter() - t0)
            result.stages.append(sr)
            result.seconds = time.perf_counter() - t_all
            rep.stage_end(sr)
            raise PipelineInterrupted(name, result) from None
        except Exception as exc:  # noqa: BLE001 - one stage failing must not hide the others' results
            sr = StageResult(name, "failed", f"{type(exc).__name__}: {exc}")
        sr.seconds = time.perf_counter() - t0
        result.stages.append(sr)
        rep.stage_end(sr)
        if name == "report" and sr.status == "done":
            result.report_path = sr.detail.get("path")
    result.seconds = time.perf_counter() - t_all
    return result
