"""CLI verbs for ingest and the read side: `claims ingest`, `claims list`, `claims show`, `claims reports`.
Thin wrappers over the library functions of xlt_claims.ingest (and verdict.display for `show`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typing_extensions import Annotated

from .common import (DbOption, JsonOption, console, err_console, fail, open_store_or_fail, print_json, print_json_stream,
                     plain, safe, stacked_row, stacked_table)

_MARK = {True: "\u2713", False: "\u00d7", None: "-"}
_KIND_SHORT = {"quantitative": "quant", "qualitative": "qual", "descriptive": "desc"}


def _fmt_value(f: dict[str, Any]) -> str:
    if f.get("value") is None:
        return ""
    v = f"{f['value']:g}"
    if f.get("value_high") is not None:
        v += f"\u2013{f['value_high']:g}"
    return v + (f" {f['unit']}" if f.get("unit") else "")


def _short(v: Any, n: int = 160) -> str:
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def _event_summary(detail: Any) -> str:
    """One readable line for an event's detail in `claims show` (the whole detail is in --json)."""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return detail
    if not isinstance(detail, dict):
        return _short(detail)
    if detail.get("experiment"):  # a verdict moved the status
        line = f"{detail['experiment']}: {detail.get('outcome')}" + (" (proxy)" if detail.get("proxy") else "")
        ci = detail.get("ci") or [None, None]
        if isinstance(detail.get("effect"), (int, float)) and None not in ci:
            line += f", effect {detail['effect']:+.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"
        return line
    if detail.get("reason"):
        return str(detail["reason"])
    if detail.get("report"):
        return f"report {detail['report']} v{detail.get('version')}, row {detail.get('row')}"
    return _short({k: v for k, v in detail.items() if not isinstance(v, (dict, list))})


def _dry_run_store(db: Optional[str]):
    """--dry-run never creates a database: plan against the real store when it exists, else an empty one."""
    from ..store import open_store, resolve_url
    url = resolve_url(db)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return open_store("sqlite://")
    return open_store_or_fail(db)


