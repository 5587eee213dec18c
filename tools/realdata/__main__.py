"""`python -m tools.realdata SRC [--verify]`: pack the shippable real benchmark copies from SRC (a
folder laid out like the project's shared realdata/) into xlt_claims/experiments/data/real/, or with
--verify rebuild them in a scratch folder and compare byte for byte (exit 1 when anything differs)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

from .build import PackError, pack, verify


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.realdata", description=__doc__)
    ap.add_argument("src", type=Path, help="folder with pawsx/, xquad/, qa/, tatoeba/ (e.g. ../shared/realdata)")
    ap.add_argument("--verify", action="store_true", help="compare a fresh pack with the shipped files")
    args = ap.parse_args(argv)
    try:
        if args.verify:
            rep = verify(args.src)
            print(json.dumps(rep, indent=1))
            return 0 if rep["ok"] else 1
        m = pack(args.src, log=lambda s: print(s, file=sys.stderr))
    except (PackError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, s in m["sets"].items():
        print(f"{name:8s} {len(s['files']):3d} files  {s['bytes'] / 1e6:6.2f} MB -> {s['xz_bytes'] / 1e6:5.2f} MB xz")
    print(f"total {sum(s['xz_bytes'] for s in m['sets'].values()) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
