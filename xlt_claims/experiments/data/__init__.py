"""Data sets for the experiment engine: the real benchmarks (PAWS-X, XNLI, XQuAD, Tatoeba; embedded
where the licence allows, else from a registered or given folder) and the shipped offline proxy
benchmark LOGT (LibreOffice translations, 32 languages, 23 scripts).

    load_task(name, **opts) -> TaskData
        names: "logt-cls", "logt-pair", "logt-retrieval", "logt-align", "pawsx", "xnli", "xquad", "tatoeba"
        common options: langs=[...], max_train=, max_dev=, max_test= (deterministic, label-stratified),
        pair_langs= ("auto" | "all" | "en-x" | "none" | ["de-fr", ...]) for the generalized setting;
        real sets: data_dir= (a folder with the files; else the registered folder, else the embedded
        copy), need_train=
    load_bitext(name, langs=None) -> {lang: [(english, translation), ...]}   ("logt-*", "tatoeba")
    list_datasets() -> [ {name, kind, task_type, languages, status, location, license, ...}, ... ]
    add_dataset(name, folder) / remove_dataset(name): the registry of the user's folders

Every data set is a DatasetSpec in REGISTRY, the generic registry (xlt_claims.registry); its loader is a
lazy "module:function" entry. A new data set is one module of this package that calls
`register_dataset(DatasetSpec(...))`: the registry imports the package's modules on the first miss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ...registry import Registry, import_object
from ..types import TaskData
from .common import DataError, PlaceholderLabelsError, check_test_labels

__all__ = ["load_task", "load_bitext", "bitext_folder", "check_folder", "list_datasets", "add_dataset", "remove_dataset", "DataError",
           "PlaceholderLabelsError", "check_test_labels", "REGISTRY", "DatasetSpec", "BITEXTS",
           "register_dataset"]


@dataclass
class DatasetSpec:
    name: str
    kind: str  # "proxy" | "real"
    task_type: str
    description: str
    loader: str  # "package.module:function", called as function(**loader_options, **opts)
    source: str
    license: str
    aliases: tuple = ()
    info: dict = field(default_factory=dict)
    loader_options: dict = field(default_factory=dict)

    def load(self, **opts: Any) -> TaskData:
        return import_object(self.loader)(**self.loader_options, **opts)


REGISTRY: Registry[DatasetSpec] = Registry("data set", discover=__name__)


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    return REGISTRY.register(spec.name, spec, aliases=tuple(spec.aliases))


_LOGT_SOURCE = "LibreOffice 7.4 UI catalogs, Debian 12 libreoffice-l10n-* (shipped; `python -m tools.logt` rebuilds)"

_BUILTIN = (
    DatasetSpec(
        "logt-cls", "proxy", "classification",
        "Which LibreOffice module (7 classes) a UI message belongs to; English train/dev, test per language",
        f"{__name__}.proxy:load_logt_cls", _LOGT_SOURCE, "MPL-2.0"),
    DatasetSpec(
        "logt-pair", "proxy", "pair-classification",
        "Is text_pair the extended tip (description) of the UI control labelled text? Standard + generalized setting",
        f"{__name__}.proxy:load_logt_pair", _LOGT_SOURCE, "MPL-2.0"),
    DatasetSpec(
        "logt-retrieval", "proxy", "bitext",
        "Bitext retrieval sets (English <-> language, up to 500 test messages per language)",
        f"{__name__}.proxy:load_bitext_task", _LOGT_SOURCE, "MPL-2.0",
        loader_options={"name": "logt-retrieval"}),
    DatasetSpec(
        "logt-align", "proxy", "bitext",
        "Parallel training pairs for alignment methods (up to 1500 per language), disjoint from every test item",
        f"{__name__}.proxy:load_bitext_task", _LOGT_SOURCE, "MPL-2.0",
        loader_options={"name": "logt-align"}),
    DatasetSpec(
        "pawsx", "real", "pair-classification",
        "PAWS-X: paraphrase identification (English train, dev/test in 7 languages)",
        f"{__name__}.real:load_pawsx",
        "embedded (XTREME TSV + PAWS-Wiki English pairs), or a folder: x-final/<lang>/*.tsv or XTREME TSV",
        "free for any purpose (Google), attribution appreciated", aliases=("paws-x",),
        info={"sizes": {"train": 49401, "dev": 2000, "test_per_lang": 2000}}),
    DatasetSpec(
        "xnli", "real", "pair-classification",
        "XNLI: natural language inference (MultiNLI English train, XNLI dev/test in 15 languages)",
        f"{__name__}.real:load_xnli",
        "a folder (never shipped): XNLI-1.0/xnli.{dev,test}.tsv (+ MultiNLI train) or XTREME TSV + test-labels.txt",
        "CC BY-NC 4.0 (XNLI); MultiNLI: OANC/CC BY-SA 3.0 mix",
        info={"sizes": {"train": 392702, "dev": 2490, "test_per_lang": 5010}}),
    DatasetSpec(
        "xquad", "real", "span-extraction",
        "XQuAD: extractive QA (English train: SQuAD v1.1, or TyDi QA GoldP English offline; 1190 test questions)",
        f"{__name__}.real:load_xquad",
        "embedded (+ TyDi QA GoldP English train), or a folder: xquad.<lang>.json (+ SQuAD v1.1 train/dev)",
        "CC BY-SA 4.0", info={"sizes": {"train": 87599, "dev": 10570, "test_per_lang": 1190}}),
    DatasetSpec(
        "tatoeba", "real", "bitext",
        "Tatoeba (LASER v1): ~1000 English-aligned sentences per language, 36 XTREME languages",
        f"{__name__}.real:load_tatoeba_task",
        "embedded, or a folder: tatoeba.<xxx>-eng.{xxx,eng}", "CC BY 2.0 FR",
        info={"sizes": {"test_per_lang": 1000}}),
)
for _builtin in _BUILTIN:
    register_dataset(_builtin)
BITEXTS = ("logt-retrieval", "logt-align", "tatoeba")


def _spec(name: str) -> DatasetSpec:
    key = REGISTRY.canonical(name)
    if key not in REGISTRY:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[key]


def load_task(name: str, **opts: Any) -> TaskData:
    """Load a registered data set as a TaskData (see the module docstring for options)."""
    return _spec(name).load(**opts)


def load_bitext(name: str, langs=None, max_per_lang: Optional[int] = None, data_dir: Optional[str] = None,
                proxy_dir=None) -> dict[str, list[tuple[str, str]]]:
    """{lang: [(english, translation), ...]}: "logt-retrieval" / "logt-align" (the proxy) or "tatoeba"."""
    if name == "tatoeba":
        from .real import load_tatoeba

        return load_tatoeba(data_dir=data_dir, langs=langs, max_per_lang=max_per_lang)
    from .proxy import load_bitext as load_proxy_bitext

    return load_proxy_bitext(name, langs=langs, max_per_lang=max_per_lang, proxy_dir=proxy_dir)


def bitext_folder(name: str, data_dir: Optional[str]) -> Optional[str]:
    """The folder a bitext is read from when the user gave `data_dir` (--data DIR): DIR itself when it
    holds that bitext's files, else None (the registered folder, else the embedded copy). A bitext is
    auxiliary text (alignment pairs, the retrieval probe), so a data folder made for another set does
    not stop it; the run records which it read. The proxy bitexts never read a folder."""
    if name != "tatoeba" or not data_dir:
        return None
    from pathlib import Path

    root = Path(data_dir).expanduser()
    if root.is_dir() and any(root.rglob("tatoeba.*-eng.eng")):
        return str(root.resolve())
    return None


def add_dataset(name: str, folder: str) -> dict[str, Any]:
    """Register a folder for real set `name` (`claims data add`): every file the set needs is parsed
    (all languages) and its sha256 recorded; on bad input nothing is stored."""
    from .real import validate
    from .sources import add_folder

    key = REGISTRY.canonical(name)
    return add_folder(key, folder, lambda src: validate(key, src))


def check_folder(name: str, folder: str) -> dict[str, Any]:
    """Parse every file real set `name` needs in `folder` (all languages, as `claims data add` does) and
    return its summary; DataError naming the file and line on the first problem. `--data DIR` runs this
    before planning, so a bad file a run would not read (another language's dev set) still stops it
    before anything is trained or stored."""
    from pathlib import Path

    from .real import validate
    from .sources import FolderSource, real_set

    key = REGISTRY.canonical(name)
    real_set(key)
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist")
    return validate(key, FolderSource(key, root.resolve()))


def remove_dataset(name: str) -> Optional[dict[str, Any]]:
    from .sources import real_set, remove_folder

    key = REGISTRY.canonical(name)
    real_set(key)
    return remove_folder(key)


def _proxy_row(spec: DatasetSpec, m: Optional[dict]) -> dict[str, Any]:
    if m is None:
        return {"available": False, "status": "missing", "location": None, "languages": [], "scripts": {},
                "n_scripts": 0, "sizes": {}}
    t = m["tasks"][spec.name]
    per_lang = t.get("test_per_lang") or t.get("per_lang") or {}
    langs = (["en"] if "en" in per_lang else []) + sorted(lg for lg in per_lang if lg != "en")
    sizes: dict[str, Any] = {k: t[k] for k in ("train", "dev") if k in t}
    sizes["test_per_lang" if spec.name != "logt-align" else "pairs_per_lang"] = per_lang
    fname = next(k for k, v in m["files"].items() if v["task"] == spec.name)
    scripts = {lg: m["scripts"][lg] for lg in langs}
    return {"available": True, "status": "embedded", "location": f"embedded:proxy/{fname}", "languages": langs,
            "scripts": scripts, "n_scripts": len(set(scripts.values())), "sizes": sizes, "file": fname,
            "sha256": m["files"][fname]["sha256"], "bytes": m["files"][fname]["bytes"],
            "packages": sorted({f"{p['name']}={p['version']}" for p in m["packages"]})}


def list_datasets(proxy_dir: Optional[str] = None) -> list[dict[str, Any]]:
    """Every data set the tool knows, with languages, scripts, sizes, licence, and where it is read
    from now: embedded in the package, a registered folder, or missing. Nothing is hashed."""
    from .proxy import manifest
    from .scripts import script_of
    from .sources import REAL_SETS, availability

    try:
        m = manifest(proxy_dir)
    except DataError:
        m = None
    out = []
    names = list(REGISTRY) + [n for n in REAL_SETS if n not in REGISTRY]
    for name in names:
        spec = REGISTRY.get(name)
        if spec is not None and spec.kind == "proxy":
            d: dict[str, Any] = {"name": name, "kind": "proxy", "task_type": spec.task_type,
                                 "description": spec.description, "source": spec.source, "license": spec.license,
                                 "short_license": spec.license, "may_ship": True}
            d.update(_proxy_row(spec, m))
        else:
            rs = REAL_SETS[name]
            langs = list(rs.languages)
            scripts = {lg: script_of(lg) for lg in langs}
            d = {"name": name, "kind": "real", "task_type": rs.task_type,
                 "description": spec.description if spec else rs.description,
                 "source": spec.source if spec else f"embedded, or a folder ({rs.download})",
                 "license": rs.license, "short_license": rs.short_license, "may_ship": rs.may_ship, "languages": langs, "scripts": scripts,
                 "n_scripts": len(set(scripts.values())), "sizes": spec.info.get("sizes", {}) if spec else {},
                 "download": rs.download, "task": name in REGISTRY}
            d.update(availability(name))
            d["available"] = d["status"] != "missing"
        out.append(d)
    return out
