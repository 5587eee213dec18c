"""`claims data ...` verbs: list the known data sets, rebuild/verify the shipped proxy benchmark."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Optional

import typer
from typing_extensions import Annotated

from ...cli_common import JsonOption, console, fail, print_json

data_app = typer.Typer(help="Data sets: real benchmarks (XNLI, PAWS-X, XQuAD) and the offline LOGT proxy.",
                       no_args_is_help=True)


def _fmt_sizes(d: dict) -> str:
    s = d.get("sizes") or {}
    parts = [f"{k} {v}" for k, v in s.items() if isinstance(v, int)]
    per = s.get("test_per_lang") or s.get("pairs_per_lang")
    if isinstance(per, dict) and per:
        vals = sorted(per.values())
        label = "test/lang" if "test_per_lang" in s else "pairs/lang"
        parts.append(f"{label} {vals[0]}–{vals[-1]}")
    elif isinstance(per, int):
        parts.append(f"test/lang {per}")
    return ", ".join(parts)


@data_app.command("list")
def list_cmd(json_out: JsonOption = False) -> None:
    """Every data set the tool knows (proxy and real): languages, scripts, sizes, source."""
    from . import list_datasets

    rows = list_datasets()
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    t = Table(title="data sets", show_lines=True)
    for col in ("name", "kind", "task", "languages", "scripts", "sizes", "source"):
        t.add_column(col, overflow="fold")
    for d in rows:
        t.add_row(d["name"], d["kind"], d["task_type"], f"{len(d['languages'])}: {' '.join(d['languages'])}",
                  str(d["n_scripts"]), _fmt_sizes(d), d["source"])
    console.print(t)
    scripts = sorted({s for d in rows if d["kind"] == "proxy" for s in d["scripts"].values()})
    console.print(f"proxy scripts ({len(scripts)}): {', '.join(scripts)}", highlight=False)


def build_proxy(cache: Optional[Path] = None, out: Optional[Path] = None, write: bool = False,
                apt_update: bool = False, log=lambda s: None) -> dict[str, Any]:
    """Library function behind `claims data build-proxy`: rebuild from the Debian packages pinned in
    the shipped MANIFEST, then compare with the shipped files (and replace them when `write`)."""
    from ...paths import cache_dir
    from . import logt
    from .proxy import PROXY_DIR

    cache = Path(cache) if cache else cache_dir("logt")
    out = Path(out) if out else cache / "build"
    if out.exists():
        shutil.rmtree(out)
    pinned = None
    shipped_manifest = PROXY_DIR / logt.MANIFEST
    if shipped_manifest.exists():
        pinned = {p["name"]: p["version"] for p in json.loads(shipped_manifest.read_text())["packages"]}
    manifest = logt.build(cache, out, pinned=pinned, apt_update=apt_update, log=log)
    report: dict[str, Any] = {"built_into": str(out), "shipped": str(PROXY_DIR),
                              "packages": len(manifest["packages"])}
    if shipped_manifest.exists():
        report["verify"] = logt.verify(PROXY_DIR, out)
    else:
        report["verify"] = {"ok": False, "differ": {"MANIFEST.json": {"reason": "no shipped files"}}, "identical": []}
    if write:
        PROXY_DIR.mkdir(parents=True, exist_ok=True)
        for f in list(logt.FILES.values()) + [logt.NOTICE, logt.MANIFEST]:
            shutil.copyfile(out / f, PROXY_DIR / f)
        report["written"] = True
    return report


@data_app.command("build-proxy")
def build_proxy_cmd(
    cache: Annotated[Optional[Path], typer.Option(help="Download/extract cache [default: $XLT_CLAIMS_CACHE/logt]")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Where to build [default: <cache>/build]")] = None,
    write: Annotated[bool, typer.Option("--write", help="Replace the shipped files with the fresh build.")] = False,
    apt_update: Annotated[bool, typer.Option("--apt-update", help="Run `apt-get update` first (needs root).")] = False,
    json_out: JsonOption = False,
) -> None:
    """Recreate the LOGT proxy files from the Debian packages (apt-get download, never installed)
    and verify them byte-for-byte against the shipped files (exit 1 when any file differs)."""
    from .logt import BuildError

    try:
        if json_out:
            report = build_proxy(cache, out, write, apt_update)
        else:
            with console.status("building the LOGT proxy benchmark…") as st:
                report = build_proxy(cache, out, write, apt_update, log=lambda s: st.update(s))
    except (BuildError, OSError) as exc:
        fail(str(exc))
    v = report["verify"]
    if json_out:
        print_json(report)
    else:
        console.print(f"built {report['packages']} packages into {report['built_into']}")
        for f in v.get("identical", []):
            console.print(f"  [green]identical[/] {f}")
        for f, why in v.get("differ", {}).items():
            detail = {k: why[k] for k in ("removed", "added", "changed", "changed_fields", "fields") if k in why}
            console.print(f"  [red]differs[/]   {f}: {why['reason']} {detail if detail else ''}", highlight=False)
        for name, why in (v.get("packages") or {}).items():
            console.print(f"  [yellow]package[/]   {name}: {why}")
        if report.get("written"):
            console.print(f"wrote the fresh build into {report['shipped']}")
        console.print("[green]all shipped files reproduced byte-for-byte[/]" if v.get("ok") else
                      "[red]the build differs from the shipped files (see above)[/]")
    if not v.get("ok") and not report.get("written"):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
