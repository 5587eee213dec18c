"""`python -m tools.logt`: rebuild the shipped LOGT proxy files from the Debian packages pinned in
their MANIFEST (apt-get download, never installed) and verify them byte for byte (exit 1 when any
file differs). Replaces the former `claims data build-proxy` verb: a build tool stays out of the
runtime package."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from xlt_claims.experiments.data.proxy import FILES, MANIFEST, NOTICE, PROXY_DIR
from xlt_claims.paths import cache_dir

from . import build as logt


def build_proxy(cache: Optional[Path] = None, out: Optional[Path] = None, write: bool = False,
                apt_update: bool = False, shipped: Path = PROXY_DIR,
                log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Rebuild from the pinned packages into `out`, compare with the shipped files (and replace them
    when `write`). Returns the verification report."""
    cache = Path(cache) if cache else cache_dir("logt")
    out = Path(out) if out else cache / "build"
    if out.exists():
        shutil.rmtree(out)
    shipped_manifest = shipped / MANIFEST
    pinned = None
    if shipped_manifest.exists():
        pinned = {p["name"]: p["version"] for p in json.loads(shipped_manifest.read_text())["packages"]}
    manifest = logt.build(cache, out, pinned=pinned, apt_update=apt_update, log=log)
    report: dict[str, Any] = {"built_into": str(out), "shipped": str(shipped), "packages": len(manifest["packages"])}
    if shipped_manifest.exists():
        report["verify"] = logt.verify(shipped, out)
    else:
        report["verify"] = {"ok": False, "differ": {MANIFEST: {"reason": "no shipped files"}}, "identical": []}
    if write:
        shipped.mkdir(parents=True, exist_ok=True)
        for f in list(FILES.values()) + [NOTICE, MANIFEST]:
            shutil.copyfile(out / f, shipped / f)
        report["written"] = True
    return report


def print_report(report: dict[str, Any]) -> None:
    v = report["verify"]
    print(f"built {report['packages']} packages into {report['built_into']}")
    for f in v.get("identical", []):
        print(f"  identical {f}")
    for f, why in v.get("differ", {}).items():
        detail = {k: why[k] for k in ("removed", "added", "changed", "changed_fields", "fields") if k in why}
        print(f"  differs   {f}: {why['reason']} {detail if detail else ''}")
    for name, why in (v.get("packages") or {}).items():
        print(f"  package   {name}: {why}")
    if report.get("written"):
        print(f"wrote the fresh build into {report['shipped']}")
    print("all shipped files reproduced byte-for-byte" if v.get("ok") else
          "the build differs from the shipped files (see above)")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.logt", description=__doc__)
    ap.add_argument("--cache", type=Path, help="download/extract cache [default: $XLT_CLAIMS_CACHE/logt]")
    ap.add_argument("--out", type=Path, help="where to build [default: <cache>/build]")
    ap.add_argument("--write", action="store_true", help="replace the shipped files with the fresh build")
    ap.add_argument("--apt-update", action="store_true", help="run `apt-get update` first (needs root)")
    ap.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = ap.parse_args(argv)
    log = (lambda s: None) if args.json else (lambda s: print(s, file=sys.stderr))
    try:
        report = build_proxy(args.cache, args.out, args.write, args.apt_update, log=log)
    except (logt.BuildError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(report)
    return 0 if report["verify"].get("ok") or report.get("written") else 1


if __name__ == "__main__":
    sys.exit(main())
