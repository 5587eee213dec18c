"""Real-benchmark loaders on tiny files written here in the official formats (XNLI-1.0 TSV + MultiNLI
JSONL/TSV, PAWS-X x-final TSV, XQuAD/SQuAD v1.1 JSON), the generalized setting, and the guard
against placeholder test labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xlt_claims.experiments.data import DataError, PlaceholderLabelsError, load_task
from xlt_claims.experiments.data.common import subsample
from xlt_claims.experiments.types import Example

XNLI_HEADER = ["language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse",
               "sentence2_parse", "sentence1", "sentence2", "promptID", "pairID", "genre", "label1", "label2",
               "label3", "label4", "label5", "sentence1_tokenized", "sentence2_tokenized", "match"]

NLI = [("entailment", "A man plays a guitar.", "Someone makes music."),
       ("contradiction", 'He said "no" twice.', "He agreed at once."),
       ("neutral", "The shop opens at nine.", "The shop sells bread."),
       ("entailment", "Two dogs run.", "Animals are moving.")]
TR = {"en": lambda s: s, "de": lambda s: "DE " + s, "fr": lambda s: "FR " + s}


def _xnli_row(lang: str, gold: str, s1: str, s2: str, pid: int) -> str:
    vals = {"language": lang, "gold_label": gold, "sentence1": s1, "sentence2": s2, "promptID": str(100 + pid),
            "pairID": str(pid), "genre": "fiction", "match": "True"}
    return "\t".join(vals.get(h, "(x)" if "parse" in h else gold if h.startswith("label") else "tok") for h in XNLI_HEADER)


def write_xnli(root: Path, langs=("en", "de", "fr"), test_gold=None) -> Path:
    d = root / "XNLI-1.0"
    d.mkdir(parents=True)
    for split in ("dev", "test"):
        lines = ["\t".join(XNLI_HEADER)]
        for lg in langs:
            for pid, (gold, s1, s2) in enumerate(NLI):
                g = test_gold(lg, pid, gold) if (test_gold and split == "test") else gold
                lines.append(_xnli_row(lg, g, TR[lg](s1), TR[lg](s2), pid))
        (d / f"xnli.{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    mnli = root / "multinli_1.0"
    mnli.mkdir()
    with open(mnli / "multinli_1.0_train.jsonl", "w", encoding="utf-8") as f:
        for i, (gold, s1, s2) in enumerate(NLI + [("-", "Unsure.", "No consensus.")]):
            f.write(json.dumps({"annotator_labels": [gold], "genre": "fiction", "gold_label": gold, "pairID": f"{i}e",
                                "promptID": str(i), "sentence1": s1, "sentence1_binary_parse": "( x )",
                                "sentence1_parse": "(ROOT)", "sentence2": s2, "sentence2_binary_parse": "( y )",
                                "sentence2_parse": "(ROOT)"}) + "\n")
    return root


def write_pawsx(root: Path, langs=("en", "de", "fr", "ja"), test_labels=None) -> Path:
    base = root / "x-final"
    items = [(1, "The cat sat on the mat.", "On the mat sat the cat.", 1),
             (2, "Paris is in France.", "France is in Paris.", 0),
             (3, "She moved from Rome to Oslo.", "She moved from Oslo to Rome.", 0),
             (4, "It rained all day.", "All day long it rained.", 1)]
    for lg in langs:
        d = base / lg
        d.mkdir(parents=True)
        train_name = "train.tsv" if lg == "en" else "translated_train.tsv"
        for fname in (train_name, "dev_2k.tsv", "test_2k.tsv"):
            rows = ["id\tsentence1\tsentence2\tlabel"]
            for i, s1, s2, lab in items:
                if fname == "test_2k.tsv" and test_labels is not None:
                    lab = test_labels(lg, i, lab)
                rows.append(f"{i}\t{lg}:{s1}\t{lg}:{s2}\t{lab}")
            (d / fname).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def _squad(questions: list[tuple[str, str, str, int]]) -> dict:
    paras = {}
    for qid, ctx, q, start in questions:
        paras.setdefault(ctx, []).append({"id": qid, "question": q,
                                          "answers": [{"text": ctx[start:start + 4], "answer_start": start}]})
    return {"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": c, "qas": qs} for c, qs in paras.items()]}]}


def write_xquad(root: Path, langs=("en", "de", "ar")) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for lg in langs:
        ctx = f"[{lg}] Rome is old. Oslo is cold."
        qs = [("q1", ctx, f"{lg}: which city is old?", ctx.index("Rome")),
              ("q2", ctx, f"{lg}: which city is cold?", ctx.index("Oslo"))]
        (root / f"xquad.{lg}.json").write_text(json.dumps(_squad(qs), ensure_ascii=False), encoding="utf-8")
    sq = root / "squad"
    sq.mkdir()
    ctx = "Bern is small. Lima is big."
    (sq / "train-v1.1.json").write_text(json.dumps(_squad([("t1", ctx, "small?", 0), ("t2", ctx, "big?", 15)])))
    (sq / "dev-v1.1.json").write_text(json.dumps(_squad([("d1", ctx, "which is small?", 0)])))
    return root


# ---------------------------------------------------------------------------------------------------


def test_xnli_official_tsv_and_mnli_jsonl(tmp_path):
    write_xnli(tmp_path)
    t = load_task("xnli", data_dir=str(tmp_path), langs=["en", "de", "fr"], pair_langs=["de-fr", "en-de"])
    assert t.task_type == "pair-classification" and t.labels == ["entailment", "neutral", "contradiction"]
    assert [e.label for e in t.train] == [0, 2, 1, 0]  # the '-' item is skipped
    assert len(t.dev) == 4 and all(e.lang == "en" for e in t.dev)
    de = t.test["de"]
    assert [e.id for e in de] == ["0", "1", "2", "3"] and de[1].text == 'DE He said "no" twice.'  # bare quotes kept
    assert de[1].label == 2 and t.scripts["de"] == "Latin"
    g = t.test_pairs["de-fr"]
    assert len(g) == 4 and g[0].text.startswith("DE ") and g[0].text_pair.startswith("FR ") and g[0].lang_pair == "de-fr"
    assert [e.label for e in g] == [e.label for e in de]
    assert t.provenance["source"] == "folder" and any(f.endswith("xnli.test.tsv") for f in t.provenance["files"])
    assert t.provenance["layout"] == "xnli-1.0" and t.provenance["deviations"] == []  # the paper's training data


def test_xnli_mt_tsv_train_and_contradictory_alias(tmp_path):
    write_xnli(tmp_path)
    (tmp_path / "multinli_1.0" / "multinli_1.0_train.jsonl").unlink()
    mt = tmp_path / "XNLI-MT-1.0" / "multinli"
    mt.mkdir(parents=True)
    (mt / "multinli.train.en.tsv").write_text(
        "premise\thypo\tlabel\nA cat.\tAn animal.\tentailment\nA cat.\tA dog.\tcontradictory\nA cat.\tIt is old.\tneutral\n")
    t = load_task("xnli", data_dir=str(tmp_path), langs=["en"])
    assert [e.label for e in t.train] == [0, 2, 1]


def test_pawsx_xfinal_layout_and_generalized(tmp_path):
    write_pawsx(tmp_path)
    t = load_task("paws-x", data_dir=str(tmp_path), langs=["en", "de", "fr", "ja"], pair_langs="auto")
    assert t.name == "pawsx" and len(t.train) == 4 and len(t.dev) == 4
    assert t.train[0].text == "en:The cat sat on the mat." and t.train[1].label == 0
    assert sorted(t.test) == ["de", "en", "fr", "ja"] and t.scripts["ja"] == "Han+Kana"
    assert len(t.test_pairs) == 12  # ordered pairs of 4 languages
    p = t.test_pairs["ja-de"][2]
    assert p.text == "ja:She moved from Rome to Oslo." and p.text_pair == "de:She moved from Oslo to Rome."
    assert p.lang_pair == "ja-de" and p.label == 0


def test_pawsx_generalized_skips_items_whose_labels_disagree(tmp_path):
    write_pawsx(tmp_path, test_labels=lambda lg, i, lab: (1 - lab) if (lg == "fr" and i == 1) else lab)
    t = load_task("pawsx", data_dir=str(tmp_path), langs=["de", "fr"], pair_langs="de-fr", need_train=False)
    assert [e.id for e in t.test_pairs["de-fr"]] == ["2", "3", "4"] and t.train == []


def test_xquad_squad_json(tmp_path):
    write_xquad(tmp_path / "d")
    t = load_task("xquad", data_dir=str(tmp_path / "d"), langs=["en", "de", "ar"], pair_langs=["ar-de"])
    assert t.task_type == "span-extraction" and len(t.train) == 2 and len(t.dev) == 1
    q = t.test["de"][1]
    assert q.text == "de: which city is cold?" and q.answers == {"text": ["Oslo"], "answer_start": [q.text_pair.index("Oslo")]}
    g = t.test_pairs["ar-de"][0]
    assert g.text.startswith("ar:") and g.text_pair.startswith("[de]") and g.answers["text"] == ["Rome"]
    assert t.scripts["ar"] == "Arabic"


def test_placeholder_guard_single_label(tmp_path):
    write_pawsx(tmp_path)
    rows = ["id\tsentence1\tsentence2\tlabel"] + [f"{i}\tSatz {i}.\tSatz {i}!\t0" for i in range(1, 13)]
    (tmp_path / "x-final" / "de" / "test_2k.tsv").write_text("\n".join(rows) + "\n")
    with pytest.raises(PlaceholderLabelsError) as ei:
        load_task("pawsx", data_dir=str(tmp_path), langs=["en", "de"])
    assert "de/test_2k.tsv" in str(ei.value) and "placeholder" in str(ei.value)


def test_placeholder_guard_missing_labels_names_file_and_language(tmp_path):
    write_xnli(tmp_path, test_gold=lambda lg, pid, gold: "" if lg == "fr" else gold)
    with pytest.raises(PlaceholderLabelsError) as ei:
        load_task("xnli", data_dir=str(tmp_path), langs=["en", "fr"])
    msg = str(ei.value)
    assert "xnli.test.tsv" in msg and "language=fr" in msg and "4 of 4" in msg


def test_squad_json_without_answers_is_bad_input_not_a_placeholder(tmp_path):
    """A question without any answer is a malformed file (file and line named, nothing loaded), not the
    placeholder-label guard that turns a run into an invalid verdict."""
    write_xquad(tmp_path)
    p = tmp_path / "xquad.de.json"
    d = json.loads(p.read_text())
    for qa in d["data"][0]["paragraphs"][0]["qas"]:
        qa["answers"] = []
    p.write_text(json.dumps(d, indent=1))
    with pytest.raises(DataError, match=r"xquad\.de\.json:\d+: question q1 has no answers") as ei:
        load_task("xquad", data_dir=str(tmp_path), langs=["de"])
    assert not isinstance(ei.value, PlaceholderLabelsError)
    line = int(str(ei.value).split("xquad.de.json:")[1].split(":")[0])
    assert '"q1"' in p.read_text().splitlines()[line - 1]


def test_guard_threshold_uses_real_single_label_sets():
    from xlt_claims.experiments.data import check_test_labels

    ok = [Example(id=str(i), text="x", label=i % 2) for i in range(20)]
    check_test_labels(ok, "f.tsv", ["a", "b"])
    with pytest.raises(PlaceholderLabelsError, match="all 20 test labels are 'a'"):
        check_test_labels([Example(id=str(i), text="x", label=0) for i in range(20)], "f.tsv", ["a", "b"])
    with pytest.raises(DataError, match="outside"):
        check_test_labels([Example(id="1", text="x", label=5)], "f.tsv", ["a", "b"])


def test_xnli_without_multinli_trains_on_an_english_dev_split(tmp_path):
    """Offline there is no MultiNLI: the English dev set is split by premise (its hypotheses stay
    together), one part trains, the other selects; the deviation from the paper is recorded."""
    write_xnli(tmp_path)
    (tmp_path / "multinli_1.0" / "multinli_1.0_train.jsonl").unlink()
    t = load_task("xnli", data_dir=str(tmp_path), langs=["en", "de", "fr"])
    assert len(t.train) + len(t.dev) == 4
    assert not ({e.text for e in t.train} & {e.text for e in t.dev})  # no premise on both sides
    dev_full = load_task("xnli", data_dir=str(tmp_path), langs=["en"], need_train=False).dev
    assert len(dev_full) == 4
    dv = t.provenance["deviations"]
    assert [d["aspect"] for d in dv] == ["training data"] and "MultiNLI" in dv[0]["paper"]
    assert "premise" in dv[0]["ours"] and "model selection" in dv[0]["ours"]


def test_errors_name_the_missing_file(tmp_path):
    write_xnli(tmp_path)
    with pytest.raises(DataError, match=r"no rows for language\(s\) \['sw'\]"):
        load_task("xnli", data_dir=str(tmp_path), langs=["en", "sw"], need_train=False)
    assert load_task("xnli", data_dir=str(tmp_path), need_train=False, langs=["en"]).train == []
    with pytest.raises(DataError, match="unknown language"):
        load_task("xnli", data_dir=str(tmp_path), langs=["xx"])
    with pytest.raises(DataError, match="x-final"):
        load_task("pawsx", data_dir=str(tmp_path))
    bad = tmp_path / "XNLI-1.0" / "xnli.test.tsv"
    bad.write_text("language\tgold_label\tsentence1\tsentence2\nde\tmaybe\ta\tb\n")
    with pytest.raises(DataError, match=r"xnli.test.tsv:2: unknown label 'maybe'"):
        load_task("xnli", data_dir=str(tmp_path), need_train=False, langs=["de"])


def test_xnli_absent_gives_one_line_error_that_says_how_to_get_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *a, **k):
        if name == "datasets":
            raise ImportError("no datasets here")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(DataError) as ei:
        load_task("xnli", langs=["de"])
    msg = str(ei.value)
    assert "\n" not in msg and "claims data add xnli" in msg and "--data" in msg and "never ships" in msg


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown data set"):
        load_task("nope")


def test_subsample_is_deterministic_stratified_and_parallel():
    items = [Example(id=str(i), text="t", label=0 if i < 80 else 1, lang="de") for i in range(100)]
    a = subsample(items, 10, salt="s")
    assert a == subsample(items, 10, salt="s") and len(a) == 10
    assert sum(e.label for e in a) == 2  # 20% of the items have label 1
    other = [Example(id=e.id, text="u", label=e.label, lang="fr") for e in items]
    assert [e.id for e in subsample(other, 10, salt="s")] == [e.id for e in a]  # same ids across languages
    assert subsample(items, None) is items


def test_max_options_reach_real_loaders(tmp_path):
    write_pawsx(tmp_path)
    t = load_task("pawsx", data_dir=str(tmp_path), langs=["en", "de"], max_train=2, max_dev=1, max_test=2,
                  pair_langs="auto")
    assert len(t.train) == 2 and len(t.dev) == 1 and all(len(v) == 2 for v in t.test.values())
    assert {e.id for e in t.test["en"]} == {e.id for e in t.test["de"]} and len(t.test_pairs["en-de"]) == 2
