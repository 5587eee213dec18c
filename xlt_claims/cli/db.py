"""`claims db ...`: whole-store operations (a thin wrapper over xlt_claims.store.copy)."""

from __future__ import annotations

import typer
from typing_extensions import Annotated

from .common import JsonOption, console, err_console, fail, print_json, safe

db_app = typer.Typer(help="Whole-store operations: copy a claim store between SQLite and PostgreSQL.",
                     no_args_is_help=True)


@db_app.command("copy")
def copy_cmd(
    src: Annotated[str, typer.Argument(help="Source store: a path or URL (sqlite:///..., postgresql://user@host/db).")],
    dst: Annotated[str, typer.Argument(help="Destination store: a path or URL; created if it does not exist.")],
    replace: Annotated[bool, typer.Option("--replace", help="Empty a non-empty destination first (same transaction).")] = False,
    json_out: JsonOption = False,
) -> None:
    """Copy every row and event of SRC into DST in one transaction, then compare content hashes."""
    from ..store import StoreError
    from ..store.copy import copy_store
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn


    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console,
                  transient=True, disable=json_out) as bar:
        tasks: dict[str, int] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(f"copy {safe(table)}", total=total or 1)
            bar.update(tasks[table], completed=done if total else 1)

        try:
            res = copy_store(src, dst, replace=replace, progress=progress)
        except StoreError as exc:
            fail(str(exc))
    if json_out:
        print_json(res.to_dict())
        return
    from rich.table import Table

    t = Table("table", "rows", "sha256 (source)", "same", box=None, pad_edge=False)
    for x in res.tables:
        t.add_row(safe(x.table), str(x.rows_src), safe(x.hash_src[:16]), "yes" if x.same else f"[red]no ({x.rows_dst} rows)")
    console.print(t)
    console.print(f"copied {res.rows} rows in {res.seconds:.1f} s"
                  f"{f' (replaced {res.replaced_rows} rows)' if res.replaced_rows else ''}", highlight=False)
    console.print(f"  from {safe(res.src)}\n  to   {safe(res.dst)}", highlight=False, soft_wrap=True)
    console.print(f"content hashes identical: {'yes' if res.identical else 'NO'}", highlight=False)
