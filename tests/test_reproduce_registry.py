"""The reproduction registry (TOML files), match rules and claim links."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPORTS_DIR, ROOT
from _reproduce_util import add_claim

from xlt_claims.reproduce.links import link_table, reset_link, set_link, sync_links, untestable_reason, report_context
from xlt_claims.metrics import metric_value
from xlt_claims.reproduce.registry import RegistryError, ReportContext, load_registry, parse_experiment
from xlt_claims.store.models import Claim, ExperimentLink

SHIPPED = ROOT / "reproductions"


def seed_claims(stem: str) -> list[str]:
    text = (REPORTS_DIR / f"{stem}.txt").read_text(encoding="utf-8")
    table = text.split("Extracted Claims", 1)[1].split("References", 1)[0]
    rows = [l.split("\t")[0].strip() for l in table.splitlines() if "\t" in l]
    return [r for r in rows if r and r != "Claim"]


def test_shipped_registry_is_valid():
    reg = load_registry([SHIPPED])
    assert {"robust-gxlt-rsda", "robust-pawsx-rsda", "robust-xnli-rsda"} <= set(reg.experiments)
    for e in reg:
        if e.kind != "train":  # other kinds validate their own decision tables
            continue
        assert e.decision.min_effect > 0
        assert e.decision.baseline in [a.name for a in e.arms]
        assert e.arms[0].method == "baseline"


def test_shared_setup_files_change_nothing_parsed():
    """The shipped files share their setup through `include =` files; every parsed experiment equals the
    snapshot taken before the includes existed (tests/golden/parsed_experiments.json)."""
    snap = json.loads((ROOT / "tests" / "golden" / "parsed_experiments.json").read_text(encoding="utf-8"))
    now = {}
    for e in load_registry([SHIPPED]):
        d = e.to_dict()
        d["path"] = Path(d["path"]).name
        now[e.name] = json.loads(json.dumps(d, sort_keys=True, default=str))
    assert now == snap
    assert sum("include =" in p.read_text(encoding="utf-8") for p in SHIPPED.glob("*.toml")) >= 12


def test_include_merges_tables_and_the_file_wins(tmp_path):
    (tmp_path / "_base.toml").write_text(
        'description = "from base"\n[run]\nseeds = [4, 5]\nprofile = "quick"\n'
        '[run.overrides.quick]\nmax_steps = 7\nlr = 0.1\n[task]\noptions = { langs = ["en", "de"] }\n')
    body = GOOD.replace('description = "d"\n', "").replace("[task]\n", '[run.overrides.quick]\nlr = 0.5\n[task]\n')
    e = parse_experiment(_write(tmp_path, 'include = "_base.toml"\n' + body))
    assert e.description == "from base" and e.seeds == [4, 5]
    assert e.overrides == {"quick": {"max_steps": 7, "lr": 0.5}}  # tables merge key by key, the file wins
    assert e.task.proxy == "logt-pair" and e.task.options == {"langs": ["en", "de"]}
    assert "include" not in e.raw
    assert list(load_registry([tmp_path]).experiments) == ["x"]  # "_base.toml" is no experiment


def test_include_errors_name_the_file_and_line_and_cycles_are_refused(tmp_path):
    (tmp_path / "_base.toml").write_text('[run]\nseeds = [1]\nprofile = "fast"\n')
    with pytest.raises(RegistryError, match=r"_base\.toml:3: profile 'fast'"):
        parse_experiment(_write(tmp_path, 'include = "_base.toml"\n' + GOOD))
    with pytest.raises(RegistryError, match=r"x\.toml:1: included file '_missing.toml' not found"):
        parse_experiment(_write(tmp_path, 'include = "_missing.toml"\n' + GOOD))
    (tmp_path / "_bad.toml").write_text("[[[")
    with pytest.raises(RegistryError, match=r"_bad\.toml: invalid TOML"):
        parse_experiment(_write(tmp_path, 'include = "_bad.toml"\n' + GOOD))
    (tmp_path / "_a.toml").write_text('include = "_b.toml"\n')
    (tmp_path / "_b.toml").write_text('include = "_a.toml"\n')
    with pytest.raises(RegistryError, match=r"_b\.toml:1: include cycle: _a\.toml -> _b\.toml -> _a\.toml"):
        parse_experiment(_write(tmp_path, 'include = "_a.toml"\n' + GOOD))
    with pytest.raises(RegistryError, match=r"x\.toml:1: include cycle: x\.toml -> x\.toml"):
        parse_experiment(_write(tmp_path, 'include = "x.toml"\n' + GOOD))
    with pytest.raises(RegistryError, match=r"x\.toml:1: 'include' must be"):
        parse_experiment(_write(tmp_path, "include = 3\n" + GOOD))


def test_seed_report_000_matches():
    reg = load_registry([SHIPPED])
    claims = seed_claims("000_29b9937d0813450b")
    assert len(claims) == 11
    ctx = ReportContext(key="000_x", text="Impact of Multilingual Embedding Alignment Robustness on Zero-Shot",
                        cites=("2104.08645", "1911.03070", "2106.01732"))
    hits = {c: sorted(e.name for e in reg if e.match.explain([c], ctx)[0] and e.tier == "core") for c in claims}
    gx = next(c for c in claims if c.startswith("Robust training remarkably"))
    assert hits[gx] == ["robust-gxlt-rsda", "robust-gxlt-rsda-auc"]  # accuracy and ROC-AUC, same runs
    paws = next(c for c in claims if "PAWS-X" in c)
    assert hits[paws] == ["robust-pawsx-rsda"]
    xnli = next(c for c in claims if "XNLI" in c)
    assert hits[xnli] == ["robust-xnli-rsda"]
    others = [c for c in claims if c not in (gx, paws, xnli)]
    assert all(hits[c] == [] for c in others), {c: hits[c] for c in others if hits[c]}
    # a report that does not cite the robust-training paper does not get the PAWS-X experiment
    other = ReportContext(key="004_x", text="Feature aggregation", cites=("2205.08497",))
    assert not reg.get("robust-pawsx-rsda").match.explain([paws], other)[0]


def test_negated_claim_not_linked():
    reg = load_registry([SHIPPED])
    ctx = ReportContext(cites=("2104.08645",), text="robust")
    assert not reg.get("robust-gxlt-rsda").match.explain(
        ["Robust training does not improve generalized cross-lingual transfer."], ctx)[0]


def _write(tmp: Path, body: str) -> Path:
    p = tmp / "x.toml"
    p.write_text(body, encoding="utf-8")
    return p


GOOD = """
name = "x"
description = "d"
[match]
all = ['foo']
[task]
proxy = "logt-pair"
[[arms]]
name = "baseline"
[[arms]]
name = "m"
method = "rs-da"
[decision]
baseline = "baseline"
treatment = "m"
metric = "test:nonen:accuracy"
"""


def test_parse_errors_name_file_and_line(tmp_path):
    e = parse_experiment(_write(tmp_path, GOOD))
    assert e.seeds == [1, 2, 3] and e.profile == "quick" and e.tier == "core"
    with pytest.raises(RegistryError, match=r"x\.toml:\d+: .*min_effect"):
        parse_experiment(_write(tmp_path, GOOD + "min_effect = 0\n"))
    with pytest.raises(RegistryError, match=r"x\.toml:15: decision.treatment 'nope'"):
        parse_experiment(_write(tmp_path, GOOD.replace('treatment = "m"', 'treatment = "nope"')))
    with pytest.raises(RegistryError, match="bad regex"):
        parse_experiment(_write(tmp_path, GOOD.replace("'foo'", "'(foo'")))
    with pytest.raises(RegistryError, match="invalid TOML"):
        parse_experiment(_write(tmp_path, GOOD + "[[["))
    with pytest.raises(RegistryError, match="metric"):
        parse_experiment(_write(tmp_path, GOOD.replace("test:nonen:accuracy", "accuracy")))
    with pytest.raises(RegistryError, match="unknown key 'arm'"):
        parse_experiment(_write(tmp_path, "arm = 1\n" + GOOD))
    _write(tmp_path, GOOD)
    (tmp_path / "y.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(RegistryError, match="already defined"):
        load_registry([tmp_path])


def test_metric_value():
    m = {"test": {"en": {"accuracy": 0.9}, "de": {"accuracy": 0.6}, "fr": {"accuracy": 0.8}},
         "test_pairs": {"de-fr": {"accuracy": 0.5}, "de-de": {"accuracy": 0.7}, "en-de": {"accuracy": 0.4}},
         "summary": {"pairs_avg": 0.55}}
    assert metric_value(m, "test:nonen:accuracy") == pytest.approx(0.7)
    assert metric_value(m, "test_pairs:cross:accuracy") == pytest.approx(0.45)
    assert metric_value(m, "test_pairs:same:accuracy") == pytest.approx(0.7)
    assert metric_value(m, "test:de:accuracy") == pytest.approx(0.6)
    assert metric_value(m, "summary.pairs_avg") == pytest.approx(0.55)
    assert metric_value(m, "test:xx:accuracy") is None


def test_links_rule_manual_and_reset(store):
    reg = load_registry([SHIPPED])
    add_claim(store, "gx1", "Robust training remarkably improves generalized cross-lingual transfer.", cites=("2104.08645",))
    add_claim(store, "bg1", "XTREME and XGLUE provide benchmarks for zero-shot cross-lingual transfer learning.")
    with store.session() as s:
        res = sync_links(s, reg)
    assert ("gx1", "robust-gxlt-rsda") in res.added
    assert not [k for k in res.added if k[0] == "bg1"]
    with store.session() as s:
        set_link(s, reg, "gx1", "robust-gxlt-rsda", active=False)
        sync_links(s, reg)  # the manual unlink wins over the rule
        row = s.exec(__import__("sqlmodel").select(ExperimentLink).where(ExperimentLink.claim_id == "gx1",
                     ExperimentLink.experiment == "robust-gxlt-rsda")).one()
        assert row.origin == "manual" and row.active is False
        set_link(s, reg, "bg", "robust-xnli-rsda", active=True)  # id prefix
        assert reset_link(s, "gx1", "robust-gxlt-rsda")
        sync_links(s, reg)
        tab = {(r["claim_id"], r["experiment"]): r for r in link_table(s, reg)}
    assert tab[("gx1", "robust-gxlt-rsda")]["origin"] == "rule" and tab[("gx1", "robust-gxlt-rsda")]["active"]
    assert tab[("bg1", "robust-xnli-rsda")]["origin"] == "manual"


def test_untestable_reasons(store):
    reg = load_registry([SHIPPED])
    add_claim(store, "d1", "Multilingual BERT, XLM, and XLM-R are pre-trained multilingual language models.")
    add_claim(store, "t1", "Some research focuses on making the model aware of embedding misalignment issues by considering additional syntactic fea")
    add_claim(store, "q1", "Layer fusion improves accuracy by 3 points on NER.")
    with store.session() as s:
        for cid in ("t1",):
            c = s.get(Claim, cid)
            c.looks_truncated = True
            s.add(c)
    with store.session() as s:
        reasons = {cid: untestable_reason(s.get(Claim, cid), reg, report_context(s, s.get(Claim, cid)))
                   for cid in ("d1", "t1", "q1")}
    assert "not an effect" in reasons["d1"]
    assert "truncated" in reasons["t1"]
    assert "no registered experiment" in reasons["q1"]


SUITE = """name = "s"
kind = "task-suite"
description = "d"
[match]
all = ['foo']
[task]
proxy = "logt-cls"
[params]
tasks = ["logt-cls", "logt-pair"]
real_tasks = ["xnli", "pawsx"]
SKIP
[[arms]]
name = "baseline"
[[arms]]
name = "aif-L6"
method = "aif"
params = { layer = 6 }
[decision]
rule = "best-gain"
baseline = "baseline"
candidates = ["aif-L6"]
"""


def test_suite_skip_real_is_checked_with_file_and_line(tmp_path):
    """[params.skip_real.<profile>] (the aggregation suites skip PAWS-X in the quick profile): a known
    profile, one of the file's real tasks with a proxy at its position, and a reason."""
    pytest.importorskip("torch")  # suite files validate their arms' methods
    ok = parse_experiment(_write(tmp_path, SUITE.replace("SKIP", '[params.skip_real.quick]\npawsx = "why"')))
    assert ok.params["skip_real"] == {"quick": {"pawsx": "why"}}
    for skip, msg in (('[params.skip_real.fast]\npawsx = "why"', "unknown profile 'fast'"),
                      ('[params.skip_real.quick]\nxquad = "why"', "'xquad' is not one of real_tasks"),
                      ('[params.skip_real.quick]\npawsx = " "', "give the reason"),
                      ('skip_real = 3', "must map a profile")):
        with pytest.raises(RegistryError, match=r"x\.toml:\d+: .*" + re.escape(msg)):
            parse_experiment(_write(tmp_path, SUITE.replace("SKIP", skip)))
    no_proxy = SUITE.replace('tasks = ["logt-cls", "logt-pair"]', 'tasks = ["logt-cls"]')
    with pytest.raises(RegistryError, match="no proxy task at its position"):
        parse_experiment(_write(tmp_path, no_proxy.replace("SKIP", '[params.skip_real.quick]\npawsx = "why"')))
