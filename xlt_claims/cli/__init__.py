"""`claims` command line: the top layer. Every verb is a module-level function in this package (one
module per area), a thin wrapper over a library function, importable and testable on its own:

    from xlt_claims.cli.report import report_cmd      # call it, or invoke `app` with typer's CliRunner

Options shared between verbs are Annotated types in `cli.common` (DbOption, JsonOption, SeedsOption, ...).
"""

from __future__ import annotations

import os

# torch's OpenMP threads spin-wait by default: beside another CPU-bound process a spinning thread takes
# the core the other needs, and a descheduled one stalls the team (docs/performance.md). PASSIVE
# threads sleep at barriers. OpenMP reads it once, when torch loads, so it is set before any verb runs;
# a value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import typer  # noqa: E402
from typer.core import TyperGroup

from .. import __version__
from . import data, db, evidence, ingest, machine, papers, report, reproduce, verify

class _Verbs(TyperGroup):
    """Every verb: a store that turns out damaged or unusable mid-command ends with one clean
    error line (exit 1), not a traceback."""

    def invoke(self, ctx):  # noqa: ANN001
        from ..store import StoreError

        try:
            return super().invoke(ctx)
        except StoreError as exc:
            from .common import fail

            fail(str(exc))


app = typer.Typer(
    cls=_Verbs,
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


def _short_help(fn) -> str:
    """The docstring's first paragraph on one line: `claims --help` keeps a docstring's line breaks."""
    return " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())


# the verbs, in the order `claims --help` lists them (command groups come after the commands)
for _name, _fn in (("ingest", ingest.ingest_cmd), ("list", ingest.list_cmd), ("show", ingest.show_cmd),
                   ("reports", ingest.reports_cmd), ("evidence", evidence.evidence_cmd), ("flags", evidence.flags_cmd),
                   ("reproduce", reproduce.reproduce_cmd), ("link", reproduce.link_cmd), ("report", report.report_cmd),
                   ("verify", verify.verify_cmd), ("machine", machine.machine_cmd)):
    app.command(_name, short_help=_short_help(_fn))(_fn)
app.add_typer(papers.papers_app, name="papers")
app.add_typer(data.data_app, name="data")
app.add_typer(db.db_app, name="db")