def ingest_cmd(
    paths: Annotated[List[Path], typer.Argument(help="Report files and/or folders (searched recursively).",
                                                readable=False)],  # an unreadable file fails alone
    db: DbOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be stored; write nothing.")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Parser processes [default: auto for large ingests].")] = None,
    max_file_size: Annotated[Optional[int], typer.Option(
        "--max-file-size", metavar="BYTES", help="Largest report file accepted [default: 5 MiB, or $XLT_CLAIMS_MAX_FILE_BYTES].")] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest literature reports (idempotent; a changed file becomes a new version of its report)."""
    from ..ingest.ingest import expand_paths
    from ..ingest import ingest_paths
    store = _dry_run_store(db) if dry_run else open_store_or_fail(db)
    try:
        files, _ = expand_paths(paths)
        show_progress = err_console.is_terminal and not as_json and len(files) > 1
        verbose = len(files) <= 50  # large ingests: one line per failure, then the summary
        progress = Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[claims]} claims"),
                            TimeElapsedColumn(), console=err_console, transient=True, disable=not show_progress)
        with progress:
            task = progress.add_task("ingest", total=len(files), claims=0)
            n_claims = [0]

            def on_file(o) -> None:
                if o.status != "skipped" and not (o.status == "failed" and o.error in ("no such file or directory",)):
                    n_claims[0] += o.claims
                    progress.update(task, advance=1, claims=n_claims[0])
                if not as_json and (verbose or o.status == "failed"):
                    _print_outcome(o, dry_run, progress.console if show_progress else console)

            result = ingest_paths(store, paths, dry_run=dry_run, progress=on_file, workers=workers,
                                  max_file_bytes=max_file_size)
    finally:
        store.close()
    if as_json:
        print_json(result.to_dict())
    else:
        d = result.to_dict()
        verb = "would store" if dry_run else "stored"
        rate = f" ({d['claims_stored'] / result.elapsed_s:,.0f} claims/s)" if d["claims_stored"] >= 1000 else ""
        console.print(
            f"{verb} {d['reports_stored']} report version(s) ({d['new_reports']} new, {d['new_versions']} updated), "
            f"{d['claims_stored']} claims ({d['new_claims']} new), {d['references_stored']} references; "
            f"{d['unchanged']} unchanged, {d['failed']} failed, {d['skipped']} skipped{rate}", highlight=False)
        n_warn = sum(len(f.warnings) for f in result.files)
        if n_warn and not verbose:
            console.print(f"{n_warn} warning(s); `--json` lists them per file", highlight=False)
        if result.nothing_new and result.ok:
            console.print("nothing new: every report is already in the store", highlight=False)
        if dry_run:
            console.print("[dim]dry run: nothing was written[/]")
    if not result.ok:
        raise typer.Exit(1)


def _print_outcome(o, dry_run: bool, con) -> None:
    if o.status == "failed":
        err_console.print(f"[red]\u2717 {safe(o.error if o.error and o.path in o.error else f'{o.path}: {o.error}')}[/]",
                          highlight=False)
        return
    if o.status == "skipped":
        con.print(f"[dim]- {safe(o.path)}: skipped ({safe(o.error)})[/]", highlight=False)
        return
    if o.status == "unchanged":
        con.print(f"= {safe(o.path)}: unchanged (already stored as {safe(o.same_as)})", highlight=False)
        return
    pre = "would store" if dry_run else ("new" if o.status == "new" else "updated")
    extra = ""
    if o.status == "version":
        extra = (f", matched {o.matched_exact} exact + {o.matched_fuzzy} fuzzy, {o.new_claims} new, "
                 f"{o.retired} retired")
    con.print(f"[green]+[/] {safe(o.path)}: {pre} {safe(o.key)} v{o.version}: {o.claims} claims{extra}, "
              f"{o.references} references, {o.truncated} look truncated", highlight=False)
    for w in o.warnings:
        con.print(f"  [yellow]warning:[/] {safe(o.path)}: {safe(w)}", highlight=False)


def list_cmd(
    db: DbOption = None,
    report: Annotated[Optional[str], typer.Option("--report", "-r", help="Report key, key prefix or file name.")] = None,
    status: Annotated[Optional[str], typer.Option("--status", "-s", help="Only claims with this status.")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", "-k", help="quantitative | qualitative | descriptive")] = None,
    truncated: Annotated[Optional[bool], typer.Option("--truncated/--complete", help="Only truncated / complete claims.")] = None,
    include_retired: Annotated[bool, typer.Option("--retired", help="Include claims retired by a newer report version.")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", help="At most this many claims.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List claims (filters: report, status, kind)."""
    from ..ingest.read import NotFound, iter_claims

    store = open_store_or_fail(db, read_only=True)
    try:
        rows = iter_claims(store, report=report, status=status, kind=kind, include_retired=include_retired,
                           truncated=truncated, limit=limit)
        if as_json:  # streamed: a 100k-claim store is never held in memory
            print_json_stream(rows)
            return
        rows = list(rows)
    except NotFound as exc:
        fail(f"{exc}" + (f"; did you mean: {', '.join(exc.suggestions)}" if exc.suggestions else ""))
    except ValueError as exc:
        fail(str(exc))
    finally:
        store.close()
    if not rows:
        console.print("no claims match" if (report or status or kind or truncated is not None) else
                      "no claims in the store yet: run `claims ingest PATH`")
        return
    t = stacked_table("id", "report \u00b7 row \u00b7 mark \u00b7 confidence \u00b7 status \u00b7 kind / claim")
    for r in rows:
        text = safe(r["text"]) + (" [red]\u2026(truncated)[/]" if r["looks_truncated"] else "")
        if r["retired"]:
            text = "[dim](retired)[/] " + text
        conf = "" if r["confidence"] is None else f" {r['confidence']:.2f}"
        meta = (f"[dim]{safe(r['report_key'][:16])} v{r['report_version']} \u00b7 row {r['row']} \u00b7 "
                f"{_MARK[r['report_mark']]}{conf} \u00b7[/] {safe(r['status'])} [dim]\u00b7 "
                f"{safe(_KIND_SHORT.get(r['kind'], r['kind']))}[/]")
        stacked_row(t, safe(r["id"]), meta, text)
    console.print(t)
    console.print(f"[dim]{len(rows)} claim(s)[/]")


