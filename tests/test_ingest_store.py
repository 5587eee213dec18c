"""ingest_paths against a real SQLite store: the Done-when numbers, idempotency, versions, dry runs,
and that a bad file never leaves rows behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from conftest import REPORTS_DIR
from _ingest_util import GOOD, counts, report_text, write
from xlt_claims.ingest import ingest_paths, list_claims, show_claim
from xlt_claims.ingest import ingest as ingest_mod
from xlt_claims.store.models import Claim, ClaimSource, Flag, Reference, Report


def _seed_rows(path):
    rows = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] != "Claim":
            rows.append((parts[0], {"\u2713": True, "\u00d7": False}[parts[1]], float(parts[2])))
    return rows


def test_seeds_done_when_numbers(store):
    res = ingest_paths(store, [REPORTS_DIR])
    assert res.ok
    assert counts(store)["report"] == 2 and counts(store)["reference"] == 6 and counts(store)["claim"] == 21
    by_key = {f.key: f.claims for f in res.files if f.status == "new"}
    assert sorted(by_key.values()) == [10, 11]
    # marks and confidences exactly as printed, row by row
    with store.session() as s:
        for path in sorted(REPORTS_DIR.glob("*.txt")):
            claims = s.exec(select(Claim).where(Claim.report_key == path.stem).order_by(Claim.row)).all()
            assert [(c.text, c.report_mark, c.report_confidence) for c in claims] == _seed_rows(path)
            assert all(c.status == "unverified" and c.confidence == c.report_confidence for c in claims)
    # ids are short and unique
    ids = [c["id"] for c in list_claims(store)]
    assert len(set(ids)) == 21 and all(6 <= len(i) <= 8 for i in ids)
    # every claim has its initial ingest event
    assert counts(store)["claimevent"] == 21 and counts(store)["claimsource"] == 21
    # the README is folder documentation, reported as skipped, not a failure
    assert [f.status for f in res.files if f.path.endswith("README.md")] == ["skipped"]


def test_seed_claims_show_fields_and_truncation(store):
    ingest_paths(store, [REPORTS_DIR])
    rows = list_claims(store)
    paws = next(r for r in rows if "PAWS-X" in r["text"])
    d = show_claim(store, paws["id"])
    assert d["fields"]["datasets"] == ["PAWS-X"] and d["fields"]["value"] == 2.1
    assert d["fields"]["metric"] == "points" and d["fields"]["direction"] == "improve"
    assert [r["arxiv_id"] for r in d["references"]] == ["2104.08645", "1911.03070", "2106.01732"]
    assert d["events"][0]["cause"] == "ingest" and d["events"][0]["new_status"] == "unverified"
    fea = next(r for r in rows if r["text"].endswith("syntactic fea"))
    assert fea["looks_truncated"] is True
    d = show_claim(store, fea["id"])
    assert d["flags"][0]["kind"] == "truncated" and "features" in d["flags"][0]["message"]
    complete = [r for r in rows if r["text"].endswith(".")]
    assert not any(r["looks_truncated"] for r in complete)


def test_reingest_is_idempotent_and_says_so(store, tmp_path):
    ingest_paths(store, [REPORTS_DIR])
    before = counts(store)
    res = ingest_paths(store, [REPORTS_DIR])
    assert res.ok and res.nothing_new
    assert sorted(f.same_as for f in res.files if f.status == "unchanged") == [
        "000_29b9937d0813450b v1", "004_fb1d2f862757e2a0 v1"]
    assert counts(store) == before
    # same bytes under another name and folder: still nothing new
    copy = shutil.copy(REPORTS_DIR / "000_29b9937d0813450b.txt", tmp_path / "renamed.txt")
    res = ingest_paths(store, [copy])
    assert res.files[0].status == "unchanged" and counts(store) == before


def test_changed_file_is_a_new_version_with_matched_claims(store, tmp_path):
    src = (REPORTS_DIR / "000_29b9937d0813450b.txt").read_text(encoding="utf-8")
    p = write(tmp_path / "000_29b9937d0813450b.txt", src)
    ingest_paths(store, [p])
    v1 = {r["text"]: r["id"] for r in list_claims(store)}
    # v2: one claim reworded slightly, the truncated claim completed, one claim dropped, one added,
    # one confidence changed, rows reordered
    v2 = (src.replace("improves by 1.6 points on XNLI.", "improves by 1.6 points on the XNLI benchmark.")
          .replace("additional syntactic fea\t", "additional syntactic features.\t")
          .replace("Syntactic features require large amounts of data.\t\u00d7\t0.15\n", "")
          .replace("\t\u2713\t0.16", "\t\u2713\t0.26")
          .replace("Claim\tVerified\tConfidence\n",
                   "Claim\tVerified\tConfidence\nA completely new claim about Swahili.\t\u2713\t0.5\n"))
    write(p, v2)
    res = ingest_paths(store, [p])
    f = res.files[0]
    assert f.status == "version" and f.version == 2
    assert (f.matched_exact, f.matched_fuzzy, f.new_claims, f.retired) == (8, 2, 1, 1)
    with store.session() as s:
        reps = s.exec(select(Report).order_by(Report.version)).all()
        assert [(r.version, r.is_latest) for r in reps] == [(1, False), (2, True)]
    now = {r["text"]: r for r in list_claims(store)}
    assert now["The cross-lingual transfer performance improves by 1.6 points on the XNLI benchmark."]["id"] == \
        v1["The cross-lingual transfer performance improves by 1.6 points on XNLI."]
    full = next(r for r in now.values() if r["text"].endswith("syntactic features."))
    old_trunc = next(t for t in v1 if t.endswith("syntactic fea"))
    assert full["id"] == v1[old_trunc] and full["looks_truncated"] is False
    retired = [r for r in list_claims(store, include_retired=True) if r["retired"]]
    assert [r["text"] for r in retired] == ["Syntactic features require large amounts of data."]
    # provenance: a matched claim has one source per version; the confidence change is an event
    paws = now["The cross-lingual transfer performance improves by 2.1 points on PAWS-X."]
    d = show_claim(store, paws["id"])
    assert [(s["report_version"], s["report_confidence"]) for s in d["sources"]] == [(1, 0.16), (2, 0.26)]
    assert [e["new_confidence"] for e in d["events"]] == [0.16, 0.26] and paws["confidence"] == 0.26
    # the truncated flag of the now complete claim is gone
    with store.session() as s:
        assert not s.exec(select(Flag).where(Flag.claim_id == full["id"])).all()
    # going back to v1's bytes is recognised as already stored
    write(p, src)
    assert ingest_paths(store, [p]).files[0].status == "unchanged"


def test_retired_claim_comes_back_with_its_id(store, tmp_path):
    p = write(tmp_path / "r.txt", report_text(GOOD))
    ingest_paths(store, [p])
    ids = {r["text"]: r["id"] for r in list_claims(store)}
    write(p, report_text(GOOD[:1]))
    ingest_paths(store, [p])
    assert len(list_claims(store)) == 1
    write(p, report_text(GOOD + [("Another claim.", "\u2713", "0.1")]))
    ingest_paths(store, [p])
    assert {r["text"]: r["id"] for r in list_claims(store) if r["text"] in ids} == ids


def test_dry_run_writes_nothing(store, tmp_path):
    before = counts(store)
    res = ingest_paths(store, [REPORTS_DIR], dry_run=True)
    assert res.dry_run and res.claims_stored == 21 and res.references_stored == 6
    assert counts(store) == before


@pytest.mark.parametrize("name,content", [
    ("empty.txt", b""),
    ("binary.txt", b"\x00\x01\x02 binary"),
    ("latin1.txt", report_text(GOOD).encode("utf-8").replace(b"Thai", b"Tha\xef")),
    ("notable.txt", report_text(GOOD).split("Claim\tVerified")[0]),
    ("badrow.txt", report_text(GOOD + [("Only two cells", "\u2713")])),
    ("badconf.txt", report_text(GOOD + [("Too sure.", "\u2713", "1.5")])),
])
def test_bad_file_fails_alone_and_writes_nothing(store, tmp_path, name, content):
    good = write(tmp_path / "in" / "good.txt", report_text(GOOD))
    bad = write(tmp_path / "in" / name, content)
    before = counts(store)
    res = ingest_paths(store, [bad])
    assert not res.ok and res.files[0].status == "failed" and str(bad) in res.files[0].error
    assert counts(store) == before  # nothing half-written
    # a directory holding the bad file and a good one: the good one still goes in
    res = ingest_paths(store, [good.parent])
    assert {f.path: f.status for f in res.files} == {str(good): "new", str(bad): "failed"}
    assert counts(store)["claim"] == before["claim"] + 2


def test_missing_path_is_a_failure(store, tmp_path):
    res = ingest_paths(store, [tmp_path / "nope.txt"])
    assert not res.ok and "no such file" in res.files[0].error


def test_database_error_rolls_back_the_whole_report(store, tmp_path):
    from sqlalchemy import event

    paths = [write(tmp_path / f"{k}.txt", report_text(GOOD, title=f"Report {k}")) for k in "abc"]
    calls = []

    def failing(conn, cursor, statement, parameters, context, executemany):
        # report b dies after its claims were inserted, every time it is written
        if statement.startswith("INSERT INTO claimevent"):
            calls.append(statement)
            if '"report":"b"' in repr(parameters):
                raise RuntimeError("disk full")

    seen = []
    event.listen(store.engine, "before_cursor_execute", failing)
    res = ingest_paths(store, paths, progress=lambda o: seen.append((o.status, Path(o.path).name)))
    event.remove(store.engine, "before_cursor_execute", failing)
    assert [f.status for f in res.files] == ["new", "failed", "new"] and "disk full" in res.files[1].error
    assert "b.txt: not stored" in res.files[1].error and "nothing of this file was written" in res.files[1].error
    assert seen == [("new", "a.txt"), ("failed", "b.txt"), ("new", "c.txt")]  # file order, as committed
    # a, b in one transaction, rolled back; then a, b, c each alone
    assert len(calls) == 5
    c = counts(store)
    assert (c["report"], c["claim"], c["claimsource"], c["reference"], c["claimevent"]) == (2, 4, 4, 2, 4)
    with store.engine.connect() as conn:
        keys = {r.key for r in conn.execute(select(Report.__table__.c.key))}
    assert keys == {"a", "c"}


def test_reports_share_a_transaction_and_are_reported_after_its_commit(store, tmp_path, monkeypatch):
    from sqlalchemy import event

    monkeypatch.setattr(ingest_mod, "BATCH_SECONDS", 3600.0)
    monkeypatch.setattr(ingest_mod, "BATCH_REPORTS", 3)
    paths = [write(tmp_path / f"r{i}.txt", report_text(GOOD, title=f"Report {i}")) for i in range(7)]
    log = []
    event.listen(store.engine, "commit", lambda conn: log.append("commit"))
    res = ingest_paths(store, paths, progress=lambda o: log.append(Path(o.path).stem))
    assert res.ok and res.count("new") == 7
    assert log == ["commit", "r0", "r1", "r2", "commit", "r3", "r4", "r5", "commit", "r6"]


def test_id_collision_extends_the_id(store, tmp_path):
    p = write(tmp_path / "k.txt", report_text(GOOD))
    prep = ingest_mod.prepare_report(p)
    taken = prep.claims[0].id_hash[:6]
    with store.session() as s:  # a claim of another report already owns the 6-char prefix
        rid = Report(key="other", file_name="o.txt", source_path="o.txt", content_hash="x" * 64)
        s.add(rid)
        s.flush()
        s.add(Claim(id=taken, report_key="other", report_id=rid.id, row=1, line=1, text="t", normalized="t"))
    res = ingest_paths(store, [p])
    ids = res.files[0].claim_ids
    assert ids[0] == prep.claims[0].id_hash[:7] and len(ids[1]) == 6


def test_duplicate_rows_get_distinct_ids(store, tmp_path):
    p = write(tmp_path / "dup.txt", report_text(GOOD + [GOOD[0]]))
    res = ingest_paths(store, [p])
    assert res.ok and len(set(res.files[0].claim_ids)) == 3
    assert any("repeats an earlier row" in w for w in res.files[0].warnings)


def test_parallel_parsing_gives_the_same_store(tmp_path):
    from xlt_claims.ingest.synthetic import generate_corpus
    from xlt_claims.store import open_store

    generate_corpus(tmp_path / "c", n_reports=12, claims_per_report=5, seed=3)
    rows = []
    for w in (1, 2):
        st = open_store(tmp_path / f"w{w}.db")
        res = ingest_paths(st, [tmp_path / "c"], workers=w)
        assert res.ok and res.claims_stored == 60
        rows.append([(r["id"], r["text"], r["looks_truncated"], r["kind"]) for r in list_claims(st)])
        st.close()
    assert rows[0] == rows[1]


def test_references_and_sources_point_at_the_version(store):
    ingest_paths(store, [REPORTS_DIR])
    with store.session() as s:
        refs = s.exec(select(Reference)).all()
        assert {(r.arxiv_id, r.version) for r in refs} == {
            ("2104.08645", 2), ("1911.03070", 4), ("2106.01732", 2), ("2205.08497", 1), ("2106.09063", 4),
            ("2310.10378", 5)}
        srcs = s.exec(select(ClaimSource)).all()
        assert all(src.text for src in srcs) and len({src.claim_id for src in srcs}) == 21


def test_same_stem_elsewhere_is_a_new_version_with_a_warning(store, tmp_path):
    a = write(tmp_path / "a" / "rep.txt", report_text(GOOD))
    b = write(tmp_path / "b" / "rep.txt", report_text(GOOD[:1]))
    res = ingest_paths(store, [a, b])
    assert [f.status for f in res.files] == ["new", "version"]
    assert any(str(a) in w for w in res.files[1].warnings)


def test_prepared_claim_fills_every_column_of_the_claim_table(store, tmp_path):
    """The insert's columns come from the table: a schema addition without a value here fails."""
    from xlt_claims.ingest.ingest import _CLAIM_WRITER_COLUMNS, CLAIM_VALUE_COLUMNS, prepare_report

    assert set(CLAIM_VALUE_COLUMNS) | set(_CLAIM_WRITER_COLUMNS) == {c.name for c in Claim.__table__.c}
    prep = prepare_report(write(tmp_path / "r.txt", report_text(GOOD)))
    assert all(set(c.values) == set(CLAIM_VALUE_COLUMNS) for c in prep.claims)


