"""Where the real benchmarks come from: a folder the user gives (`--data DIR`), a folder the user
registered (`claims data add NAME DIR`), or the copies embedded in the package (where the licence
allows it). One `Source` interface reads files from any of them, so every loader has one code path.

Resolution order for a set: an explicit folder > the registered folder > the embedded copy. A
registered folder is a snapshot: `add_folder` parses every file the loader needs (a bad file is
refused, nothing is stored) and records each file's sha256; every later read re-hashes the file and
refuses a changed or missing one. Embedded files are xz-compressed byte copies of the upstream files,
checked against the sha256 in real/MANIFEST.json when read.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

from ...paths import config_dir
from .common import DataError

EMBED_DIR = Path(__file__).resolve().parent / "real"
EMBED_MANIFEST = "MANIFEST.json"
REGISTRY_ENV = "XLT_CLAIMS_DATA_REGISTRY"
REGISTRY_VERSION = 1


@dataclass(frozen=True)
class RealSet:
    """Static facts about one real benchmark (what `claims data list` shows when it is absent)."""

    name: str
    title: str
    task_type: str
    languages: tuple[str, ...]
    license: str
    short_license: str  # for an 80-column table
    may_ship: bool  # may its files be embedded in the package?
    folders: tuple[str, ...]  # sub-folder names to look in under a given root
    download: str
    description: str


REAL_SETS: dict[str, RealSet] = {s.name: s for s in (
    RealSet("pawsx", "PAWS-X", "pair-classification", ("en", "de", "es", "fr", "ja", "ko", "zh"),
            "free for any purpose (Google), attribution appreciated", "free use (Google)", True,
            ("pawsx", "paws-x", "PAWS-X", "x-final"),
            "https://storage.googleapis.com/paws/pawsx/x-final.tar.gz",
            "paraphrase identification; English train, dev/test in 7 languages"),
    RealSet("xnli", "XNLI", "pair-classification",
            ("en", "fr", "es", "de", "el", "bg", "ru", "tr", "ar", "vi", "th", "zh", "hi", "sw", "ur"),
            "CC BY-NC 4.0 (non-commercial): never shipped", "CC BY-NC 4.0", False,
            ("xnli", "XNLI-1.0", "XNLI"),
            "https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip",
            "natural language inference; dev/test in 15 languages"),
    RealSet("xquad", "XQuAD", "span-extraction",
            ("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi", "ro"),
            "CC BY-SA 4.0 (share-alike)", "CC BY-SA 4.0", True, ("xquad",),
            "https://github.com/deepmind/xquad",
            "extractive QA; 1190 questions in 12 languages (test only)"),
    RealSet("tydiqa", "TyDi QA GoldP (English train)", "span-extraction", ("en",),
            "Apache-2.0", "Apache-2.0", True, ("qa", "tydiqa", "tydiqa-goldp-v1.1-train"),
            "https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-train.json",
            "English extractive QA training data (SQuAD stand-in)"),
    RealSet("tatoeba", "Tatoeba (LASER v1)", "bitext",
            ("af", "ar", "bn", "bg", "de", "zh", "el", "et", "eu", "fi", "fr", "he", "hi", "hu", "id", "it", "jv",
             "ja", "ka", "kk", "ko", "ml", "mr", "nl", "fa", "pt", "ru", "es", "sw", "ta", "te", "tl", "th", "tr",
             "ur", "vi"),
            "CC BY 2.0 FR (Tatoeba sentences), attribution", "CC BY 2.0 FR", True, ("tatoeba", "v1"),
            "https://github.com/facebookresearch/LASER/tree/main/data/tatoeba/v1",
            "sentence retrieval; ~1000 English-aligned pairs per language"),
)}


def real_set(name: str) -> RealSet:
    if name not in REAL_SETS:
        raise DataError(f"unknown real data set {name!r}; known: {', '.join(REAL_SETS)}")
    return REAL_SETS[name]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _decode(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    return text[1:] if text.startswith("\ufeff") else text


# --- sources ---------------------------------------------------------------------------------------

class Source:
    """Files of one data set, addressed by paths relative to the source's root. Every read is
    logged with its sha256 (`read_log`), so registering a folder records exactly what was read."""

    kind = "folder"

    def __init__(self, name: str, root: Path):
        self.name = name
        self.root = Path(root)
        self.read_log: dict[str, str] = {}
        self._listing: Optional[list[str]] = None

    # subclasses override these four
    def files(self) -> list[str]:
        """Every file under the root (relative paths, sorted; listed once per source)."""
        if self._listing is None:
            self._listing = sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())
        return self._listing

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def read_bytes(self, rel: str) -> bytes:
        p = self.root / rel
        if not p.is_file():
            raise DataError(f"{p}: not found")
        return p.read_bytes()

    def where(self, rel: str) -> str:
        return str(self.root / rel)

    def read_text(self, rel: str) -> str:
        data = self.read_bytes(rel)
        self.read_log[rel] = sha256_bytes(data)
        return _decode(data, self.where(rel))

    def local_path(self, rel: str) -> Path:
        """A path on disk for streaming a large file (MultiNLI train); logged like a read."""
        p = self.root / rel
        self.read_log[rel] = sha256_path(p)
        return p

    def find(self, names: list[str]) -> Optional[str]:
        """The shallowest file whose base name is one of `names` (in order of preference)."""
        listing = self.files()
        for n in names:
            hits = sorted((f for f in listing if f.rsplit("/", 1)[-1] == n), key=lambda f: (f.count("/"), f))
            if hits:
                return hits[0]
        return None

    def describe(self) -> dict[str, Any]:
        return {"source": self.kind, "root": str(self.root)}


class FolderSource(Source):
    """A folder given for one run (`--data DIR`, `data_dir=`)."""

    kind = "folder"


class RegisteredSource(Source):
    """A folder registered with `claims data add`: only the recorded files exist for the loaders, and
    each must still have its recorded sha256."""

    kind = "registered"

    def __init__(self, name: str, root: Path, entry: dict[str, Any]):
        super().__init__(name, root)
        self.entry = entry
        self.recorded: dict[str, str] = {rel: meta["sha256"] for rel, meta in entry["files"].items()}

    def files(self) -> list[str]:
        return sorted(self.recorded)

    def exists(self, rel: str) -> bool:
        return rel in self.recorded

    def _changed(self, rel: str, detail: str) -> DataError:
        return DataError(f"{self.name}: the registered folder {self.root} changed since `claims data add` "
                         f"({self.entry.get('added_at', '?')}): {rel} {detail}; check the folder, then register "
                         f"it again with `claims data add {self.name} {self.root}`")

    def read_bytes(self, rel: str) -> bytes:
        if rel not in self.recorded:
            raise self._changed(rel, "was not there when the folder was registered")
        p = self.root / rel
        if not p.is_file():
            raise self._changed(rel, "is missing")
        data = p.read_bytes()
        got = sha256_bytes(data)
        if got != self.recorded[rel]:
            raise self._changed(rel, f"has sha256 {got[:12]}…, recorded {self.recorded[rel][:12]}…")
        return data

    def local_path(self, rel: str) -> Path:
        self.read_bytes(rel)  # the hash check
        self.read_log[rel] = self.recorded[rel]
        return self.root / rel

    def verify_all(self) -> None:
        """Every recorded file still present with its sha256 (size and mtime shortcut a re-hash)."""
        for rel, meta in sorted(self.entry["files"].items()):
            p = self.root / rel
            if not p.is_file():
                raise self._changed(rel, "is missing")
            st = p.stat()
            if _hash_cached(str(p), st.st_size, st.st_mtime_ns) != meta["sha256"]:
                raise self._changed(rel, f"has sha256 {_hash_cached(str(p), st.st_size, st.st_mtime_ns)[:12]}…, "
                                         f"recorded {meta['sha256'][:12]}…")

    def describe(self) -> dict[str, Any]:
        return {"source": self.kind, "root": str(self.root), "added_at": self.entry.get("added_at")}


@lru_cache(maxsize=512)
def _hash_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_path(Path(path))


class EmbeddedSource(Source):
    """The copies shipped in the package: real/<set>/<file>.xz, sha256 of the uncompressed bytes in
    real/MANIFEST.json."""

    kind = "embedded"

    def __init__(self, name: str, manifest: dict[str, Any], root: Path = EMBED_DIR):
        super().__init__(name, root / name)
        self.meta = manifest["sets"][name]

    def files(self) -> list[str]:
        return sorted(self.meta["files"])

    def exists(self, rel: str) -> bool:
        return rel in self.meta["files"]

    def where(self, rel: str) -> str:
        return f"embedded:{self.name}/{rel}"

    def read_bytes(self, rel: str) -> bytes:
        if rel not in self.meta["files"]:
            raise DataError(f"{self.where(rel)}: not embedded")
        return _embedded_bytes(str(self.root / (rel + ".xz")), self.meta["files"][rel]["sha256"], self.where(rel))

    def local_path(self, rel: str) -> Path:
        raise DataError(f"{self.where(rel)}: embedded files are read whole, not streamed")

    def describe(self) -> dict[str, Any]:
        return {"source": self.kind, "root": str(self.root), "license": self.meta.get("license"),
                "upstream": self.meta.get("upstream")}


@lru_cache(maxsize=4)
def _embedded_bytes_cached(path: str, sha: str) -> bytes:
    return lzma.decompress(Path(path).read_bytes())


def _embedded_bytes(path: str, sha: str, where: str) -> bytes:
    if not Path(path).is_file():
        raise DataError(f"{where}: the embedded file {path} is missing (reinstall the package)")
    data = _embedded_bytes_cached(path, sha)
    if sha256_bytes(data) != sha:
        _embedded_bytes_cached.cache_clear()
        raise DataError(f"{where}: sha256 does not match real/{EMBED_MANIFEST}; the embedded file was modified "
                        "(reinstall the package)")
    return data


def embedded_manifest(root: Path = EMBED_DIR) -> Optional[dict[str, Any]]:
    p = root / EMBED_MANIFEST
    if not p.is_file():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


# --- the registry of user folders ------------------------------------------------------------------

def registry_path() -> Path:
    env = os.environ.get(REGISTRY_ENV)
    return Path(env) if env else config_dir() / "datasets.json"


def load_registry() -> dict[str, Any]:
    p = registry_path()
    if not p.exists():
        return {"version": REGISTRY_VERSION, "sets": {}}
    try:
        reg = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: the data registry is not valid JSON ({exc}); fix or remove it") from None
    if not isinstance(reg, dict) or not isinstance(reg.get("sets"), dict):
        raise DataError(f"{p}: not a data registry (no 'sets' table); fix or remove it")
    return reg


def _write_registry(reg: dict[str, Any]) -> None:
    """Atomic: a temporary file in the same folder, then rename, so a crash leaves the old file."""
    p = registry_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".datasets.", suffix=".json", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(reg, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_folder(name: str, folder: str | Path, validate: Callable[[Source], dict[str, Any]]) -> dict[str, Any]:
    """Register `folder` for set `name`: `validate(source)` must parse every file the set's loader
    needs (all languages; it raises DataError naming file and line on bad input, and then nothing is
    stored). The files it read are recorded with their sha256 and size."""
    real_set(name)
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    src = FolderSource(name, root)
    summary = validate(src)
    if not src.read_log:
        raise DataError(f"{name}: nothing under {root} was read")
    entry = {
        "path": str(root),
        "added_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": {rel: {"sha256": sha, "bytes": (root / rel).stat().st_size} for rel, sha in sorted(src.read_log.items())},
        **summary,
    }
    reg = load_registry()
    reg["version"] = REGISTRY_VERSION
    reg["sets"][name] = entry
    _write_registry(reg)
    return entry


def remove_folder(name: str) -> Optional[dict[str, Any]]:
    reg = load_registry()
    entry = reg["sets"].pop(name, None)
    if entry is not None:
        _write_registry(reg)
    return entry


def registered(name: str) -> Optional[dict[str, Any]]:
    return load_registry()["sets"].get(name)


def resolve(name: str, data_dir: Optional[str | Path] = None, verify: bool = True) -> Optional[Source]:
    """The source a loader reads set `name` from: `data_dir` > the registered folder (every recorded
    file re-hashed when `verify`) > the embedded copy; None when there is none."""
    real_set(name)
    if data_dir:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise DataError(f"data folder {root} does not exist")
        return FolderSource(name, root.resolve())
    entry = registered(name)
    if entry is not None:
        src = RegisteredSource(name, Path(entry["path"]), entry)
        if verify:
            src.verify_all()
        return src
    m = embedded_manifest()
    if m is not None and name in m.get("sets", {}):
        return EmbeddedSource(name, m)
    return None


def availability(name: str) -> dict[str, Any]:
    """Where set `name` would be read from now, without hashing anything (for `claims data list`)."""
    rs = real_set(name)
    out: dict[str, Any] = {"status": "missing", "location": None, "embedded": False, "registered": None}
    m = embedded_manifest()
    if m is not None and name in m.get("sets", {}):
        out.update(embedded=True, status="embedded", location=f"embedded:{name}",
                   embedded_files=len(m["sets"][name]["files"]),
                   embedded_bytes=sum(f["xz_bytes"] for f in m["sets"][name]["files"].values()))
    entry = registered(name)
    if entry is not None:
        present = all((Path(entry["path"]) / rel).is_file() for rel in entry["files"])
        out["registered"] = {"path": entry["path"], "added_at": entry.get("added_at"), "files": len(entry["files"]),
                             "all_files_present": present}
        out.update(status="registered", location=entry["path"])
    if out["status"] == "missing":
        out["hint"] = (f"download {rs.title} ({rs.download}) and run `claims data add {name} DIR`, "
                       "or pass --data DIR")
    return out
