"""Precision and threads by measurement (reproduce.machine, experiments.calibrate, `claims machine`,
--precision/--threads): the choice from a calibration, the load adaptation, the per-machine cache,
what a run records in its manifest, and dry-run estimates from the calibration. No timing is asserted:
calibrations here are written by hand (or measured on a tiny model and only checked for shape)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from _reproduce_util import add_claim, make_task, make_tiny_model, write_experiment

from xlt_claims.cli import app
from xlt_claims.reproduce import Options, load_registry, reproduce
from xlt_claims.reproduce import machine as M
from xlt_claims.store.models import Run


def _cal(step32=(2.0, 1.2), step16=None, skipped=None) -> dict:
    step = {"fp32": {"1": step32[0], "2": step32[1]}}
    fwd = {"fp32": {"1": step32[0] / 3, "2": step32[1] / 3}}
    if step16:
        step["bf16"] = {"1": step16[0], "2": step16[1]}
        fwd["bf16"] = {"1": step16[0] / 3, "2": step16[1] / 3}
    return {"shape": {"batch": 16, "seq": 64}, "threads": [1, 2], "step_s": step, "forward_s": fwd,
            "matmul_gflops": {"fp32": {"1": 50.0, "2": 95.0}, "bf16": {"1": 0.3, "2": 0.5}},
            "skipped": skipped or {}, "step_flops": 5e10, "load_s": 3.0}


def _install(cal: dict) -> dict:
    """Write `cal` as this machine's cached calibration."""
    ident = M.machine_identity()
    cal = {**cal, "identity": ident, "key": M.machine_key(ident), "measured_at": "2026-01-01T00:00:00Z",
           "load": {"cores": 2, "others_busy_cores": 0.0, "loadavg_1m": 0.1}}
    M.calibration_path(ident).write_text(json.dumps(cal))
    return cal


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache of its own: the calibrations written here must not reach other tests."""
    monkeypatch.setenv("XLT_CLAIMS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_choose_fastest_step_ties_to_fp32_and_fewer_threads():
    prec, threads, pwhy, twhy = M.choose(_cal((2.0, 1.2), step16=(1.0, 0.6)))
    assert (prec, threads) == ("bf16", 2) and "bf16" in pwhy and "2 threads" in twhy
    # bf16 only 5% faster: fp32 (exact) wins
    prec, _, pwhy, _ = M.choose(_cal((2.0, 1.2), step16=(1.9, 1.15)))
    assert prec == "fp32" and "gain" in pwhy
    # emulated bf16 is skipped by the calibration: fp32, and the reason says so
    prec, _, pwhy, _ = M.choose(_cal(skipped={"bf16": "no native support: emulated"}))
    assert prec == "fp32" and "emulated" in pwhy
    # a second thread that gains under 15% is not worth a thread to be descheduled
    _, threads, _, twhy = M.choose(_cal((2.0, 1.9)))
    assert threads == 1 and twhy.startswith("1 thread")
    # measured beside other processes, the thread comparison is not trusted: every core, adapted per run
    _, threads, _, twhy = M.choose({**_cal((2.0, 4.0)), "load": {"cores": 2, "others_busy_cores": 1.5}})
    assert threads == 2 and "beside other processes" in twhy


@pytest.mark.parametrize("busy, expect", [(0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (3.0, 1), (None, 2)])
def test_adapt_threads_to_other_processes(busy, expect):
    load = {"cores": 2, "others_busy_cores": busy, "loadavg_1m": 1.0}
    n, why = M.adapt(2, load, policy="ACTIVE")
    assert n == expect
    assert (why is None) == (expect == 2)
    assert M.adapt(1, {"cores": 2, "others_busy_cores": 5.0}, policy="ACTIVE") == (1, None)
    # n threads need n - 1 + 0.5 free cores
    assert [M.adapt(4, {"cores": 8, "others_busy_cores": b}, policy="ACTIVE")[0]
            for b in (7.0, 6.0, 5.0, 4.5)] == [1, 2, 3, 4]
    # sleeping (PASSIVE) threads keep the team; the load is still noticed and said
    n, why = M.adapt(2, load, policy="PASSIVE")
    assert n == 2 and (why is None) == (expect == 2)


def test_sense_load_reports_cores_and_others():
    load = M.sense_load(sample_s=0.05)
    assert load["cores"] >= 1 and load["others_busy_cores"] >= 0


def test_flags_need_no_calibration_and_cache_is_per_machine(own_cache, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # spinning threads: the load drops the team
    ms = M.machine_settings("fp32", "1")
    assert (ms.precision, ms.threads, ms.precision_source, ms.threads_source) == ("fp32", 1, "flag", "flag")
    assert ms.calibration_key is None and not list((own_cache / "machine").glob("*.json"))
    # not calibrated: the profile's precision, one thread per core dropped to the free cores
    ms = M.machine_settings("auto", "auto", calibrate_if_missing=False, load={"cores": 2, "others_busy_cores": 1.5})
    assert ms.precision is None and ms.threads == 1 and ms.threads_source == "load"
    _install(_cal((2.0, 1.2), step16=(1.0, 0.6)))
    ms = M.machine_settings("auto", "auto", load={"cores": 2, "others_busy_cores": 1.0, "loadavg_1m": 3.0})
    assert (ms.precision, ms.threads, ms.calibrated_threads, ms.threads_source) == ("bf16", 1, 2, "load")
    assert any("busy" in w for w in ms.why) and ms.overrides() == {"precision": "bf16", "threads": 1}
    # another torch version (or CPU) does not read this machine's calibration
    monkeypatch.setattr(M, "torch_version", lambda: "0.0-other")
    assert M.load_calibration() is None
    # the calibration is the CPU's: a GPU run keeps the profile's policy unless a flag says otherwise
    ms = M.machine_settings("auto", "auto", device_type="cuda")
    assert (ms.precision, ms.threads) == (None, None) and "cuda" in ms.why[0]
    assert M.machine_settings("fp32", "auto", device_type="cuda").precision == "fp32"
    # a machine that cannot be measured still runs, with the reason recorded
    monkeypatch.setattr(M, "load_calibration", lambda: None)
    monkeypatch.setattr(M, "run_calibration", lambda progress=None: 1 / 0)
    ms = M.machine_settings("auto", "auto", load={"cores": 2, "others_busy_cores": 0.0})
    assert ms.precision is None and ms.threads == M.usable_cores() and "calibration failed" in ms.why[0]
    with pytest.raises(M.MachineError):
        M.parse_precision("fp16")
    with pytest.raises(M.MachineError):
        M.parse_threads("0")


def test_calibrate_measures_every_setting_on_a_tiny_encoder(tmp_path):
    from transformers import AutoModel

    from xlt_claims.experiments.calibrate import calibrate

    enc = AutoModel.from_pretrained(make_tiny_model(tmp_path / "bert"))
    cal = calibrate(encoder=enc, threads=(1, 2), batch=4, seq=16)
    assert set(cal["step_s"]["fp32"]) == {"1", "2"} and all(v > 0 for v in cal["step_s"]["fp32"].values())
    assert set(cal["forward_s"]["fp32"]) == {"1", "2"} and cal["step_flops"] > 0
    # bf16 is either measured at every thread count or skipped with the reason
    assert set(cal["step_s"].get("bf16", {"1": 0, "2": 0})) == {"1", "2"} or "bf16" in cal["skipped"]
    assert M.choose(cal)[0] in ("fp32", "bf16")


def test_run_records_machine_settings_and_dry_run_uses_calibration(store, tmp_path, own_cache):
    d = tmp_path / "reproductions"
    d.mkdir()
    make_task(d / "task.json")
    write_experiment(d, "same", model=make_tiny_model(tmp_path / "bert"), seeds=(1,))
    add_claim(store, "c1", "Our tiny keyword method improves transfer.")
    reg = load_registry([d])
    res = reproduce(store, reg, ["c1"], Options(precision="fp32", threads=1))
    assert res.ran == 1 and res.reused == 1 and res.failed == 0  # identical arms: one run, copied
    with store.session() as s:
        runs = s.exec(select(Run)).all()
    for r in runs:
        m = r.manifest["machine"]
        assert m["applied"] == {"precision": "fp32", "threads": 1} and m["threads_source"] == "flag"
        assert r.manifest["device"]["torch_threads"] == 1 and r.manifest["precision"]["autocast"] is None
    # the settings are not part of the run's identity: the same runs under other flags are reused
    again = reproduce(store, reg, ["c1"], Options(precision="bf16", threads=2))
    assert again.ran == 0 and again.failed == 0
    # estimates: the kinds' own without machine settings; the calibration's with them (once calibrated)
    add_claim(store, "c2", "Our tiny keyword method improves transfer a lot.")
    write_experiment(d, "other", model=make_tiny_model(tmp_path / "bert"), seeds=(5,), match_all="a lot")
    reg = load_registry([d])
    plan = reproduce(store, reg, ["c2"], Options(threads="auto", precision="auto"), dry_run=True).to_dict()
    assert all(not r["estimate_source"].startswith("calibrated") for e in plan["experiments"] for r in e["runs"])
    _install(_cal((2.0, 1.2)))
    plan = reproduce(store, reg, ["c2"], Options(threads="auto", precision="auto"), dry_run=True).to_dict()
    runs = [r for e in plan["experiments"] for r in e["runs"] if r["state"] == "pending"]
    assert runs and all(r["estimate_source"] == "calibrated (fp32, 2 threads)" and r["estimate_s"] > 3.0 for r in runs)
    plan = reproduce(store, reg, ["c2"], Options(threads=1, precision="auto"), dry_run=True).to_dict()
    slower = [r for e in plan["experiments"] for r in e["runs"] if r["state"] == "pending"]
    assert len(slower) == len(runs) and all(b["estimate_s"] > a["estimate_s"] for a, b in zip(runs, slower))
    plan = reproduce(store, reg, ["c2"], Options(), dry_run=True).to_dict()
    assert all(not r["estimate_source"].startswith("calibrated") for e in plan["experiments"] for r in e["runs"])
    # a calibrated run records the calibration it used and the load it adapted to
    res = reproduce(store, reg, ["c2"], Options(threads="auto", precision="auto"))
    assert res.ran == 1 and res.failed == 0
    with store.session() as s:
        m = s.exec(select(Run).where(Run.experiment == "other", Run.reused_from == None)).one().manifest  # noqa: E711
    assert m["machine"]["precision"] == "fp32" and m["machine"]["calibration_key"]
    assert m["machine"]["threads"] in (1, 2) and m["machine"]["load"]["cores"] >= 1
    # the experiment file pins threads = 1 and fp32 (tests/_reproduce_util.py): a file's own setting wins over auto
    assert m["machine"]["applied"] == {} and m["device"]["torch_threads"] == 1


def test_machine_command_json_and_text(own_cache):
    _install(_cal((2.0, 1.2), skipped={"bf16": "bf16 matmul 0.5 GFLOP/s (no native support: emulated)"}))
    runner = CliRunner()
    res = runner.invoke(app, ["machine", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["chosen"]["precision"] == "fp32" and out["chosen"]["threads"] == 2
    assert out["now"]["threads"] in (1, 2) and out["identity"]["cores"] >= 1
    res = runner.invoke(app, ["machine"])
    assert res.exit_code == 0 and "chosen" in res.output and "emulated" in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80
    res = runner.invoke(app, ["reproduce", "x", "--precision", "fp16"])
    assert res.exit_code == 1 and "--precision" in res.output


def test_cli_sets_passive_wait_policy_before_torch_loads():
    import os
    import subprocess
    import sys

    from conftest import ROOT

    code = "import sys, os, xlt_claims.cli; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PASSIVE", "False"]  # set, and OpenMP (torch) not started before it
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "ACTIVE"  # the user's value wins


def test_run_work_counts_evaluated_tokens_from_the_evaluated_texts_own_script():
    """Estimates read the length of what is evaluated: a Japanese test text takes about three times the
    tokens of an English one of the same characters, so the English training texts are no guide."""
    from xlt_claims.experiments.calibrate import approx_tokens, run_work
    from xlt_claims.experiments.types import Example, TaskData
    from xlt_claims.reproduce.machine import estimate_run_s

    assert approx_tokens("a" * 40) == 10.0
    assert approx_tokens("\u65e5" * 40) == pytest.approx(32.0)  # Han: 1.25 characters a token
    assert 12 < approx_tokens("\u0915" * 40) < 14  # Devanagari: the default 3
    en = [Example(id=str(i), text="x" * 40, label=0) for i in range(20)]
    ja = [Example(id=str(i), text="\u65e5" * 40, label=0) for i in range(20)]
    task = TaskData(name="t", task_type="classification", labels=[0, 1], train=en, dev=en, test={"en": en, "ja": ja})
    work = run_work(task, "quick", {"max_steps": 1, "eval_every": 1})
    assert work["length"] == 14.0 and work["eval_length"] > 20  # 14 for the English half, 36 for the Japanese
    rate = {"load_s": 0.0, "train_s_per_token": 0.0, "eval_s_per_token": 1.0}
    assert estimate_run_s(work, rate) == work["eval_examples"] * work["eval_length"]


def test_estimate_of_a_run_with_frozen_layers_counts_only_what_is_computed():
    """freeze_layers = K: the trainable (1 - K/12) of each training token, each distinct training text's
    frozen part once at the evaluation rate, later dev evaluations without their frozen part."""
    from xlt_claims.experiments.calibrate import run_work
    from xlt_claims.experiments.types import Example, TaskData
    from xlt_claims.reproduce.machine import estimate_run_s

    en = [Example(id=str(i), text="x" * 40, label=0) for i in range(64)]
    task = TaskData(name="t", task_type="classification", labels=[0, 1], train=en, dev=en[:20], test={"en": en[:10]})
    over = {"max_steps": 4, "eval_every": 2, "batch_size": 32, "max_train_examples": None, "max_dev_examples": None}
    plain = run_work(task, "quick", over)
    frozen = run_work(task, "quick", {**over, "freeze_layers": 6})
    assert "frozen_fraction" not in plain and frozen["frozen_fraction"] == 0.5
    assert frozen["distinct_train"] == 64 and frozen["repeated_dev"] == 20  # 2 dev evaluations, the 2nd cached
    train_only = {"load_s": 0.0, "train_s_per_token": 1.0, "eval_s_per_token": 0.0}
    assert estimate_run_s(frozen, train_only) == pytest.approx(estimate_run_s(plain, train_only) / 2)
    eval_only = {"load_s": 0.0, "train_s_per_token": 0.0, "eval_s_per_token": 1.0}
    t = plain["length"]
    # frozen part of 64 distinct training texts, once; minus half of the second dev pass
    assert estimate_run_s(frozen, eval_only) == pytest.approx(
        estimate_run_s(plain, eval_only) + 64 * t * 0.5 - 20 * plain["eval_length"] * 0.5)
