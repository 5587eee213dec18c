"""Options and helpers shared by every CLI verb (each verb is a thin wrapper over a library call)."""

from __future__ import annotations

import json
import math
import re
import signal
import sys
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, List, NoReturn, Optional

import typer
from rich.console import Console
from rich.segment import Segment
from typing_extensions import Annotated

from ..sanitise import for_terminal, json_text, visible  # (light: re and unicodedata only)


class SafeConsole(Console):
    """A rich console that never writes a raw control character it did not make itself: the text of
    every rendered segment (not rich's own control segments or style codes) has its control and bidi
    characters shown as visible symbols. The safety net under `safe()`, which each verb applies to the
    data it puts into markup (rich markup in data is only harmless once escaped). Emoji codes stay text
    (":smile:" in a claim is not an emoji)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)

    def render(self, renderable, options=None):  # noqa: ANN001, ANN201
        for seg in super().render(renderable, options):
            text = seg.text
            if not seg.control and text and not text.isprintable():
                shown = visible(text, keep_newlines=True)
                if shown != text:
                    seg = Segment(shown, seg.style, seg.control)
            yield seg


console = SafeConsole()
err_console = SafeConsole(stderr=True)


def plain(value: Any, limit: Optional[int] = None) -> str:
    """One data field as plain text for a rich Text (no markup read): controls visible, a tab as a
    space (rich sizes table columns without tabs); `limit` cuts it with an ellipsis."""
    s = "" if value is None else visible(value).replace("\t", " ")
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + "\u2026"
    return s


def safe(value: Any, limit: Optional[int] = None) -> str:
    """One data field (claim text, title, file name, key, message...) for a rich markup string or a
    table cell: `plain` with markup escaped (`limit` cuts before escaping)."""
    return for_terminal(plain(value, limit))


_LEAD_STYLE = re.compile(r"\[(red|yellow|green|cyan|magenta|dim|bold)\]")


def message(text: str) -> str:
    """A progress note of a lower layer ("[red]<path>: <error>"): its leading colour tag kept, the rest
    (file names, errors, claim text) shown as data, never read as markup."""
    m = _LEAD_STYLE.match(text)
    if m is None:
        return safe(text)
    return f"[{m.group(1)}]{safe(text[m.end():])}[/]"

DbOption = Annotated[
    Optional[str],
    typer.Option("--db", envvar="XLT_CLAIMS_DB", help="Claim store: a path or any SQLAlchemy URL [default: ./claims.db]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


SeedsOption = Annotated[Optional[str], typer.Option("--seeds", help="Seed count (e.g. 5) or list (e.g. 1,2,3).")]
DeviceOption = Annotated[str, typer.Option("--device", help="auto | cpu | cuda[:N]")]
ExtendedOption = Annotated[bool, typer.Option("--extended", help="Also run extended-tier experiments (e.g. RS-RP, "
                                                                 "adversarial).")]
ProxyOption = Annotated[bool, typer.Option("--proxy", help="Run the offline proxy tasks (LibreOffice, LOGT) even "
                                                          "where the claim's own benchmark is at hand. Without it "
                                                          "`verify` leaves out claims whose benchmark is not at "
                                                          "hand (XNLI until registered).")]
PrecisionOption = Annotated[str, typer.Option(
    "--precision", help="auto (this machine's calibration, see `claims machine`) | fp32 | bf16")]
ThreadsOption = Annotated[str, typer.Option(
    "--threads", help="auto (calibration; the load is checked before each run) | N")]
JobsOption = Annotated[str, typer.Option(
    "--jobs", help="Runs at a time on this machine: auto (side by side where the calibration measured "
                   "it faster and the machine is quiet) | N (the cores split between them)")]
RegistryOption = Annotated[
    Optional[List[str]],
    typer.Option("--reproductions", envvar="XLT_CLAIMS_REPRODUCTIONS",
                 help="Registry folder(s) of experiment TOML files [default: ./reproductions of the project]"),
]


def _finite(obj: Any) -> Any:
    """Non-finite floats as null: strict JSON parsers reject Infinity and NaN."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def stacked_table(key: str, heading: str):
    """A listing that reads in 80 columns: a short key column (an id), then two lines a row, what the row is
    (`meta`, one line) and its long text wrapped under it. A long text squeezed into the last of several
    columns wraps a word per line. Fill it with stacked_row."""
    from rich.table import Table

    t = Table(show_lines=False, header_style="bold", box=None, pad_edge=False, padding=(0, 1))
    t.add_column(key, no_wrap=True)
    t.add_column(heading, ratio=1)
    return t


