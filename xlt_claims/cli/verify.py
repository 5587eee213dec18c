"""`claims verify`, the main job (a thin wrapper over xlt_claims.pipeline.verify)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from typing_extensions import Annotated

from .common import (DbOption, DeviceOption, JobsOption, JsonOption, PrecisionOption, ProxyOption, ThreadsOption,
                     err_console, fail, message, open_store_or_fail,
                     parse_jobs_option, parse_machine, parse_seeds, print_json, safe, sigterm_as_interrupt)
from .reproduce import RichReporter

_STYLE = {"done": "green", "skipped": "dim", "failed": "red", "interrupted": "yellow",
          "partial": "yellow"}


class RichPipelineReporter:
    """Stage headers, one progress bar at a time, and the reproduce runner's own rich progress."""

    def __init__(self) -> None:
        self._progress = None
        self._task = None

    def stage_start(self, index: int, name: str, what: str) -> None:
        err_console.rule(f"[bold]{index}/5 {name}[/]: {what}", align="left", style="dim")

    def stage_end(self, result) -> None:
        style = _STYLE.get(result.status, "white")
        err_console.print(f"[{style}]{safe(result.status)}[/] in {result.seconds:.1f} s: {safe(result.summary)}",
                          highlight=False)

    def note(self, text: str) -> None:
        err_console.print(message(text), highlight=False)

    def bar(self, description: str, total: Optional[int]) -> Callable[..., None]:
        self.bar_done()
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(safe(description), total=total)

        def tick(advance: Optional[int] = None, **kw: Any) -> None:
            if self._progress is None:
                return
            if advance:
                kw["advance"] = advance
            if "description" in kw:
                kw["description"] = safe(kw["description"])
            self._progress.update(self._task, **kw)

        return tick

    def bar_done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def reproduce_reporter(self) -> RichReporter:
        return RichReporter()


def verify_cmd(
    paths: Annotated[Optional[List[Path]], typer.Argument(
        help="Report files or folders (default: examples/reports of the current folder or of the package's "
             "repository)")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Report file (.html, .md or .json)")] = Path("report.html"),
    skip_reproduce: Annotated[bool, typer.Option("--skip-reproduce", help="Only ingest, papers, evidence and the report.")] = False,
    profile: Annotated[str, typer.Option("--profile", help="quick | paper")] = "quick",
    online: Annotated[bool, typer.Option("--online", help="Fetch the cited papers from arXiv (falls back to the "
                                                         "bundled fixtures for any it cannot reach).")] = False,
    fixtures: Annotated[Optional[Path], typer.Option("--fixtures", help="Folder of arXiv API Atom responses "
                                                                       "(default: examples/arxiv)")] = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Seed count (e.g. 5) or list (1,2,3) "
                                                                "(default: each experiment's)")] = None,
    device: DeviceOption = "auto",
    precision: PrecisionOption = "auto",
    threads: ThreadsOption = "auto",
    jobs: JobsOption = "auto",
    extended: Annotated[bool, typer.Option("--extended", help="Also run extended-tier experiments.")] = False,
    proxy: ProxyOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """The main job: ingest the reports, get their cited papers, find evidence, re-run every claim the
    offline default can test, and write the verification report. Interrupt any time; run it again to
    resume (finished runs are never redone)."""
    from ..pipeline import PipelineInterrupted, Reporter, verify
    if profile not in ("quick", "paper"):
        fail(f"--profile {profile!r}: use quick or paper")
    seed_list, n_seeds = parse_seeds(seeds)
    precision_, threads_ = parse_machine(precision, threads)
    jobs_ = parse_jobs_option(jobs)
    for p in paths or []:
        if not p.exists():
            fail(f"{p}: no such file or folder")
    store = open_store_or_fail(db)
    reporter = Reporter() if json_out else RichPipelineReporter()
    try:
        with sigterm_as_interrupt():
            result = verify(store, paths, output=output, online=online, fixtures_dir=fixtures,
                            skip_reproduce=skip_reproduce, profile=profile, device=device, seeds=seed_list,
                            n_seeds=n_seeds, extended=extended, proxy=proxy, reporter=reporter,
                            precision=precision_, threads=threads_, jobs=jobs_)
    except PipelineInterrupted as exc:
        if isinstance(reporter, RichPipelineReporter):
            reporter.bar_done()
        err_console.print(f"[yellow]interrupted during {safe(exc.stage)}: finished work is kept in {safe(store.url)}; "
                          f"run the same command again to resume[/]", highlight=False)
        if json_out:
            print_json(exc.result.to_dict())
        raise typer.Exit(130)
    finally:
        store.close()
    if json_out:
        print_json(result.to_dict())
    else:
        err_console.print(f"[bold]{'done' if result.ok else 'finished with problems'}[/] in "
                          f"{result.seconds / 60:.1f} min; report: {safe(result.report_path or '(not written)')}",
                          highlight=False)
    if not result.ok:
        raise typer.Exit(1)
