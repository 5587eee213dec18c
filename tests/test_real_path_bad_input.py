"""Bad input on the real-data path, in the official release layouts: a folder with a missing language, a
truncated TSV, a label column with unknown values, a SQuAD JSON question without answers, a test file whose
row count disagrees with its label file, Tatoeba files of unequal length. Each is refused with the file and
line: `claims data add` registers nothing, and `claims reproduce --data DIR` stops before anything is
trained, with every table of the store holding the rows it held before (tests/test_data_real.py covers the
same damage in the XTREME layout through `claims data add` and the loaders).

`reproduce --data` parses every file of the set in DIR first, as `claims data add` does, so a damaged
file that no run would read (another language's dev set) stops the command too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from conftest import ROOT
from _real_path_util import HAVE_XNLI, XNLI_SKIP, make_tiny_bert, write_pawsx, write_tatoeba, write_xnli, write_xquad
from test_data_real import write_xtreme_pawsx

from xlt_claims.cli import app
from xlt_claims.experiments.data.sources import registry_path

SHIPPED = str(ROOT / "reproductions")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("bad-input") / "tiny-bert", ["a b c", "d e f"])


def _one_line(output: str) -> str:
    return output.replace("\n", "")


def _rows(db: Path) -> dict[str, int]:
    from sqlalchemy import create_engine

    eng = create_engine(f"sqlite:///{db}")
    try:
        with eng.connect() as c:
            return {t: c.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in inspect(c).get_table_names()}
    finally:
        eng.dispose()


# --- damage, each in an official layout ----------------------------------------------------------------

def _missing_language(root: Path) -> str:
    (root / "pawsx" / "x-final" / "ja" / "test_2k.tsv").unlink()
    return r"x-final/ja/test_2k\.tsv: not found \(the PAWS-X test set of language ja\)"


def _truncated_tsv(root: Path) -> str:
    p = root / "pawsx" / "x-final" / "de" / "dev_2k.tsv"  # a file no run reads: only `data add` used to check it
    lines = p.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].rsplit("\t", 1)[0]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return r"x-final/de/dev_2k\.tsv:4: 3 column\(s\), the header has 4 \(truncated row\?\)"


def _unknown_label(root: Path) -> str:
    p = root / "pawsx" / "x-final" / "ko" / "test_2k.tsv"
    lines = p.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].rsplit("\t", 1)[0] + "\tyes"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return r"x-final/ko/test_2k\.tsv:6: unknown label 'yes'"


def _row_count_mismatch(root: Path) -> str:
    p = root / "pawsx" / "test-de.tsv"
    p.write_text("\n".join(p.read_text(encoding="utf-8").splitlines()[:-1]) + "\n", encoding="utf-8")
    return r"test-de\.tsv has 3 rows but its label file .*test-labels\.tsv has 4"


def _no_answers(root: Path) -> str:
    p = root / "xquad" / "xquad.th.json"
    d = json.loads(p.read_text(encoding="utf-8"))
    qa = d["data"][0]["paragraphs"][0]["qas"][2]
    qa["answers"] = []
    p.write_text(json.dumps(d, ensure_ascii=False, indent=1), encoding="utf-8")
    return rf"xquad\.th\.json:\d+: question {re.escape(qa['id'])} has no answers"


def _xnli_unknown_gold_label(root: Path) -> str:
    p = root / "xnli" / "XNLI-1.0" / "xnli.test.tsv"
    lines = p.read_text(encoding="utf-8").splitlines()
    cells = lines[40].split("\t")
    cells[1] = "contradicts"
    lines[40] = "\t".join(cells)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return r"XNLI-1\.0/xnli\.test\.tsv:41: unknown label 'contradicts'"


def _tatoeba_unequal(root: Path) -> str:
    p = root / "tatoeba" / "tatoeba.kat-eng.kat"
    p.write_text("\n".join(p.read_text(encoding="utf-8").splitlines()[:-1]) + "\n", encoding="utf-8")
    return r"tatoeba\.kat-eng\.kat has 15 lines but .*tatoeba\.kat-eng\.eng has 16"


def _write(root: Path, layout: str) -> None:
    if layout == "x-final":
        write_pawsx(root / "pawsx")
    elif layout == "xtreme":
        write_xtreme_pawsx(root / "pawsx")
    elif layout == "xnli-1.0":
        write_xnli(root / "xnli")
    elif layout == "squad":
        write_xquad(root)
    else:
        write_tatoeba(root)


CASES = {  # damage: (layout, set to register, experiment that reads it, damage)
    "missing language": ("x-final", "pawsx", "robust-pawsx-rsda", _missing_language),
    "truncated tsv": ("x-final", "pawsx", "robust-gxlt-rsda", _truncated_tsv),
    "unknown label": ("x-final", "pawsx", "robust-pawsx-rsda", _unknown_label),
    "test rows vs label file": ("xtreme", "pawsx", "robust-pawsx-rsda", _row_count_mismatch),
    "squad without answers": ("squad", "xquad", "ot-sweep", _no_answers),
    "xnli unknown gold label": ("xnli-1.0", "xnli", "robust-xnli-rsda", _xnli_unknown_gold_label),
    "tatoeba unequal": ("tatoeba", "tatoeba", "fusion-probe-lower-layers", _tatoeba_unequal),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_folder_is_refused_by_data_add_and_reproduce(tmp_path, model, case):
    layout, name, experiment, damage = CASES[case]
    if layout == "xnli-1.0" and not HAVE_XNLI:
        pytest.skip(XNLI_SKIP)
    root = tmp_path / "data"
    _write(root, layout)
    message = damage(root)
    runner = CliRunner()
    # claims data add: refused, nothing registered
    folder = root / name if (root / name).is_dir() else root
    res = runner.invoke(app, ["data", "add", name, str(folder)])
    assert res.exit_code == 1 and re.search(message, _one_line(res.output)), res.output
    assert not registry_path().exists()
    # claims reproduce --data: refused before training; the store holds what it held
    db = tmp_path / "claims.db"
    base = ["--db", str(db), "--reproductions", SHIPPED, "--device", "cpu"]
    assert runner.invoke(app, ["reproduce", experiment, "--dry-run", *base]).exit_code == 0  # links synced
    before = _rows(db)
    res = runner.invoke(app, ["reproduce", experiment, "--data", str(root), "--model", model, *base])
    assert res.exit_code == 1 and re.search(message, _one_line(res.output)), res.output
    assert "not run" in res.output
    assert _rows(db) == before and before.get("run", 0) == 0
    # the JSON form says the same, and nothing ran
    res = runner.invoke(app, ["reproduce", experiment, "--data", str(root), "--model", model, "--json", *base])
    out = json.loads(res.stdout)
    plan = next(e for e in out["experiments"] if e["experiment"] == experiment)
    assert re.search(message, plan["error"]) and out["ran"] == 0 and not out["verdicts"]
    assert _rows(db) == before


def test_a_good_folder_still_runs_after_a_refusal(tmp_path, model):
    """The refusal is about the file: the same folder, repaired, is accepted by both verbs."""
    root = tmp_path / "data"
    write_pawsx(root / "pawsx")
    bad = root / "pawsx" / "x-final" / "de" / "dev_2k.tsv"
    good = bad.read_text(encoding="utf-8")
    _truncated_tsv(root)
    runner = CliRunner()
    base = ["--db", str(tmp_path / "c.db"), "--reproductions", SHIPPED, "--device", "cpu", "--dry-run", "--json"]
    res = runner.invoke(app, ["reproduce", "robust-pawsx-rsda", "--data", str(root), *base])
    assert "dev_2k.tsv:4" in json.loads(res.stdout)["experiments"][0]["error"]
    bad.write_text(good, encoding="utf-8")
    res = runner.invoke(app, ["reproduce", "robust-pawsx-rsda", "--data", str(root), *base])
    plan = json.loads(res.stdout)["experiments"][0]
    assert plan["error"] is None and len(plan["runs"]) == 6
    assert runner.invoke(app, ["data", "add", "pawsx", str(root / "pawsx")]).exit_code == 0
