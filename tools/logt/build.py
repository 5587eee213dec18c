"""Builder of the LOGT proxy benchmark from LibreOffice 7.4 translation catalogs in Debian.

A build tool, not part of the runtime package: `python -m tools.logt` (from a source checkout)
rebuilds the shipped files in xlt_claims/experiments/data/proxy/ and verifies them byte for byte.
The runtime reader of those files is xlt_claims/experiments/data/proxy.py, whose format constants
(FILES, MANIFEST, labels) this builder imports, so reader and writer cannot drift apart.

Pipeline (docs/data.md explains every rule and number):
  fetch    apt-get download libreoffice-l10n-<lang>=<version> into a cache dir (never installed)
  extract  dpkg-deb -x (or a pure-Python ar/tar reader where dpkg-deb is missing)
  read     every usr/lib/libreoffice/program/resource/<L>/LC_MESSAGES/<domain>.mo with polib
  clean    clean.clean_pair (rules counted per language)
  table    one message per English key normkey(msgid): canonical English, majority translation
  split    union-find over keys linked by pair items; component -> train/dev/test by sha1
  tasks    logt-retrieval, logt-cls, logt-pair, logt-align (+ text-level disjointness filter)
  write    gzip JSONL (sorted records, sorted keys, mtime 0) + MANIFEST.json with sha256s

Everything is deterministic: ties are broken by sha1, never by dict/set order, so the same packages
give the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import tarfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from .clean import RULES, clean_pair, is_codey, latin_copy_rate, normkey, strip_mnemonics, tokens
from xlt_claims.experiments.data.proxy import (CLS_LABELS, FILES, MANIFEST, NOTICE, PAIR_LABELS, read_gz_jsonl,
                                               sha256_file)
from xlt_claims.experiments.data.scripts import LANG_SCRIPTS, detect_script

BUILDER_VERSION = "1"
SALT = "logt-v1"

# (code used in the benchmark, Debian package suffix, resource folder inside the package)
LANGUAGES: list[tuple[str, str, str]] = [
    # the 12 non-English XNLI languages LibreOffice has (zh = simplified) + ja, ko for PAWS-X
    ("ar", "ar", "ar"), ("bg", "bg", "bg"), ("de", "de", "de"), ("el", "el", "el"), ("es", "es", "es"),
    ("fr", "fr", "fr"), ("hi", "hi", "hi"), ("ru", "ru", "ru"), ("th", "th", "th"), ("tr", "tr", "tr"),
    ("vi", "vi", "vi"), ("zh", "zh-cn", "zh_CN"), ("ja", "ja", "ja"), ("ko", "ko", "ko"),
    # same-script siblings (for within-script comparisons)
    ("zh_Hant", "zh-tw", "zh_TW"), ("uk", "uk", "uk"), ("fa", "fa", "fa"), ("mr", "mr", "mr"),
    # one language per further script
    ("he", "he", "he"), ("ka", "ka", "ka"), ("am", "am", "am"), ("bn", "bn", "bn"), ("ta", "ta", "ta"),
    ("te", "te", "te"), ("kn", "kn", "kn"), ("ml", "ml", "ml"), ("gu", "gu", "gu"), ("pa", "pa-in", "pa_IN"),
    ("or", "or", "or"), ("si", "si", "si"), ("km", "km", "km"), ("dz", "dz", "dz"),
]
LANG_CODES = [c for c, _, _ in LANGUAGES]
PACKAGE_PREFIX = "libreoffice-l10n-"
RESOURCE_DIR = "usr/lib/libreoffice/program/resource"

# module classes of logt-cls: gettext domain -> class
CLS_CLASSES: dict[str, str] = {
    "sc": "calc", "sca": "calc", "scc": "calc",
    "sw": "writer",
    "sd": "impress_draw",
    "dba": "base", "rpt": "base",
    "sm": "math",
    "chart": "chart",
    "basctl": "basic", "sb": "basic",
}

PARAMS: dict[str, Any] = {
    "split": {"test": 20, "dev": 10, "train": 70},  # percent of components (sha1 bucket)
    "retrieval": {"n_per_lang": 500, "min_tokens": 4, "max_tokens": 25, "min_majority": 0.99, "max_copy": 0.5},
    "cls": {"min_tokens": 3, "max_tokens": 40, "train_cap_per_class": 500, "dev_cap_per_class": 60,
            "test_cap_per_class": 64},
    "pair": {"label_max_tokens": 8, "tip_min_tokens": 4, "tip_max_tokens": 60, "max_dialogs_per_text": 2,
             "min_test_items": 50},
    "align": {"n_per_lang": 1500, "min_tokens": 3, "max_tokens": 40, "min_majority": 0.5, "max_copy": 0.5},
}

STOP = set("a an the this that these those its it is are be to of for in on at by with from as "
           "and or if you your can".split())


class BuildError(RuntimeError):
    pass


def sha1(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------
# fetch + extract


@dataclass
class Package:
    name: str
    version: str
    sha256: str
    path: Path
    lang: str
    note: str = ""


def _deb_fields(path: Path) -> dict[str, str]:
    """Package/Version from the .deb's control file (pure Python: ar + tar)."""
    members = _ar_members(path)
    ctl = next((k for k in members if k.startswith("control.tar")), None)
    if ctl is None:
        raise BuildError(f"{path}: no control.tar member (not a Debian package?)")
    with tarfile.open(fileobj=io.BytesIO(members[ctl]), mode="r:*") as tf:
        for m in tf.getmembers():
            if m.name.lstrip("./") == "control":
                text = tf.extractfile(m).read().decode("utf-8")  # type: ignore[union-attr]
                out = {}
                for line in text.splitlines():
                    if ":" in line and not line.startswith(" "):
                        k, v = line.split(":", 1)
                        out[k.strip()] = v.strip()
                return out
    raise BuildError(f"{path}: control.tar has no control file")


