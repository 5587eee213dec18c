"""Parser: both seed layouts, the Markdown pipe table, robustness, and every bad input named by file and line."""

from __future__ import annotations

import pytest

from conftest import REPORTS_DIR
from _ingest_util import GOOD, report_text, write
from xlt_claims.ingest import ParseError, parse_report

SEED_A = REPORTS_DIR / "000_29b9937d0813450b.txt"
SEED_B = REPORTS_DIR / "004_fb1d2f862757e2a0.txt"


def test_seed_plain_headings():
    r = parse_report(SEED_A)
    assert r.key == "000_29b9937d0813450b"
    assert r.title.startswith("Impact of Multilingual Embedding Alignment Robustness")
    assert r.date == "2026-07-06"
    assert r.research_question.startswith("How does the robustness of alignment") and r.research_question.endswith("?")
    assert (r.stated_paper_count, r.stated_claims_count, r.stated_verified_count, r.quality_score) == (15, 11, 9, 7.7)
    assert r.abstract.startswith("Pre-trained multilingual language encoders")
    assert r.meta["abstract_looks_truncated"] is True
    assert [(x.arxiv_id, x.version) for x in r.references] == [("2104.08645", 2), ("1911.03070", 4), ("2106.01732", 2)]
    assert len(r.claims) == 11
    assert [c.mark for c in r.claims] == [True, False, True, True, True, True, True, True, True, True, False]
    assert [c.confidence for c in r.claims] == [0.16, 0.13, 0.19, 0.21, 0.23, 0.17, 0.19, 0.18, 0.17, 0.19, 0.15]
    lines = SEED_A.read_text(encoding="utf-8").split("\n")
    for c in r.claims:  # line numbers point at the row in the file
        assert lines[c.line - 1].startswith(c.text + "\t")
    assert r.warnings == []


def test_seed_markdown_headings():
    r = parse_report(SEED_B)
    assert r.title.startswith("Optimal Transport Regularization Strength")
    assert r.date == "2026-07-11"
    assert "XQuAD benchmark" in r.research_question
    assert (r.stated_paper_count, r.stated_claims_count, r.stated_verified_count, r.quality_score) == (12, 10, 9, 8.3)
    assert [(x.arxiv_id, x.version) for x in r.references] == [("2205.08497", 1), ("2106.09063", 4), ("2310.10378", 5)]
    assert len(r.claims) == 10
    assert [c.confidence for c in r.claims] == [0.28, 0.30, 0.31, 0.20, 0.21, 0.21, 0.20, 0.30, 0.21, 0.11]
    assert sum(c.mark for c in r.claims) == 9
    assert "Extracted Claims" in r.meta["sections"][5]


def test_markdown_pipe_table_crlf_bom_percent(tmp_path):
    table = ("| Claim | Verified | Confidence |\n|---|:---:|---:|\n"
             "| XLM-R outperforms mBERT on XQuAD \\| MLQA. | \u2714 | 45% |\n| A second claim. | \u2717 | 0.5 |")
    txt = report_text([], markdown=True, table=table).replace("\n", "\r\n")
    p = write(tmp_path / "pipe.md", b"\xef\xbb\xbf" + txt.encode("utf-8"))
    r = parse_report(p)
    assert [(c.text, c.mark, c.confidence) for c in r.claims] == [
        ("XLM-R outperforms mBERT on XQuAD | MLQA.", True, 0.45), ("A second claim.", False, 0.5)]
    assert r.meta["claims_table"]["format"] == "pipe"
    assert r.title == "A Test Report on Transfer"


def test_column_order_from_header_and_missing_sections(tmp_path):
    txt = "Claim\tConfidence\tVerified\nSome claim.\t0.3\t\u2713\n"
    r = parse_report(write(tmp_path / "bare.txt", txt))
    assert [(c.text, c.mark, c.confidence) for c in r.claims] == [("Some claim.", True, 0.3)]
    assert r.references == [] and r.abstract is None and r.research_question is None
    assert any("abstract" in w for w in r.warnings) and any("Research question" in w for w in r.warnings)


