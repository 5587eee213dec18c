"""Loaders for the shipped LOGT proxy benchmark (files in ./proxy).

The files are built by a build tool outside the runtime package (tools/logt, `python -m tools.logt`
in a source checkout), which imports the format constants below. Every file is checked against the
sha256 in proxy/MANIFEST.json before use, so a run can only see the exact data its manifest names.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Sequence

from ..types import Example, TaskData
from .common import DataError, check_test_labels, generalized_pairs, parse_pair_langs, subsample

PROXY_DIR = Path(__file__).resolve().parent / "proxy"
PAWSX_SET = ["en", "de", "es", "fr", "ja", "ko", "zh"]

# The shipped files' format (the builder in tools/logt writes exactly these).
FILES = {
    "logt-retrieval": "logt-retrieval.jsonl.gz",
    "logt-cls": "logt-cls.jsonl.gz",
    "logt-pair": "logt-pair.jsonl.gz",
    "logt-align": "logt-align.jsonl.gz",
}
MANIFEST = "MANIFEST.json"
NOTICE = "NOTICE.txt"
CLS_LABELS = ["base", "basic", "calc", "chart", "impress_draw", "math", "writer"]
PAIR_LABELS = ["different", "same"]  # 1 = text_pair is the description of the control named in text


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_gz_jsonl(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_shipped(folder: Path = PROXY_DIR) -> list[str]:
    """Problems with the shipped files against their own MANIFEST (missing file, sha256 mismatch)."""
    problems = []
    m = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    for fname, meta in m["files"].items():
        p = Path(folder) / fname
        if not p.exists():
            problems.append(f"{p}: missing")
        elif sha256_file(p) != meta["sha256"]:
            problems.append(f"{p}: sha256 {sha256_file(p)[:12]}… does not match MANIFEST {meta['sha256'][:12]}…")
    return problems


def _dir(proxy_dir: Optional[str | Path]) -> Path:
    return Path(proxy_dir) if proxy_dir else PROXY_DIR


@lru_cache(maxsize=8)
def _manifest_cached(folder: str) -> dict:
    p = Path(folder) / MANIFEST
    if not p.exists():
        raise DataError(f"{p} not found: the LOGT proxy files are missing (reinstall the package, or rebuild "
                        "them with `python -m tools.logt --write` in a source checkout)")
    return json.loads(p.read_text(encoding="utf-8"))


def manifest(proxy_dir: Optional[str | Path] = None) -> dict:
    return _manifest_cached(str(_dir(proxy_dir)))


@lru_cache(maxsize=16)
def _records_cached(folder: str, fname: str, expected: str) -> tuple:
    p = Path(folder) / fname
    if not p.exists():
        raise DataError(f"{p} not found (listed in {MANIFEST}); reinstall the package or run `python -m tools.logt --write`")
    got = sha256_file(p)
    if got != expected:
        raise DataError(f"{p}: sha256 {got[:16]}… does not match {MANIFEST} ({expected[:16]}…); the file was "
                        "modified — reinstall the package or rebuild it with `python -m tools.logt --write`")
    return tuple(read_gz_jsonl(p))


def records(task: str, proxy_dir: Optional[str | Path] = None) -> list[dict]:
    folder = _dir(proxy_dir)
    fname = FILES[task]
    meta = manifest(folder)["files"].get(fname)
    if meta is None:
        raise DataError(f"{folder / MANIFEST} lists no {fname}")
    return list(_records_cached(str(folder), fname, meta["sha256"]))


def _select_langs(available: Sequence[str], langs: Optional[Sequence[str]], task: str) -> list[str]:
    avail = ["en"] + sorted(lg for lg in available if lg != "en") if "en" in available else sorted(available)
    if langs is None:
        return avail
    bad = [lg for lg in langs if lg not in avail]
    if bad:
        raise DataError(f"{task}: no test items for language(s) {bad}; available: {avail}")
    return [lg for lg in avail if lg in langs]


def _provenance(task: str, m: dict, folder: Path) -> dict[str, Any]:
    fname = FILES[task]
    return {
        "source": m["source"], "license": m["license"], "notice": str(folder / m["notice"]),
        "file": str(folder / fname), "sha256": m["files"][fname]["sha256"],
        "packages": [f"{p['name']}={p['version']}" for p in m["packages"]],
        "builder_version": m["builder_version"],
    }


def load_logt_cls(langs=None, max_train: Optional[int] = None, max_dev: Optional[int] = None,
                  max_test: Optional[int] = None, proxy_dir=None, **_: Any) -> TaskData:
    """Single-sentence classification: which LibreOffice module a UI message belongs to (7 classes)."""
    folder = _dir(proxy_dir)
    m = manifest(folder)
    recs = records("logt-cls", folder)
    lab = {name: i for i, name in enumerate(CLS_LABELS)}
    train = [Example(id=r["id"], text=r["text"]["en"], label=lab[r["label"]]) for r in recs if r["split"] == "train"]
    dev = [Example(id=r["id"], text=r["text"]["en"], label=lab[r["label"]]) for r in recs if r["split"] == "dev"]
    test_all: dict[str, list[Example]] = {}
    for r in recs:
        if r["split"] == "test":
            for lg, t in r["text"].items():
                test_all.setdefault(lg, []).append(Example(id=r["id"], text=t, label=lab[r["label"]], lang=lg))
    chosen = _select_langs(list(test_all), langs, "logt-cls")
    test = {lg: subsample(test_all[lg], max_test, salt="logt-cls:test") for lg in chosen}
    for lg in chosen:
        check_test_labels(test[lg], f"{folder / FILES['logt-cls']} [test, {lg}]", CLS_LABELS)
    return TaskData(
        name="logt-cls", task_type="classification", labels=list(CLS_LABELS),
        train=subsample(train, max_train, salt="logt-cls:train"), dev=subsample(dev, max_dev, salt="logt-cls:dev"),
        test=test, scripts={lg: m["scripts"][lg] for lg in chosen}, proxy=True,
        provenance=_provenance("logt-cls", m, folder),
    )


def load_logt_pair(langs=None, pair_langs="auto", max_train: Optional[int] = None, max_dev: Optional[int] = None,
                   max_test: Optional[int] = None, proxy_dir=None, **_: Any) -> TaskData:
    """Sentence pairs: is text_pair (an extended tip) the description of the control labelled text?

    Standard setting: both texts in one language (test[lang]). Generalized setting: label in l1, tip
    in l2 (test_pairs["l1-l2"]); pair_langs "auto" = ordered pairs of the PAWS-X languages."""
    folder = _dir(proxy_dir)
    m = manifest(folder)
    recs = records("logt-pair", folder)
    lab = {name: i for i, name in enumerate(PAIR_LABELS)}

    def ex(r: dict, lg: str = "en") -> Example:
        return Example(id=r["id"], text=r["text"][lg], text_pair=r["text_pair"][lg], label=lab[r["label"]], lang=lg)

    train = [ex(r) for r in recs if r["split"] == "train"]
    dev = [ex(r) for r in recs if r["split"] == "dev"]
    test_all: dict[str, list[Example]] = {}
    for r in recs:
        if r["split"] == "test":
            for lg in r["text"]:
                test_all.setdefault(lg, []).append(ex(r, lg))
    chosen = _select_langs(list(test_all), langs, "logt-pair")
    test = {lg: subsample(test_all[lg], max_test, salt="logt-pair:test") for lg in chosen}
    for lg in chosen:
        check_test_labels(test[lg], f"{folder / FILES['logt-pair']} [test, {lg}]", PAIR_LABELS)
    pairs = parse_pair_langs(pair_langs, chosen, PAWSX_SET)
    return TaskData(
        name="logt-pair", task_type="pair-classification", labels=list(PAIR_LABELS),
        train=subsample(train, max_train, salt="logt-pair:train"), dev=subsample(dev, max_dev, salt="logt-pair:dev"),
        test=test, test_pairs=generalized_pairs(test, pairs),
        scripts={lg: m["scripts"][lg] for lg in chosen}, proxy=True,
        provenance=_provenance("logt-pair", m, folder),
    )


def load_bitext(name: str, langs=None, max_per_lang: Optional[int] = None, proxy_dir=None) -> dict[str, list[tuple[str, str]]]:
    """{lang: [(english, translation), ...]} for "logt-retrieval" (test-only bitext, up to 500 per
    language) or "logt-align" (parallel training pairs, disjoint from every test item)."""
    if name not in ("logt-retrieval", "logt-align"):
        raise DataError(f"{name!r} is not a bitext set (choose logt-retrieval or logt-align)")
    recs = records(name, _dir(proxy_dir))
    out: dict[str, list[tuple[str, str]]] = {}
    for r in recs:
        for lg, t in r["tr"].items():
            out.setdefault(lg, []).append((r["en"], t))
    chosen = _select_langs(list(out), langs, name)
    return {lg: out[lg][:max_per_lang] if max_per_lang else out[lg] for lg in chosen}


def load_bitext_task(name: str, langs=None, max_test: Optional[int] = None, max_train: Optional[int] = None,
                     proxy_dir=None, **_: Any) -> TaskData:
    """The bitext sets as a TaskData (task_type "bitext": text = English, text_pair = translation).
    logt-retrieval fills `test`; logt-align fills `train` (all languages, each example's lang set)."""
    folder = _dir(proxy_dir)
    m = manifest(folder)
    bt = load_bitext(name, langs, proxy_dir=folder)
    recs = records(name, folder)
    ids = {}
    for r in recs:
        for lg in r["tr"]:
            ids.setdefault(lg, []).append(r["id"])
    items = {lg: [Example(id=i, text=en, text_pair=tr, lang=lg) for i, (en, tr) in zip(ids[lg], pairs)]
             for lg, pairs in bt.items()}
    if name == "logt-retrieval":
        test = {lg: subsample(v, max_test, salt=f"{name}:test") for lg, v in items.items()}
        train: list[Example] = []
    else:
        test = {}
        train = [e for lg in items for e in subsample(items[lg], max_train, salt=f"{name}:train")]
    return TaskData(name=name, task_type="bitext", labels=[], train=train, dev=[], test=test,
                    scripts={lg: m["scripts"][lg] for lg in bt}, proxy=True, provenance=_provenance(name, m, folder))
