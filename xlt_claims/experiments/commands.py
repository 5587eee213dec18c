"""CLI verbs for experiments (thin wrappers over the library functions of this package)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this area's verbs to the `claims` app."""
    from .data import commands as data_cmds

    data_cmds.register(app)
