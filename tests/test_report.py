"""The verification report: data gathered from the store, and HTML / Markdown / JSON carrying the same numbers."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from _report_util import build_demo_store
from xlt_claims.report import build_report, render_html, render_json, render_markdown, write_report
from xlt_claims.report.render import ci, fmt, signed


@pytest.fixture
def demo(store):
    ids = build_demo_store(store)
    return store, ids


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Rendered once per module: figures make the HTML the slow part."""
    from xlt_claims.store import open_store

    store = open_store(tmp_path_factory.mktemp("report") / "claims.db")
    try:
        ids = build_demo_store(store)
        data = build_report(store)
        return data, render_html(data), render_markdown(data), ids
    finally:
        store.close()


def _report(data, key):
    return next(r for r in data["reports"] if r["key"] == key)


def _claim(data, cid):
    return next(c for c in data["claims"] if c["id"] == cid)


def test_summary_counts_reliability_and_marks(demo):
    store, ids = demo
    data = build_report(store)
    a = _report(data, "000_demo_robust")
    b = _report(data, "004_demo_ot")
    assert a["n_claims"] == 6 and b["n_claims"] == 5
    assert a["by_status"] == {"unverified": 1, "supported-by-source": 1, "contradicted-by-source": 1,
                              "not-in-cited-sources": 1, "reproduced": 1, "partially-reproduced": 1}
    assert b["by_status"] == {"supported-by-source": 1, "not-in-cited-sources": 1, "not-reproduced": 1,
                              "inconclusive": 1, "invalid": 1}
    # A: TYPOS claim (contradicted + invented entity named in it) and the unsupported truncated claim
    assert a["reliability"]["problem_claims"] == 2 and a["reliability"]["problem_share"] == pytest.approx(2 / 6, abs=1e-3)
    assert a["reliability"]["open_claims"] == 1 and a["reliability"]["lower_bound"] is True
    assert a["reliability"]["reasons"] == {"contradicted": 1, "invented entity": 1, "unsupported": 1}
    # B: AIF claim (unsupported + invented entity), DLFA claim (not reproduced + invented entity)
    assert b["reliability"]["problem_claims"] == 2
    assert b["reliability"]["reasons"] == {"unsupported": 1, "invented entity": 2, "not reproduced": 1}
    assert "lower is better" in data["reliability_formula"].lower()
    # the report's own marks vs ours
    assert a["marks"]["ticked"] == 5 and a["marks"]["marked"] == 6
    assert a["marks"]["ticked_with_problem"] == 2
    assert a["marks"]["report_mean_confidence"] == pytest.approx((0.16 + 0.19 + 0.21 + 0.18 + 0.15 + 0.19) / 6, abs=1e-3)
    assert a["stated"]["verified"] == 5
    t = data["totals"]
    assert t["claims"] == 11 and t["with_problem"] == 4 and t["reproduced_claims"] == 5
    assert set(t["by_status"]) == {"unverified", "supported-by-source", "contradicted-by-source",
                                   "not-in-cited-sources", "reproduced", "partially-reproduced", "not-reproduced",
                                   "inconclusive", "invalid"}


