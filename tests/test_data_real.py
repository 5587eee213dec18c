"""The real benchmarks: the copies embedded in the package (integrity, licences, what loads), XNLI
from ../shared/realdata (never embedded), the registry of user folders (`claims data add/list/remove`,
hashes re-checked on use), and bad input: each refused with file and line, nothing registered."""

from __future__ import annotations

import hashlib
import json
import lzma
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xlt_claims.cli import app
from xlt_claims.experiments.data import DataError, PlaceholderLabelsError, list_datasets, load_bitext, load_task
from xlt_claims.experiments.data.real import PAWSX_LANGS, XNLI_LANGS, XQUAD_LANGS
from xlt_claims.experiments.data.sources import EMBED_DIR, embedded_manifest, registry_path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "realdata"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/realdata")
needs_shared_xnli = pytest.mark.skipif(not (SHARED / "xnli" / "test-labels.txt").is_file(),
                                       reason=f"XNLI is CC BY-NC and never ships; its copy {SHARED}/xnli is absent")

# ---------------------------------------------------------------------------------------------------
# synthetic folders in the XTREME layout (a few rows per language)


def write_xtreme_pawsx(root: Path, n: int = 4) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    labels = ["id\tlabel_en\tlabel_de\tlabel_ko\tlabel_zh"] + [f"{10 + i}\t{i % 2}\t{i % 2}\t{i % 2}\t{i % 2}"
                                                             for i in range(n)]
    (root / "test-labels.tsv").write_text("\n".join(labels) + "\n", encoding="utf-8")
    for lg in PAWSX_LANGS:
        dev = [f"{lg} dev {i} first.\t{lg} dev {i} second.\t{i % 2}" for i in range(n)]
        test = [f"{lg} test {i} first.\t{lg} test {i} second." for i in range(n)]
        (root / f"dev-{lg}.tsv").write_text("\n".join(dev) + "\n", encoding="utf-8")
        (root / f"test-{lg}.tsv").write_text("\n".join(test) + "\n", encoding="utf-8")
    wiki = root / "paws-wiki-en"
    wiki.mkdir()
    rows = [f"{i}\tTrain pair {i} one .\tTrain pair {i} two .\t{i % 2}" for i in range(1, 7)]
    rows.append("7\ten test 0 first.\tAn evaluation sentence reused .\t1")  # shares a sentence with en test
    (wiki / "test.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def write_xtreme_xnli(root: Path, n_premises: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    names = ["entailment", "neutral", "contradiction"]
    gold = [names[(p + k) % 3] for p in range(n_premises) for k in range(3)]
    (root / "test-labels.txt").write_text("\n".join(gold) + "\n", encoding="utf-8")
    for lg in XNLI_LANGS:
        dev = [f"{lg} premise {p}.\t{lg} hypothesis {p}-{k}.\t{names[k]}" for p in range(n_premises) for k in range(3)]
        test = [f"{lg} test premise {p}.\t{lg} test hypothesis {p}-{k}." for p in range(n_premises) for k in range(3)]
        (root / f"dev-{lg}.tsv").write_text("\n".join(dev) + "\n", encoding="utf-8")
        (root / f"test-{lg}.tsv").write_text("\n".join(test) + "\n", encoding="utf-8")
    return root


def write_xquad(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for lg in XQUAD_LANGS:
        ctx = f"[{lg}] Rome is old. Oslo is cold."
        d = {"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": ctx, "qas": [
            {"id": "q1", "question": f"{lg}: old?", "answers": [{"text": "Rome", "answer_start": ctx.index("Rome")}]},
            {"id": "q2", "question": f"{lg}: cold?", "answers": [{"text": "Oslo", "answer_start": ctx.index("Oslo")}]},
        ]}]}]}
        (root / f"xquad.{lg}.json").write_text(json.dumps(d, ensure_ascii=False, indent=1), encoding="utf-8")
    return root


def _add(*args: str):
    return CliRunner().invoke(app, ["data", "add", *args])


# ---------------------------------------------------------------------------------------------------
# embedded copies