def test_stated_counts_disagreeing_with_table_warn(tmp_path):
    txt = report_text(GOOD, results="9 papers retrieved. 5 claims extracted; 2 independently verified.")
    r = parse_report(write(tmp_path / "w.txt", txt))
    assert r.stated_claims_count == 5 and r.stated_verified_count == 2
    assert any("states 5 claims but its table has 2 rows" in w for w in r.warnings)
    assert any("states 2 verified" in w for w in r.warnings)


def _err(tmp_path, name, content) -> ParseError:
    p = write(tmp_path / name, content)
    with pytest.raises(ParseError) as ei:
        parse_report(p)
    assert str(p) in str(ei.value)
    return ei.value


def test_empty_file(tmp_path):
    assert "empty file" in str(_err(tmp_path, "empty.txt", b""))
    assert "empty file" in str(_err(tmp_path, "blank.txt", b"\n  \n\t\n"))


def test_binary_file(tmp_path):
    e = _err(tmp_path, "img.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary file" in e.message and e.line == 3  # two newlines before the NUL byte


def test_non_utf8_names_line_and_column(tmp_path):
    txt = report_text(GOOD).encode("utf-8").replace("Thai".encode(), b"Tha\xef")
    e = _err(tmp_path, "latin1.txt", txt)
    expected_line = report_text(GOOD).split("\n").index(next(l for l in report_text(GOOD).split("\n") if "Thai" in l)) + 1
    assert "not UTF-8" in e.message and e.line == expected_line and "0xef" in e.message


def test_missing_claims_table(tmp_path):
    txt = report_text(GOOD).split("Claim\tVerified")[0] + "No table here.\n"
    e = _err(tmp_path, "notable.txt", txt)
    assert "missing claims table" in e.message
    assert e.line is not None and "Extracted Claims" in e.message  # names the section's heading line


def test_header_without_rows(tmp_path):
    e = _err(tmp_path, "norows.txt", report_text([]))
    assert "no rows" in e.message


def test_malformed_row_wrong_cell_count(tmp_path):
    rows = GOOD + [("A claim with a missing cell.", "\u2713")]
    e = _err(tmp_path, "short.txt", report_text(rows))
    assert "malformed row" in e.message and "found 2" in e.message
    lines = report_text(rows).split("\n")
    assert lines[e.line - 1].startswith("A claim with a missing cell.")


def test_malformed_row_without_tabs(tmp_path):
    txt = report_text(GOOD).replace("mBERT transfers worse to Thai than to German.\t\u00d7\t0.20",
                                    "mBERT transfers worse to Thai than to German.  \u00d7  0.20")
    e = _err(tmp_path, "spaces.txt", txt)
    assert "malformed row" in e.message and "tab" in e.message


def test_malformed_mark_and_confidence(tmp_path):
    e = _err(tmp_path, "mark.txt", report_text(GOOD + [("Claim three.", "maybe", "0.2")]))
    assert "Verified cell 'maybe'" in e.message
    e = _err(tmp_path, "conf.txt", report_text(GOOD + [("Claim three.", "\u2713", "high")]))
    assert "Confidence cell 'high'" in e.message
    e = _err(tmp_path, "empty_claim.txt", report_text(GOOD + [("", "\u2713", "0.2")]))
    assert "empty claim text" in e.message


@pytest.mark.parametrize("bad", ["1.7", "-0.2", "130%"])
def test_confidence_outside_unit_interval(tmp_path, bad):
    rows = GOOD + [("A confident claim.", "\u2713", bad)]
    e = _err(tmp_path, "conf.txt", report_text(rows))
    assert "outside [0, 1]" in e.message and bad in e.message
    assert report_text(rows).split("\n")[e.line - 1].startswith("A confident claim.")


def test_unreadable_path(tmp_path):
    with pytest.raises(ParseError, match="is a directory|cannot read"):
        parse_report(tmp_path)
