"""CLI verbs `claims reproduce` and `claims link` (thin wrappers over reproduce.runner, verdict.judge and
reproduce.links)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typing_extensions import Annotated

from .common import (DbOption, DeviceOption, ExtendedOption, JobsOption, JsonOption, PrecisionOption, ProxyOption, RegistryOption,
                     SeedsOption, ThreadsOption, console, err_console, fail, message, open_store_or_fail, parse_jobs_option, parse_machine, parse_seeds, print_json, safe,
                     sigterm_as_interrupt, stacked_row, stacked_table)


def _registry(dirs: Optional[List[str]]):
    from ..reproduce.registry import RegistryError, load_registry
    try:
        if dirs and len(dirs) == 1 and ":" in dirs[0]:
            dirs = [d for d in dirs[0].split(":") if d]
        return load_registry(dirs or None)
    except RegistryError as exc:
        fail(str(exc))


class RichReporter:
    """Rich progress on stderr: one bar over runs, one for the current run's training steps."""

    def __init__(self) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err_console, transient=False)
        self.total = None
        self.run_task = None
        self.run_label = ""

    def start(self, total: int) -> None:
        self.progress.start()
        self.total = self.progress.add_task("runs", total=total)

    def begin_run(self, slot) -> None:
        if self.run_task is not None:
            self.progress.remove_task(self.run_task)
        self.run_label = f"  {safe(slot.label())}"
        self.run_task = self.progress.add_task(self.run_label, total=None)

    def train_progress(self, *args: Any, **kwargs: Any) -> None:
        if self.run_task is None:
            return
        nums = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        label = next((a for a in args if isinstance(a, str)), None)
        upd: dict[str, Any] = {}
        if len(nums) >= 2 and nums[1]:
            upd.update(completed=nums[0], total=nums[1])
        for k in ("step", "completed"):
            if k in kwargs:
                upd["completed"] = kwargs[k]
        if "total" in kwargs and kwargs["total"]:
            upd["total"] = kwargs["total"]
        if label:
            upd["description"] = f"{self.run_label} \\[{safe(label)}]"
        if upd:
            self.progress.update(self.run_task, **upd)

    def advance(self, text: Optional[str]) -> None:
        if text:
            self.progress.console.print(message(text), highlight=False)
        if self.total is not None:
            self.progress.advance(self.total)

    def note(self, text: str) -> None:
        self.progress.console.print(message(text), highlight=False)

    def stop(self) -> None:
        if self.run_task is not None:
            self.progress.remove_task(self.run_task)
            self.run_task = None
        self.progress.stop()


def _fmt_s(s: Optional[float]) -> str:
    if s is None:
        return "?"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def _print_plan(result, console) -> None:
    from ..verdict.display import benchmark_words
    total = 0.0
    for p in result.plans:
        d = p.to_dict()
        tasks = ", ".join(b["task"] for b in p.benchmarks) or p.task_name
        head = (f"[bold]{safe(p.experiment.name)}[/] ({safe(p.experiment.tier)}) task {safe(tasks)}"
                f"{' [proxy]' if p.proxy_data else ''}, model {safe(p.model)}, profile {safe(p.profile)}, "
                f"seeds {safe(p.seeds)}")
        console.print(head, highlight=False)
        for b in p.benchmarks:
            console.print(f"  reads {safe(benchmark_words(b))}", highlight=False)
        for cid in p.claims:
            console.print(f"  claim {safe(cid)}: {safe(p.claim_texts.get(cid, ''), 100)}", highlight=False)
        if not p.claims:
            console.print("  (no claim linked)")
        dec = p.experiment.decision
        bar = f"the claim's number x {dec.magnitude_fraction}" if dec.claimed else dec.min_effect
        console.print(f"  metric {safe(dec.metric)}, bar: {safe(bar)}", highlight=False)
        for w in p.warnings:
            console.print(f"  [yellow]warning: {safe(w)}", highlight=False)
        if p.error:
            console.print(f"  [red]cannot run: {safe(p.error)}", highlight=False)
            continue
        if p.data_guard:
            console.print(f"  [red]data guard refused: {safe(p.data_guard)} -> verdict invalid", highlight=False)
            continue
        t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for c in ("arm", "seed", "state", "estimate", "basis"):
            t.add_column(c)
        for r in d["runs"]:
            todo = r["state"] in ("pending", "stale", "killed", "failed", "shared")
            t.add_row(safe(r["arm"]), str(r["seed"]), safe(r["state"]), _fmt_s(r["estimate_s"]) if todo else "-",
                      safe(r["estimate_source"]) if todo else (f"run {r['run_id']}" if r["run_id"] else ""))
        console.print(t)
        console.print(f"  to run: {_fmt_s(d['estimate_s'])}", highlight=False)
        total += d["estimate_s"]
    if result.unlinked:
        console.print("[bold]Claims no experiment tests[/] (they keep their textual verdict):")
        for cid, why in result.unlinked.items():
            console.print(f"  {safe(cid)} {safe(repr(result.unlinked_texts.get(cid, '')[:90]))}\n      -> {safe(why)}",
                          highlight=False)
    sbs = result.side_by_side or {}
    runs = int(sbs.get("runs") or 1)
    if sbs:
        console.print(f"runs at a time: {runs} ({safe(sbs.get('why', ''))})", highlight=False)
    console.print(f"[bold]estimated total[/]: {_fmt_s(total / runs)}"
                  f"{f' ({_fmt_s(total)} of runs, {runs} at a time)' if runs > 1 else ''} (this machine's "
                  "calibration where it is calibrated, else measured run times)", highlight=False)


