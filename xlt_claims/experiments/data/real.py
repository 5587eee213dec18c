"""Loaders for the real benchmarks: XNLI, PAWS-X, XQuAD (XTREME languages and splits).

Two sources, same result (a TaskData):
  * a local folder with the official files (`data_dir=`), searched recursively:
      XNLI    xnli.dev.tsv / xnli.test.tsv (XNLI-1.0; columns by header: language, gold_label,
              sentence1, sentence2, pairID, ...) + MultiNLI English train: multinli_1.0_train.jsonl,
              multinli_1.0_train.txt, GLUE MNLI train.tsv, or XNLI-MT multinli.train.en.tsv
      PAWS-X  x-final/<lang>/{train,translated_train,dev_2k,test_2k}.tsv (header id sentence1 sentence2 label)
      XQuAD   xquad.<lang>.json (SQuAD v1.1 JSON) + SQuAD v1.1 train-v1.1.json / dev-v1.1.json
  * the Hugging Face hub through `datasets` (lazy import) when no data_dir is given.

XTREME splits: train = English training set, dev = English dev (model selection), test = each
language's test set. The generalized setting (`pair_langs`) pairs text from one language with
text_pair from another by the shared example id.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from ..types import Example, TaskData
from .common import DataError, check_test_labels, generalized_pairs, parse_pair_langs, subsample
from .scripts import script_of

XNLI_LANGS = ["en", "fr", "es", "de", "el", "bg", "ru", "tr", "ar", "vi", "th", "zh", "hi", "sw", "ur"]
PAWSX_LANGS = ["en", "de", "es", "fr", "ja", "ko", "zh"]
XQUAD_LANGS = ["en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi"]  # XTREME's 11 (+ "ro")
XQUAD_EXTRA = ["ro"]

XNLI_LABELS = ["entailment", "neutral", "contradiction"]
PAWSX_LABELS = ["not_paraphrase", "paraphrase"]
_NLI_ALIASES = {"contradictory": "contradiction"}

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


# ---------------------------------------------------------------------------------------------------
# file discovery + readers


def _find(root: Path, names: Sequence[str]) -> Optional[Path]:
    """The shallowest file under `root` named one of `names` (in order of preference)."""
    if not root.exists():
        raise DataError(f"data_dir {root} does not exist")
    for name in names:
        hits = sorted(root.rglob(name), key=lambda p: (len(p.parts), str(p)))
        hits = [h for h in hits if h.is_file()]
        if hits:
            return hits[0]
    return None


def _read_tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    """TSV with a header row; no quoting (XNLI and PAWS-X sentences contain bare quotes)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise DataError(f"{path}: empty file")
    return [h.strip() for h in rows[0]], rows[1:]


def _col(header: list[str], path: Path, *names: str) -> int:
    for n in names:
        if n in header:
            return header.index(n)
    raise DataError(f"{path}: no column {' / '.join(names)} in header {header}")


def _nli_label(raw: str, path: Path, line: int) -> Optional[int]:
    v = _NLI_ALIASES.get(raw.strip(), raw.strip())
    if v in ("", "-", "None"):
        return None
    if v.isdigit() and int(v) < 3:
        return int(v)
    if v not in XNLI_LABELS:
        raise DataError(f"{path}:{line}: unknown NLI label {raw!r} (expected one of {XNLI_LABELS})")
    return XNLI_LABELS.index(v)


def read_xnli_tsv(path: Path) -> dict[str, list[Example]]:
    """xnli.dev.tsv / xnli.test.tsv -> {lang: examples}; id = pairID (shared across languages)."""
    header, rows = _read_tsv(path)
    il = _col(header, path, "language")
    ig = _col(header, path, "gold_label")
    i1 = _col(header, path, "sentence1")
    i2 = _col(header, path, "sentence2")
    ip = header.index("pairID") if "pairID" in header else None
    out: dict[str, list[Example]] = {}
    counters: dict[str, int] = {}
    for n, r in enumerate(rows, start=2):
        if not r or all(not c.strip() for c in r):
            continue
        if len(r) <= max(il, ig, i1, i2):
            raise DataError(f"{path}:{n}: {len(r)} columns, header has {len(header)}")
        lang = r[il].strip()
        k = counters.get(lang, 0)
        counters[lang] = k + 1
        pid = r[ip].strip() if ip is not None and ip < len(r) and r[ip].strip() else str(k)
        out.setdefault(lang, []).append(
            Example(id=pid, text=r[i1], text_pair=r[i2], label=_nli_label(r[ig], path, n), lang=lang))
    return out


