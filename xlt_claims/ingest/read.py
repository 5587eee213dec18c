"""Read side of the store: list claims, show one claim with everything attached, list reports.

`show_claim` displays every table that has a `claim_id` column generically (flags, evidence,
verdicts, experiment links, and whatever later areas add) plus the runs those verdicts and
experiment links point at, so new kinds of results show up without changes here.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any, Iterator, Optional

from sqlalchemy import func, or_, select
from sqlmodel import SQLModel

from ..store import Store
from ..store.models import CLAIM_KINDS, STATUSES, Claim, ClaimEvent, ClaimSource, Paper, Reference, Report, Run


class NotFound(LookupError):
    """An id or report that is not in the store. `suggestions` lists close ones."""

    def __init__(self, message: str, suggestions: Optional[list[str]] = None):
        super().__init__(message)
        self.suggestions = suggestions or []


def _row(obj_or_row) -> dict[str, Any]:
    if hasattr(obj_or_row, "_mapping"):
        d = dict(obj_or_row._mapping)
    elif isinstance(obj_or_row, SQLModel):
        d = obj_or_row.model_dump()
    else:
        d = dict(obj_or_row)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in d.items()}


def resolve_report_key(store: Store, report: str) -> str:
    """A report key from a key, a unique key prefix, a file name or a report id."""
    rt = Report.__table__
    with store.reader.connect() as conn:
        keys = [r[0] for r in conn.execute(select(rt.c.key).distinct())]
        if report in keys:
            return report
        by_file = conn.execute(select(rt.c.key).where(or_(rt.c.file_name == report, rt.c.source_path == report))).first()
        if by_file:
            return by_file[0]
        if report.isdigit():
            by_id = conn.execute(select(rt.c.key).where(rt.c.id == int(report))).first()
            if by_id:
                return by_id[0]
    pref = [k for k in keys if k.startswith(report)]
    if len(pref) == 1:
        return pref[0]
    if len(pref) > 1:
        raise NotFound(f"report '{report}' is ambiguous", sorted(pref)[:10])
    raise NotFound(f"no report '{report}' in the store", difflib.get_close_matches(report, keys, n=5, cutoff=0.3))


def list_claims(store: Store, report: Optional[str] = None, status: Optional[str] = None, kind: Optional[str] = None,
                include_retired: bool = False, truncated: Optional[bool] = None, limit: Optional[int] = None
                ) -> list[dict[str, Any]]:
    return list(iter_claims(store, report=report, status=status, kind=kind, include_retired=include_retired,
                            truncated=truncated, limit=limit))


def iter_claims(store: Store, report: Optional[str] = None, status: Optional[str] = None, kind: Optional[str] = None,
                include_retired: bool = False, truncated: Optional[bool] = None, limit: Optional[int] = None,
                chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """`list_claims` row by row, fetched `chunk` rows at a time (bounded memory on large stores). The
    filters are checked before the first row is asked for (ValueError / NotFound right away)."""
    stmt = _claims_stmt(store, report, status, kind, include_retired, truncated, limit)
    return _stream_rows(store, stmt, chunk)


def _stream_rows(store: Store, stmt, chunk: int) -> Iterator[dict[str, Any]]:
    with store.reader.connect() as conn:
        # on the statement, not the connection: the read-only transaction's own SET TRANSACTION must
        # not run through a server-side cursor (PostgreSQL)
        result = conn.execute(stmt.execution_options(yield_per=chunk))
        for r in result:
            yield _row(r)


def _claims_stmt(store: Store, report, status, kind, include_retired, truncated, limit):
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status '{status}'; one of: {', '.join(STATUSES)}")
    if kind is not None and kind not in CLAIM_KINDS:
        raise ValueError(f"unknown kind '{kind}'; one of: {', '.join(CLAIM_KINDS)}")
    ct, rt = Claim.__table__, Report.__table__
    stmt = (select(ct, rt.c.version.label("report_version"), rt.c.title.label("report_title"))
            .join(rt, rt.c.id == ct.c.report_id).order_by(ct.c.report_key, ct.c.row, ct.c.id))
    if report is not None:
        stmt = stmt.where(ct.c.report_key == resolve_report_key(store, report))
    if status is not None:
        stmt = stmt.where(ct.c.status == status)
    if kind is not None:
        stmt = stmt.where(ct.c.kind == kind)
    if not include_retired:
        stmt = stmt.where(ct.c.retired.is_(False))
    if truncated is not None:
        stmt = stmt.where(ct.c.looks_truncated.is_(truncated))
    if limit:
        stmt = stmt.limit(limit)
    return stmt


def find_claim_id(store: Store, claim_id: str) -> str:
    """The full id for an id or a unique id prefix; NotFound lists close ids."""
    ct = Claim.__table__
    cid = claim_id.strip()
    with store.reader.connect() as conn:
        if conn.execute(select(ct.c.id).where(ct.c.id == cid)).first():
            return cid
        pref = [r[0] for r in conn.execute(select(ct.c.id).where(ct.c.id.like(cid.replace("%", "") + "%")).limit(20))]
        if len(pref) == 1 and len(cid) >= 3:
            return pref[0]
        if len(pref) > 1:
            raise NotFound(f"claim id '{cid}' is ambiguous", sorted(pref))
        all_ids = [r[0] for r in conn.execute(select(ct.c.id))]
    close = difflib.get_close_matches(cid, all_ids, n=5, cutoff=0.5)
    close += [i for i in all_ids if i[:3] == cid[:3] and i not in close][:5]
    raise NotFound(f"no claim '{cid}' in the store", close[:8])


# tables shown by dedicated code; every other table with a claim_id column is shown generically
_SPECIAL = {"claim", "claimsource", "claimevent"}
_SECTION_NAMES = {"flag": "flags", "evidence": "evidence", "verdict": "verdicts", "experimentlink": "experiment_links"}


def show_claim(store: Store, claim_id: str) -> dict[str, Any]:
    cid = find_claim_id(store, claim_id)
    ct, rt = Claim.__table__, Report.__table__
    with store.reader.connect() as conn:
        claim = _row(conn.execute(select(ct).where(ct.c.id == cid)).first())
        report = _row(conn.execute(select(rt).where(rt.c.id == claim["report_id"])).first())
        report.pop("abstract", None)
        versions = [_row(r) for r in conn.execute(
            select(rt.c.id, rt.c.version, rt.c.is_latest, rt.c.file_name, rt.c.ingested_at)
            .where(rt.c.key == claim["report_key"]).order_by(rt.c.version))]
        report["versions"] = versions
        reft, pt = Reference.__table__, Paper.__table__
        refs = []
        for r in conn.execute(select(reft, pt.c.title.label("paper_title"), pt.c.text_source.label("paper_text_source"),
                                     pt.c.last_error.label("paper_error"))
                              .join(pt, pt.c.arxiv_id == reft.c.arxiv_id, isouter=True)
                              .where(reft.c.report_id == claim["report_id"]).order_by(reft.c.position)):
            refs.append(_row(r))
        st = ClaimSource.__table__
        sources = [_row(r) for r in conn.execute(
            select(st, rt.c.version.label("report_version"), rt.c.file_name)
            .join(rt, rt.c.id == st.c.report_id).where(st.c.claim_id == cid).order_by(rt.c.version))]
        et = ClaimEvent.__table__
        events = [_row(r) for r in conn.execute(select(et).where(et.c.claim_id == cid).order_by(et.c.at, et.c.id))]
        attached: dict[str, list[dict[str, Any]]] = {}
        run_ids: set[int] = set()
        experiments: set[str] = set()
        for table in SQLModel.metadata.sorted_tables:
            if table.name in _SPECIAL or "claim_id" not in table.c:
                continue
            rows = [_row(r) for r in conn.execute(select(table).where(table.c.claim_id == cid))]
            if not rows:
                continue
            attached[_SECTION_NAMES.get(table.name, table.name)] = rows
            for r in rows:
                for rid in r.get("run_ids") or []:
                    if isinstance(rid, int):
                        run_ids.add(rid)
                if table.name == "experimentlink" and r.get("active", True) and r.get("experiment"):
                    experiments.add(r["experiment"])
        runt = Run.__table__
        runs: list[dict[str, Any]] = []
        if run_ids or experiments:
            cols = [c for c in runt.c if c.name not in ("manifest", "config")]
            stmt = select(*cols).where(or_(runt.c.id.in_(sorted(run_ids)), runt.c.experiment.in_(sorted(experiments))))
            runs = [_row(r) for r in conn.execute(stmt.order_by(runt.c.id))]
    fields = {k: claim.get(k) for k in ("kind", "datasets", "tasks", "languages", "metric", "unit", "value",
                                        "value_high", "comparator", "direction", "model", "method")}
    return {"id": cid, "claim": claim, "fields": fields, "report": report, "references": refs, "sources": sources,
            "events": events, **attached, "runs": runs}


def list_reports(store: Store, all_versions: bool = False) -> list[dict[str, Any]]:
    rt, ct, st = Report.__table__, Claim.__table__, ClaimSource.__table__
    n_claims = select(func.count()).select_from(st).where(st.c.report_id == rt.c.id).scalar_subquery()
    n_refs = select(func.count()).select_from(Reference.__table__).where(
        Reference.__table__.c.report_id == rt.c.id).scalar_subquery()
    stmt = select(rt.c.id, rt.c.key, rt.c.version, rt.c.is_latest, rt.c.file_name, rt.c.source_path, rt.c.title,
                  rt.c.date, rt.c.research_question, rt.c.stated_paper_count, rt.c.stated_claims_count,
                  rt.c.stated_verified_count, rt.c.quality_score, rt.c.content_hash, rt.c.ingested_at,
                  n_claims.label("claims"), n_refs.label("references")).order_by(rt.c.key, rt.c.version)
    if not all_versions:
        stmt = stmt.where(rt.c.is_latest.is_(True))
    with store.reader.connect() as conn:
        rows = [_row(r) for r in conn.execute(stmt)]
        counts = dict(conn.execute(select(rt.c.key, func.count()).group_by(rt.c.key)).all())
        retired = dict(conn.execute(select(ct.c.report_key, func.count()).where(ct.c.retired.is_(True))
                                    .group_by(ct.c.report_key)).all())
    for r in rows:
        r["versions"] = counts.get(r["key"], 1)
        r["retired_claims"] = retired.get(r["key"], 0)
    return rows
