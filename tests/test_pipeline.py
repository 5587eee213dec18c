"""`claims verify`: the one-command main job (ingest -> papers -> evidence -> reproduce -> report)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ARXIV_FIXTURES, REPORTS_DIR
from xlt_claims import pipeline
from xlt_claims.pipeline import PipelineInterrupted, StageResult, verify


def _fake_evidence(store, rep):
    return StageResult("evidence", "done", "stubbed in this test")


def test_default_paths_fall_back_to_the_package_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pipeline.default_report_paths() == [REPORTS_DIR]
    assert pipeline.default_fixtures_dir() == ARXIV_FIXTURES
    (tmp_path / "examples" / "reports").mkdir(parents=True)
    assert pipeline.default_report_paths() == [tmp_path / "examples" / "reports"]


def test_stages_run_in_order_offline_papers_from_fixtures(store, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "stage_evidence", _fake_evidence)
    out = tmp_path / "report.md"
    res = verify(store, [REPORTS_DIR], output=out, skip_reproduce=True)
    assert [s.name for s in res.stages] == list(pipeline.STAGES)
    st = {s.name: s for s in res.stages}
    assert st["ingest"].status == "done" and "21 claims stored" in st["ingest"].summary
    assert st["papers"].status == "done"
    assert st["papers"].detail["mode"] == "offline"
    assert sorted(st["papers"].detail["imported"]) == ["1911.03070", "2104.08645", "2106.01732", "2106.09063",
                                                       "2205.08497", "2310.10378"]
    assert "imported from the bundled fixtures (offline)" in st["papers"].summary
    assert st["reproduce"].status == "skipped"
    assert res.ok and res.report_path == str(out)
    md = out.read_text(encoding="utf-8")
    assert md.count("\n#### #") == 21
    # re-running resumes: nothing is ingested twice
    res2 = verify(store, [REPORTS_DIR], output=out, skip_reproduce=True)
    assert "2 unchanged report(s)" in res2.stage("ingest").summary and "0 claims stored" in res2.stage("ingest").summary


def test_a_failing_stage_says_why_and_the_rest_still_runs(store, tmp_path, monkeypatch):
    def broken(store, progress=None):
        raise RuntimeError("the embedding model is corrupt")

    monkeypatch.setattr(pipeline, "compute_evidence", broken)
    res = verify(store, [REPORTS_DIR], output=tmp_path / "r.json", skip_reproduce=True)
    ev = res.stage("evidence")
    assert ev.status == "failed" and ev.summary == "RuntimeError: the embedding model is corrupt"
    assert not res.ok and res.stage("report").status == "done"
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["totals"]["claims"] == 21


def test_interrupt_keeps_finished_stages_and_reruns_resume(store, tmp_path, monkeypatch):
    def boom(store, rep):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "stage_evidence", boom)
    with pytest.raises(PipelineInterrupted) as ei:
        verify(store, [REPORTS_DIR], output=tmp_path / "r.html", skip_reproduce=True)
    assert ei.value.stage == "evidence"
    assert [(s.name, s.status) for s in ei.value.result.stages] == [
        ("ingest", "done"), ("papers", "done"), ("evidence", "interrupted")]
    assert not (tmp_path / "r.html").exists()
    monkeypatch.setattr(pipeline, "stage_evidence", _fake_evidence)
    res = verify(store, [REPORTS_DIR], output=tmp_path / "r.md", skip_reproduce=True)
    assert res.ok and "2 unchanged" in res.stage("ingest").summary


def test_reproduce_stage_runs_every_testable_claim_in_the_quick_profile(store, tmp_path, monkeypatch):
    import xlt_claims.reproduce as R

    seen = {}

    def fake_build(store_, registry, targets, opts, *, all_claims=False):
        seen.update(targets=targets, profile=opts.profile, all_claims=all_claims, n_seeds=opts.n_seeds,
                    device=opts.device)
        return R.ReproduceResult(plans=[], unlinked={"abc123": "no experiment"}, verdicts=[], ran=0, reused=0)

    monkeypatch.setattr(pipeline, "build_plans", fake_build)
    monkeypatch.setattr(pipeline, "run_plans", lambda store_, result, opts, reporter=None: seen.update(ran=True))
    monkeypatch.setattr(pipeline, "judge_plans", lambda store_, result: seen.update(judged=True) or [])
    monkeypatch.setattr(pipeline, "stage_evidence", _fake_evidence)
    res = verify(store, [REPORTS_DIR], output=tmp_path / "r.md", n_seeds=2, device="cpu")
    assert seen == {"targets": [], "profile": "quick", "all_claims": True, "n_seeds": 2, "device": "cpu",
                    "ran": True, "judged": True}
    rp = res.stage("reproduce")
    assert rp.status == "done" and "quick profile" in rp.summary and "1 claim(s) no experiment can test" in rp.summary


def test_main_job_leaves_out_a_proxy_standing_in_for_a_real_set_not_at_hand(store, tmp_path, monkeypatch):
    """XNLI never ships: until it is registered, the XNLI claim's experiment is not run on the LibreOffice
    proxy by the main job (it says why and how to add XNLI); --proxy runs it, and so does registering XNLI."""
    ran = {}
    monkeypatch.setattr(pipeline, "run_plans", lambda store_, result, opts, reporter=None:
                        ran.update(names={p.experiment.name for p in result.plans}))
    monkeypatch.setattr(pipeline, "judge_plans", lambda store_, result: [])
    monkeypatch.setattr(pipeline, "stage_evidence", _fake_evidence)
    res = verify(store, [REPORTS_DIR], output=tmp_path / "r.md", device="cpu")
    rp = res.stage("reproduce")
    assert "robust-xnli-rsda" not in ran["names"] and {"robust-pawsx-rsda", "fusion-aif-all-tasks"} <= ran["names"]
    why = rp.detail["not_run"]["robust-xnli-rsda"]
    assert "XNLI is not at hand" in why and "claims data add xnli DIR" in why
    assert set(rp.detail["not_run"]) == {"robust-xnli-rsda"}  # suites with one proxy position still run
    verify(store, [REPORTS_DIR], output=tmp_path / "r.md", device="cpu", proxy=True)
    assert "robust-xnli-rsda" in ran["names"]
    real = pipeline.not_at_hand  # XNLI registered, as the main job's check sees it
    monkeypatch.setattr(pipeline, "not_at_hand", lambda name: None if name == "xnli" else real(name))
    res = verify(store, [REPORTS_DIR], output=tmp_path / "r.md", device="cpu")
    assert res.stage("reproduce").detail["not_run"] == {}


def test_cli_verify(db_path, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from xlt_claims.cli import app

    monkeypatch.setattr(pipeline, "stage_evidence", _fake_evidence)
    out = tmp_path / "report.html"
    runner = CliRunner()
    r = runner.invoke(app, ["verify", str(REPORTS_DIR), "--skip-reproduce", "-o", str(out), "--db", str(db_path),
                            "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output[r.output.index("{"):])
    assert d["ok"] and [s["status"] for s in d["stages"]] == ["done", "done", "done", "skipped", "done"]
    assert out.exists() and out.read_text().count('class="claim-card') == 21
    r = runner.invoke(app, ["verify", "--profile", "huge", "--db", str(db_path)])
    assert r.exit_code == 1 and "use quick or paper" in r.output
    r = runner.invoke(app, ["verify", str(tmp_path / "nope"), "--db", str(db_path)])
    assert r.exit_code == 1 and "no such file" in r.output


@pytest.mark.slow
def test_offline_main_job_shows_both_reports_claims_and_flags(store, tmp_path):
    """The real ingest, bundled papers and evidence (offline embedding model) end to end, no reproduce."""
    out = tmp_path / "report.html"
    res = verify(store, [REPORTS_DIR], output=out, skip_reproduce=True)
    assert res.ok, "; ".join(f"{s.name}: {s.status}: {s.summary}" for s in res.stages if s.status != "done")
    html = out.read_text(encoding="utf-8")
    assert html.count('class="claim-card') == 21
    assert 'data-report-key="000_29b9937d0813450b"' in html and 'data-report-key="004_fb1d2f862757e2a0"' in html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    flags_box = " ".join(re.findall(r'<div class="flags".*?<div class="grid2"', html, re.S))
    for subject in ("TYPOS", "DLFA", "AIF", "1911.03070"):
        assert subject in flags_box, subject
    assert re.search(r"optimal[ -]transport", flags_box, re.I)
    assert "Reliability score" in text