def read_mnli_train(path: Path) -> list[Example]:
    """MultiNLI English train: .jsonl (sentence1/sentence2/gold_label) or a TSV with a header
    (sentence1/sentence2/gold_label as in multinli_1.0_train.txt and GLUE train.tsv, or
    premise/hypo/label as in XNLI-MT multinli.train.en.tsv). Items with gold label '-' are skipped."""
    out: list[Example] = []
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from None
                lab = _nli_label(str(d.get("gold_label", d.get("label", ""))), path, n)
                if lab is None:
                    continue
                out.append(Example(id=str(d.get("pairID", n)), text=d["sentence1"], text_pair=d["sentence2"], label=lab))
        return out
    header, rows = _read_tsv(path)
    i1 = _col(header, path, "sentence1", "premise")
    i2 = _col(header, path, "sentence2", "hypo", "hypothesis")
    ig = _col(header, path, "gold_label", "label")
    ip = header.index("pairID") if "pairID" in header else None
    for n, r in enumerate(rows, start=2):
        if len(r) <= max(i1, i2, ig):
            continue
        lab = _nli_label(r[ig], path, n)
        if lab is None:
            continue
        out.append(Example(id=r[ip] if ip is not None else str(n - 2), text=r[i1], text_pair=r[i2], label=lab))
    return out


def read_pawsx_tsv(path: Path, lang: str) -> list[Example]:
    header, rows = _read_tsv(path)
    ii = _col(header, path, "id")
    i1 = _col(header, path, "sentence1")
    i2 = _col(header, path, "sentence2")
    ig = _col(header, path, "label")
    out = []
    for n, r in enumerate(rows, start=2):
        if not r or all(not c.strip() for c in r):
            continue
        if len(r) <= max(ii, i1, i2, ig):
            raise DataError(f"{path}:{n}: {len(r)} columns, header has {len(header)}")
        raw = r[ig].strip()
        if raw in ("", "-", "None"):
            lab = None
        elif raw in ("0", "1"):
            lab = int(raw)
        else:
            raise DataError(f"{path}:{n}: label {raw!r} is not 0 or 1")
        out.append(Example(id=r[ii].strip(), text=r[i1], text_pair=r[i2], label=lab, lang=lang))
    return out


