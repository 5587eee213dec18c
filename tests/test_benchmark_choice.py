"""Which benchmark an experiment reads (issue 19): the claim's own when it is embedded or registered,
the offline proxy otherwise (with a note saying what is missing), --proxy for the old behaviour, --data
DIR for a folder. The same rule for every kind (train, task suite, probe)."""

from __future__ import annotations

import pytest
from conftest import ROOT

from xlt_claims.reproduce import load_registry
from xlt_claims.reproduce import tasks as T
from xlt_claims.reproduce.kinds.task_suite import real_method_params, suite_sources

SHIPPED = ROOT / "reproductions"


@pytest.fixture(scope="module")
def reg():
    return load_registry([SHIPPED])


def _registered(monkeypatch, *names: str) -> None:
    """Pretend the user ran `claims data add NAME DIR` for `names` (availability is all the choice reads)."""
    real = T.availability

    def fake(name: str):
        if name in names:
            return {"status": "registered", "location": f"/data/{name}", "embedded": False}
        return real(name)

    monkeypatch.setattr(T, "availability", fake)


def test_embedded_real_set_is_the_default_and_proxy_keeps_the_old_behaviour():
    src = T.benchmark_for("pawsx", "logt-pair")
    assert (src["name"], src["benchmark"], src["where"], src["data_dir"]) == ("pawsx", "real", "embedded", None)
    old = T.benchmark_for("pawsx", "logt-pair", use_proxy=True)
    assert (old["name"], old["benchmark"], old["stands_for"]) == ("logt-pair", "proxy", "PAWS-X")
    assert "--proxy" in old["note"]
    assert T.benchmark_for(None, "logt-cls")["benchmark"] == "proxy"  # no real counterpart: the proxy, no note
    assert T.benchmark_for(None, "logt-cls")["note"] is None


def test_xnli_never_ships_so_it_stays_proxy_with_a_note_until_registered(monkeypatch):
    src = T.benchmark_for("xnli", "logt-pair")
    assert src["name"] == "logt-pair" and src["benchmark"] == "proxy" and src["stands_for"] == "XNLI"
    assert "never shipped" in src["note"] and "claims data add xnli DIR" in src["note"]
    _registered(monkeypatch, "xnli")
    src = T.benchmark_for("xnli", "logt-pair")
    assert (src["name"], src["benchmark"], src["where"]) == ("xnli", "real", "registered /data/xnli")


def test_data_dir_reads_the_real_set_and_refuses_proxy_or_no_real_task(tmp_path):
    src = T.benchmark_for("xnli", "logt-pair", str(tmp_path))
    assert src["name"] == "xnli" and src["data_dir"] == str(tmp_path.resolve()) and src["where"].startswith("--data ")
    with pytest.raises(T.TaskError, match="exclude each other"):
        T.benchmark_for("xnli", "logt-pair", str(tmp_path), use_proxy=True)
    with pytest.raises(T.TaskError, match="no real-data task"):
        T.benchmark_for(None, "logt-cls", str(tmp_path))


def test_suites_replace_each_proxy_task_by_its_real_counterpart_when_reachable(reg, monkeypatch, tmp_path):
    fusion, ot = reg.get("fusion-aif-all-tasks"), reg.get("ot-sweep")
    assert [s["name"] for s in suite_sources(fusion, None)] == ["logt-cls", "pawsx"]  # XNLI absent here
    assert [s["name"] for s in suite_sources(ot, None)] == ["xquad", "logt-pair"]
    assert [s["name"] for s in suite_sources(fusion, None, use_proxy=True)] == ["logt-cls", "logt-pair"]
    assert [s["name"] for s in suite_sources(fusion, str(tmp_path))] == ["xnli", "pawsx"]
    _registered(monkeypatch, "xnli")
    assert [s["name"] for s in suite_sources(fusion, None)] == ["xnli", "pawsx"]
    assert [s["name"] for s in suite_sources(ot, None)] == ["xquad", "xnli"]


def test_ot_alignment_reads_tatoeba_on_a_real_task_and_the_logt_bitext_on_a_proxy():
    class Task:
        def __init__(self, proxy, langs):
            self.proxy, self.test = proxy, {lg: [] for lg in langs}

    p = {"blur": 0.5}
    real = real_method_params("ot-align", p, Task(False, ["en", "de", "th", "ro"]), None)
    assert real == {"blur": 0.5, "bitext": "tatoeba", "langs": ["de", "th"]}  # ro: not in Tatoeba's 36
    # a --data folder without Tatoeba files: the embedded copy (one with them: tests/test_real_path.py)
    assert "bitext_dir" not in real_method_params("ot-align", p, Task(False, ["en", "de"]), "/d")
    assert real_method_params("ot-align", p, Task(True, ["en", "de"]), None) is p
    assert real_method_params("ot-align", {**p, "bitext": "logt-align"}, Task(False, ["de"]), None)["bitext"] == "logt-align"
    assert real_method_params("baseline", {}, Task(False, ["de"]), None) == {}


