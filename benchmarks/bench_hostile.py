"""Time per hostile case (issue 15: every case under 5 s at <= 100 KB).

    python benchmarks/bench_hostile.py [--json]

Runs the fixed corpus (tests/data/hostile/) and the large generated cases of tests/_hostile_check.py
in one child process, exactly as `tests/test_fuzz.py::test_hostile_corpus` does: each case is ingested
into one store and, when stored, read back through `list`, `show`, `reports` and `report` in HTML,
Markdown and JSON. Prints per case: size, stored or refused, ingest wall and CPU seconds, and the
seconds for the whole case (ingest plus every read); then the maximum of each. Wall times depend on
what else the machine runs: the CPU column and `uptime` load are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per case, then the summary")
    args = ap.parse_args()
    sys.path.insert(0, str(TESTS))
    from _hostile_check import CHILD

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("COLUMNS", None)
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, str(TESTS), tmp], capture_output=True, text=True,
                             env=env, timeout=3600)
    if out.returncode != 0:
        sys.exit(f"the child failed:\n{out.stderr[-3000:]}")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    cases = [d for d in lines if "case" in d]
    cpu_total = next((d["cpu_s"] for d in lines if d.get("done")), float("nan"))
    load = os.getloadavg()
    summary = {"cases": len(cases), "problems": sum(len(d["problems"]) for d in cases),
               "max_ingest_s": max(d["ingest_s"] for d in cases), "max_ingest_cpu_s": max(d["ingest_cpu_s"] for d in cases),
               "max_case_s": max(d["total_s"] for d in cases),
               "max_case": max(cases, key=lambda d: d["total_s"])["case"], "load_avg": load, "cpus": os.cpu_count(),
               "total_cpu_s": cpu_total}
    if args.json:
        for d in cases:
            print(json.dumps(d, ensure_ascii=True))
        print(json.dumps(summary))
        return
    print(f"{'case':<34} {'KB':>6} {'stored':>6} {'ingest s':>8} {'cpu s':>6} {'case s':>7}")
    for d in cases:
        name = d["case"].encode("unicode_escape").decode("ascii")
        name = name if len(name) <= 34 else name[:33] + "~"
        print(f"{name:<34} {d['size'] / 1024:6.1f} {'yes' if d['stored'] else 'no':>6} {d['ingest_s']:8.2f} "
              f"{d['ingest_cpu_s']:6.2f} {d['total_s']:7.2f}" + (f"  PROBLEMS: {d['problems']}" if d["problems"] else ""))
    print(f"\n{summary['cases']} cases, {summary['problems']} problems; max ingest {summary['max_ingest_s']:.2f} s "
          f"(CPU {summary['max_ingest_cpu_s']:.2f} s); max case (ingest + every read verb and report format) "
          f"{summary['max_case_s']:.2f} s ({summary['max_case'].encode('unicode_escape').decode('ascii')}); "
          f"CPU time of the whole corpus run {cpu_total:.1f} s; load average {load[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