def read_squad_json(path: Path, lang: str = "en") -> list[Example]:
    """SQuAD v1.1 JSON (also XQuAD): question -> text, context -> text_pair, answers."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if "data" not in data:
        raise DataError(f"{path}: no top-level 'data' list (not SQuAD v1.1 format)")
    out = []
    for art in data["data"]:
        for para in art.get("paragraphs", []):
            ctx = para["context"]
            for qa in para.get("qas", []):
                ans = qa.get("answers") or []
                answers = {"text": [a["text"] for a in ans], "answer_start": [int(a["answer_start"]) for a in ans]}
                out.append(Example(id=str(qa["id"]), text=qa["question"], text_pair=ctx, answers=answers, lang=lang))
    return out


# ---------------------------------------------------------------------------------------------------
# hub


def _hub(ids: Sequence[str], config: Optional[str], split: str):
    try:
        import datasets  # noqa: F401
    except ImportError:
        raise DataError("no data_dir given and the `datasets` package is not installed "
                        "(pip install 'xlt-claims[hub]', or pass data_dir= with the official files)") from None
    import datasets

    last = None
    for hid in ids:
        try:
            return datasets.load_dataset(hid, config, split=split) if config else datasets.load_dataset(hid, split=split)
        except Exception as exc:  # noqa: BLE001 - datasets raises many kinds; report the last one
            last = exc
    msg = str(last).strip().splitlines()[0] if last and str(last).strip() else type(last).__name__
    raise DataError(f"could not load {' / '.join(ids)}{'/' + config if config else ''} [{split}] through `datasets` "
                    f"(offline? {type(last).__name__}: {msg[:200]}); pass data_dir= with the official files")


# ---------------------------------------------------------------------------------------------------
# loaders


def _check_langs(langs: Optional[Sequence[str]], known: Sequence[str], name: str) -> list[str]:
    if langs is None:
        return list(known)
    bad = [lg for lg in langs if lg not in known]
    if bad:
        raise DataError(f"{name}: unknown language(s) {bad}; known: {list(known)}")
    return list(langs)


def _finish(name: str, task_type: str, labels: list[str], train, dev, test, pair_langs, default_pairs, opts,
            provenance: dict) -> TaskData:
    test = {lg: subsample(items, opts.get("max_test"), salt=f"{name}:test") for lg, items in test.items()}
    pairs = parse_pair_langs(pair_langs, list(test), default_pairs)
    tp = generalized_pairs(test, pairs, span=task_type == "span-extraction")
    return TaskData(
        name=name, task_type=task_type, labels=labels,
        train=subsample(train, opts.get("max_train"), salt=f"{name}:train"),
        dev=subsample(dev, opts.get("max_dev"), salt=f"{name}:dev"),
        test=test, test_pairs=tp,
        scripts={lg: script_of(lg) for lg in test},
        proxy=False, provenance=provenance,
    )


def load_xnli(data_dir: Optional[str] = None, langs=None, pair_langs="none", need_train: bool = True,
              **opts: Any) -> TaskData:
    langs = _check_langs(langs, XNLI_LANGS, "xnli")
    if data_dir:
        root = Path(data_dir).expanduser()
        tpath = _find(root, ["xnli.test.tsv"])
        dpath = _find(root, ["xnli.dev.tsv"])
        if tpath is None or dpath is None:
            raise DataError(f"xnli: no {'xnli.test.tsv' if tpath is None else 'xnli.dev.tsv'} under {root} "
                            "(the XNLI-1.0 folder of the official download)")
        test_all, dev_all = read_xnli_tsv(tpath), read_xnli_tsv(dpath)
        missing = [lg for lg in langs if lg not in test_all]
        if missing:
            raise DataError(f"{tpath}: no rows for language(s) {missing}")
        test = {lg: test_all[lg] for lg in langs}
        for lg in langs:
            check_test_labels(test[lg], f"{tpath} [language={lg}]", XNLI_LABELS)
        dev = dev_all.get("en", [])
        train: list[Example] = []
        tr_path = None
        if need_train:
            names = ["multinli_1.0_train.jsonl", "multinli_1.0_train.txt", "multinli.train.en.tsv", "train.tsv"]
            tr_path = _find(root, names)
            if tr_path is None:
                raise DataError(f"xnli: no MultiNLI English train file under {root} (looked for {', '.join(names)}); "
                                "pass need_train=False to evaluate only")
            train = read_mnli_train(tr_path)
        prov = {"source": "local", "files": [str(p) for p in (tpath, dpath, tr_path) if p]}
    else:
        test = {}
        for lg in langs:
            ds = _hub(["facebook/xnli", "xnli"], lg, "test")
            test[lg] = [Example(id=str(i), text=r["premise"], text_pair=r["hypothesis"], label=r["label"], lang=lg)
                        for i, r in enumerate(ds)]
            check_test_labels(test[lg], f"hub:xnli/{lg} [test]", XNLI_LABELS)
        dev = [Example(id=str(i), text=r["premise"], text_pair=r["hypothesis"], label=r["label"])
               for i, r in enumerate(_hub(["facebook/xnli", "xnli"], "en", "validation"))]
        train = ([Example(id=str(i), text=r["premise"], text_pair=r["hypothesis"], label=r["label"])
                  for i, r in enumerate(_hub(["facebook/xnli", "xnli"], "en", "train"))] if need_train else [])
        prov = {"source": "hub", "ids": ["facebook/xnli"]}
    for e in dev:
        e.lang = "en"
    return _finish("xnli", "pair-classification", XNLI_LABELS, train, dev, test, pair_langs, XNLI_LANGS, opts, prov)


def _pawsx_root(root: Path) -> Path:
    if (root / "en").is_dir():
        return root
    hits = sorted((p for p in root.rglob("x-final") if p.is_dir()), key=lambda p: len(p.parts))
    if hits:
        return hits[0]
    raise DataError(f"pawsx: no x-final/<lang>/ folders under {root} (the PAWS-X download unpacked)")


def load_pawsx(data_dir: Optional[str] = None, langs=None, pair_langs="none", need_train: bool = True,
               **opts: Any) -> TaskData:
    langs = _check_langs(langs, PAWSX_LANGS, "pawsx")
    if data_dir:
        root = _pawsx_root(Path(data_dir).expanduser())
        test = {}
        files = []
        for lg in langs:
            p = root / lg / "test_2k.tsv"
            if not p.exists():
                raise DataError(f"pawsx: {p} not found")
            test[lg] = read_pawsx_tsv(p, lg)
            check_test_labels(test[lg], str(p), PAWSX_LABELS)
            files.append(str(p))
        dpath = root / "en" / "dev_2k.tsv"
        if not dpath.exists():
            raise DataError(f"pawsx: {dpath} not found")
        dev = read_pawsx_tsv(dpath, "en")
        train = []
        if need_train:
            tpath = root / "en" / "train.tsv"
            if not tpath.exists():
                raise DataError(f"pawsx: {tpath} not found (English train); pass need_train=False to evaluate only")
            train = read_pawsx_tsv(tpath, "en")
            files.append(str(tpath))
        prov = {"source": "local", "files": files + [str(dpath)]}
    else:
        ids = ["google-research-datasets/paws-x", "paws-x"]

        def conv(ds, lg):
            return [Example(id=str(r["id"]), text=r["sentence1"], text_pair=r["sentence2"], label=r["label"], lang=lg)
                    for r in ds]

        test = {lg: conv(_hub(ids, lg, "test"), lg) for lg in langs}
        for lg in langs:
            check_test_labels(test[lg], f"hub:paws-x/{lg} [test]", PAWSX_LABELS)
        dev = conv(_hub(ids, "en", "validation"), "en")
        train = conv(_hub(ids, "en", "train"), "en") if need_train else []
        prov = {"source": "hub", "ids": ids[:1]}
    for items, what in ((dev, "dev"), (train, "train")):
        if items and any(e.label is None for e in items):
            raise DataError(f"pawsx: the English {what} split has items without a label")
    return _finish("pawsx", "pair-classification", PAWSX_LABELS, train, dev, test, pair_langs, PAWSX_LANGS, opts, prov)


def load_xquad(data_dir: Optional[str] = None, langs=None, pair_langs="none", need_train: bool = True,
               **opts: Any) -> TaskData:
    langs = _check_langs(langs, XQUAD_LANGS + XQUAD_EXTRA, "xquad") if langs is not None else list(XQUAD_LANGS)
    if data_dir:
        root = Path(data_dir).expanduser()
        test, files = {}, []
        for lg in langs:
            p = _find(root, [f"xquad.{lg}.json"])
            if p is None:
                raise DataError(f"xquad: no xquad.{lg}.json under {root}")
            test[lg] = read_squad_json(p, lg)
            check_test_labels(test[lg], str(p), task_type="span-extraction")
            files.append(str(p))
        dpath = _find(root, ["dev-v1.1.json"])
        if dpath is None:
            raise DataError(f"xquad: no SQuAD v1.1 dev-v1.1.json under {root} (English dev for model selection)")
        dev = read_squad_json(dpath, "en")
        train = []
        if need_train:
            tpath = _find(root, ["train-v1.1.json"])
            if tpath is None:
                raise DataError(f"xquad: no SQuAD v1.1 train-v1.1.json under {root}; pass need_train=False to evaluate only")
            train = read_squad_json(tpath, "en")
            files.append(str(tpath))
        prov = {"source": "local", "files": files + [str(dpath)]}
    else:
        def conv(ds, lg):
            return [Example(id=str(r["id"]), text=r["question"], text_pair=r["context"],
                            answers={"text": list(r["answers"]["text"]),
                                     "answer_start": [int(x) for x in r["answers"]["answer_start"]]}, lang=lg)
                    for r in ds]

        test = {lg: conv(_hub(["google/xquad", "xquad"], f"xquad.{lg}", "validation"), lg) for lg in langs}
        for lg in langs:
            check_test_labels(test[lg], f"hub:xquad/xquad.{lg} [validation]", task_type="span-extraction")
        dev = conv(_hub(["rajpurkar/squad", "squad"], None, "validation"), "en")
        train = conv(_hub(["rajpurkar/squad", "squad"], None, "train"), "en") if need_train else []
        prov = {"source": "hub", "ids": ["google/xquad", "rajpurkar/squad"]}
    return _finish("xquad", "span-extraction", [], train, dev, test, pair_langs, XQUAD_LANGS, opts, prov)
