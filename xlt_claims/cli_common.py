"""Options and helpers shared by every CLI verb (each verb is a thin wrapper over a library call)."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console
from typing_extensions import Annotated

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", envvar="XLT_CLAIMS_DB", help="Claim store: a path or any SQLAlchemy URL [default: ./claims.db]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_store_or_fail(db: Optional[str]):
    from .store import StoreError, open_store

    try:
        return open_store(db)
    except StoreError as exc:
        fail(str(exc))
