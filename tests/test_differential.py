"""The judging code's output on synthetic runs of every experiment must not change by accident.

tests/_differential.py builds stores from the example reports, runs every experiment of
reproductions/ through the real runner with synthetic training / probe results, judges them and
writes the JSON report. The golden file is the output of the code before the renovation (issue 13);
a deliberate change of a verdict rewrites it (`python tests/_differential.py --write`) in the same
commit, and the commit message lists each changed verdict with its reason.
"""

from __future__ import annotations

import difflib

import pytest
from _differential import GOLDEN, differential_json


@pytest.mark.slow
def test_judged_report_matches_the_golden_file(tmp_path):
    got = differential_json(tmp_path)
    want = GOLDEN.read_text(encoding="utf-8")
    if got != want:
        diff = "".join(list(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "now", n=2))[:80])
        raise AssertionError(f"the judged report differs from {GOLDEN.name}:\n{diff}")
