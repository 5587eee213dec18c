"""CLI verbs for papers (thin wrappers over the library functions of this package)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from .common import (DbOption, JsonOption, console, err_console, fail, open_store_or_fail, print_json, safe, stacked_row,
                     stacked_table)

papers_app = typer.Typer(help="Cited arXiv papers: fetch, import, list, show.", no_args_is_help=True)


@papers_app.command("fetch")
def fetch_cmd(
    ids: Annotated[Optional[List[str]], typer.Argument(help="arXiv ids (default: every cited reference)")] = None,
    report: Annotated[Optional[str], typer.Option("--report", "-r", help="Only the references of this report key")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also download the PDF and store its text")] = True,
    url: Annotated[Optional[str], typer.Option("--url", envvar="XLT_CLAIMS_ARXIV_URL",
                                               help="arXiv API endpoint (a mirror or a local server)")] = None,
    pdf_url: Annotated[Optional[str], typer.Option("--pdf-url", envvar="XLT_CLAIMS_ARXIV_PDF_URL",
                                                   help="PDF base URL: <base>/<id>v<n>")] = None,
    retries: Annotated[int, typer.Option(help="Retries per request (exponential backoff)")] = 3,
    delay: Annotated[float, typer.Option(help="Seconds between requests (at least 3 for arXiv hosts)")] = 3.0,
    timeout: Annotated[float, typer.Option(help="Seconds before one request times out")] = 30.0,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Fetch metadata, abstract, versions (and PDF text) of the cited papers through the arXiv API."""
    from ..papers import PapersError, fetch_papers
    store = open_store_or_fail(db)
    try:
        if json_out:
            res = fetch_papers(store, ids, report, url=url, pdf=pdf, pdf_url=pdf_url, delay_seconds=delay,
                               num_retries=retries, timeout=timeout)
        else:
            with console.status("[bold]fetching from arXiv…") as status:
                res = fetch_papers(store, ids, report, url=url, pdf=pdf, pdf_url=pdf_url, delay_seconds=delay,
                                   num_retries=retries, timeout=timeout,
                                   progress=lambda pid, msg: status.update(f"[bold]{safe(pid)}[/]: {safe(msg)}"))
    except PapersError as exc:
        fail(str(exc))
    if json_out:
        print_json(res.as_dict())
    else:
        if not res.fetched and not res.failed:
            console.print("No references to fetch (ingest a report first, or name arXiv ids).")
        for pid in res.fetched:
            console.print(f"[green]fetched[/] {safe(pid)}" + (f"  pdf {safe(res.pdf[pid])}" if pid in res.pdf else ""),
                          highlight=False)
        for pid, reason in res.failed.items():
            kept = " (stored copy kept)" if pid in res.kept else " (nothing stored yet)"
            err_console.print(f"[red]unreachable[/] {safe(pid)}: {safe(reason)}{kept}", highlight=False)
        if res.failed:
            err_console.print("Offline? `claims papers import FILE.atom` stores saved arXiv API responses.",
                              highlight=False)
    if res.failed:
        raise typer.Exit(2)


@papers_app.command("import")
def import_cmd(
    files: Annotated[List[Path], typer.Argument(help="arXiv API Atom response files, or folders of *.atom files")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Store papers from saved arXiv API Atom responses (air-gapped machines; e.g. examples/arxiv/)."""
    from ..papers import PapersError, import_paths
    store = open_store_or_fail(db)
    try:
        out = import_paths(store, files)
    except PapersError as exc:
        fail(str(exc))
    if json_out:
        print_json({"imported": out})
    else:
        for f, ids in out.items():
            console.print(f"[green]imported[/] {safe(', '.join(ids))} from {safe(f)}", highlight=False)


@papers_app.command("list")
def list_cmd(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Papers in the store."""
    from ..papers import list_papers, paper_dict

    store = open_store_or_fail(db)
    papers = list_papers(store)
    if json_out:
        print_json([{k: v for k, v in paper_dict(p).items() if k != "abstract"} for p in papers])
        return
    t = stacked_table("arXiv", "version \u00b7 text \u00b7 source \u00b7 fetched \u00b7 error / title")
    for p in papers:
        meta = " \u00b7 ".join(x for x in (
            f"v{p.version}" if p.version else "", "full-text" if p.full_text else "abstract", safe(p.source, 40),
            p.fetched_at.strftime("%Y-%m-%d %H:%M") if p.fetched_at else "",
            f"[red]{safe(p.last_error, 120)}[/]" if p.last_error else "") if x)
        stacked_row(t, safe(p.arxiv_id), f"[dim]{meta}[/]", safe(p.title, 200))
    console.print(t)


@papers_app.command("show")
def show_cmd(
    arxiv_id: Annotated[str, typer.Argument(help="arXiv id")],
    text: Annotated[bool, typer.Option("--text", help="Include the full text")] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """One paper: metadata, versions, abstract (and full text)."""
    from ..papers import PapersError, get_paper, paper_dict
    store = open_store_or_fail(db)
    try:
        p = get_paper(store, arxiv_id)
    except PapersError as exc:
        fail(str(exc))
    d = paper_dict(p, with_text=text)
    if json_out:
        print_json(d)
        return
    console.print(f"[bold]{safe(p.arxiv_id)}v{p.version or '?'}[/]  {safe(p.title)}", highlight=False)
    console.print(safe(", ".join(p.authors)), highlight=False)
    for k in ("published", "updated", "comment", "journal_ref", "doi", "pdf_url", "text_source", "pdf_status",
              "source", "fetched_at", "last_error"):
        if d.get(k):
            console.print(f"  {k}: {safe(d[k])}", highlight=False)
    if p.versions:
        console.print("  versions: " + safe(", ".join(f"v{v['version']}" + (f" ({v['date'][:10]})" if v.get("date") else "")
                                                        for v in p.versions)), highlight=False)
    console.print("\n" + (p.abstract or ""), highlight=False, markup=False)
    if text and p.full_text:
        console.print("\n" + p.full_text, highlight=False, markup=False)
