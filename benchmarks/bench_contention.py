"""Quick-run training steps quiet and beside CPU-bound competitors, old vs new thread policy; fp32 vs
bf16 per step; MFU against the measured matmul peak of the precision used. One run prints the table.

    python benchmarks/bench_contention.py [--steps 4] [--competitors 0,1,2] [--policies old,passive,new]
                                          [--policies old,new,one] [--task logt-cls] [--json out.json]

Policies (each measurement is a fresh worker process, so OMP_WAIT_POLICY is set before the OpenMP
runtime starts):
  old       torch's default: OpenMP threads spin-wait (GNU OpenMP's default), 2 threads (one per core)
  new       what `claims` does: OMP_WAIT_POLICY=PASSIVE + the runner's rule (reproduce.machine.adapt on
            the load the worker senses; with PASSIVE it keeps the quiet choice, --quiet-threads)
  one       PASSIVE, threads dropped to the free cores (adapt's rule for spinning threads): one thread
            on a busy 2-core machine
Competitors are `python -c "while True: pass"` processes started before the worker and killed after.
The worker runs the real train loop (quick profile, logt-cls) for --steps optimizer steps with tiny
dev/test caps and reports its training time per step (evaluation excluded). Ratios are against the
same policy's run without competitors in this invocation; the machine's load average is printed with
every row because other people's processes count too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIN = "while True: pass"


def worker(a: argparse.Namespace) -> None:
    """One measurement (in its own process): prints one JSON line."""
    from xlt_claims.reproduce.machine import adapt, sense_load

    load = sense_load(sample_s=1.0)
    threads = a.threads
    why = None
    if a.adapt:
        threads, why = adapt(a.threads, load, policy="ACTIVE" if a.spin_rule else None)
    from xlt_claims.experiments.data import load_task
    from xlt_claims.experiments.methods import get_method
    from xlt_claims.experiments.train import RunSpec, train_and_evaluate

    overrides = {"max_steps": a.steps, "eval_every": a.steps, "max_dev_examples": 8, "max_test_examples": 8,
                 "max_pair_examples": 4, "max_pair_examples_total": 16, "threads": threads, "precision": a.precision,
                 "log_every": 1}
    res = train_and_evaluate(RunSpec(profile="quick", seed=0, overrides=overrides), load_task(a.task),
                             get_method("baseline"), progress=False)
    m = res.manifest
    steps = [h for h in res.history if "loss" in h]
    per_step = [b["time_s"] - a_["time_s"] for a_, b in zip(steps, steps[1:])]
    print(json.dumps({"threads": threads, "adapt_why": why, "load": load, "train_s": m["timing"]["train_s"],
                      "steps": m["train_steps"], "step_s": m["timing"]["train_s"] / max(1, m["train_steps"]),
                      "step_s_after_first": (sum(per_step) / len(per_step)) if per_step else None,
                      "padded_tokens": m["padded_tokens"], "tokens_per_s": m["tokens_per_s"],
                      "autocast": m["precision"]["autocast"], "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}))


def measure(a: argparse.Namespace, policy: str, n_comp: int, precision: str = "fp32") -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("OMP_WAIT_POLICY", None)
    if policy in ("new", "one"):
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    cmd = [sys.executable, __file__, "--worker", "--task", a.task, "--steps", str(a.steps), "--precision", precision,
           "--threads", str(a.quiet_threads if policy != "old" else 2)]
    if policy == "new":
        cmd.append("--adapt")
    if policy == "one":
        cmd += ["--adapt", "--spin-rule"]
    comps = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n_comp)]
    try:
        time.sleep(1.0 if comps else 0)
        t0 = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    finally:
        for c in comps:
            c.kill()
            c.wait()
    if out.returncode != 0:
        raise SystemExit(f"worker failed ({policy}, {n_comp} competitors):\n{out.stderr[-3000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row.update(policy=policy, competitors=n_comp, process_s=round(wall, 1), loadavg_after=round(os.getloadavg()[0], 2))
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--adapt", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--spin-rule", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="auto", help="fp32 | bf16 | auto (this machine's calibrated choice)")
    ap.add_argument("--task", default="logt-cls")
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per measurement (quick runs do 45)")
    ap.add_argument("--competitors", default="0,1,2")
    ap.add_argument("--policies", default="old,new,one")
    ap.add_argument("--quiet-threads", type=int, default=2, help="the new policy's thread count on a quiet machine")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.worker:
        worker(a)
        return

    from xlt_claims.reproduce.machine import calibration, choose, machine_identity

    ident = machine_identity()
    print(f"machine: {ident['cpu']}, {ident['cores']} cores, torch {ident['torch']}, native bf16 flags: "
          f"{', '.join(ident['bf16_flags']) or 'none'}; load average at start {os.getloadavg()}")
    if a.precision == "auto":
        a.precision = choose(calibration())[0]
    rows = []
    for policy in a.policies.split(","):
        for n in [int(x) for x in a.competitors.split(",")]:
            r = measure(a, policy, n, a.precision)
            rows.append(r)
            print(f"  {policy:8} beside {n}: {r['threads']} thr, {r['step_s']:.2f} s/step "
                  f"(load avg {r['load']['loadavg_1m']}, others busy {r['load'].get('others_busy_cores')})", flush=True)

    # the first step carries one-time work (kernel selection, allocator warm-up) that dominated short
    # measurements: the ratio reads the steps after the first ("steady"); "all" keeps the first
    print(f"\nquick-run training, {a.steps} optimizer steps of {a.task} ({a.precision}), s/step (steady: after the "
          "first step; all: with it); x = steady vs the same policy beside 0 competitors")
    print(f"{'policy':8} {'comp':>4} {'thr':>3} {'steady':>7} {'all':>6} {'x':>5} {'loadavg':>7} {'others':>6}")
    for r in rows:
        base = next((b for b in rows if b["policy"] == r["policy"] and b["competitors"] == 0), None)
        steady = r.get("step_s_after_first") or r["step_s"]
        b_steady = (base.get("step_s_after_first") or base["step_s"]) if base else None
        x = f"{steady / b_steady:.2f}" if b_steady else "-"
        print(f"{r['policy']:8} {r['competitors']:>4} {r['threads']:>3} {steady:7.2f} {r['step_s']:6.2f} {x:>5} "
              f"{r['load']['loadavg_1m']:>7} {r['load'].get('others_busy_cores', '-'):>6}")

    # precision and MFU from this machine's calibration (the encoder step at batch x seq of the calibration)
    cal = calibration()
    prec, thr, pwhy, twhy = choose(cal)
    print(f"\ncalibration ({cal.get('measured_at')}, load then {cal.get('load')}): chosen {prec}, {thr} thread(s)")
    print(f"  {pwhy}\n  {twhy}")
    sh = cal["shape"]
    for p in ("fp32", "bf16"):
        steps = (cal.get("step_s") or {}).get(p)
        if not steps:
            print(f"  {p}: per step skipped: {(cal.get('skipped') or {}).get(p, 'not measured')}")
            continue
        for t, s in sorted(steps.items()):
            peak = cal["matmul_gflops"][p][t]
            mfu = cal["step_flops"] / s / 1e9 / peak
            print(f"  {p} {t} thr: {s * 1000:.0f} ms/step at {sh['batch']}x{sh['seq']}, "
                  f"{cal['step_flops'] / s / 1e9:.1f} GFLOP/s = MFU {100 * mfu:.0f}% of measured {p} peak {peak:.1f}")
    fpt = cal["step_flops"] / (sh["batch"] * sh["seq"])
    for r in rows:
        if r["competitors"] == 0 and r["padded_tokens"]:
            tok_step = r["padded_tokens"] / r["steps"]
            peak = cal["matmul_gflops"].get(a.precision, {}).get(str(r["threads"]))
            if peak:
                print(f"  quick run, {r['policy']} quiet: {tok_step:.0f} tokens/step, ~{fpt * tok_step / 1e9:.1f} GFLOP/step "
                      f"-> MFU ~{100 * fpt * tok_step / r['step_s'] / 1e9 / peak:.0f}% of {a.precision} peak ({r['threads']} thr)")
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "calibration": cal}, indent=1, default=str))


if __name__ == "__main__":
    main()