def test_embedded_files_match_their_manifest_and_carry_their_licences():
    m = embedded_manifest()
    assert set(m["sets"]) == {"pawsx", "xquad", "tydiqa", "tatoeba"}
    assert "xnli" in m["never_shipped"] and not any("xnli" in str(p).lower() for p in EMBED_DIR.rglob("*"))
    total = 0
    for name, s in m["sets"].items():
        for rel, meta in s["files"].items():
            xz = (EMBED_DIR / name / (rel + ".xz")).read_bytes()
            data = lzma.decompress(xz)
            assert hashlib.sha256(data).hexdigest() == meta["sha256"], rel
            assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == meta["git_blob_sha1"], rel
            assert hashlib.sha256(xz).hexdigest() == meta["xz_sha256"] and len(xz) == meta["xz_bytes"]
            assert meta.get("upstream", "").startswith("github:") or meta.get("derived")
            total += len(xz)
        for f in s["license_files"]:
            assert (EMBED_DIR / f).is_file(), f
    assert total < 6_000_000, total  # about 4.9 MB
    notice = {n: (EMBED_DIR / n / "NOTICE.txt").read_text() for n in m["sets"]}
    assert "share-alike" in notice["xquad"].lower() and "CC BY-SA 4.0" in notice["xquad"]
    assert "ShareAlike 4.0" in (EMBED_DIR / "xquad" / "LICENSE-CC-BY-SA-4.0.txt").read_text()
    assert "Apache License" in (EMBED_DIR / "tydiqa" / "LICENSE-Apache-2.0.txt").read_text()
    assert "CC BY 2.0 FR" in notice["tatoeba"] and "Google" in notice["pawsx"]


@pytest.mark.skipif(not (SHARED / "pawsx").is_dir(), reason=f"{SHARED} absent")
def test_embedded_files_are_byte_copies_of_the_shared_files():
    from tools.realdata.build import plan

    m = embedded_manifest()
    for name, files in plan().items():
        for f in files:
            assert hashlib.sha256((SHARED / f["src"]).read_bytes()).hexdigest() == m["sets"][name]["files"][f["rel"]]["sha256"]


def test_embedded_pawsx_standard_generalized_and_disjoint_training():
    t = load_task("pawsx", pair_langs="auto")
    assert t.provenance["source"] == "embedded" and not t.proxy
    assert {lg: len(v) for lg, v in t.test.items()} == {lg: 2000 for lg in PAWSX_LANGS} and len(t.dev) == 2000
    ids = [e.id for e in t.test["en"]]
    assert all([e.id for e in t.test[lg]] == ids for lg in PAWSX_LANGS)  # parallel: the same ids everywhere
    assert Counter(e.label for e in t.test["en"]) == {0: 1093, 1: 907}  # the English gold labels
    assert Counter(e.label for e in t.test["de"]) == {0: 1105, 1: 895}  # German's own (they differ on 0.6%)
    assert Counter(e.label for e in t.test["ja"]) == {0: 1093, 1: 907}  # ja borrows the English labels
    assert t.provenance["test_labels"]["de"] == "label_de" and "English gold" in t.provenance["test_labels"]["ja"]
    assert len(t.test_pairs) == 42 and all(k.split("-")[0] != k.split("-")[1] for k in t.test_pairs)
    g = t.test_pairs["de-ja"][0]
    assert g.text in {e.text for e in t.test["de"]} and g.text_pair in {e.text_pair for e in t.test["ja"]}
    eval_en = {s for e in t.test["en"] + t.dev for s in (e.text, e.text_pair)}
    assert len(t.train) > 8000 and not any(e.text in eval_en or e.text_pair in eval_en for e in t.train)
    aspects = {d["aspect"] for d in t.provenance["deviations"]}
    assert aspects == {"training data", "test labels"}


def test_embedded_xquad_trains_on_tydiqa_with_a_held_out_selection_split():
    t = load_task("xquad")
    assert sorted(t.test) == sorted(XQUAD_LANGS) and all(len(v) == 1190 for v in t.test.values())
    assert len(t.train) + len(t.dev) == 3696 and len(t.dev) > 200
    assert not ({e.text_pair for e in t.train} & {e.text_pair for e in t.dev})  # contexts do not straddle
    assert t.provenance["deviations"][0]["aspect"] == "training data" and "TyDi" in t.provenance["deviations"][0]["ours"]
    assert "ro" in load_task("xquad", langs=["ro"], need_train=False).test