def test_flags_evidence_history_and_verdicts(demo):
    store, ids = demo
    data = build_report(store)
    a = _report(data, "000_demo_robust")
    b = _report(data, "004_demo_ot")
    assert [g["kind"] for g in a["flag_groups"]] == ["unfound-entity", "off-topic-citation"]
    # claim-level entity flags (DLFA) are listed in the report's box too; a known name is grouped apart
    assert [(g["kind"], [f["subject"] for f in g["entries"]]) for g in b["flag_groups"]] == [
        ("invented-entity", ["AIF"]), ("unfound-entity", ["DLFA"]), ("missing-source", ["optimal transport"]),
        ("unfound-entity-known", ["XQuAD"])]
    assert [r["flags"] for r in a["references"]] == [[], ["off-topic-citation"]]
    typos = _claim(data, ids["claims"]["typos"])
    assert any(f["subject"] == "TYPOS" and f["inherited"] for f in typos["flags"])
    trunc = _claim(data, ids["claims"]["trunc"])
    assert trunc["looks_truncated"] and trunc["repaired_text"] is None
    assert [f["kind"] for f in trunc["flags"]] == ["truncated"]
    all4 = _claim(data, ids["claims"]["all4"])
    ev = all4["evidence"][0]
    assert ev["arxiv_id"] == "2205.08497" and ev["paper_version"] == 1 and ev["offsets_ok"] is True
    assert ev["char_end"] - ev["char_start"] == len(ev["quote"])
    assert all4["repaired_text"].endswith("transfer tasks.")
    robust = _claim(data, ids["claims"]["robust"])
    assert [e["new_status"] for e in robust["events"]] == ["unverified", "supported-by-source", "reproduced"]
    assert [e["cause"] for e in robust["events"]] == ["ingest", "evidence", "experiment"]
    (v,) = robust["verdicts"]
    # stored as a fraction (unit "fraction") and shown in points
    assert v["unit"] == "points" and v["effect"] == pytest.approx(1.91) and v["ci_low"] == pytest.approx(1.22)
    assert v["proxy"] is True and v["n_seeds"] == 3 and v["seeds"] == [1, 2, 3] and v["devices"] == ["cpu"]
    assert v["wall_s_total"] == pytest.approx(56 + 57 + 58 + 56 + 57 + 58)
    pl = v["per_language"]
    assert pl["arms"] == ["baseline", "rs-da"]
    groups = pl["langs"]["groups"]
    assert groups[0] == "Latin" and set(groups) == {"Latin", "Cyrillic", "Greek", "Han", "Japanese"}
    assert pl["scripts_from"] == "data"
    assert {r["group"] for r in pl["pairs"]["rows"]} == {"same language", "same script", "different scripts"}
    pawsx = _claim(data, ids["claims"]["pawsx"])
    assert pawsx["verdicts"][0]["claimed_effect"] == pytest.approx(2.1)
    # collapsed runs never count, not even in the per-language numbers
    inval = _claim(data, ids["claims"]["invalid"])
    vi = inval["verdicts"][0]
    assert vi["outcome"]["status"] == "invalid" and vi["reason"].startswith("arm 'fusion' collapsed")
    assert vi["per_language"]["arms"] == ["baseline"] and vi["per_language"]["excluded_collapsed_runs"] == 1
    incon = _claim(data, ids["claims"]["inconclusive"])
    assert incon["verdicts"][0]["seeds_needed"] == 6
    dlfa = _claim(data, ids["claims"]["dlfa"])
    assert dlfa["verdicts"][0]["proxy"] is False and dlfa["verdicts"][0]["devices"] == ["cuda:0 (NVIDIA H100)"]
    # manifests of every run a verdict used are embedded, with their hashes
    assert {r["id"] for r in data["runs"]} >= set(v["run_ids"])
    assert data["provenance"]["run_hashes"]["data.fingerprint"] == ["d" * 64]
    assert data["provenance"]["run_hashes"]["model_sha256"] == ["c" * 64]
    assert data["provenance"]["tool_version"]


def _cards(html: str) -> dict[str, str]:
    out = {}
    for m in re.finditer(r'<article class="claim-card[^"]*" id="claim-([^"]+)"(.*?)</article>', html, re.S):
        out[m.group(1)] = unescape(re.sub(r"<[^>]+>", " ", m.group(2)))
    return out


def _md_sections(md: str) -> dict[str, str]:
    parts = re.split(r"^#### ", md, flags=re.M)[1:]
    out = {}
    for p in parts:
        m = re.search(r"`([^`]+)`\s*$", p.splitlines()[0])
        out[m.group(1)] = p
    return out


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_html_markdown_and_json_carry_the_same_numbers(rendered):
    data, html, md, ids = rendered
    assert json.loads(render_json(data)) == json.loads(json.dumps(data))
    cards = _cards(html)
    sections = _md_sections(md)
    assert set(cards) == set(sections) == {c["id"] for c in data["claims"]}
    for c in data["claims"]:
        card, sec = re.sub(r"\s+", " ", cards[c["id"]]), re.sub(r"\s+", " ", sections[c["id"]])
        expected = [c["status"]["label"], f"confidence {fmt(c['confidence'])}", f"confidence {fmt(c['report_confidence'])}"]
        for v in c["verdicts"]:
            expected += [v["outcome"]["label"], signed(v["effect"]), ci(v["ci_low"], v["ci_high"]), f"{v['n_seeds']} (",
                         signed(v["claimed_effect"])]
            if v["seeds_needed"]:
                expected.append(f"{v['seeds_needed']} more")
            pl = v["per_language"] or {}
            if v["outcome"]["status"] == "invalid":  # invalid runs never count: no per-language numbers shown
                assert "per-language" not in card and "| language |" not in sec
                continue
            for row in (pl.get("langs") or {}).get("rows", []):
                for arm in pl["arms"]:
                    mean = row["arms"][arm]["mean"]
                    expected.append(f"{100 * mean:.1f}")
        for e in c["evidence"]:
            expected += [f"{e['char_start']}–{e['char_end']}", fmt(e["score"], 3)]
        for ev in c["events"]:
            expected.append(f"{fmt(ev['old_confidence'])} → {fmt(ev['new_confidence'])}")
        for x in expected:
            assert x in card, f"HTML card {c['id']} lacks {x!r}"
            assert x in sec, f"Markdown section {c['id']} lacks {x!r}"
    html_text, md_text = _text(html), re.sub(r"\s+", " ", md)
    for rep in data["reports"]:
        rel = rep["reliability"]
        for x in (f"{rel['problem_claims']} of {rel['claims']}", f"problem share {fmt(rel['problem_share'])}",
                  f"{rep['marks']['ticked']} of {rep['marks']['marked']}",
                  fmt(rep["marks"]["report_mean_confidence"]), fmt(rep["marks"]["our_mean_confidence"])):
            assert x in html_text, x
            assert x.replace("problem share ", "problem share **") + ("**" if x.startswith("problem share") else "") in md_text \
                or x in md_text, x
        for f in rep["flags"]:
            assert f["subject"] in html_text and f["subject"] in md_text
    t = data["totals"]
    assert f"| {t['claims']} | {t['by_group'].get('holds', 0)} |" in md
    assert f'data-field="totals.claims">{t["claims"]}<' in html