def test_probe_reads_tatoeba_by_default_and_its_proxy_hash_is_unchanged(reg):
    from xlt_claims.reproduce.kinds import get_kind
    from xlt_claims.reproduce.runner import Options, config_hash

    exp = reg.get("fusion-probe-lower-layers")
    kind = get_kind("probe")
    real = kind.plan(exp, Options(), exp.model.default, "quick", [0])
    assert real.proxy_data is False and real.units[0].config["bitext"] == "tatoeba"
    assert real.benchmarks[0]["benchmark"] == "real" and "bitext_dir" not in real.units[0].config
    old = kind.plan(exp, Options(proxy=True), exp.model.default, "quick", [0])
    assert old.proxy_data is True and old.units[0].config["bitext"] == "logt-retrieval"
    # the config (hence the Run's hash) of the proxy probe is what it was before real sets were the default
    assert config_hash(old.units[0].config) == config_hash({
        "schema": 1, "kind": "probe", "model": exp.model.default, "seed": 0, "probe": "bitext-retrieval-p@1",
        "bitext": "logt-retrieval", "max_items": 200, "max_length": 64})


def test_quick_suites_skip_pawsx_with_the_reason_and_other_profiles_or_data_read_it(reg, tmp_path):
    """The aggregation suites' [params.skip_real.quick]: PAWS-X is not learned by the bundled encoder within
    the quick budget (dev pilots in docs/data.md), so the quick profile runs the proxy at its position and
    says why; --profile paper and --data DIR still read PAWS-X, --proxy is unchanged."""
    for name in ("fusion-aif-all-tasks", "fusion-best-layer-differs", "fusion-gain-range", "fusion-aif-dynamic",
                 "fusion-supplementary-layers"):
        exp = reg.get(name)
        reason = exp.params["skip_real"]["quick"]["pawsx"]
        assert "not learned" in reason and "--profile paper" in reason and "dev" in reason
        quick = suite_sources(exp, None, profile="quick")
        assert [s["name"] for s in quick] == ["logt-cls", "logt-pair"]
        pair = quick[1]
        assert (pair["benchmark"], pair["stands_for"], pair["note"], pair["skipped_real"]) == (
            "proxy", "PAWS-X", reason, "pawsx")
        assert [s["name"] for s in suite_sources(exp, None, profile="paper")] == ["logt-cls", "pawsx"]
        assert [s["name"] for s in suite_sources(exp, str(tmp_path), profile="quick")] == ["xnli", "pawsx"]
        assert [s["name"] for s in suite_sources(exp, None, use_proxy=True, profile="quick")] == ["logt-cls", "logt-pair"]
    # the OT sweep reads XQuAD (+ XNLI when registered): nothing of it is skipped
    assert [s["name"] for s in suite_sources(reg.get("ot-sweep"), None, profile="quick")] == ["xquad", "logt-pair"]


def test_the_skip_is_a_stated_difference_and_the_dry_run_note(reg):
    from xlt_claims.reproduce.kinds import get_kind
    from xlt_claims.reproduce.runner import Options
    from xlt_claims.verdict.display import benchmark_words

    exp = reg.get("fusion-aif-all-tasks")
    reason = exp.params["skip_real"]["quick"]["pawsx"]
    planned = get_kind("task-suite").plan(exp, Options(), exp.model.default, "quick", [1])
    assert {u.config["task"] for u in planned.units} == {"logt-cls", "logt-pair"} and planned.proxy_data
    row = next(b for b in planned.benchmarks if b["task"] == "logt-pair")
    assert benchmark_words(row) == f"logt-pair (proxy for PAWS-X: LibreOffice proxy (LOGT)); {reason}"
    (diff,) = [d for d in planned.differences if d["aspect"] == "benchmark"]
    assert (diff["paper"], diff["why"], diff["weight"], diff["task"]) == ("PAWS-X", reason, 1.0, "logt-pair")
    assert "not run" in diff["ours"] and "quick profile" in diff["ours"]
    # the judged verdict lists it among its differences (next to the proxy's data difference, which weighs)
    from xlt_claims.verdict import confidence as conf

    diffs = conf.differences(exp, proxy_data=True, data_label="logt-pair", model=exp.model.default,
                             claim_model=exp.model.claim, profile="quick", loader=planned.differences)
    assert any(d.aspect == "benchmark" and d.why == reason for d in diffs)
    assert any(d.aspect == "data" and d.weight < 1 for d in diffs)
    paper = get_kind("task-suite").plan(exp, Options(), exp.model.default, "paper", [1])
    assert "pawsx" in {u.config["task"] for u in paper.units}
    assert not [d for d in paper.differences if d["aspect"] == "benchmark"]
