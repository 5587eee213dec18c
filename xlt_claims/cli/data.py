"""`claims data ...` verbs (thin wrappers over xlt_claims.experiments.data): list the known data sets
and where each is read from, register a folder of a real benchmark, forget a registration."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from .common import JsonOption, console, fail, print_json, safe

data_app = typer.Typer(help="Data sets: real benchmarks (PAWS-X, XNLI, XQuAD, Tatoeba) and the offline LOGT proxy.",
                       no_args_is_help=True)

_STATUS_STYLE = {"embedded": "green", "registered": "cyan", "missing": "red"}


@data_app.command("list")
def list_cmd(json_out: JsonOption = False) -> None:
    """Every data set the tool knows: kind, where it is read from (embedded / registered folder /
    missing), languages and licence."""
    from ..experiments.data import list_datasets
    rows = list_datasets()
    if json_out:
        print_json(rows)
        return
    from rich.table import Table

    t = Table(title="data sets", box=None, pad_edge=False)
    t.add_column("name", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    t.add_column("task", no_wrap=True)
    t.add_column("where", no_wrap=True)
    t.add_column("langs", justify="right", no_wrap=True)
    t.add_column("licence", no_wrap=True)
    for d in rows:
        style = _STATUS_STYLE.get(d["status"], "")
        t.add_row(safe(d["name"]), safe(d["kind"]), safe(d["task_type"]), f"[{style}]{safe(d['status'])}[/]",
                  str(len(d["languages"])), safe(d["short_license"]))
    console.print(t)
    for d in rows:
        if d["status"] == "registered":
            reg = d["registered"]
            note = "" if reg["all_files_present"] else " [red](files missing)[/]"
            console.print(f"{safe(d['name'])}: {safe(reg['path'])} ({reg['files']} files, added {safe(reg['added_at'])}){note}",
                          highlight=False)
        elif d["status"] == "missing":
            console.print(f"{safe(d['name'])}: {safe(d['hint'])}", highlight=False)
    scripts = sorted({s for d in rows if d["kind"] == "proxy" for s in d["scripts"].values()})
    console.print(f"proxy scripts ({len(scripts)}): {safe(', '.join(scripts))}", highlight=False)


@data_app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="pawsx, xnli, xquad, tydiqa or tatoeba")],
    folder: Annotated[str, typer.Argument(help="the folder with the set's files (searched recursively)")],
    json_out: JsonOption = False,
) -> None:
    """Register a folder of a real benchmark: every file is parsed (all languages) and its sha256
    recorded; later runs re-check the hashes. On bad input nothing is registered."""
    from ..experiments.data import DataError, add_dataset
    try:
        with console.status(f"checking {safe(name)} files in {safe(folder)}…"):
            entry = add_dataset(name, folder)
    except DataError as exc:
        fail(str(exc))
    if json_out:
        print_json({"name": name, **entry})
        return
    rows = entry.get("rows", {})
    console.print(f"registered {safe(name)}: {safe(entry['path'])} ({len(entry['files'])} files, layout {safe(entry['layout'])}, "
                  f"{len(entry['languages'])} languages)", highlight=False)
    if isinstance(rows.get("test"), dict):
        n = sorted(set(rows["test"].values()))
        console.print(f"  test rows per language: {n[0]}" + (f"-{n[-1]}" if len(n) > 1 else ""), highlight=False)


@data_app.command("remove")
def remove_cmd(name: Annotated[str, typer.Argument(help="a registered set")], json_out: JsonOption = False) -> None:
    """Forget a registered folder (the files are not touched)."""
    from ..experiments.data import DataError, remove_dataset
    try:
        entry = remove_dataset(name)
    except DataError as exc:
        fail(str(exc))
    if json_out:
        print_json({"name": name, "removed": entry is not None, "path": entry and entry["path"]})
        return
    console.print(f"{safe(name)}: " + (f"forgot {safe(entry['path'])}" if entry else "was not registered"), highlight=False)
