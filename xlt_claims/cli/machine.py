"""`claims machine`: the precision and thread count this machine's runs use, and why (a thin wrapper
over reproduce.machine: the cached calibration, the choice, the load right now)."""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.table import Table
from typing_extensions import Annotated

from .common import JsonOption, console, err_console, print_json


def _mfu(cal: dict[str, Any], p: str, t: str) -> str:
    step, peak = (cal.get("step_s") or {}).get(p, {}).get(t), (cal.get("matmul_gflops") or {}).get(p, {}).get(t)
    if not step or not peak or not cal.get("step_flops"):
        return "-"
    return f"{100 * cal['step_flops'] / step / 1e9 / peak:.0f}%"


def machine_cmd(
    recalibrate: Annotated[bool, typer.Option("--recalibrate", help="Measure again (e.g. after a calibration "
                                              "taken under load) and replace the cached one.")] = False,
    json_out: JsonOption = False,
) -> None:
    """This machine's calibration (fp32 and bf16, 1 and 2 threads), the setting runs use and why, and
    what the next run would use under the load right now. Measures once per machine (about a minute)."""
    from ..reproduce.machine import calibration, choose, choose_jobs, load_calibration, machine_settings, sense_load
    if recalibrate or load_calibration() is None:
        err_console.print("calibrating this machine (once per CPU and torch version, about a minute)")
    cal = calibration(recalibrate=recalibrate)
    prec, thr, pwhy, twhy = choose(cal)
    runs, each, jwhy = choose_jobs(cal)
    load = sense_load()
    ms = machine_settings("auto", "auto", calibrate_if_missing=False, load=load)
    out = {"identity": cal["identity"], "calibration": {k: cal.get(k) for k in (
               "shape", "matmul_gflops", "step_s", "forward_s", "step_flops", "load_s", "skipped", "measured_at",
               "load", "seconds", "omp_wait_policy", "side_by_side")},
           "cache": cal.get("path"), "chosen": {"precision": prec, "threads": thr, "why": [pwhy, twhy],
                                                "runs_at_a_time": runs, "threads_each": each, "runs_why": jwhy},
           "now": {"load": load, "precision": ms.precision, "threads": ms.threads, "why": ms.why}}
    if json_out:
        print_json(out)
        return
    ident = cal["identity"]
    console.print(f"[bold]{ident['cpu']}[/], {ident['cores']} cores, torch {ident['torch']}, native bf16 flags: "
                  f"{', '.join(ident['bf16_flags']) or 'none'}", highlight=False)
    cl = cal.get("load") or {}
    console.print(f"calibrated {cal.get('measured_at')} in {cal.get('seconds')} s; other processes then kept "
                  f"{cl.get('others_busy_cores', '?')} of {cl.get('cores', '?')} cores busy (load average "
                  f"{cl.get('loadavg_1m', '?')})", highlight=False)
    if (cl.get("others_busy_cores") or 0) >= 0.5:
        console.print("[yellow]measured under load: run `claims machine --recalibrate` on a quiet machine[/]")
    sh = cal["shape"]
    t = Table(show_header=True, header_style="bold", box=None, pad_edge=False,
              title=f"training step: batch {sh['batch']} x {sh['seq']} tokens", title_justify="left")
    for c in ("precision", "threads", "matmul GFLOP/s", "step", "forward", "MFU"):
        t.add_column(c, justify="left" if c == "precision" else "right")
    for p in sorted(cal.get("matmul_gflops") or {}):
        for th in sorted(cal["matmul_gflops"][p], key=int):
            step = (cal.get("step_s") or {}).get(p, {}).get(th)
            fwd = (cal.get("forward_s") or {}).get(p, {}).get(th)
            t.add_row(p, th, f"{cal['matmul_gflops'][p][th]:.1f}", f"{step * 1000:.0f} ms" if step else "skipped",
                      f"{fwd * 1000:.0f} ms" if fwd else "-", _mfu(cal, p, th))
    console.print(t)
    for p, why in (cal.get("skipped") or {}).items():
        console.print(f"  {p} skipped: {why}", highlight=False)
    console.print(f"[bold]chosen[/]: {prec}, {thr} thread{'s' if thr > 1 else ''}", highlight=False)
    for w in (pwhy, twhy):
        console.print(f"  {w}", highlight=False)
    for p, sbs in (cal.get("side_by_side") or {}).items():
        if "step_s" in sbs:
            console.print(f"side by side ({p}): {sbs['procs']} processes x {sbs['threads']} thread: step "
                          f"{sbs['step_s'] * 1000:.0f} ms, forward {sbs['forward_s'] * 1000:.0f} ms each", highlight=False)
    console.print(f"[bold]runs at a time[/] (--jobs auto on a quiet machine): {runs}", highlight=False)
    console.print(f"  {jwhy}", highlight=False)
    console.print(f"[bold]next run[/] (load now: others busy {load.get('others_busy_cores')} of {load['cores']} "
                  f"cores, load average {load.get('loadavg_1m')}): {ms.precision}, {ms.threads} "
                  f"thread{'s' if (ms.threads or 1) > 1 else ''}", highlight=False)
    if ms.threads_source == "load" or "kept beside" in (ms.why[-1] if ms.why else ""):
        console.print(f"  {ms.why[-1]}", highlight=False)
    console.print(f"OpenMP wait policy: {os.environ.get('OMP_WAIT_POLICY') or 'default (spin)'}", highlight=False)
    console.print(f"cache: {cal.get('path')}", highlight=False)
