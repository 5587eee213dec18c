"""On demand (not a test): issue 6's done-when run, timed.

Ingests the bundled example reports into a fresh store, runs `claims reproduce` on the claim
"Robust training remarkably improves generalized cross-lingual transfer." (baseline vs RS-DA,
3 seeds, quick profile, offline encoder and proxy data) and prints per-run wall time with the train
loop's own breakdown, the total, and the verdict.

    python benchmarks/bench_reproduce_robust.py [--db PATH] [--seeds 3] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sqlmodel import select

    from xlt_claims.ingest import ingest_paths
    from xlt_claims.reproduce import Options, load_registry, reproduce
    from xlt_claims.store import open_store
    from xlt_claims.store.models import Claim, Run
    from xlt_claims.verdict import claim_verdict_view, judge_plans

    db = args.db or str(Path(tempfile.mkdtemp()) / "claims.db")
    store = open_store(db)
    ingest_paths(store, [ROOT / "examples" / "reports"])
    with store.session() as s:
        claim = s.exec(select(Claim).where(Claim.text.startswith("Robust training remarkably"))).one()
    t0 = time.perf_counter()
    res = reproduce(store, load_registry(), [claim.id], Options(n_seeds=args.seeds, device=args.device))
    judge_plans(store, res)
    total = time.perf_counter() - t0
    with store.session() as s:
        runs = s.exec(select(Run).order_by(Run.id)).all()
        view = claim_verdict_view(s, claim.id)
    print(f"db {db}; cpu count {os.cpu_count()}; load average {os.getloadavg()}")
    for r in runs:
        t = (r.manifest or {}).get("timing", {})
        print(f"run {r.id} {r.experiment}/{r.arm}/seed {r.seed}: {r.status} wall {r.wall_s or 0:.1f} s "
              f"(load {t.get('load_s')}, train {t.get('train_s')}, eval {t.get('eval_s')}) reused_from={r.reused_from}")
    print(f"total {total:.1f} s for {res.ran} run(s) ({res.reused} reused)")
    v = view["verdicts"][0] if view["verdicts"] else {}
    print(json.dumps({k: v.get(k) for k in ("experiment", "outcome", "proxy", "effect", "ci", "n_seeds", "confidence",
                                            "reason", "seeds_needed")}, indent=1, default=str))


if __name__ == "__main__":
    main()