def print_verdicts(result, console) -> None:
    for v in result.verdicts:
        if "skipped" in v:
            err_console.print(f"[red]{safe(v['experiment'])}: verdict skipped: {safe(v['skipped'])}", highlight=False)
            continue
        ci = v["ci"]
        eff = "n/a" if v["effect"] is None else f"{v['effect']:+.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"
        conf = v["confidence"]
        console.print(f"[bold]{safe(v['claim_id'])}[/] {safe(v['experiment'])}: [bold]{safe(v['outcome'])}[/]"
                      f"{' (proxy)' if v['proxy'] else ''}, effect {eff}, {v['n_seeds']} seed(s)"
                      f"{'' if conf is None else f', confidence {conf:.2f}'} - {safe(v['reason'])}", highlight=False)


def _research_tables(store, result) -> dict[str, tuple[list, str]]:
    """Research-question tables of the experiments just run (e.g. the OT sweep's effect vs blur)."""
    from ..report.research import research_table
    out = {}
    for p in result.plans:
        name = p.experiment.name
        if name not in out and not p.error:
            table = research_table(store, name)
            if table is not None and table[0]:
                out[name] = table
    return out


def reproduce_cmd(
    targets: Annotated[Optional[List[str]], typer.Argument(help="Claim ids (or unique prefixes) or experiment names.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every claim in the store.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan, run states and time estimates; run nothing.")] = False,
    seeds: SeedsOption = None,
    profile: Annotated[Optional[str], typer.Option("--profile", help="quick | paper [default: the file's]")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Encoder id or path [default: the file's, offline e5-small]")] = None,
    data: Annotated[Optional[str], typer.Option("--data", help="Folder with the claim's real benchmark (XNLI/PAWS-X/XQuAD files).")] = None,
    proxy: ProxyOption = False,
    device: DeviceOption = "auto",
    precision: PrecisionOption = "auto",
    threads: ThreadsOption = "auto",
    jobs: JobsOption = "auto",
    extended: ExtendedOption = False,
    list_: Annotated[bool, typer.Option("--list", help="List the registered experiments and exit.")] = False,
    executor: Annotated[str, typer.Option("--executor", help="local (this process) | slurm (one job array)")] = "local",
    partition: Annotated[Optional[str], typer.Option("--partition", help="slurm: partition [default: the config's, else the cluster's]")] = None,
    gpus_per_task: Annotated[Optional[int], typer.Option("--gpus-per-task", help="slurm: GPUs per array task")] = None,
    time_min: Annotated[Optional[int], typer.Option("--time-min", help="slurm: time limit per task, minutes [60]")] = None,
    array_parallelism: Annotated[Optional[int], typer.Option("--array-parallelism", help="slurm: tasks running at once")] = None,
    sbatch: Annotated[Optional[List[str]], typer.Option("--sbatch", help="slurm: extra sbatch option KEY=VALUE (repeatable)")] = None,
    slurm_config: Annotated[Optional[str], typer.Option("--slurm-config", help="slurm: TOML file with a [slurm] table")] = None,
    slurm_folder: Annotated[Optional[str], typer.Option("--slurm-folder", help="slurm: job folder on the shared filesystem [slurm-jobs]")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="slurm: submit and return; --status follows it")] = False,
    status: Annotated[bool, typer.Option("--status", help="slurm: where the latest job array stands")] = False,
    new_rule: Annotated[bool, typer.Option("--new-rule", help="Register a changed [decision] block as a new rule "
                                           "version and judge with it (its verdicts say it came after their data).")] = False,
    until_decided: Annotated[bool, typer.Option("--until-decided", help="Add seeds to undecided experiments at looks "
                                                "fixed in advance, each decided at alpha / looks.")] = False,
    max_seeds: Annotated[Optional[int], typer.Option("--max-seeds", help="With --until-decided: the most seeds.")] = None,
    reproductions: RegistryOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Re-run the experiments linked to claims and move their status from what was measured."""
    from ..reproduce.links import LinkError
    from ..reproduce.runner import Options, ReproduceError, reproduce
    from ..reproduce.tasks import TaskError
    from ..verdict.judge import judge_plans
    from ..verdict.sequential import run_until_decided
    registry = _registry(reproductions)
    if executor not in ("local", "slurm"):
        fail(f"--executor {executor!r}: use local or slurm")
    if (executor == "slurm" and not dry_run and not list_) or status:  # a dry run plans the same with either
        from .slurm import reproduce_slurm_cmd

        reproduce_slurm_cmd(registry, targets=list(targets or []), all_=all_, seeds=seeds, profile=profile,
                            model=model, data=data, proxy=proxy, device=device, precision=precision, threads=threads,
                            jobs=jobs, extended=extended, partition=partition,
                            gpus_per_task=gpus_per_task, time_min=time_min, array_parallelism=array_parallelism,
                            sbatch=sbatch, slurm_config=slurm_config, slurm_folder=slurm_folder, no_wait=no_wait,
                            status=status, db=db, json_out=json_out)
        return
    if list_:
        rows = [e.to_dict() for e in registry]
        if json_out:
            print_json(rows)
            return
        t = stacked_table("experiment", "tier \u00b7 task (proxy / real) \u00b7 metric / arms")
        for e in registry:
            task = f"{e.task.proxy} / {e.task.real or '-'}"
            stacked_row(t, safe(e.name), f"{safe(e.tier)} [dim]\u00b7[/] {safe(task)} [dim]\u00b7[/] {safe(e.decision.metric)}",
                        ("arms: " + safe(", ".join(a.name for a in e.arms))) if e.arms else "")
        console.print(t)
        return
    if profile and profile not in ("quick", "paper"):
        fail(f"--profile {profile!r}: use quick or paper")
    if not targets and not all_:
        fail("give claim ids or experiment names, or --all")
    if until_decided and (max_seeds is None or seeds):
        fail("--until-decided needs --max-seeds N and no --seeds (the looks are fixed in advance)")
    if max_seeds is not None and not until_decided:
        fail("--max-seeds goes with --until-decided")
    seed_list, n_seeds = parse_seeds(seeds)
    if proxy and data:
        fail("--proxy and --data exclude each other (--data reads the real benchmark)")
    precision_, threads_ = parse_machine(precision, threads)
    jobs_ = parse_jobs_option(jobs)
    opts = Options(jobs=jobs_, seeds=seed_list, n_seeds=n_seeds, profile=profile, model=model, data_dir=data, proxy=proxy,
                   device=device, extended=extended, precision=precision_, threads=threads_)
    store = open_store_or_fail(db)
    try:
        with sigterm_as_interrupt():
            reporter = None if (json_out or dry_run) else RichReporter()
            looks: list = []
            if until_decided and not dry_run:
                looks = run_until_decided(store, registry, list(targets or []), opts, max_seeds=max_seeds,
                                          all_claims=all_, reporter=reporter, new_rule=new_rule)
                result = _merged(looks)
            else:
                result = reproduce(store, registry, list(targets or []), opts, all_claims=all_, dry_run=dry_run,
                                   reporter=reporter)
                if not dry_run:
                    judge_plans(store, result, new_rule=new_rule)
            tables = {} if dry_run else _research_tables(store, result)
    except (LinkError, ReproduceError, TaskError, ValueError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted: the current run is marked KILLED; re-run to resume[/]")
        raise typer.Exit(130)
    finally:
        store.close()
    if json_out:
        out = result.to_dict()
        if looks:
            out["looks"] = [{"seeds": n, "verdicts": r.verdicts} for n, r in looks]
        if tables:
            out["research_tables"] = {k: rows for k, (rows, _) in tables.items()}
        print_json(out)
        return
    if dry_run:
        _print_plan(result, console)
        return
    print_verdicts(result, console)
    for name, (_, text) in tables.items():
        console.print(f"\n[bold]{safe(name)}[/]: research-question table (effect vs the swept quantity, per task)")
        console.print(text, highlight=False, markup=False)
    if result.unlinked and not all_:
        for cid, why in result.unlinked.items():
            console.print(f"{safe(cid)}: no experiment: {safe(why)}", highlight=False)
    for p in result.plans:
        if p.error:
            err_console.print(f"[red]{safe(p.experiment.name)}: not run: {safe(p.error)}", highlight=False)
    if result.failed or any(p.error for p in result.plans) or any(v.get("rule_not_registered") for v in result.verdicts):
        raise typer.Exit(1)


def _merged(looks: list) -> Any:
    """One result for the output of a sequential reproduction: the last look's plans, every look's verdicts."""
    last = looks[-1][1]
    return replace(last, verdicts=[v for _, r in looks for v in r.verdicts],
                    ran=sum(r.ran for _, r in looks), reused=sum(r.reused for _, r in looks),
                    failed=sum(r.failed for _, r in looks))


def link_cmd(
    claim: Annotated[Optional[str], typer.Argument(help="Claim id (or unique prefix).")] = None,
    experiment: Annotated[Optional[str], typer.Argument(help="Experiment name to link (or unlink).")] = None,
    unlink: Annotated[bool, typer.Option("--unlink", help="Unlink by hand (wins over the match rule).")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Forget the manual decision; the match rule applies again.")] = False,
    reproductions: RegistryOption = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Show claim-experiment links (from match rules and by hand) and edit them."""
    from ..reproduce.links import LinkError, link_table, reset_link, resolve_claim, set_link, sync_links
    from ..reproduce.registry import RegistryError
    registry = _registry(reproductions)
    store = open_store_or_fail(db)
    try:
        with store.session() as s:
            sync_links(s, registry)
            cid = resolve_claim(s, claim).id if claim else None
            if experiment:
                if reset:
                    reset_link(s, cid, experiment)
                else:
                    set_link(s, registry, cid, experiment, active=not unlink)
                sync_links(s, registry)
            elif unlink or reset:
                fail("--unlink/--reset need a claim and an experiment")
            rows = link_table(s, registry, cid)
    except (LinkError, RegistryError) as exc:
        fail(str(exc))
    finally:
        store.close()
    if json_out:
        print_json(rows)
        return
    t = stacked_table("claim", "experiment \u00b7 origin \u00b7 active \u00b7 tier / description")
    for r in rows:
        meta = (f"{safe(r['experiment'])} [dim]\u00b7 {safe(r['origin'])} \u00b7 "
                f"{'active' if r['active'] else 'unlinked'} \u00b7 {safe(r['tier'] or '?')}[/]")
        stacked_row(t, safe(r["claim_id"]), meta, safe(r["description"], 160))
    console.print(t)
    if not rows:
        console.print("no links (ingest reports first, or add experiments to reproductions/)")
