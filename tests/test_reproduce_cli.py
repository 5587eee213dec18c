"""`claims reproduce` / `claims link` through the CLI (no training: dry-run, list, link edits)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from conftest import REPORTS_DIR, ROOT
from _reproduce_util import add_claim

from xlt_claims.cli import app

runner = CliRunner()
SHIPPED = str(ROOT / "reproductions")


def _invoke(*args: str):
    res = runner.invoke(app, list(args))
    return res


def test_list_and_bad_registry(tmp_path):
    res = _invoke("reproduce", "--list", "--json", "--reproductions", SHIPPED)
    assert res.exit_code == 0, res.output
    names = {e["name"] for e in json.loads(res.stdout)}
    assert "robust-gxlt-rsda" in names
    (tmp_path / "bad.toml").write_text('name = "Bad Name"\n')
    res = _invoke("reproduce", "--list", "--reproductions", str(tmp_path))
    assert res.exit_code == 1 and "bad.toml" in res.output


def test_dry_run_all_on_the_seed_reports(db_path):
    from xlt_claims.ingest import ingest_paths
    from xlt_claims.store import open_store

    store = open_store(db_path)
    ingest_paths(store, [REPORTS_DIR])
    store.close()
    res = _invoke("reproduce", "--dry-run", "--all", "--json", "--db", str(db_path), "--reproductions", SHIPPED)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    exps = {e["experiment"]: e for e in out["experiments"]}
    assert {"robust-gxlt-rsda", "robust-pawsx-rsda", "robust-xnli-rsda"} <= set(exps)
    for name in ("robust-gxlt-rsda", "robust-pawsx-rsda", "robust-xnli-rsda"):
        e = exps[name]
        assert len(e["claims"]) == 1 and e["runs"] and all(r["estimate_s"] is not None for r in e["runs"])
    # the claims' own benchmarks by default: PAWS-X ships embedded, XNLI never does (no folder registered here)
    for name in ("robust-gxlt-rsda", "robust-pawsx-rsda"):
        assert exps[name]["proxy_data"] is False and exps[name]["task"] == "pawsx"
        assert exps[name]["benchmarks"] == [{"task": "pawsx", "benchmark": "real", "where": "embedded", "note": None,
                                             "claim_dataset": exps[name]["benchmarks"][0]["claim_dataset"],
                                             "real": "pawsx"}]
    xnli = exps["robust-xnli-rsda"]
    assert xnli["proxy_data"] is True and xnli["task"] == "logt-pair"
    assert "claims data add xnli" in xnli["benchmarks"][0]["note"] and xnli["benchmarks"][0]["claim_dataset"] == "XNLI"
    assert exps["fusion-probe-lower-layers"]["task"] == "tatoeba" and not exps["fusion-probe-lower-layers"]["proxy_data"]
    suite = exps["fusion-aif-all-tasks"]["benchmarks"]
    # the aggregation suites skip PAWS-X in the quick profile (not learned within its budget): the proxy
    # stands at its position, with the file's reason (docs/data.md)
    assert [(b["task"], b["benchmark"], b["real"]) for b in suite] == [("logt-cls", "proxy", "xnli"),
                                                                      ("logt-pair", "proxy", "pawsx")]
    assert suite[1]["note"].startswith("PAWS-X is not learned by the bundled encoder within the quick budget")
    # identical baseline/RS-DA runs of the GXLT and PAWS-X experiments are planned once
    shared = [r for e in exps.values() for r in e["runs"] if r["state"] == "shared"]
    assert len(shared) >= 6
    texts = out["untestable_texts"]
    planned = {c for e in out["experiments"] for c in e["claims"]}
    assert len(planned | set(out["untestable"])) == 21 and all(out["untestable"].values())
    bench = next(c for c, t in texts.items() if t.startswith("XTREME and XGLUE"))
    assert "not an effect" in out["untestable"][bench]
    # the text form lists the reasons too
    res = _invoke("reproduce", "--dry-run", "--all", "--db", str(db_path), "--reproductions", SHIPPED)
    assert res.exit_code == 0 and "Claims no experiment tests" in res.output and "estimated total" in res.output
    assert "reads pawsx (real benchmark, embedded)" in res.output
    assert "reads logt-pair (proxy for XNLI" in res.output
    assert "reads logt-pair (proxy for PAWS-X: LibreOffice proxy (LOGT)); PAWS-X" in res.output
    # --proxy: the behaviour before the real benchmarks were the default (every task the LibreOffice proxy)
    res = _invoke("reproduce", "--dry-run", "--all", "--proxy", "--json", "--db", str(db_path), "--reproductions", SHIPPED)
    assert res.exit_code == 0, res.output
    exps = {e["experiment"]: e for e in json.loads(res.stdout)["experiments"]}
    assert all(e["proxy_data"] for e in exps.values())
    assert exps["robust-pawsx-rsda"]["task"] == "logt-pair" and exps["fusion-probe-lower-layers"]["task"] == "logt-retrieval"
    assert {b["task"] for b in exps["fusion-aif-all-tasks"]["benchmarks"]} == {"logt-cls", "logt-pair"}
    res = _invoke("reproduce", "--dry-run", "--all", "--proxy", "--data", str(db_path.parent), "--db", str(db_path))
    assert res.exit_code == 1 and "--proxy and --data exclude each other" in res.output


def test_link_command(store, db_path):
    add_claim(store, "gx1", "Robust training remarkably improves generalized cross-lingual transfer.")
    base = ("--db", str(db_path), "--reproductions", SHIPPED)
    res = _invoke("link", "--json", *base)
    rows = json.loads(res.stdout)
    assert {(r["claim_id"], r["experiment"], r["origin"]) for r in rows} >= {("gx1", "robust-gxlt-rsda", "rule")}
    res = _invoke("link", "gx1", "robust-gxlt-rsda", "--unlink", "--json", *base)
    row = next(r for r in json.loads(res.stdout) if r["experiment"] == "robust-gxlt-rsda")
    assert row["origin"] == "manual" and row["active"] is False
    res = _invoke("link", "gx1", "nope", *base)
    assert res.exit_code == 1 and "unknown experiment" in res.output
    res = _invoke("link", "zzz", *base)
    assert res.exit_code == 1 and "no claim" in res.output
    res = _invoke("link", "gx1", "robust-gxlt-rsda", "--reset", "--json", *base)
    row = next(r for r in json.loads(res.stdout) if r["experiment"] == "robust-gxlt-rsda")
    assert row["origin"] == "rule" and row["active"] is True
    res = _invoke("reproduce", "--db", str(db_path), "--reproductions", SHIPPED)
    assert res.exit_code == 1 and "--all" in res.output


def test_sequential_and_new_rule_options_are_checked(db_path):
    res = _invoke("reproduce", "robust-gxlt-rsda", "--until-decided", "--db", str(db_path))
    assert res.exit_code == 1 and "--until-decided needs --max-seeds N" in res.output
    res = _invoke("reproduce", "robust-gxlt-rsda", "--until-decided", "--max-seeds", "6", "--seeds", "3",
                  "--db", str(db_path))
    assert res.exit_code == 1 and "no --seeds" in res.output
    res = _invoke("reproduce", "robust-gxlt-rsda", "--max-seeds", "6", "--db", str(db_path))
    assert res.exit_code == 1 and "--max-seeds goes with --until-decided" in res.output
    assert "--new-rule" in _invoke("reproduce", "--help").output
