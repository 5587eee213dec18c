"""`claims report`: write the verification report (a thin wrapper over xlt_claims.report)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from .common import DbOption, err_console, fail, open_store_or_fail, safe


def report_cmd(
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="html | md | json (default: the output "
                                                                   "file's suffix, else html)")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o",
                                                   help="File to write; '-' prints to stdout "
                                                        "(default: report.<format>)")] = None,
    report: Annotated[Optional[str], typer.Option("--report", "-r",
                                                  help="Only this source report (key, file name or id)")] = None,
    check: Annotated[bool, typer.Option("--check", help="Open the written HTML in headless Chromium and fail "
                                                       "on console errors, missing claim cards or empty figures")] = False,
    db: DbOption = None,
) -> None:
    """Write the verification report: self-contained HTML, Markdown, or JSON (the same numbers).
    Claims are read and written a chunk at a time, so memory stays bounded on large stores."""
    from ..report.browser import BrowserUnavailable, check_html
    from ..report import FORMATS, format_for_path, render_chunks, stream_report, write_chunks
    suffix = format_for_path(output) if output and str(output) != "-" else None
    fmt = fmt or suffix or "html"
    fmt_l = fmt.lower()
    if suffix and fmt_l != suffix:  # `-o r.md --format html` would write HTML into a .md file
        fail(f"--format {fmt} does not match the output file {output} (a .{output.suffix.lstrip('.')} file)")
    if fmt_l not in FORMATS:
        fail(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    store = open_store_or_fail(db, read_only=True)
    try:
        data = stream_report(store, report)
        t = data["totals"]
        if not t["claims"] + t["retired_claims"]:
            err_console.print("[yellow]warning:[/] the store has no claims yet; run `claims ingest` (or `claims verify`).")
        if output is not None and str(output) == "-":
            for chunk in render_chunks(data, fmt_l):
                sys.stdout.write(chunk)
            sys.stdout.flush()
            return
        path = output or Path(f"report.{fmt_l}")
        try:
            size = write_chunks(path, render_chunks(data, fmt_l))
        except OSError as exc:
            fail(f"cannot write the report to {path}: {exc.strerror or exc} (nothing written; an older "
                 f"{path.name} is kept)")
    except LookupError as exc:
        fail(str(exc))
    finally:
        store.close()
    err_console.print(f"wrote {safe(path)} ({fmt_l}, {size / 1024:.0f} KiB): {t['reports']} report(s), "
                      f"{t['claims']} claims, {t['with_problem']} with a problem, "
                      f"{t['reproduced_claims']} re-measured", highlight=False)
    if check:
        if fmt_l != "html":
            fail("--check needs --format html")
        try:
            res = check_html(path, [cid for rep in data["reports"] for cid in rep["claim_ids"]])
        except BrowserUnavailable as exc:
            fail(str(exc))
        if not res.ok:
            fail("the report does not render cleanly: " + "; ".join(res.problems))
        err_console.print(f"checked in {safe(res.browser)}: {len(res.claim_cards)} claim cards, "
                          f"{len(res.figures)} figures, no console errors", highlight=False)