def test_embedded_tatoeba_bitext():
    bt = load_bitext("tatoeba", langs=["de", "jv", "zh"])
    assert [len(bt[lg]) for lg in ("de", "jv", "zh")] == [1000, 205, 1000]
    en, de = bt["de"][0]
    assert en and de and en != de
    t = load_task("tatoeba", langs=["ja"], max_test=50)
    assert t.task_type == "bitext" and len(t.test["ja"]) == 50 and t.scripts["ja"] == "Han+Kana"


# ---------------------------------------------------------------------------------------------------
# XNLI: never embedded, read from a folder


@needs_shared_xnli
def test_xnli_from_the_shared_folder_and_registered():
    t = load_task("xnli", data_dir=str(SHARED))
    assert {lg: len(v) for lg, v in t.test.items()} == {lg: 5010 for lg in XNLI_LANGS}
    assert Counter(e.label for e in t.test["sw"]) == {0: 1670, 1: 1670, 2: 1670}
    assert len(t.train) + len(t.dev) == 2490 and not ({e.text for e in t.train} & {e.text for e in t.dev})
    assert t.provenance["layout"] == "xtreme" and t.provenance["deviations"][0]["aspect"] == "training data"
    res = _add("xnli", str(SHARED / "xnli"), "--json")
    assert res.exit_code == 0, res.output
    entry = json.loads(res.output)
    assert entry["languages"] == sorted(XNLI_LANGS) and len(entry["files"]) == 31  # 15 dev + 15 test + labels
    r = load_task("xnli", langs=["en", "ar"], max_test=30, pair_langs="en-x")
    assert r.provenance["source"] == "registered" and len(r.test["ar"]) == 30 and len(r.test_pairs["en-ar"]) == 30


# ---------------------------------------------------------------------------------------------------
# the registry of user folders


