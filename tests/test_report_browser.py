"""The HTML report as a person sees it: headless Chromium (Debian `chromium`), no console errors, every
claim card laid out, figures with a real size, no network; a screenshot is kept in the test's tmp folder."""

from __future__ import annotations

import re

import pytest

from _report_util import build_demo_store
from xlt_claims.report.browser import BrowserUnavailable, check_html, find_chromium


def _ensure_chromium() -> str:
    """Chromium is installed by CI (.ci/run, Debian's `chromium`); tests never install packages."""
    exe = find_chromium()
    if not exe:
        pytest.skip("headless Chromium not found: the report rendering test needs Debian's `chromium` "
                    "(`apt-get install -y chromium`, as .ci/run does)")
    return exe


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    """The demo store's report written by the real CLI verb, which also runs its own --check."""
    from typer.testing import CliRunner

    from xlt_claims.cli import app
    from xlt_claims.report import build_report
    from xlt_claims.store import open_store

    _ensure_chromium()
    d = tmp_path_factory.mktemp("browser")
    db = d / "claims.db"
    store = open_store(db)
    try:
        build_demo_store(store)
        ids = [c["id"] for c in build_report(store)["claims"]]
    finally:
        store.close()
    out = d / "report.html"
    r = CliRunner().invoke(app, ["report", "-o", str(out), "--check", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert "11 claim cards" in r.output and "no console errors" in r.output
    return out, ids


def test_report_renders_cleanly_in_chromium(report_html, tmp_path):
    path, ids = report_html
    shot = tmp_path / "report.png"
    res = check_html(path, ids, screenshot=shot)
    assert res.ok, res.problems
    assert "Chrome" in res.browser or "Chromium" in res.browser
    assert res.console_errors == [] and res.external_requests == []
    assert res.claim_cards == ids and len(ids) == 11
    kinds = {f["kind"] for f in res.figures}
    assert {"forest", "per-language", "pairs"} <= kinds
    assert all(f["w"] > 100 and f["h"] > 100 for f in res.figures), res.figures
    # figures belong to the claims that were re-measured (and not to the one whose runs were invalid)
    assert {f["claim"] for f in res.figures if f["kind"] == "forest"} == {"a1pawsx", "a2robst", "b3dlfa0", "b5incon"}
    assert shot.exists() and shot.stat().st_size > 50_000  # kept as the CI artifact in the test's tmp folder
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert res.page_height > 3000


def test_chromium_check_fails_on_broken_pages(report_html, tmp_path):
    """The check must fail when a claim card is missing, a script errors, a figure has no size or the page
    reaches for the network."""
    path, ids = report_html
    html = path.read_text(encoding="utf-8")
    gone = "b2aifcv"
    broken, n = re.subn(r'<article class="claim-card[^"]*" id="claim-%s".*?</article>' % gone, "", html, flags=re.S)
    assert n == 1
    broken = broken.replace("</style>", ".figure[data-figure=forest] svg { display: none; }\n</style>", 1)
    broken = broken.replace("<footer", '<div style="width:3000px">a too wide block</div><footer', 1)
    broken = broken.replace("</body>", '<img src="http://192.0.2.1/pixel.png" alt="">'
                            '<script>console.error("report script failed")</script></body>', 1)
    bad = tmp_path / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    res = check_html(bad, ids)
    assert not res.ok
    assert res.missing_cards == [gone]
    assert any("claim cards missing: b2aifcv" in p for p in res.problems)
    assert any("figures with zero size" in p for p in res.problems)
    assert any("report script failed" in e for e in res.console_errors)
    assert any("192.0.2.1" in u for u in res.external_requests)
    assert any("wider than" in p for p in res.problems)


def test_a_browser_that_cannot_start_is_a_clear_error(tmp_path):
    p = tmp_path / "r.html"
    p.write_text("<!DOCTYPE html><title>x</title>", encoding="utf-8")
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho no display >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrowserUnavailable, match="exited with 3: no display"):
        check_html(p, chromium=str(fake), timeout=10)
