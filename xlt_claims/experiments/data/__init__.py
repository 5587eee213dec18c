"""Data sets for the experiment engine: a registry of real benchmarks (XNLI, PAWS-X, XQuAD) and the
shipped offline proxy benchmark LOGT (LibreOffice translations, 32 languages, 23 scripts).

    load_task(name, **opts) -> TaskData
        names: "logt-cls", "logt-pair", "logt-retrieval", "logt-align", "xnli", "pawsx", "xquad"
        common options: langs=[...], max_train=, max_dev=, max_test= (deterministic, label-stratified),
        pair_langs= ("auto" | "all" | "en-x" | "none" | ["de-fr", ...]) for the generalized setting;
        real sets: data_dir= (official files) or the `datasets` hub when omitted, need_train=
    load_bitext(name, langs=None) -> {lang: [(english, translation), ...]}
    list_datasets() -> [ {name, kind, task_type, languages, scripts, sizes, source, ...}, ... ]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..types import TaskData
from .common import DataError, PlaceholderLabelsError, check_test_labels
from .proxy import load_bitext

__all__ = ["load_task", "load_bitext", "list_datasets", "DataError", "PlaceholderLabelsError",
           "check_test_labels", "REGISTRY", "DatasetSpec"]


@dataclass
class DatasetSpec:
    name: str
    kind: str  # "proxy" | "real"
    task_type: str
    description: str
    loader: Callable[..., TaskData]
    source: str
    license: str
    aliases: tuple = ()
    info: dict = field(default_factory=dict)


def _lazy(modname: str, fn: str, **fixed: Any) -> Callable[..., TaskData]:
    def call(**opts: Any) -> TaskData:
        import importlib

        mod = importlib.import_module(f"{__name__}.{modname}")
        return getattr(mod, fn)(**fixed, **opts)

    return call


_LOGT_SOURCE = "LibreOffice 7.4 UI catalogs, Debian 12 libreoffice-l10n-* (shipped; `claims data build-proxy` rebuilds)"

REGISTRY: dict[str, DatasetSpec] = {
    "logt-cls": DatasetSpec(
        "logt-cls", "proxy", "classification",
        "Which LibreOffice module (7 classes) a UI message belongs to; English train/dev, test per language",
        _lazy("proxy", "load_logt_cls"), _LOGT_SOURCE, "MPL-2.0"),
    "logt-pair": DatasetSpec(
        "logt-pair", "proxy", "pair-classification",
        "Is text_pair the extended tip (description) of the UI control labelled text? Standard + generalized setting",
        _lazy("proxy", "load_logt_pair"), _LOGT_SOURCE, "MPL-2.0"),
    "logt-retrieval": DatasetSpec(
        "logt-retrieval", "proxy", "bitext",
        "Bitext retrieval sets (English <-> language, up to 500 test messages per language)",
        _lazy("proxy", "load_bitext_task", name="logt-retrieval"), _LOGT_SOURCE, "MPL-2.0"),
    "logt-align": DatasetSpec(
        "logt-align", "proxy", "bitext",
        "Parallel training pairs for alignment methods (up to 1500 per language), disjoint from every test item",
        _lazy("proxy", "load_bitext_task", name="logt-align"), _LOGT_SOURCE, "MPL-2.0"),
    "xnli": DatasetSpec(
        "xnli", "real", "pair-classification",
        "XNLI: natural language inference (MultiNLI English train, XNLI dev/test in 15 languages)",
        _lazy("real", "load_xnli"),
        "data_dir= with XNLI-1.0 xnli.{dev,test}.tsv + MultiNLI train, or hub facebook/xnli via `datasets`",
        "CC BY-NC 4.0 (XNLI); MultiNLI: OANC/CC BY-SA 3.0 mix",
        info={"sizes": {"train": 392702, "dev": 2490, "test_per_lang": 5010}}),
    "pawsx": DatasetSpec(
        "pawsx", "real", "pair-classification",
        "PAWS-X: paraphrase identification (English train, test in 7 languages)",
        _lazy("real", "load_pawsx"),
        "data_dir= with x-final/<lang>/{train,dev_2k,test_2k}.tsv, or hub google-research-datasets/paws-x",
        "PAWS-X: may be freely used (Google), see its LICENSE", aliases=("paws-x",),
        info={"sizes": {"train": 49401, "dev": 2000, "test_per_lang": 2000}}),
    "xquad": DatasetSpec(
        "xquad", "real", "span-extraction",
        "XQuAD: extractive QA (SQuAD v1.1 English train, 1190 test questions in 11 languages)",
        _lazy("real", "load_xquad"),
        "data_dir= with xquad.<lang>.json + SQuAD v1.1 train/dev JSON, or hub google/xquad + rajpurkar/squad",
        "CC BY-SA 4.0",
        info={"sizes": {"train": 87599, "dev": 10570, "test_per_lang": 1190}}),
}
_ALIASES = {a: s.name for s in REGISTRY.values() for a in s.aliases}


def _spec(name: str) -> DatasetSpec:
    key = _ALIASES.get(name, name)
    if key not in REGISTRY:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[key]


def load_task(name: str, **opts: Any) -> TaskData:
    """Load a registered data set as a TaskData (see the module docstring for options)."""
    return _spec(name).loader(**opts)


def list_datasets(proxy_dir: Optional[str] = None) -> list[dict[str, Any]]:
    """Every data set the tool knows, with languages, scripts, sizes and where it comes from."""
    from . import real
    from .proxy import manifest
    from .scripts import script_of

    out = []
    m = None
    try:
        m = manifest(proxy_dir)
    except DataError:
        m = None
    real_langs = {"xnli": real.XNLI_LANGS, "pawsx": real.PAWSX_LANGS, "xquad": real.XQUAD_LANGS}
    for spec in REGISTRY.values():
        d: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "task_type": spec.task_type,
                             "description": spec.description, "source": spec.source, "license": spec.license}
        if spec.kind == "proxy":
            if m is None:
                d.update(available=False, languages=[], scripts={}, n_scripts=0, sizes={})
            else:
                t = m["tasks"][spec.name]
                per_lang = t.get("test_per_lang") or t.get("per_lang") or {}
                langs = (["en"] if "en" in per_lang else []) + sorted(lg for lg in per_lang if lg != "en")
                sizes: dict[str, Any] = {k: t[k] for k in ("train", "dev") if k in t}
                sizes["test_per_lang" if spec.name != "logt-align" else "pairs_per_lang"] = per_lang
                fmeta = next(v for v in m["files"].values() if v["task"] == spec.name)
                scripts = {lg: m["scripts"][lg] for lg in langs}
                d.update(available=True, languages=langs, scripts=scripts, n_scripts=len(set(scripts.values())),
                         sizes=sizes, file=next(k for k, v in m["files"].items() if v["task"] == spec.name),
                         sha256=fmeta["sha256"], bytes=fmeta["bytes"],
                         packages=sorted({f"{p['name']}={p['version']}" for p in m["packages"]}))
        else:
            langs = real_langs[spec.name]
            scripts = {lg: script_of(lg) for lg in langs}
            d.update(available="needs data_dir= (official files) or the `datasets` hub", languages=langs,
                     scripts=scripts, n_scripts=len(set(scripts.values())), sizes=spec.info.get("sizes", {}))
        out.append(d)
    return out