def stacked_row(table, key: str, meta: str, body: str = "") -> None:
    """One row of a stacked_table; every argument already made safe (markup escaped)."""
    table.add_row(key, f"{meta}\n{body}" if body else meta)


def print_json(obj: Any) -> None:
    """Strict JSON (no Infinity/NaN) on stdout; C1 controls and bidi characters in strings escaped."""
    try:
        text = json.dumps(obj, indent=2, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(obj), indent=2, ensure_ascii=False, default=str, allow_nan=False)
    sys.stdout.write(json_text(text) + "\n")


def print_json_stream(rows: Iterable[Any]) -> None:
    """A JSON array written an element at a time, the same text as `print_json(list(rows))`."""
    out = sys.stdout
    first = True
    for row in rows:
        try:
            text = json.dumps(row, indent=2, ensure_ascii=False, default=str, allow_nan=False)
        except ValueError:
            text = json.dumps(_finite(row), indent=2, ensure_ascii=False, default=str, allow_nan=False)
        out.write(("[\n  " if first else ",\n  ") + json_text(text).replace("\n", "\n  "))
        first = False
    out.write("[]\n" if first else "\n]\n")


def fail(message: str, code: int = 1) -> NoReturn:
    """One error line; the message (it may quote a file name or claim) is never read as markup."""
    err_console.print(f"[bold red]error:[/] {for_terminal(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def open_store_or_fail(db: Optional[str], *, read_only: bool = False):
    """The store, or exit 1 with the reason. Read verbs pass read_only=True: no integrity check,
    and a store file without write permission opens for reading."""
    from ..store import StoreError, open_store
    try:
        return open_store(db, read_only=read_only)
    except StoreError as exc:
        fail(str(exc))


def parse_seeds(value: Optional[str]) -> tuple[Optional[list[int]], Optional[int]]:
    """--seeds: '3' -> the first 3 seeds (None, 3); '1,2,7' -> exactly those ([1, 2, 7], None)."""
    if value is None or value == "":
        return None, None
    try:
        if "," in value:
            seeds = [int(x) for x in value.split(",") if x.strip()]
            if not seeds:
                raise ValueError
            return seeds, None
        n = int(value)
        if n < 1:
            raise ValueError
        return None, n
    except ValueError:
        fail(f"--seeds {value!r}: give a count (e.g. 3) or a comma-separated list (e.g. 1,2,3)")


def parse_machine(precision: Optional[str], threads: Optional[str]) -> tuple[Optional[str], Any]:
    """--precision / --threads checked (auto | value); a bad value is one error line."""
    from ..reproduce.machine import MachineError, parse_precision, parse_threads
    try:
        return parse_precision(precision), parse_threads(threads)
    except MachineError as exc:
        fail(str(exc))


def parse_jobs_option(jobs: Optional[str]) -> Any:
    """--jobs checked (auto | N >= 1); a bad value is one error line."""
    from ..reproduce.machine import MachineError, parse_jobs
    try:
        return parse_jobs(jobs)
    except MachineError as exc:
        fail(str(exc))


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C inside the block (the current run is marked KILLED), restored after."""

    def _term(signum, frame):  # noqa: ANN001
        raise KeyboardInterrupt

    prev = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, prev)
