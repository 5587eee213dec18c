"""The train loop still computes exactly what it computed when tests/golden/train_tiny.json was recorded
(before the loop was split into modules): ten tiny-model configurations covering every method hook,
span extraction, bi- and cross-encoded pairs, bf16 autocast, gradient accumulation and frozen embeddings.

Bit-identical on the CPU and torch version the file was recorded with; elsewhere other kernels round
differently, so there floats are compared with a tolerance and counts exactly."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("torch")

from tests._train_golden import GOLDEN, _configs, machine, run_config  # noqa: E402

RECORDED = json.loads(GOLDEN.read_text())


def _close(a, b, path=""):
    """Same structure, same ints/strings/bools, floats within 0.05 absolute or 5% relative."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(set(a) ^ set(b))}"
        for k in a:
            _close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and not (math.isnan(a) and math.isnan(b)):
        assert b == pytest.approx(a, rel=0.05, abs=0.05), path
    else:
        assert a == b, path


def test_golden_file_covers_every_configuration():
    assert set(RECORDED["configs"]) == set(_configs())


@pytest.mark.parametrize("name", sorted(_configs()))
def test_train_loop_reproduces_the_recorded_results(name):
    got = run_config(name)
    want = RECORDED["configs"][name]
    if machine() == RECORDED["machine"]:
        assert got == want
    else:
        assert got["manifest"] == want["manifest"]
        _close(want, got)
