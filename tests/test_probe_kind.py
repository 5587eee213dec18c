"""The probe as a reproduction kind: `claims reproduce` on a claim about lower layers runs the probe once,
stores its per-layer, per-language accuracies as a Run, and moves the claim with a proxy verdict."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from tests._reproduce_util import FILLER, KEYWORDS, XX, add_claim, make_tiny_model, run_and_judge  # noqa: E402
from tests._layers_util import single_thread  # noqa: E402,F401 (autouse fixture)

PROBE_TOML = """
name = "probe-test"
kind = "probe"
description = "probe test"
[match]
all = ['\\blower layers?\\b', 'cross-?lingual information']
[task]
proxy = "toy-bitext"
[model]
default = "MODEL"
claim = "bert-base-multilingual-cased"
[params]
max_items = 8
bootstrap_reps = 200
[run]
seeds = [0]
[decision]
rule = "lower-layers"
margin = 2.0
"""


def _bitext():
    words = [w for ws in KEYWORDS.values() for w in ws]
    en = [f"{w} {FILLER[i % len(FILLER)]} {FILLER[(i + 3) % len(FILLER)]}" for i, w in enumerate(words)]
    return {"xx": [(e, " ".join(XX.get(t, t) for t in e.split())) for e in en],
            "yy": [(e, e) for e in en]}  # an identical 'language': retrieval is perfect at every layer


def test_probe_kind_end_to_end(store, tmp_path, monkeypatch):
    from sqlmodel import select

    import xlt_claims.experiments.data as data
    from xlt_claims.reproduce.registry import RegistryError, load_registry, parse_experiment
    from xlt_claims.reproduce.runner import Options, reproduce
    from xlt_claims.store.models import Claim, ClaimEvent, Run, Verdict

    model = make_tiny_model(tmp_path / "model")
    (tmp_path / "probe.toml").write_text(PROBE_TOML.replace("MODEL", model))
    monkeypatch.setattr(data, "load_bitext", lambda name, langs=None: _bitext())
    add_claim(store, "p1", "Lower layers of mBERT provide more cross-lingual information than upper layers.",
              confidence=0.28)
    add_claim(store, "p2", "Upper layers carry language structure.")  # not linked
    reg = load_registry([tmp_path])
    res = run_and_judge(store, reg, ["p1"], Options(device="cpu"))
    assert res.failed == 0 and res.ran == 1
    with store.session() as s:
        run = s.exec(select(Run).where(Run.experiment == "probe-test")).one()
        m = run.metrics
        assert run.status == "FINISHED" and run.arm == "probe" and m["kind"] == "probe"
        assert m["n_layers"] == 2 and set(m["per_lang"]) == {"xx", "yy"}
        assert m["per_lang"]["yy"]["en2xx"] == [1.0, 1.0, 1.0] and m["per_lang"]["yy"]["xx2en"] == [1.0, 1.0, 1.0]
        assert run.manifest["timing"]["wall_s"] > 0 and run.manifest["data"]["fingerprint"]
        v = s.exec(select(Verdict).where(Verdict.claim_id == "p1")).one()
        assert v.experiment == "probe-test" and v.proxy is True
        # the verdict is the pre-registered rule applied to this run's D and its item-bootstrap CI (margin 2)
        d = m["stats"]["d_lower_minus_last"]
        assert (v.effect, v.ci_low, v.ci_high) == (d["value"], d["ci_low"], d["ci_high"])
        expected = ("invalid" if max(m["avg"]) < 0.05 else "reproduced" if d["value"] >= 2 and d["ci_low"] > 0
                    else "partially-reproduced" if d["ci_low"] > 0 else "not-reproduced" if d["ci_high"] < 2
                    else "inconclusive")
        assert v.outcome == expected
        assert "lower" in v.detail["rule"]
        claim = s.get(Claim, "p1")
        assert claim.status == v.outcome
        ev = s.exec(select(ClaimEvent).where(ClaimEvent.claim_id == "p1", ClaimEvent.cause == "experiment")).all()
        assert ev and ev[-1].new_status == v.outcome
        assert s.get(Claim, "p2").status == "unverified"
    # a finished probe is not run again
    assert run_and_judge(store, reg, ["p1"], Options(device="cpu")).ran == 0

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "b.toml").write_text(PROBE_TOML.replace("MODEL", model).replace("max_items = 8", "max_itemz = 8"))
    with pytest.raises(RegistryError, match="max_itemz"):
        parse_experiment(bad / "b.toml")
