"""`claims reproduce --executor slurm` and `--status` (thin wrapper over reproduce.slurm and verdict.judge)."""

from __future__ import annotations

from typing import List, Optional

import typer

from .common import console, err_console, fail, open_store_or_fail, parse_seeds, print_json, safe


def _slurm_options(partition, gpus_per_task, time_min, array_parallelism, sbatch, slurm_config, slurm_folder,
                   no_wait):
    from ..reproduce.slurm import load_slurm_config, parse_sbatch_flags, slurm_options
    config = load_slurm_config(slurm_config) if slurm_config else None
    sopts = slurm_options(config, partition=partition, gpus_per_task=gpus_per_task, time_min=time_min,
                          array_parallelism=array_parallelism, sbatch=parse_sbatch_flags(sbatch), folder=slurm_folder)
    sopts.wait = not no_wait
    return sopts


def _print_status(st: dict, console) -> None:
    queue = ", ".join(f"{v} {k.lower()}" for k, v in sorted(st["queue"].items())) or "none in the queue"
    runs = ", ".join(f"{v} {k.lower()}" for k, v in sorted(st["runs"].items()))
    console.print(f"job array {st['job_id']} ({st['tasks']} task(s), submitted {st['submitted_at']})", highlight=False)
    console.print(f"  queue: {queue}; {st['left_queue']} task(s) left the queue", highlight=False)
    console.print(f"  runs in the store: {runs}", highlight=False)
    if st["marked_killed"]:
        console.print(f"  marked KILLED now (task gone, run unfinished): runs {st['marked_killed']}", highlight=False)
    console.print(f"  machine flags of the tasks: {safe(st.get('machine_flags') or 'auto')}", highlight=False)
    console.print(f"  store {safe(st['db'])}; logs {safe(st['folder'])}/{st['job_id']}_*", highlight=False)


def reproduce_slurm_cmd(registry, *, targets: List[str], all_: bool, seeds: Optional[str], profile: Optional[str],
                        model: Optional[str], data: Optional[str], device: str, extended: bool,
                        proxy: bool = False, precision: Optional[str] = "auto", threads: Optional[str] = "auto",
                        jobs: Optional[str] = "auto",
                        partition: Optional[str], gpus_per_task: Optional[int], time_min: Optional[int],
                        array_parallelism: Optional[int], sbatch: Optional[List[str]], slurm_config: Optional[str],
                        slurm_folder: Optional[str], no_wait: bool, status: bool, db: Optional[str],
                        json_out: bool) -> None:
    from ..reproduce.links import LinkError
    from ..reproduce.runner import Options, ReproduceError
    from ..reproduce.tasks import TaskError
    from ..reproduce.slurm import status as array_status, latest_submission, reproduce_on_slurm
    from ..verdict.judge import judge_plans
    from .common import parse_jobs_option, parse_machine
    from .reproduce import RichReporter, print_verdicts

    try:
        sopts = _slurm_options(partition, gpus_per_task, time_min, array_parallelism, sbatch, slurm_config,
                               slurm_folder, no_wait)
    except ReproduceError as exc:
        fail(str(exc))
    store = open_store_or_fail(db)
    try:
        if status:
            sub = latest_submission(sopts.folder)
            if sub is None:
                fail(f"no job array was submitted from job folder {sopts.folder!r} (see --slurm-folder)")
            st = array_status(store, sub)
            if json_out:
                print_json(st)
            else:
                _print_status(st, console)
            return
        if profile and profile not in ("quick", "paper"):
            fail(f"--profile {profile!r}: use quick or paper")
        if not targets and not all_:
            fail("give claim ids or experiment names, or --all")
        seed_list, n_seeds = parse_seeds(seeds)
        if proxy and data:
            fail("--proxy and --data exclude each other (--data reads the real benchmark)")
        # --precision / --threads / --jobs travel to the array tasks as given; "auto" (the default) is
        # resolved on each node by its own calibration and load, never by the submitting machine's
        precision_, threads_ = parse_machine(precision, threads)
        jobs_ = parse_jobs_option(jobs)
        opts = Options(seeds=seed_list, n_seeds=n_seeds, profile=profile, model=model, data_dir=data, proxy=proxy,
                       device=device, extended=extended, precision=precision_, threads=threads_, jobs=jobs_)
        reporter = None if json_out else RichReporter()
        out = reproduce_on_slurm(store, registry, targets, opts, sopts, all_claims=all_, reporter=reporter,
                                 judge=judge_plans)
    except (LinkError, ReproduceError, TaskError) as exc:
        fail(str(exc))
    finally:
        store.close()
    if json_out:
        print_json(out.to_dict())
    else:
        if out.submission is None and not out.judged:
            console.print("nothing to submit", highlight=False)
        if not sopts.wait and out.submission is not None:
            console.print(f"submitted job array {out.submission.job_id} ({out.submission.n_tasks} task(s)); "
                          "`claims reproduce --executor slurm --status` follows it, the same command again judges",
                          highlight=False)
        for i, e in sorted(out.task_errors.items()):
            err_console.print(f"[red]task {i} failed:[/] {safe(e)}", highlight=False)
        if out.unfinished:
            err_console.print(f"[yellow]{len(out.unfinished)} run(s) not finished: {safe(', '.join(out.unfinished[:6]))}"
                              f"{' ...' if len(out.unfinished) > 6 else ''}; submit again to re-run them", highlight=False)
        print_verdicts(out.result, console)
        for p in out.result.plans:
            if p.error:
                err_console.print(f"[red]{safe(p.experiment.name)}: not run: {safe(p.error)}", highlight=False)
    if out.judged and (out.result.failed or out.unfinished or any(p.error for p in out.result.plans)):
        raise typer.Exit(1)