def test_html_is_self_contained_and_escaped(rendered):
    data, html, md, ids = rendered
    assert "<link" not in html and not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert "Content-Security-Policy" in html and "<style>" in html
    assert html.count("<svg") >= 6  # forest plots and per-language charts are inline SVG
    assert "Strength &amp; &lt;Transfer&gt;" in html and "<Transfer>" not in html
    assert "&amp; &lt;Transfer&gt;" in md and "<Transfer>" not in md  # Markdown: entities, as HTML would
    for rid in {r["id"] for r in data["runs"]}:
        assert f'id="run-{rid}"' in html
    # every claim card links its verdict's runs to the embedded manifests
    assert 'href="#run-' in html


def test_report_for_one_report_and_unknown_report(demo):
    store, ids = demo
    data = build_report(store, "004_demo_ot")
    assert [r["key"] for r in data["reports"]] == ["004_demo_ot"]
    assert {c["report_key"] for c in data["claims"]} == {"004_demo_ot"}
    assert {e["name"] for e in data["experiments"]} == {"layer-fusion-quick", "fusion-own-data"}
    assert build_report(store, "004")["reports"][0]["key"] == "004_demo_ot"  # unique prefix
    with pytest.raises(LookupError, match="known: 000_demo_robust, 004_demo_ot"):
        build_report(store, "nope")


def test_empty_store_renders(store, tmp_path):
    data = build_report(store)
    assert data["totals"]["claims"] == 0
    for fmt_name in ("html", "md", "json"):
        p = write_report(store, tmp_path / f"r.{fmt_name}")
        assert p.stat().st_size > 200


def test_cli_report_formats(demo, db_path, tmp_path):
    from typer.testing import CliRunner

    from xlt_claims.cli import app

    runner = CliRunner()
    for fmt_name in ("md", "json"):
        out = tmp_path / f"rep.{fmt_name}"
        r = runner.invoke(app, ["report", "--format", fmt_name, "-o", str(out), "--db", str(db_path)])
        assert r.exit_code == 0, r.output
        assert out.exists()
    data = json.loads((tmp_path / "rep.json").read_text())
    assert data["schema"] == "xlt-claims-report/1" and data["totals"]["claims"] == 11
    r = runner.invoke(app, ["report", "-f", "md", "-o", "-", "--report", "000_demo_robust", "--db", str(db_path)])
    assert r.exit_code == 0 and r.output.startswith("# Claim verification report")
    assert "004_demo_ot" not in r.output
    r = runner.invoke(app, ["report", "--report", "zzz", "--db", str(db_path)])
    assert r.exit_code == 1 and "no report matches 'zzz'" in r.output
    r = runner.invoke(app, ["report", "--format", "pdf", "--db", str(db_path)])
    assert r.exit_code == 1 and "unknown --format" in r.output


def test_research_question_results_table(rendered):
    """A sweep that answers a report's research question (OT regularisation strength for report B) gets
    its own table under that report, with the same numbers in HTML and Markdown."""
    data, html, md, ids = rendered
    (t,) = data["research_tables"]
    assert t["experiment"] == "ot-sweep" and t["reports"] == ["004_demo_ot"] and t["error"] is None
    assert [r["arm"] for r in t["rows"]] == ["ot-blur0.05", "ot-blur2"]
    assert _report(data, "004_demo_ot")["research_results"] == [{"name": "ot-sweep", "anchor": "rq-ot-sweep"}]
    assert _report(data, "000_demo_robust")["research_results"] == []
    assert 'id="rq-ot-sweep"' in html and 'data-figure="research"' in html
    for r in t["rows"]:
        for x in (signed(r["effect"]), ci(r["ci_low"], r["ci_high"]), fmt(r["mean"])):
            assert x in html and x in md