def _ar_members(path: Path) -> dict[str, bytes]:
    data = path.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise BuildError(f"{path}: not an ar archive")
    pos, out = 8, {}
    while pos + 60 <= len(data):
        hdr = data[pos : pos + 60]
        name = hdr[:16].decode().strip().rstrip("/")
        size = int(hdr[48:58].decode().strip())
        out[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return out


def extract_deb(path: Path, dest: Path) -> None:
    """`dpkg-deb -x` when available, else an equivalent pure-Python extraction of data.tar.*."""
    dest.mkdir(parents=True, exist_ok=True)
    if shutil.which("dpkg-deb"):
        subprocess.run(["dpkg-deb", "-x", str(path), str(dest)], check=True, capture_output=True)
        return
    members = _ar_members(path)
    dat = next((k for k in members if k.startswith("data.tar")), None)
    if dat is None:
        raise BuildError(f"{path}: no data.tar member")
    with tarfile.open(fileobj=io.BytesIO(members[dat]), mode="r:*") as tf:
        tf.extractall(dest, filter="data")


def fetch_packages(
    cache: Path,
    pinned: Optional[dict[str, str]] = None,
    langs: Optional[list[str]] = None,
    apt_update: bool = False,
    log: Callable[[str], None] = lambda s: None,
) -> list[Package]:
    """Download the l10n packages with `apt-get download` (no install, no dependencies).

    `pinned` maps package name -> version (from the shipped MANIFEST); a pinned version that the
    mirror no longer has falls back to the candidate version, with a note (reported by verify)."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if not shutil.which("apt-get"):
        raise BuildError("apt-get not found: the LOGT build needs a Debian/Ubuntu machine with apt")
    if apt_update:
        log("apt-get update")
        r = subprocess.run(["apt-get", "update"], capture_output=True, text=True)
        if r.returncode:
            raise BuildError("apt-get update failed: " + (r.stderr.strip().splitlines() or ["?"])[-1])
    pkgs: list[Package] = []
    for code, suffix, _ in LANGUAGES:
        if langs and code not in langs:
            continue
        name = PACKAGE_PREFIX + suffix
        want = (pinned or {}).get(name)
        note = ""
        path = _find_deb(debs, name, want)
        if path is None:
            spec = f"{name}={want}" if want else name
            log(f"apt-get download {spec}")
            r = subprocess.run(["apt-get", "download", spec], cwd=debs, capture_output=True, text=True)
            if r.returncode and want:
                note = f"pinned version {want} not on the mirror; used the candidate version"
                log(f"  {note}")
                r = subprocess.run(["apt-get", "download", name], cwd=debs, capture_output=True, text=True)
            if r.returncode:
                msg = (r.stderr.strip().splitlines() or ["?"])[-1]
                hint = " (run with --apt-update, or `apt-get update` as root)" if "locate" in msg else ""
                raise BuildError(f"apt-get download {spec} failed: {msg}{hint}")
            path = _find_deb(debs, name, None if note else want)
            if path is None:
                raise BuildError(f"apt-get download {spec} left no .deb in {debs}")
        fields = _deb_fields(path)
        pkgs.append(Package(fields["Package"], fields["Version"], sha256_file(path), path, code, note))
    return pkgs


def _find_deb(debs: Path, name: str, version: Optional[str]) -> Optional[Path]:
    cands = sorted(debs.glob(f"{name}_*.deb"))
    if version is not None:
        enc = version.replace(":", "%3a")
        cands = [p for p in cands if p.name.startswith(f"{name}_{enc}_")]
    return cands[-1] if cands else None


# ---------------------------------------------------------------------------------------------------
# read + clean


@dataclass
class Entry:
    domain: str
    ctxt: str
    en: str  # cleaned English
    tr: str  # cleaned translation


@dataclass
class Catalogs:
    """Cleaned entries per language plus everything needed for provenance and counts."""

    entries: dict[str, list[Entry]] = field(default_factory=dict)
    raw_domains: dict[str, set] = field(default_factory=lambda: defaultdict(set))  # key -> domains
    drops: dict[str, Counter] = field(default_factory=dict)
    raw_counts: dict[str, int] = field(default_factory=dict)


def read_catalogs(root: Path, langs: Iterable[tuple[str, str]], log: Callable[[str], None] = lambda s: None) -> Catalogs:
    """`langs`: (code, resource folder). Reads every .mo of each language under `root`."""
    import polib

    cats = Catalogs()
    for code, folder in langs:
        d = root / RESOURCE_DIR / folder / "LC_MESSAGES"
        files = sorted(d.glob("*.mo"))
        if not files:
            raise BuildError(f"no .mo catalogs in {d}")
        drops: Counter = Counter()
        kept: list[Entry] = []
        n_raw = 0
        for f in files:
            domain = f.stem
            for e in polib.mofile(str(f)):
                n_raw += 1
                if e.msgid:
                    # same key as the cleaned English (mnemonics removed), so '_Snap to Grid' in svx
                    # counts as an occurrence of 'Snap to Grid' for the module-exclusivity test
                    cats.raw_domains[normkey(strip_mnemonics(e.msgid, e.msgstr or "")[0])].add(domain)
                res = clean_pair(
                    e.msgid, e.msgstr if not e.msgid_plural else (e.msgstr or ""),
                    plural=bool(e.msgid_plural), obsolete=bool(getattr(e, "obsolete", False)),
                    fuzzy="fuzzy" in (getattr(e, "flags", None) or []),
                )
                if isinstance(res, str):
                    drops[res] += 1
                else:
                    kept.append(Entry(domain, e.msgctxt or "", res[0], res[1]))
        kept.sort(key=lambda x: (x.domain, x.ctxt, x.en))
        cats.entries[code] = kept
        cats.drops[code] = drops
        cats.raw_counts[code] = n_raw
        log(f"read {code}: {n_raw} entries, {len(kept)} clean")
    return cats


# ---------------------------------------------------------------------------------------------------
# message table


@dataclass
class Message:
    key: str
    en: str
    domains: frozenset  # raw domains (all occurrences, before cleaning)
    tr: dict[str, str]  # lang -> majority translation
    maj: dict[str, float]  # lang -> share of the majority translation
    copy: dict[str, float]  # lang -> latin copy rate

    @property
    def n_langs(self) -> int:
        return len(self.tr)


def _majority(c: Counter) -> tuple[str, float]:
    best = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return best[0], best[1] / sum(c.values())


def build_messages(cats: Catalogs) -> dict[str, Message]:
    surf: dict[str, Counter] = defaultdict(Counter)
    trs: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    seen_occ: set = set()
    for lang in sorted(cats.entries):
        for e in cats.entries[lang]:
            k = normkey(e.en)
            occ = (e.domain, e.ctxt, k)
            if occ not in seen_occ:
                seen_occ.add(occ)
                surf[k][e.en] += 1
            trs[k][lang][e.tr] += 1
    out = {}
    for k in sorted(surf):
        en, _ = _majority(surf[k])
        tr, maj, cp = {}, {}, {}
        for lang in sorted(trs[k]):
            t, share = _majority(trs[k][lang])
            tr[lang], maj[lang], cp[lang] = t, round(share, 4), round(latin_copy_rate(en, t), 4)
        out[k] = Message(k, en, frozenset(cats.raw_domains.get(k, ())), tr, maj, cp)
    return out


# ---------------------------------------------------------------------------------------------------
# union-find split


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller key becomes the root, so a component's id (= its smallest key) never
            # depends on the order of the unions
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


def split_of(component_id: str) -> str:
    b = int(sha1(f"{SALT}:split:{component_id}")[:8], 16) % 100
    p = PARAMS["split"]
    if b < p["test"]:
        return "test"
    if b < p["test"] + p["dev"]:
        return "dev"
    return "train"


# ---------------------------------------------------------------------------------------------------
# tasks


def _content(toks: list[str]) -> set[str]:
    return {t for t in toks if t not in STOP and not t.isdigit()}


_TOPLEVEL = re.compile(r"^[A-Z]\w*(?:Dialog|Dlg|Window|Page)$")


@dataclass
class Widget:
    domain: str
    dialog: str
    widget: str
    label: dict[str, str]  # lang -> cleaned text (en included)
    tip: dict[str, str]

    @property
    def id(self) -> str:
        return f"{self.domain}/{self.dialog}/{self.widget}"

    @property
    def is_dialog(self) -> bool:
        """The dialog/page itself (its title and its tip), not one of its controls."""
        return self.widget.lower() == self.dialog.lower() or bool(_TOPLEVEL.search(self.widget))


def collect_widgets(cats: Catalogs) -> list[Widget]:
    """UI controls with both a label (`dialog|widget`) and an extended tip (`dialog|extended_tip|widget`)
    in the same gettext domain; texts per language are the entries' own cleaned translations."""
    labels: dict[tuple, dict[str, tuple[str, str]]] = defaultdict(dict)
    tips: dict[tuple, dict[str, tuple[str, str]]] = defaultdict(dict)
    for lang in sorted(cats.entries):
        for e in cats.entries[lang]:
            parts = e.ctxt.split("|")
            if len(parts) == 2 and parts[0] != "extended_tip":
                labels[(e.domain, parts[0], parts[1])][lang] = (e.en, e.tr)
            elif len(parts) == 3 and parts[1] == "extended_tip":
                tips[(e.domain, parts[0], parts[2])][lang] = (e.en, e.tr)
    pr = PARAMS["pair"]
    out = []
    for k in sorted(set(labels) & set(tips)):
        lab, tip = labels[k], tips[k]
        en_l = Counter(v[0] for v in lab.values()).most_common(1)[0][0]
        en_t = Counter(v[0] for v in tip.values()).most_common(1)[0][0]
        nl, nt = len(tokens(en_l)), len(tokens(en_t))
        if not (1 <= nl <= pr["label_max_tokens"]) or not (pr["tip_min_tokens"] <= nt <= pr["tip_max_tokens"]):
            continue
        if normkey(en_l) == normkey(en_t) or not _content(tokens(en_l)):
            continue
        w = Widget(k[0], k[1], k[2], {"en": en_l}, {"en": en_t})
        for lang in sorted(set(lab) & set(tip)):
            # only translations of exactly this English (mnemonic removal can vary per language)
            if lab[lang][0] == en_l and tip[lang][0] == en_t and normkey(lab[lang][1]) != normkey(tip[lang][1]):
                w.label[lang] = lab[lang][1]
                w.tip[lang] = tip[lang][1]
        out.append(w)
    return out


def build_tasks(cats: Catalogs, msgs: dict[str, Message], log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    langs = sorted(cats.entries)
    widgets = collect_widgets(cats)
    # boilerplate controls ("Browse", "Help", a tip shared by many dialogs) are left out of the pair
    # task: they would tie most dialogs into one split component
    dialogs_of: dict[str, set] = defaultdict(set)
    for w in widgets:
        for t in (w.label["en"], w.tip["en"]):
            dialogs_of[normkey(t)].add((w.domain, w.dialog))
    mx = PARAMS["pair"]["max_dialogs_per_text"]
    widgets = [w for w in widgets
               if len(dialogs_of[normkey(w.label["en"])]) <= mx and len(dialogs_of[normkey(w.tip["en"])]) <= mx]
    # the same (label, tip) in two dialogs is one item, kept once (smallest id)
    seen_pairs: set = set()
    uniq = []
    for w in sorted(widgets, key=lambda x: x.id):
        pk = (normkey(w.label["en"]), normkey(w.tip["en"]))
        if pk not in seen_pairs:
            seen_pairs.add(pk)
            uniq.append(w)
    widgets = uniq
    # ---- global split: components of message keys; a dialog links all its controls' labels and tips,
    # so a pair item and its negative (a sibling's tip) always fall in the same split
    uf = UnionFind()
    for k in msgs:
        uf.find(k)
    for w in widgets:
        node = f"D:{w.domain}/{w.dialog}"
        uf.union(node, normkey(w.label["en"]))
        uf.union(node, normkey(w.tip["en"]))
    split_cache: dict[str, str] = {}

    def split_key(k: str) -> str:
        root = uf.find(k)
        if root not in split_cache:
            split_cache[root] = split_of(root)
        return split_cache[root]

    def rank(m: Message) -> tuple:
        return (-m.n_langs, sha1(f"{SALT}:{m.key}"))

    # ---- (a) retrieval: test-split messages
    rp = PARAMS["retrieval"]
    retr_lang_sets: dict[str, list[str]] = {}
    pool = sorted(
        (m for m in msgs.values() if split_key(m.key) == "test"
         and rp["min_tokens"] <= len(tokens(m.en)) <= rp["max_tokens"] and not is_codey(m.en)),
        key=rank,
    )
    for lang in langs:
        chosen, seen_tr = [], set()
        for m in pool:
            if lang not in m.tr or m.maj[lang] < rp["min_majority"] or m.copy[lang] >= rp["max_copy"]:
                continue
            nk = normkey(m.tr[lang])
            if nk in seen_tr:
                continue
            seen_tr.add(nk)
            chosen.append(m.key)
            if len(chosen) >= rp["n_per_lang"]:
                break
        retr_lang_sets[lang] = chosen
    retrieval: dict[str, dict] = {}
    for lang, keys in retr_lang_sets.items():
        for k in keys:
            m = msgs[k]
            rec = retrieval.setdefault(k, {"id": "ret-" + sha1(k)[:12], "en": m.en, "tr": {}, "n_langs": m.n_langs,
                                           "domains": sorted(m.domains)})
            rec["tr"][lang] = m.tr[lang]

    # ---- (b) classification: messages exclusive to one module
    cp = PARAMS["cls"]
    by_split: dict[str, dict[str, list[Message]]] = {s: defaultdict(list) for s in ("train", "dev", "test")}
    for m in msgs.values():
        classes = {CLS_CLASSES.get(d) for d in m.domains}
        if len(classes) != 1 or None in classes:
            continue
        if not (cp["min_tokens"] <= len(tokens(m.en)) <= cp["max_tokens"]) or is_codey(m.en):
            continue
        by_split[split_key(m.key)][classes.pop()].append(m)
    cls_records = []
    cls_counts: dict[str, dict[str, int]] = {}
    for split, cap in (("train", cp["train_cap_per_class"]), ("dev", cp["dev_cap_per_class"]),
                       ("test", cp["test_cap_per_class"])):
        cls_counts[split] = {}
        for label in CLS_LABELS:
            items = sorted(by_split[split].get(label, []), key=rank)[:cap]
            cls_counts[split][label] = len(items)
            for m in items:
                rec = {"id": "cls-" + sha1(m.key)[:12], "split": split, "label": label,
                       "domains": sorted(m.domains), "text": {"en": m.en}}
                if split == "test":
                    rec["text"].update({lg: m.tr[lg] for lg in langs if lg in m.tr})
                cls_records.append(rec)

    # ---- (c) pair: control label + extended tip; negative = a same-split sibling's tip
    wsplit = {w.id: split_key(normkey(w.label["en"])) for w in widgets}
    by_dialog: dict[tuple, list[Widget]] = defaultdict(list)
    by_domain: dict[tuple, list[Widget]] = defaultdict(list)
    for w in widgets:
        by_dialog[(w.domain, w.dialog, wsplit[w.id])].append(w)
        by_domain[(w.domain, wsplit[w.id])].append(w)
    pair_records = []
    for w in widgets:
        s = wsplit[w.id]
        lk, tk = normkey(w.label["en"]), normkey(w.tip["en"])
        lab_c = _content(tokens(w.label["en"]))

        def ok(v: Widget) -> bool:
            # a dialog's own tip describes all its controls, and a dialog title names them all: never
            # pair a dialog-level entry with one of its own controls as a negative
            if v.dialog == w.dialog and (v.is_dialog or w.is_dialog):
                return False
            # 'SoundsLikeCJK' vs 'SoundsLikeCJKSettings': a control and its own settings button
            a, b = v.widget.lower(), w.widget.lower()
            if v.dialog == w.dialog and (a.startswith(b) or b.startswith(a)):
                return False
            return v.id != w.id and normkey(v.label["en"]) != lk and normkey(v.tip["en"]) != tk

        def score(v: Widget) -> tuple:
            return (-len(lab_c & _content(tokens(v.tip["en"]))), sha1(f"{SALT}:neg:{w.id}:{v.id}"))

        kind = "neg_sibling"
        cands = [v for v in by_dialog[(w.domain, w.dialog, s)] if ok(v)]
        if not cands:
            kind = "neg_module"
            cands = [v for v in by_domain[(w.domain, s)] if ok(v)]
        base = {"split": s, "domain": w.domain, "dialog": w.dialog, "widget": w.widget}
        keep_langs = ["en"] if s != "test" else ["en"] + [lg for lg in langs if lg in w.label]
        pos = dict(base, id="pair-" + sha1(w.id)[:12] + "-p", label="same", kind="pos",
                   text={lg: w.label[lg] for lg in keep_langs},
                   text_pair={lg: w.tip[lg] for lg in keep_langs})
        pair_records.append(pos)
        if cands:
            v = min(cands, key=score)
            nl = [lg for lg in keep_langs if lg in v.tip]
            neg = dict(base, id="pair-" + sha1(w.id)[:12] + "-n", label="different", kind=kind,
                       neg_widget=v.widget, neg_dialog=v.dialog, overlap=len(lab_c & _content(tokens(v.tip["en"]))),
                       text={lg: w.label[lg] for lg in nl}, text_pair={lg: v.tip[lg] for lg in nl})
            pair_records.append(neg)

    # languages with too few pair test items are left out of logt-pair's test (too noisy to compare)
    n_pair: Counter = Counter()
    for rec in pair_records:
        if rec["split"] == "test":
            n_pair.update(rec["text"].keys())
    few = {lg for lg, n in n_pair.items() if n < PARAMS["pair"]["min_test_items"]}
    for rec in pair_records:
        if rec["split"] == "test":
            for fld in ("text", "text_pair"):
                rec[fld] = {lg: t for lg, t in rec[fld].items() if lg not in few}

    # ---- (d) align: train-split messages
    ap = PARAMS["align"]
    apool = sorted(
        (m for m in msgs.values() if split_key(m.key) == "train"
         and ap["min_tokens"] <= len(tokens(m.en)) <= ap["max_tokens"] and not is_codey(m.en)),
        key=rank,
    )
    # text-level disjointness: no normalised test text (any task, any language) may appear in a
    # train/dev/align record of the same language
    test_texts: dict[str, set] = defaultdict(set)
    for rec in retrieval.values():
        test_texts["en"].add(normkey(rec["en"]))
        for lg, t in rec["tr"].items():
            test_texts[lg].add(normkey(t))
    for rec in cls_records:
        if rec["split"] == "test":
            for lg, t in rec["text"].items():
                test_texts[lg].add(normkey(t))
    for rec in pair_records:
        if rec["split"] == "test":
            for fld in ("text", "text_pair"):
                for lg, t in rec[fld].items():
                    test_texts[lg].add(normkey(t))
    # checked across languages too: Han strings are shared by zh/ja, and a translator may paste
    # another message's English
    all_test: set = set().union(*test_texts.values())
    dropped = Counter()
    cls_records = [r for r in cls_records if r["split"] == "test" or not _collides(r, all_test, dropped, "cls")]
    pair_records = [r for r in pair_records if r["split"] == "test" or not _collides(r, all_test, dropped, "pair")]
    align: dict[str, dict] = {}
    for lang in langs:
        n = 0
        for m in apool:
            if lang not in m.tr or m.maj[lang] < ap["min_majority"] or m.copy[lang] >= ap["max_copy"]:
                continue
            if normkey(m.en) in all_test or normkey(m.tr[lang]) in all_test:
                dropped["align_" + lang] += 1
                continue
            rec = align.setdefault(m.key, {"id": "aln-" + sha1(m.key)[:12], "en": m.en, "tr": {}, "n_langs": m.n_langs})
            rec["tr"][lang] = m.tr[lang]
            n += 1
            if n >= ap["n_per_lang"]:
                break
    return {
        "retrieval": sorted(retrieval.values(), key=lambda r: r["id"]),
        "cls": sorted(cls_records, key=lambda r: r["id"]),
        "pair": sorted(pair_records, key=lambda r: r["id"]),
        "align": sorted(align.values(), key=lambda r: r["id"]),
        "stats": {"widgets": len(widgets), "cls_counts": cls_counts, "disjointness_drops": dict(sorted(dropped.items())),
                  "components": len({uf.find(k) for k in msgs}),
                  "pair_widgets": len(widgets)},
    }


def _collides(rec: dict, all_test: set, dropped: Counter, task: str) -> bool:
    for fld in ("text", "text_pair"):
        for lg, t in (rec.get(fld) or {}).items():
            if normkey(t) in all_test:
                dropped[f"{task}_{rec['split']}"] += 1
                return True
    return False


# ---------------------------------------------------------------------------------------------------
# write + manifest

# The shipped NOTICE.txt is pinned by its sha256 (tests/test_data_build.py), so its text keeps the
# builder's old location (xlt_claims/experiments/data/logt.py, `claims data build-proxy`); the builder
# now lives in tools/logt/ and runs as `python -m tools.logt` (docs/data.md says so).
NOTICE_TEXT = """LOGT proxy benchmark data (xlt-claims)

The files logt-*.jsonl.gz in this folder are derived from the LibreOffice 7.4 user-interface
translation catalogs shipped in the Debian 12 packages libreoffice-l10n-<lang> (the exact package
names, versions and sha256 sums are listed in MANIFEST.json). The strings are the work of the
LibreOffice contributors and translation teams (https://www.libreoffice.org/, The Document
Foundation).

License: these files are covered by the Mozilla Public License, v. 2.0 (MPL-2.0), the licence of
the source catalogs (see /usr/share/doc/libreoffice-l10n-<lang>/copyright on a Debian system; some
LibreOffice files include Apache-2.0 licensed material). A copy of the MPL-2.0 is available at
https://mozilla.org/MPL/2.0/ .

This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a copy of
the MPL was not distributed with this file, You can obtain one at https://mozilla.org/MPL/2.0/ .

Modifications: strings were selected, cleaned (mnemonics removed, NFC), filtered and grouped into
benchmark items by xlt_claims/experiments/data/logt.py; `claims data build-proxy` recreates these
files from the packages. The rest of xlt-claims is not covered by this notice.
"""


def gz_jsonl(records: list[dict]) -> tuple[bytes, str]:
    """Deterministic gzip JSONL: sorted keys, compact separators, mtime 0, no file name."""
    raw = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
    data = raw.encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue(), hashlib.sha256(data).hexdigest()


def _lang_counts(records: list[dict], field_name: str, split: Optional[str] = None) -> dict[str, int]:
    c: Counter = Counter()
    for r in records:
        if split is None or r.get("split") == split:
            c.update((r.get(field_name) or {}).keys())
    return dict(sorted(c.items()))


def make_outputs(cats: Catalogs, tasks: dict[str, Any], packages: list[dict]) -> dict[str, bytes]:
    """All output files (name -> bytes), MANIFEST.json and NOTICE.txt included."""
    langs = sorted(cats.entries)
    scripts = {}
    for lang in langs:
        det = detect_script(e.tr for e in cats.entries[lang])
        if LANG_SCRIPTS.get(lang) != det:
            raise BuildError(f"script check failed for {lang}: detected {det}, table says {LANG_SCRIPTS.get(lang)}")
        scripts[lang] = det
    scripts["en"] = "Latin"
    out: dict[str, bytes] = {}
    files_meta = {}
    for task, fname in FILES.items():
        recs = tasks[task.split("-", 1)[1]]
        data, content_sha = gz_jsonl(recs)
        out[fname] = data
        files_meta[fname] = {"task": task, "records": len(recs), "bytes": len(data),
                             "sha256": hashlib.sha256(data).hexdigest(), "content_sha256": content_sha}
    cls_recs, pair_recs = tasks["cls"], tasks["pair"]
    summary = {
        "logt-retrieval": {"per_lang": _lang_counts(tasks["retrieval"], "tr"), "items": len(tasks["retrieval"])},
        "logt-cls": {
            "labels": CLS_LABELS,
            "train": sum(r["split"] == "train" for r in cls_recs),
            "dev": sum(r["split"] == "dev" for r in cls_recs),
            "train_per_label": dict(Counter(r["label"] for r in cls_recs if r["split"] == "train").most_common()),
            "test_per_lang": _lang_counts(cls_recs, "text", "test"),
        },
        "logt-pair": {
            "labels": PAIR_LABELS,
            "train": sum(r["split"] == "train" for r in pair_recs),
            "dev": sum(r["split"] == "dev" for r in pair_recs),
            "kinds": {s: dict(sorted(Counter(r["kind"] for r in pair_recs if r["split"] == s).items()))
                      for s in ("train", "dev", "test")},
            "test_per_lang": _lang_counts(pair_recs, "text", "test"),
        },
        "logt-align": {"per_lang": _lang_counts(tasks["align"], "tr"), "items": len(tasks["align"])},
    }
    manifest = {
        "name": "LOGT (LibreOffice gettext) proxy benchmark",
        "builder_version": BUILDER_VERSION,
        "source": "LibreOffice 7.4 UI translation catalogs (.mo) from the Debian 12 packages libreoffice-l10n-*",
        "license": "MPL-2.0",
        "notice": NOTICE,
        "packages": packages,
        "params": PARAMS,
        "cls_classes": CLS_CLASSES,
        "cleaning_rules": list(RULES),
        "languages": {
            lang: {"script": scripts[lang], "raw_entries": cats.raw_counts[lang], "clean_entries": len(cats.entries[lang]),
                   "drops": dict(sorted(cats.drops[lang].items()))}
            for lang in langs
        },
        "scripts": scripts,
        "files": files_meta,
        "tasks": summary,
        "stats": tasks["stats"],
        "build_env": {"zlib": zlib.ZLIB_RUNTIME_VERSION},
    }
    out[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    out[NOTICE] = NOTICE_TEXT.encode("utf-8")
    return out


def build(
    cache: Path,
    out_dir: Path,
    pinned: Optional[dict[str, str]] = None,
    apt_update: bool = False,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Fetch, extract, read, clean, build and write every proxy file into `out_dir`."""
    pkgs = fetch_packages(cache, pinned=pinned, apt_update=apt_update, log=log)
    root = cache / "root"
    for p in pkgs:
        dest = root / f"{p.name}_{p.version.replace(':', '_')}"
        marker = dest / ".sha256"
        if not (marker.exists() and marker.read_text() == p.sha256):
            if dest.exists():
                shutil.rmtree(dest)
            log(f"extract {p.path.name}")
            extract_deb(p.path, dest)
            marker.write_text(p.sha256)
    folders = {c: f for c, _, f in LANGUAGES}
    cats = Catalogs()
    for p in pkgs:
        one = read_catalogs(root / f"{p.name}_{p.version.replace(':', '_')}", [(p.lang, folders[p.lang])], log=log)
        cats.entries.update(one.entries)
        cats.drops.update(one.drops)
        cats.raw_counts.update(one.raw_counts)
        for k, v in one.raw_domains.items():
            cats.raw_domains[k] |= v
    log("building tasks")
    msgs = build_messages(cats)
    tasks = build_tasks(cats, msgs, log=log)
    packages = [{"name": p.name, "version": p.version, "sha256": p.sha256, "lang": p.lang, **({"note": p.note} if p.note else {})}
                for p in sorted(pkgs, key=lambda x: x.name)]
    outputs = make_outputs(cats, tasks, packages)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (out_dir / name).write_bytes(data)
    return json.loads(outputs[MANIFEST])


# ---------------------------------------------------------------------------------------------------
# verify


def _record_diff(a: list[dict], b: list[dict], limit: int = 5) -> dict[str, Any]:
    ia, ib = {r["id"]: r for r in a}, {r["id"]: r for r in b}
    removed = sorted(set(ia) - set(ib))
    added = sorted(set(ib) - set(ia))
    changed = sorted(k for k in set(ia) & set(ib) if ia[k] != ib[k])
    fields: Counter = Counter()
    for k in changed:
        for f in set(ia[k]) | set(ib[k]):
            if ia[k].get(f) != ib[k].get(f):
                fields[f] += 1
    return {
        "records_shipped": len(a), "records_built": len(b),
        "removed": len(removed), "added": len(added), "changed": len(changed),
        "changed_fields": dict(fields.most_common()),
        "examples": {"removed": removed[:limit], "added": added[:limit], "changed": changed[:limit]},
    }


def verify(shipped: Path, built: Path) -> dict[str, Any]:
    """Compare a fresh build with the shipped files: which files are byte-identical, which differ and
    why (different input packages, compression only, or record-level differences)."""
    sm = json.loads((shipped / MANIFEST).read_text(encoding="utf-8"))
    bm = json.loads((built / MANIFEST).read_text(encoding="utf-8"))
    report: dict[str, Any] = {"identical": [], "differ": {}, "packages": {}}
    sp = {p["name"]: p for p in sm.get("packages", [])}
    bp = {p["name"]: p for p in bm.get("packages", [])}
    for name in sorted(set(sp) | set(bp)):
        a, b = sp.get(name), bp.get(name)
        if a is None or b is None:
            report["packages"][name] = "only in " + ("build" if a is None else "shipped manifest")
        elif a["version"] != b["version"]:
            report["packages"][name] = f"version {a['version']} shipped, {b['version']} built"
        elif a["sha256"] != b["sha256"]:
            report["packages"][name] = f"same version {a['version']} but the .deb's sha256 differs"
    for fname in list(FILES.values()) + [NOTICE, MANIFEST]:
        a, b = shipped / fname, built / fname
        if not a.exists() or not b.exists():
            report["differ"][fname] = {"reason": "missing in " + ("shipped" if not a.exists() else "build")}
            continue
        if a.read_bytes() == b.read_bytes():
            report["identical"].append(fname)
            continue
        if fname.endswith(".gz"):
            ra, rb = read_gz_jsonl(a), read_gz_jsonl(b)
            if ra == rb:
                report["differ"][fname] = {
                    "reason": "same records, different gzip bytes (zlib "
                              f"{sm.get('build_env', {}).get('zlib', '?')} shipped vs {zlib.ZLIB_RUNTIME_VERSION} here)"}
            else:
                report["differ"][fname] = {"reason": "records differ", **_record_diff(ra, rb)}
        elif fname == MANIFEST:
            keys = sorted(k for k in set(sm) | set(bm) if sm.get(k) != bm.get(k))
            report["differ"][fname] = {"reason": "manifest fields differ", "fields": keys}
        else:
            report["differ"][fname] = {"reason": "text differs"}
    if report["packages"] and report["differ"]:
        report["explanation"] = "input packages differ from the shipped manifest (see `packages`)"
    report["ok"] = not report["differ"]
    return report
