"""CLI verbs for evidence (thin wrappers over the library functions of this package)."""

from __future__ import annotations

from typing import List, Optional

import typer
from typing_extensions import Annotated

from .common import DbOption, JsonOption, console, fail, open_store_or_fail, print_json, safe, stacked_row, stacked_table


def evidence_cmd(
    ids: Annotated[Optional[List[str]], typer.Argument(help="Claim ids or report keys")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every current claim")] = False,
    model: Annotated[Optional[str], typer.Option("--model", envvar="XLT_CLAIMS_EMBED_MODEL",
                                                 help="sentence-transformers id or path [default: bundled all-MiniLM-L6-v2]")] = None,
    nli_model: Annotated[Optional[str], typer.Option("--nli-model", envvar="XLT_CLAIMS_NLI_MODEL",
                                                     help="NLI cross-encoder (sentence-transformers CrossEncoder id or local path) as the "
                                                          "'states it' test; number/entity/scope rules stay as guards")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Evidence sentences stored per claim")] = 5,
    no_flags: Annotated[bool, typer.Option("--no-flags", help="Skip report-level flags")] = False,
    device: Annotated[Optional[str], typer.Option(help="cpu | cuda [default: cuda when available]")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Find each claim's evidence in the cited papers; store top sentences, a textual verdict, and flags."""
    from ..evidence.display import VERDICT_STYLE
    from ..evidence import compute_evidence
    if not ids and not all_:
        fail("name claim ids / report keys, or pass --all")
    store = open_store_or_fail(db)
    try:
        if json_out:
            res = compute_evidence(store, None if all_ else ids, model=model, nli_model=nli_model, top_k=top_k,
                                   flags=not no_flags, device=device)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(TextColumn("[bold]evidence"), BarColumn(), TextColumn("{task.completed}/{task.total} claims"),
                          TimeElapsedColumn(), console=console, transient=True) as prog:
                task = prog.add_task("claims", total=None)
                res = compute_evidence(store, None if all_ else ids, model=model, nli_model=nli_model, top_k=top_k,
                                       flags=not no_flags, device=device,
                                       progress=lambda n, total: prog.update(task, completed=n + 1, total=total))
    except LookupError as exc:
        fail(str(exc.args[0] if exc.args else exc))
    except RuntimeError as exc:
        fail(str(exc))
    if json_out:
        print_json(res.as_dict())
        return
    t = stacked_table("claim", "verdict \u00b7 checked against / best evidence")
    for cid, d in res.per_claim.items():
        ev = d.get("evidence") or {}
        quote = ev.get("quote", "")
        where = f"{ev.get('arxiv_id')} #{ev.get('sentence_index')}: " if ev else ""
        stacked_row(t, safe(cid), f"[{VERDICT_STYLE.get(d['verdict'], 'white')}]{safe(d['verdict'])}[/] [dim]\u00b7 "
                    f"{safe(d['checked_against'])}[/]", safe(where + quote, 160))
    console.print(t)
    for cid, reason in res.skipped.items():
        console.print(f"[yellow]skipped[/] {safe(cid)}: {safe(reason)}", highlight=False)
    for cid, txt in res.repaired.items():
        console.print(f"[cyan]repaired[/] {safe(cid)}: {safe(txt)}", highlight=False)
    for f in res.flags:
        console.print(f"[magenta]flag[/] {safe(f['report'])} {safe(f['kind'])}: {safe(f['message'])}", highlight=False)
    for note in res.notes:
        console.print(f"[yellow]note[/] {safe(note)}", highlight=False)
    v = dict(res.verdicts)
    console.print(f"{res.claims} claims: " + safe(", ".join(f"{k} {n}" for k, n in sorted(v.items())))
                  + f"  (model {safe(res.model_id)}; {res.timings.get('total', 0):.1f} s, model load "
                    f"{res.timings.get('model_load', 0):.1f} s, cache {res.cache.get('hits', 0)} hits / "
                    f"{res.cache.get('misses', 0)} new)", highlight=False)


def flags_cmd(
    report: Annotated[Optional[str], typer.Argument(help="Report key (default: all)")] = None,
    kind: Annotated[Optional[str], typer.Option(help="Only this kind")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Stored report/claim flags (unfound entities, off-topic citations, truncated claims, ...)."""
    from ..store.models import Flag
    from sqlmodel import select

    store = open_store_or_fail(db)
    with store.read() as s:
        q = select(Flag).order_by(Flag.report_key, Flag.kind, Flag.id)
        if report:
            q = q.where(Flag.report_key == report)
        if kind:
            q = q.where(Flag.kind == kind)
        rows = list(s.exec(q).all())
    if json_out:
        print_json([{"report": f.report_key, "claim": f.claim_id, "kind": f.kind, "subject": f.subject,
                     "message": f.message, "detail": f.detail, "created_at": f.created_at} for f in rows])
        return
    t = stacked_table("report", "kind \u00b7 subject / message")
    for f in rows:
        stacked_row(t, safe(f.report_key[:12]), f"{safe(f.kind)} [dim]\u00b7[/] {safe(f.subject)}", safe(f.message))
    console.print(t)