def test_the_verdict_that_sets_the_status_comes_first(demo):
    """With several experiments on one claim, the card opens with the verdict that sets its status (and
    the forest plot that goes with it), whatever order the verdicts were stored in."""
    from xlt_claims.store import models as m

    store, ids = demo
    cid = ids["claims"]["robust"]
    with store.session() as s:
        s.add(m.Verdict(claim_id=cid, experiment="zz-newer-invalid", outcome="invalid", proxy=True, metric="m",
                        n_seeds=3, run_ids=[], detail={"tier": "core", "reason": "both arms at chance"}))
    data = build_report(store)
    rows = _claim(data, cid)["verdicts"]
    assert [(r["outcome"]["status"], r["primary"]) for r in rows] == [("reproduced", True), ("invalid", False)]
    md = render_markdown(data)
    assert md.index("(sets the claim's status)") < md.index("zz-newer-invalid")
    # a verdict of an experiment no longer linked never sets the status, so it is not marked so either
    with store.session() as s:
        s.add(m.Verdict(claim_id=cid, experiment="zz-unlinked", outcome="not-reproduced", proxy=True, metric="m",
                        n_seeds=3, run_ids=[], detail={"tier": "core"}))
    rows = _claim(build_report(store), cid)["verdicts"]
    assert rows[0]["outcome"]["status"] == "reproduced" and rows[0]["primary"]
    assert not any(r["primary"] for r in rows[1:])


def test_figures_survive_undefined_numbers():
    """A verdict or per-language test whose effect or interval is NaN / infinite (too few seeds, an
    undefined AUC) is drawn without it, never an error that loses the whole report (seen on the main job)."""
    from xlt_claims.report.figures import effect_chart, forest_plot

    nan, inf = float("nan"), float("inf")
    verdict = {"effect": 1.5, "ci_low": -inf, "ci_high": inf, "n_seeds": 3, "experiment": "e", "metric": "m",
               "outcome": {"group": "open"}, "per_seed": [{"diff": nan}, {"diff": 2.0}], "bar": nan}
    svg = forest_plot({"id": "c1", "verdicts": [verdict, {**verdict, "effect": nan}]}, "t")
    assert svg and "<svg" in svg
    rows = [{"key": "de", "effect": 1.0, "ci_low": nan, "ci_high": inf}, {"key": "fr", "effect": nan},
            {"key": "ja", "effect": -0.5, "ci_low": -1.0, "ci_high": 0.2}]
    svg = effect_chart(rows, "t", "per language", "points")
    assert svg and "<svg" in svg
    assert effect_chart([{"key": "fr", "effect": nan}], "t", "x", "points") is None


def test_a_claim_whose_benchmark_is_not_at_hand_says_why_it_was_not_run(demo, db_path, tmp_path, monkeypatch):
    """XNLI never ships: the XNLI claim's card says its experiment was not run and how to register XNLI, in
    every format; once XNLI is registered (or a run exists) the note goes."""
    from typer.testing import CliRunner

    import xlt_claims.reproduce.tasks as T
    from xlt_claims.cli import app
    from xlt_claims.reproduce.links import set_link
    from xlt_claims.reproduce.registry import load_registry

    store, ids = demo
    cid = _first_claim_id(store)
    with store.session() as s:
        set_link(s, load_registry(), cid, "robust-xnli-rsda", active=True)
    card = _claim(build_report(store), cid)
    assert "robust-xnli-rsda" in card["experiments"]
    assert "claims data add xnli DIR" in card["not_run"]["robust-xnli-rsda"]
    runner = CliRunner()
    for name in ("r.md", "r.html"):  # the format follows the file's suffix
        r = runner.invoke(app, ["report", "-o", str(tmp_path / name), "--db", str(db_path)])
        assert r.exit_code == 0, r.output
        assert "robust-xnli-rsda not run: XNLI is not at hand" in (tmp_path / name).read_text()
    assert (tmp_path / "r.md").read_text().startswith("# Claim verification report")
    r = runner.invoke(app, ["report", "-o", str(tmp_path / "r.md"), "-f", "json", "--db", str(db_path)])
    assert r.exit_code == 1 and "does not match the output file" in r.output
    real = T.availability
    monkeypatch.setattr(T, "availability", lambda n: {"status": "registered", "location": "/x"} if n == "xnli" else real(n))
    assert _claim(build_report(store), cid)["not_run"] == {}


def _first_claim_id(store) -> str:
    from sqlmodel import select

    from xlt_claims.store.models import Claim

    with store.read() as s:
        return s.exec(select(Claim.id).order_by(Claim.id)).first()
