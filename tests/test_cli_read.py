"""The CLI verbs `claims ingest / list / show / reports` through typer's runner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import REPORTS_DIR
from _ingest_util import GOOD, counts, report_text, write
from xlt_claims.cli import app
from xlt_claims.store import open_store


@pytest.fixture
def run(db_path):
    runner = CliRunner()

    def _run(*args):
        return runner.invoke(app, [*args, "--db", str(db_path)], catch_exceptions=False)

    _run.db = str(db_path)
    return _run


def _list(run, *args):
    r = run("list", "--json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_ingest_then_reingest(run):
    r = run("ingest", str(REPORTS_DIR))
    assert r.exit_code == 0, r.output
    assert "21 claims" in r.stdout and "6 references" in r.stdout
    r = run("ingest", str(REPORTS_DIR))
    assert r.exit_code == 0 and "nothing new" in r.stdout and "unchanged" in r.stdout
    r = run("ingest", str(REPORTS_DIR), "--json")
    d = json.loads(r.stdout)
    assert d["unchanged"] == 2 and d["claims_stored"] == 0 and d["ok"] is True


def test_list_filters_and_json(run):
    run("ingest", str(REPORTS_DIR))
    rows = _list(run)
    assert len(rows) == 21 and {r["status"] for r in rows} == {"unverified"}
    assert len(_list(run, "--report", "000")) == 11
    assert len(_list(run, "--report", "004_fb1d2f862757e2a0.txt")) == 10
    quant = _list(run, "--kind", "quantitative")
    assert quant and all(r["kind"] == "quantitative" for r in quant)
    assert any(r["text"].endswith("PAWS-X.") for r in quant)
    assert _list(run, "--status", "reproduced") == []
    assert len(_list(run, "--truncated")) == 8
    r = run("list")
    assert r.exit_code == 0 and "PAWS-X" in r.stdout
    # 80 columns: each claim reads as a sentence under its id and status, not a word per line
    r = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["list", "--db", run.db], catch_exceptions=False)
    lines = r.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    assert any("The cross-lingual transfer performance improves by 2.1 points on PAWS-X." in ln for ln in lines)
    n = len(_list(run))
    assert len(lines) <= 3 * n + 2  # a word per line would take about five lines a claim
    r = run("list", "--status", "bogus")
    assert r.exit_code != 0 and "unknown status" in r.output
    r = run("list", "--report", "999")
    assert r.exit_code != 0 and "no report" in r.output


def test_show_paws_x_and_truncated(run):
    run("ingest", str(REPORTS_DIR))
    rows = _list(run)
    paws = next(r for r in rows if "PAWS-X" in r["text"])
    r = run("show", paws["id"])
    assert r.exit_code == 0
    out = r.stdout
    for needle in ("PAWS-X", "2.1 points", "improve", "2104.08645v2", "ingest", "000_29b9937d0813450b"):
        assert needle in out, needle
    d = json.loads(run("show", paws["id"], "--json").stdout)
    assert d["fields"]["datasets"] == ["PAWS-X"] and d["fields"]["value"] == 2.1
    assert d["fields"]["metric"] == "points" and d["fields"]["direction"] == "improve"
    fea = next(r for r in rows if r["text"].endswith("syntactic fea"))
    r = run("show", fea["id"])
    assert "looks_truncated" in r.stdout and "incomplete-word" in r.stdout
    assert json.loads(run("show", fea["id"], "--json").stdout)["claim"]["looks_truncated"] is True
    # a unique prefix works
    assert run("show", fea["id"][:5]).exit_code == 0


def test_event_lines_say_what_happened():
    from xlt_claims.cli.ingest import _event_summary

    assert _event_summary({"report": "000_x", "version": 2, "row": 7}) == "report 000_x v2, row 7"
    assert _event_summary('{"reason": "stated in 2104.08645"}') == "stated in 2104.08645"
    verdict = {"verdict_id": 3, "experiment": "robust-gxlt-rsda-auc", "outcome": "inconclusive", "proxy": True,
               "effect": -1.434, "ci": [-11.33, 8.46], "bayes": {"prior": 0.5}}
    assert _event_summary(verdict) == "robust-gxlt-rsda-auc: inconclusive (proxy), effect -1.43 [-11.33, 8.46]"
    assert _event_summary({"experiment": "e", "outcome": "invalid", "effect": None, "ci": [None, None]}) == "e: invalid"
    assert _event_summary("plain text") == "plain text" and _event_summary({"a": 1, "b": {"x": 1}}) == '{"a": 1}'


def test_show_prints_each_event_summary_indented_below_its_head_line(run, db_path):
    """An event's summary goes on its own lines, indented under the head line and wrapped within 80
    columns; brackets in it (a confidence interval) are printed as written, not as escaped markup."""
    from xlt_claims.store.models import ClaimEvent

    run("ingest", str(REPORTS_DIR))
    cid = _list(run)[0]["id"]
    with open_store(str(db_path)).session() as s:
        s.add(ClaimEvent(claim_id=cid, cause="experiment", old_status="unverified", new_status="inconclusive",
                         old_confidence=0.3, new_confidence=0.28,
                         detail={"experiment": "fusion-gain-range", "outcome": "inconclusive", "proxy": True,
                                 "effect": -0.667, "ci": [-7.1, 5.76]}))
    out = CliRunner().invoke(app, ["show", cid, "--db", str(db_path)], catch_exceptions=False,
                             env={"COLUMNS": "80"}).stdout
    lines = out.splitlines()
    head = next(i for i, l in enumerate(lines) if "\u2192 inconclusive" in l)
    assert lines[head].rstrip().endswith("0.3\u21920.28")
    assert lines[head + 1].startswith("    fusion-gain-range: inconclusive (proxy), effect -0.67 [-7.10,")
    assert "\\[" not in out and max(len(l.rstrip()) for l in lines) <= 80


def test_show_unknown_id_lists_close_ids(run):
    run("ingest", str(REPORTS_DIR))
    some = _list(run)[0]["id"]
    r = run("show", some[:4] + "zz")
    assert r.exit_code != 0 and "no claim" in r.output and some in r.output


def test_show_displays_rows_other_areas_attach(run, db_path):
    from xlt_claims.store.models import ExperimentLink, Run, Verdict

    run("ingest", str(REPORTS_DIR))
    cid = _list(run)[0]["id"]
    st = open_store(db_path)
    with st.session() as s:
        s.add(ExperimentLink(claim_id=cid, experiment="robust-pawsx"))
        r = Run(experiment="robust-pawsx", arm="robust", seed=1, config_hash="h", status="FINISHED", metrics={"a": 1})
        s.add(r)
        s.flush()
        s.add(Verdict(claim_id=cid, experiment="robust-pawsx", outcome="inconclusive", run_ids=[r.id], n_seeds=1))
    st.close()
    d = json.loads(run("show", cid, "--json").stdout)
    assert d["experiment_links"][0]["experiment"] == "robust-pawsx"
    assert d["verdicts"][0]["outcome"] == "inconclusive"
    assert [x["arm"] for x in d["runs"]] == ["robust"]
    out = run("show", cid).stdout  # rendered by the verdict area's view when it exists, generically otherwise
    assert "robust-pawsx" in out and "inconclusive" in out


def test_bad_files_exit_nonzero_and_good_ones_ingest(run, db_path, tmp_path):
    write(tmp_path / "in" / "good.txt", report_text(GOOD))
    write(tmp_path / "in" / "bad.txt", report_text(GOOD + [("Too sure.", "\u2713", "2")]))
    write(tmp_path / "in" / "notes.csv", "a,b\n1,2\n")
    r = run("ingest", str(tmp_path / "in"))
    assert r.exit_code == 1
    assert "bad.txt:" in r.output and "outside [0, 1]" in r.output and "notes.csv" in r.output
    assert len(_list(run)) == 2


def test_dry_run_creates_no_database(run, db_path):
    r = run("ingest", str(REPORTS_DIR), "--dry-run")
    assert r.exit_code == 0 and "would store" in r.stdout and "21 claims" in r.stdout
    assert not db_path.exists()
    run("ingest", str(REPORTS_DIR / "000_29b9937d0813450b.txt"))
    st = open_store(db_path)
    before = counts(st)
    r = run("ingest", str(REPORTS_DIR), "--dry-run", "--json")
    d = json.loads(r.stdout)
    assert d["dry_run"] and d["new_reports"] == 1 and d["unchanged"] == 1
    assert counts(st) == before
    st.close()


def test_reports_verb(run):
    run("ingest", str(REPORTS_DIR))
    rows = json.loads(run("reports", "--json").stdout)
    assert [(r["key"], r["claims"], r["references"], r["versions"]) for r in rows] == [
        ("000_29b9937d0813450b", 11, 3, 1), ("004_fb1d2f862757e2a0", 10, 3, 1)]
    assert rows[0]["quality_score"] == 7.7 and rows[1]["stated_paper_count"] == 12
    assert "000_29b9937d0813450b" in run("reports").stdout


def test_empty_store_messages(run):
    assert "no claims in the store yet" in run("list").stdout
    assert "no reports" in run("reports").stdout
