"""The shipped LOGT proxy files: integrity against MANIFEST, disjointness of every test item from all
training/dev/alignment data, language/script coverage (`claims data list --json`), loader options."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from xlt_claims.cli import app
from xlt_claims.experiments.data import DataError, list_datasets, load_bitext, load_task
from tools.logt.clean import normkey
from xlt_claims.experiments.data.proxy import FILES, PROXY_DIR, check_shipped, manifest, read_gz_jsonl
from xlt_claims.experiments.data.scripts import LANG_SCRIPTS, detect_script

PAWSX_NON_EN = {"de", "es", "fr", "ja", "ko", "zh"}
XNLI_IN_LO = {"fr", "es", "de", "el", "bg", "ru", "tr", "ar", "vi", "th", "zh", "hi"}


@pytest.fixture(scope="module")
def recs():
    return {task: read_gz_jsonl(PROXY_DIR / fname) for task, fname in FILES.items()}


def test_shipped_files_match_manifest_and_carry_licence():
    assert check_shipped(PROXY_DIR) == []
    m = manifest()
    assert m["license"] == "MPL-2.0"
    notice = (PROXY_DIR / m["notice"]).read_text()
    assert "Mozilla Public License" in notice and "libreoffice-l10n" in notice
    assert len(m["packages"]) == 32
    for p in m["packages"]:
        assert p["name"].startswith("libreoffice-l10n-") and p["version"].startswith("4:7.4") and len(p["sha256"]) == 64
    total = sum(f["bytes"] for f in m["files"].values())
    assert total < 5_000_000, total  # "a few MB"


def test_tampered_file_is_refused(tmp_path):
    import shutil

    from xlt_claims.experiments.data import proxy

    for f in PROXY_DIR.iterdir():
        shutil.copyfile(f, tmp_path / f.name)
    data = (tmp_path / FILES["logt-cls"]).read_bytes()
    (tmp_path / FILES["logt-cls"]).write_bytes(data[:-8] + b"\0" * 8)
    proxy._manifest_cached.cache_clear()
    with pytest.raises(DataError, match="does not match MANIFEST"):
        load_task("logt-cls", proxy_dir=str(tmp_path))


def _test_texts(recs) -> dict[str, set]:
    out: dict[str, set] = {}

    def add(lang, text):
        out.setdefault(lang, set()).add(normkey(text))

    for r in recs["logt-retrieval"]:
        add("en", r["en"])
        for lg, t in r["tr"].items():
            add(lg, t)
    for task in ("logt-cls", "logt-pair"):
        for r in recs[task]:
            if r["split"] == "test":
                for fld in ("text", "text_pair"):
                    for lg, t in (r.get(fld) or {}).items():
                        add(lg, t)
    return out


def _train_texts(recs) -> dict[str, set]:
    out: dict[str, set] = {}

    def add(lang, text):
        out.setdefault(lang, set()).add(normkey(text))

    for task in ("logt-cls", "logt-pair"):
        for r in recs[task]:
            if r["split"] in ("train", "dev"):
                for fld in ("text", "text_pair"):
                    for lg, t in (r.get(fld) or {}).items():
                        add(lg, t)
    for r in recs["logt-align"]:
        add("en", r["en"])
        for lg, t in r["tr"].items():
            add(lg, t)
    return out


def test_no_test_item_appears_in_any_training_dev_or_alignment_file(recs):
    test, train = _test_texts(recs), _train_texts(recs)
    assert sum(len(v) for v in test.values()) > 20000 and sum(len(v) for v in train.values()) > 40000
    # per language, and also across languages (a test string may not reappear in any language)
    for lg in test:
        assert not (test[lg] & train.get(lg, set())), (lg, sorted(test[lg] & train.get(lg, set()))[:3])
    all_test = set().union(*test.values())
    all_train = set().union(*train.values())
    assert not (all_test & all_train), sorted(all_test & all_train)[:5]
    # ids: the retrieval/test messages are not align messages, test items are not train/dev items
    def base_id(i: str) -> str:  # a pair item's positive and negative share the widget id
        return i[:-2] if i.startswith("pair-") else i

    split_ids = {s: {base_id(r["id"]) for t in ("logt-cls", "logt-pair") for r in recs[t] if r["split"] == s}
                 for s in ("train", "dev", "test")}
    assert all(split_ids.values())
    assert not (split_ids["test"] & (split_ids["train"] | split_ids["dev"]))
    assert not ({r["id"][4:] for r in recs["logt-retrieval"]} & {r["id"][4:] for r in recs["logt-align"]})


def test_the_disjointness_check_would_catch_a_leak(recs):
    leaky = {k: list(v) for k, v in recs.items()}
    victim = next(r for r in recs["logt-cls"] if r["split"] == "test" and "ja" in r["text"])
    leaky["logt-align"] = leaky["logt-align"] + [{"id": "aln-x", "en": "unrelated words here", "tr": {"ja": victim["text"]["ja"]}}]
    test, train = _test_texts(leaky), _train_texts(leaky)
    assert test["ja"] & train["ja"]


def test_data_list_json_covers_scripts_and_pawsx_languages():
    res = CliRunner().invoke(app, ["data", "list", "--json"])
    assert res.exit_code == 0, res.output
    rows = {d["name"]: d for d in json.loads(res.output)}
    assert {"logt-cls", "logt-pair", "logt-retrieval", "logt-align", "xnli", "pawsx", "xquad"} <= set(rows)
    proxy_scripts = {s for d in rows.values() if d["kind"] == "proxy" for s in d["scripts"].values()}
    assert len(proxy_scripts) >= 15, proxy_scripts
    for name in ("logt-cls", "logt-retrieval", "logt-align"):
        d = rows[name]
        assert d["n_scripts"] >= 15 and PAWSX_NON_EN <= set(d["languages"]) and XNLI_IN_LO <= set(d["languages"])
        assert all(d["scripts"][lg] for lg in d["languages"])
    assert PAWSX_NON_EN <= set(rows["logt-pair"]["languages"])
    assert rows["pawsx"]["languages"] == ["en", "de", "es", "fr", "ja", "ko", "zh"]
    assert rows["xnli"]["kind"] == "real" and rows["xnli"]["status"] == "missing" and not rows["xnli"]["may_ship"]
    assert rows["logt-cls"]["sizes"]["train"] >= 1500 and max(rows["logt-cls"]["sizes"]["test_per_lang"].values()) <= 500
    assert "MPL-2.0" == rows["logt-pair"]["license"] and rows["logt-pair"]["packages"]


def test_data_list_table():
    res = CliRunner().invoke(app, ["data", "list"])
    assert res.exit_code == 0 and "logt-pair" in res.output and "proxy scripts (23)" in res.output


def test_scripts_recorded_match_the_text(recs):
    m = manifest()
    per_lang: dict[str, list] = {}
    for r in recs["logt-retrieval"]:
        for lg, t in r["tr"].items():
            per_lang.setdefault(lg, []).append(t)
    for lg, texts in per_lang.items():
        assert m["scripts"][lg] == detect_script(texts) == LANG_SCRIPTS[lg]


def test_logt_cls_loader_and_options():
    t = load_task("logt-cls")
    assert t.proxy and t.task_type == "classification" and len(t.labels) == 7
    assert 1500 <= len(t.train) <= 4000 and len(t.dev) >= 150
    assert set(Counter(e.label for e in t.train)) == set(range(7))
    assert list(t.test)[0] == "en" and all(len(v) <= 500 for v in t.test.values())
    assert t.provenance["sha256"] == manifest()["files"][FILES["logt-cls"]]["sha256"]
    for lg, items in t.test.items():
        share = max(Counter(e.label for e in items).values()) / len(items)
        assert share < 0.45, (lg, share)  # balanced: a majority-class guess stays far below ceiling
    s = load_task("logt-cls", langs=["de", "hi"], max_train=70, max_dev=20, max_test=30)
    assert list(s.test) == ["de", "hi"] and len(s.train) == 70 and len(s.dev) == 20
    assert all(len(v) == 30 for v in s.test.values()) and s.scripts == {"de": "Latin", "hi": "Devanagari"}
    assert s.fingerprint() == load_task("logt-cls", langs=["de", "hi"], max_train=70, max_dev=20, max_test=30).fingerprint()
    with pytest.raises(DataError, match="no test items"):
        load_task("logt-cls", langs=["sw"])


def test_logt_pair_standard_and_generalized():
    t = load_task("logt-pair", max_test=40)
    assert t.task_type == "pair-classification" and t.labels == ["different", "same"]
    assert len(t.train) >= 1200 and abs(sum(e.label for e in t.train) / len(t.train) - 0.5) < 0.05
    assert PAWSX_NON_EN <= set(t.test)
    assert set(t.test_pairs) == {f"{a}-{b}" for a in ["en", *PAWSX_NON_EN] for b in ["en", *PAWSX_NON_EN] if a != b}
    g = t.test_pairs["de-ja"][0]
    assert g.lang_pair == "de-ja" and detect_script([g.text]) == "Latin" and detect_script([g.text_pair]) == "Han+Kana"
    assert load_task("logt-pair", pair_langs="none").test_pairs == {}
    en_x = load_task("logt-pair", pair_langs="en-x", langs=["en", "ko", "am"])
    assert set(en_x.test_pairs) == {"en-ko", "ko-en", "en-am", "am-en"}


def test_bitext_sets():
    r = load_bitext("logt-retrieval", langs=["de", "ta"])
    assert set(r) == {"de", "ta"} and len(r["de"]) == 500 and all(en and tr for en, tr in r["ta"])
    assert len({tr for _, tr in r["de"]}) == 500  # unique gold answers
    a = load_bitext("logt-align", max_per_lang=50)
    assert len(a) == 32 and all(len(v) == 50 for v in a.values())
    t = load_task("logt-retrieval", langs=["ko"], max_test=10)
    assert t.task_type == "bitext" and len(t.test["ko"]) == 10 and t.test["ko"][0].text_pair
    al = load_task("logt-align", langs=["ko", "de"], max_train=5)
    assert len(al.train) == 10 and {e.lang for e in al.train} == {"ko", "de"}
    with pytest.raises(DataError, match="not a bitext set"):
        load_bitext("logt-cls")