def test_register_use_detect_changes_and_forget(tmp_path):
    d = write_xtreme_pawsx(tmp_path / "my-pawsx")
    res = _add("paws-x", str(d))
    assert res.exit_code == 0, res.output and "registered pawsx" in res.output
    rows = {r["name"]: r for r in list_datasets()}
    assert rows["pawsx"]["status"] == "registered" and rows["pawsx"]["location"] == str(d)
    assert rows["pawsx"]["embedded"] is True  # still shipped; the registered folder takes precedence
    t = load_task("pawsx", pair_langs="en-x")
    assert t.provenance["source"] == "registered" and len(t.test["ja"]) == 4
    assert [e.id for e in t.test["ko"]] == ["10", "11", "12", "13"]
    assert len(t.train) == 6  # the PAWS-Wiki pair that shares an English test sentence is dropped
    assert set(json.loads(registry_path().read_text())["sets"]["pawsx"]["files"]) >= {"test-labels.tsv",
                                                                                       "paws-wiki-en/test.tsv"}
    (d / "test-de.tsv").write_text((d / "test-de.tsv").read_text().replace("de test 2", "de TEST 2"))
    with pytest.raises(DataError, match=r"registered folder .* changed since `claims data add`.*test-de\.tsv has sha256"):
        load_task("pawsx", langs=["de"])
    (d / "dev-fr.tsv").unlink()
    with pytest.raises(DataError, match=r"dev-fr\.tsv is missing"):
        load_task("pawsx", langs=["en"])
    assert {r["name"]: r for r in list_datasets()}["pawsx"]["registered"]["all_files_present"] is False
    res = CliRunner().invoke(app, ["data", "remove", "pawsx", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["removed"] is True
    assert load_task("pawsx", langs=["de"], need_train=False).provenance["source"] == "embedded"


def test_data_list_fits_80_columns_and_names_missing_sets(tmp_path):
    res = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["data", "list"])
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80
    assert "xnli: download XNLI" in res.output.replace("\n", " ") and "claims data add xnli" in res.output
    rows = {r["name"]: r for r in json.loads(CliRunner().invoke(app, ["data", "list", "--json"]).output)}
    assert rows["xnli"]["status"] == "missing" and rows["xquad"]["status"] == "embedded"
    assert rows["tatoeba"]["license"].startswith("CC BY 2.0 FR") and rows["xnli"]["may_ship"] is False


# ---------------------------------------------------------------------------------------------------
# bad input: a clear error naming file and line, nothing registered


def _drop_language(d: Path) -> None:
    (d / "test-ja.tsv").unlink()


def _truncate(d: Path) -> None:
    text = (d / "dev-de.tsv").read_text()
    (d / "dev-de.tsv").write_text(text[: text.rstrip("\n").rfind("\t")])  # the last row loses its label


def _unknown_label(d: Path) -> None:
    rows = (d / "dev-en.tsv").read_text().splitlines()
    rows[1] = rows[1].rsplit("\t", 1)[0] + "\tmaybe"
    (d / "dev-en.tsv").write_text("\n".join(rows) + "\n")


def _short_test(d: Path) -> None:
    rows = (d / "test-de.tsv").read_text().splitlines()
    (d / "test-de.tsv").write_text("\n".join(rows[:-1]) + "\n")


def _one_line(output: str) -> str:
    """The CLI's error as one line (rich wraps long paths at the terminal width)."""
    return output.replace("\n", "")


@pytest.mark.parametrize("damage,message,loaded", [
    (_drop_language, r"test-ja\.tsv: not found \(the PAWS-X test set of language ja\)", True),
    (_truncate, r"dev-de\.tsv:4: 2 column\(s\), expected 3 \(truncated row\?\)", False),
    (_unknown_label, r"dev-en\.tsv:2: unknown label 'maybe'", True),
    (_short_test, r"test-de\.tsv has 3 rows but its label file .*test-labels\.tsv has 4", True),
])
def test_bad_pawsx_folder_is_refused_and_nothing_is_registered(tmp_path, damage, message, loaded):
    """`loaded`: the damaged file is one a run reads (a run reads only the English dev set; registering
    checks every language's)."""
    good = write_xtreme_pawsx(tmp_path / "good")
    assert _add("pawsx", str(good)).exit_code == 0
    before = registry_path().read_bytes()
    bad = write_xtreme_pawsx(tmp_path / "bad")
    damage(bad)
    res = _add("pawsx", str(bad))
    assert res.exit_code == 1
    assert re.search(message, _one_line(res.output)), res.output
    assert registry_path().read_bytes() == before  # the earlier registration is untouched
    if loaded:
        with pytest.raises(DataError, match=message):
            load_task("pawsx", data_dir=str(bad), langs=list(PAWSX_LANGS))


def test_bad_xnli_and_xquad_folders(tmp_path):
    x = write_xtreme_xnli(tmp_path / "xnli")
    lines = (x / "test-labels.txt").read_text().splitlines()
    (x / "test-labels.txt").write_text("\n".join(lines[:-2] + ["maybe"] + lines[-1:]) + "\n")
    res = _add("xnli", str(x))
    assert res.exit_code == 1 and "test-labels.txt:8: unknown label 'maybe'" in _one_line(res.output)
    (x / "test-labels.txt").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataError, match=r"test-en\.tsv has 9 rows but its label file .*test-labels\.txt has 8"):
        load_task("xnli", data_dir=str(x), langs=["en"])
    q = write_xquad(tmp_path / "xquad")
    p = q / "xquad.th.json"
    d = json.loads(p.read_text())
    d["data"][0]["paragraphs"][0]["qas"][1]["answers"] = []
    p.write_text(json.dumps(d, ensure_ascii=False, indent=1))
    res = _add("xquad", str(q))
    assert res.exit_code == 1 and re.search(r"xquad\.th\.json:\d+: question q2 has no answers", _one_line(res.output))
    assert not registry_path().exists()


def test_good_synthetic_xnli_registers_and_splits_dev_for_training(tmp_path):
    x = write_xtreme_xnli(tmp_path / "xnli", n_premises=10)
    assert _add("xnli", str(x)).exit_code == 0
    t = load_task("xnli", langs=["en", "sw"])
    assert t.provenance["source"] == "registered" and len(t.test["sw"]) == 30
    assert len(t.train) + len(t.dev) == 30 and len(t.train) % 3 == 0  # whole premise groups
    (x / "test-labels.txt").write_text("entailment\n" * 30)  # XTREME's placeholder labels
    with pytest.raises(PlaceholderLabelsError, match=r"test-sw\.tsv \+ .*test-labels\.txt: all 30 test labels"):
        load_task("xnli", data_dir=str(x), langs=["sw"], need_train=False)
