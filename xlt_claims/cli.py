"""`claims` command line. Each area registers its verbs from its own `commands` module."""

from __future__ import annotations

import typer

from . import __version__

app = typer.Typer(
    name="claims",
    help="Check claims of machine-written literature reports against cited papers and re-run experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xlt-claims {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show version.")) -> None:
    """xlt-claims."""


def _register() -> None:
    from .ingest import commands as ingest_cmds
    from .papers import commands as papers_cmds
    from .evidence import commands as evidence_cmds
    from .experiments import commands as experiments_cmds
    from .reproduce import commands as reproduce_cmds
    from .report import commands as report_cmds
    from .pipeline import commands as pipeline_cmds

    for mod in (ingest_cmds, papers_cmds, evidence_cmds, experiments_cmds, reproduce_cmds, report_cmds, pipeline_cmds):
        mod.register(app)


_register()

if __name__ == "__main__":
    app()