def show_cmd(
    claim_id: Annotated[str, typer.Argument(help="Claim id (or a unique prefix).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one claim with its report, references, fields, events and everything attached to it."""
    from ..ingest.read import NotFound, show_claim
    from ..verdict.display import claim_verdict_view, render_claim_verdicts
    from ..sanitise import visible_deep

    store = open_store_or_fail(db, read_only=True)
    vview = None
    try:
        d = show_claim(store, claim_id)
        if not as_json and (d.get("verdicts") or d.get("experiment_links")):  # reproduce area's rich view
            with store.read() as s:
                vview = claim_verdict_view(s, d["id"])
    except NotFound as exc:
        fail(f"{exc}" + (f"; close ids: {', '.join(exc.suggestions)}" if exc.suggestions else
                         "; `claims list` shows the ids"))
    finally:
        store.close()
    if as_json:
        print_json(d)
        return
    c, rep, f = d["claim"], d["report"], d["fields"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("claim", safe(c["text"]))
    if c.get("repaired_text"):
        head.add_row("repaired", safe(c["repaired_text"]))
    head.add_row("status", f"{safe(c['status'])}  confidence {c['confidence'] if c['confidence'] is not None else '-'}"
                 + ("  [dim](retired: not in the latest report version)[/]" if c["retired"] else ""))
    head.add_row("report mark", f"{_MARK[c['report_mark']]}  confidence {c['report_confidence']}")
    if c["looks_truncated"]:
        tr = (c.get("extraction") or {}).get("truncation") or {}
        head.add_row("looks_truncated", "[red]yes[/] " + safe(", ".join(tr.get("signals", []))))
    head.add_row("report", f"{safe(rep['key'])} v{rep['version']}{'' if rep['is_latest'] else ' (older version)'}, "
                 f"row {c['row']}, line {c['line']} of {safe(rep['file_name'])}")
    if rep.get("title"):
        head.add_row("title", safe(rep["title"]))
    console.print(Panel(head, title=f"claim {safe(d['id'])}", title_align="left"))
    ft = Table.grid(padding=(0, 2))
    ft.add_column(style="bold")
    ft.add_column()
    ft.add_row("kind", safe(f["kind"]))
    for k in ("datasets", "tasks", "languages"):
        if f.get(k):
            ft.add_row(k, safe(", ".join(f[k])))
    for k in ("metric", "unit"):
        if f.get(k):
            ft.add_row(k, safe(f[k]))
    if f.get("value") is not None:
        ft.add_row("value", safe(_fmt_value(f)) + (" (range)" if f.get("value_high") is not None else ""))
    for k in ("direction", "comparator", "model", "method"):
        if f.get(k):
            ft.add_row(k, safe(f[k]))
    console.print(Panel(ft, title="fields", title_align="left"))
    if d["references"]:
        rt = Table(title="references of this report version", title_justify="left", header_style="bold")
        for col in ("#", "arXiv", "cited as", "paper"):
            rt.add_column(col)
        for r in d["references"]:
            rt.add_row(str(r["position"]), safe(r["arxiv_id"] + (f"v{r['version']}" if r["version"] else "")),
                       safe(r["cited_as"]), safe(r.get("paper_title")) or
                       ("[red]" + safe(r["paper_error"]) + "[/]" if r.get("paper_error") else "[dim]not fetched[/]"))
        console.print(rt)
    if len(d["sources"]) > 1:
        st = Table(title="appears in", title_justify="left", header_style="bold")
        for col in ("version", "row", "line", "mark", "conf", "text"):
            st.add_column(col)
        for s in d["sources"]:
            st.add_row(f"v{s['report_version']}", str(s["row"]), str(s["line"]), _MARK[s["report_mark"]],
                       str(s["report_confidence"]), safe(s["text"]))
        console.print(st)
    # each event: a short head line (when, cause, new status, confidence) and its summary below it,
    # indented and wrapped at the terminal's width; the old status is the line above
    from rich.padding import Padding
    from rich.text import Text

    console.print("[bold]events[/]")
    for e in d["events"]:
        conf = "" if e["new_confidence"] is None else (
            f"{e['old_confidence']}\u2192{e['new_confidence']}" if e["old_confidence"] is not None else str(e["new_confidence"]))
        console.print(f"  {safe(e['at'][:16].replace('T', ' '))}  {safe(e['cause']):<10}  \u2192 "
                      f"[bold]{safe(e['new_status'])}[/]  {safe(conf)}", highlight=False)
        summary = plain(_event_summary(e.get("detail") or ""), 200)  # a Text: no markup to escape
        if summary:
            console.print(Padding(Text(summary, style="dim"), (0, 0, 0, 4), expand=False), highlight=False)
    skip = {"id", "claim", "fields", "report", "references", "sources", "events", "evidence"}
    if d.get("evidence") or c.get("text_verdict_detail"):
        from ..evidence.display import render_evidence

        render_evidence(console, visible_deep(d.get("evidence") or []), visible_deep(c.get("text_verdict_detail")))
    if vview is not None:
        render_claim_verdicts(visible_deep(vview), console)
        skip |= {"verdicts", "runs", "experiment_links"}
    for name, rows in d.items():
        if name in skip or not rows:
            continue
        cols = [k for k in rows[0] if k not in ("id", "claim_id", "report_key", "created_at", "computed_at")]
        gt = Table(title=safe(name.replace("_", " ")), title_justify="left", header_style="bold")
        for col in cols:
            gt.add_column(safe(col))
        for r in rows:
            gt.add_row(*[safe(_short(r.get(k), 60)) if r.get(k) is not None else "" for k in cols])
        console.print(gt)


def reports_cmd(
    db: DbOption = None,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Every version, not only the latest.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List ingested reports with their versions and counts."""
    from ..ingest.read import list_reports

    store = open_store_or_fail(db, read_only=True)
    try:
        rows = list_reports(store, all_versions=all_versions)
    finally:
        store.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no reports in the store yet: run `claims ingest PATH`")
        return
    t = Table(header_style="bold", box=None, pad_edge=False, padding=(0, 1))
    nw = {"no_wrap": True, "overflow": "ellipsis"}
    wide = console.width >= 110  # narrow terminals leave the title out (see --json)
    for col, kw in (("key", {**nw, "max_width": 22}), ("version", nw), ("date", nw), ("claims", {}), ("refs", {}),
                    ("stated p/c/v", nw), ("quality", {})) + ((("title", {**nw, "max_width": 60}),) if wide else ()):
        t.add_column(col, **kw)
    for r in rows:
        stated = "/".join("-" if r[k] is None else str(r[k]) for k in
                          ("stated_paper_count", "stated_claims_count", "stated_verified_count"))
        cells = [safe(r["key"]), f"v{r['version']} of {r['versions']}" + ("" if r["is_latest"] else " (old)"),
                 safe(r["date"]), str(r["claims"]), str(r["references"]), stated,
                 "" if r["quality_score"] is None else f"{r['quality_score']:g}"]
        t.add_row(*(cells + [safe(r["title"])] if wide else cells))

    console.print(t)
