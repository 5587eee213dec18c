"""`claims data ...` verbs: list the known data sets."""

from __future__ import annotations


import typer

from ...cli_common import JsonOption, console, print_json

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


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