def test_stored_rows_read_back_as_python_values(store):
    """JSON columns written as pre-serialised text decode to the same values the ORM gives; a
    missing JSON value is SQL NULL; booleans and times round-trip."""
    from sqlalchemy import text

    ingest_paths(store, [REPORTS_DIR])
    with store.session() as s:
        claims = s.exec(select(Claim)).all()
        assert len(claims) == 21
        for c in claims:
            assert isinstance(c.datasets, list) and isinstance(c.extraction, dict) and c.text_verdict_detail is None
            assert isinstance(c.looks_truncated, bool) and c.created_at.tzinfo is not None
        flags = s.exec(select(Flag)).all()
        assert flags and all(isinstance(f.detail, dict) and f.detail.get("signals") for f in flags)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM claim WHERE text_verdict_detail IS NULL")).scalar() == 21
        ev = conn.execute(text("SELECT detail FROM claimevent LIMIT 1")).scalar()
        ev = json.loads(ev) if isinstance(ev, str) else ev  # SQLite: the text; PostgreSQL's json: decoded
        assert set(ev) == {"report", "version", "row"} and ev["report"].startswith("00")


def test_store_files_inside_the_ingested_folder_are_skipped(tmp_path):
    from xlt_claims.store import open_store

    write(tmp_path / "r.txt", report_text(GOOD))
    st = open_store(tmp_path / "claims.db")
    ingest_paths(st, [tmp_path])
    res = ingest_paths(st, [tmp_path])  # now claims.db and its -wal/-shm exist next to the report
    st.close()
    assert res.ok
    assert {Path(f.path).name for f in res.files if f.status == "skipped"} >= {"claims.db"}
