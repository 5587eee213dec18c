"""Build (and verify) the embedded real-data folder from a local copy of the upstream files.

The source folder has the layout of the project's shared copy (pawsx/, xquad/, qa/, tatoeba/; see
its README and SOURCES.txt): every file packed here is a byte copy of a file in a public repository
at a fixed commit (listed below), except PAWS-X's test-labels.tsv, which was derived from four
labelled copies and is described in the manifest. Output is deterministic: xz preset 9e, sorted JSON.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
from pathlib import Path
from typing import Any, Callable

from xlt_claims.experiments.data.sources import EMBED_DIR, EMBED_MANIFEST, REAL_SETS

XZ_PRESET = 9 | lzma.PRESET_EXTREME
APACHE_LICENSE = Path("/usr/share/common-licenses/Apache-2.0")

MESH = ("github:GautamGupta17/MESH", "68f82e29e71a4e425069ff398a61387c24c0f30d")
SIMMAT = ("github:hoangdzung/simmat", "7e55b810e8c462041e8de83cdfddfd429dff6996")
XQUAD = ("github:deepmind/xquad", "60cac411649156efb6aab9dd4c9cde787a2c0345")
LASER = ("github:facebookresearch/LASER", "74bc6ae7ffb7cba670fe0f428d0ede9f666fb821")

PAWSX_LANGS = REAL_SETS["pawsx"].languages
XQUAD_LANGS = REAL_SETS["xquad"].languages
# Tatoeba's ISO 639-3 file codes, in the order of REAL_SETS["tatoeba"].languages
TATOEBA_CODES = ("afr", "ara", "ben", "bul", "deu", "cmn", "ell", "est", "eus", "fin", "fra", "heb", "hin", "hun",
                 "ind", "ita", "jav", "jpn", "kat", "kaz", "kor", "mal", "mar", "nld", "pes", "por", "rus", "spa",
                 "swh", "tam", "tel", "tgl", "tha", "tur", "urd", "vie")


class PackError(RuntimeError):
    pass


def plan() -> dict[str, list[dict[str, Any]]]:
    """Per set: the files to pack (path in the source folder, path inside the set, upstream)."""
    pawsx = []
    for split in ("dev", "test"):
        for lg in PAWSX_LANGS:
            pawsx.append({"src": f"pawsx/{split}-{lg}.tsv", "rel": f"{split}-{lg}.tsv", "repo": MESH,
                          "path": f"data/pawsx/{split}-{lg}.tsv", "rows": 2000})
    pawsx.append({"src": "pawsx/test-labels.tsv", "rel": "test-labels.tsv", "repo": None, "rows": 2001,
                  "derived": "id and gold label per row of test-{lang}.tsv (header id, label_en, label_de, label_ko, "
                             "label_zh): de from github:LSX-UniWue/SuperGLEBer@5d3c59a9 data/PAWSX, ko from "
                             "github:monologg/KoELECTRA@024fbdd6 finetune/data/paws (official x-final files), zh from "
                             "github:shawroad/CoSENT_Pytorch@ddb08479 data/PAWSX, en = the PAWS-Wiki dev label of the "
                             "same id; es/fr/ja have no exact labels (label_en stands in, ~99% agreement measured "
                             "on de/ko/zh)"})
    for split in ("dev", "test"):
        pawsx.append({"src": f"pawsx/paws-wiki-en/{split}.tsv", "rel": f"paws-wiki-en/{split}.tsv", "repo": SIMMAT,
                      "path": f"data/final/{split}.tsv", "rows": 8000})
    xquad = [{"src": f"xquad/xquad.{lg}.json", "rel": f"xquad.{lg}.json", "repo": XQUAD, "path": f"xquad.{lg}.json",
              "rows": 1190} for lg in XQUAD_LANGS]
    tydi = [{"src": "qa/tydiqa.goldp.en.train.json", "rel": "tydiqa.goldp.en.train.json", "repo": MESH,
             "path": "data/tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json", "rows": 3696}]
    tatoeba = []
    for code in TATOEBA_CODES:
        for side in (code, "eng"):
            name = f"tatoeba.{code}-eng.{side}"
            tatoeba.append({"src": f"tatoeba/{name}", "rel": name, "repo": LASER, "path": f"data/tatoeba/v1/{name}",
                            "rows": None})
    return {"pawsx": pawsx, "xquad": xquad, "tydiqa": tydi, "tatoeba": tatoeba}


NOTICES = {
    "pawsx": """PAWS-X and PAWS-Wiki data embedded in xlt-claims

Source: PAWS-X (Yang, Zhang, Tar, Baldridge: "PAWS-X: A Cross-lingual Adversarial Dataset for
Paraphrase Identification", EMNLP 2019) and PAWS-Wiki (Zhang, Baldridge, He: "PAWS: Paraphrase
Adversaries from Word Scrambling", NAACL 2019), Google LLC. Official download:
https://github.com/google-research-datasets/paws

Licence of the data (Google): "The dataset may be freely used for any purpose, although
acknowledgement of Google LLC ("Google") as the data source would be appreciated. The dataset is
provided "AS IS" without any warranty, express or implied. Google disclaims all liability for any
damages, direct or indirect, resulting from the use of the dataset."

The files are unchanged byte copies (xz-compressed) of copies in public repositories, except
test-labels.tsv, which xlt-claims' maintainers derived from labelled copies of the test sets;
MANIFEST.json lists repository, commit, path and sha256 of every file and how the labels were
derived. The rest of xlt-claims is not covered by this notice.
""",
    "xquad": """XQuAD data embedded in xlt-claims

Source: XQuAD (Artetxe, Ruder, Yogatama: "On the Cross-lingual Transferability of Monolingual
Representations", ACL 2020), https://github.com/deepmind/xquad, built from SQuAD v1.1 (Rajpurkar
et al. 2016). Copyright DeepMind and the SQuAD authors.

Licence: Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0); the full text is
in LICENSE-CC-BY-SA-4.0.txt next to this notice and at
https://creativecommons.org/licenses/by-sa/4.0/legalcode .

The xquad.*.json files are unchanged byte copies of the files in the repository above at the commit
named in MANIFEST.json, compressed with xz (no other change). Share-alike: if you remix, transform
or build upon these data files, you must distribute your contributions under the same licence. The
share-alike condition applies to these data files only, not to the rest of xlt-claims.
""",
    "tydiqa": """TyDi QA GoldP (English train) embedded in xlt-claims

Source: TyDi QA (Clark, Choi, Collins, Garrette, Kwiatkowski, Nikolaev, Palomaki: "TyDi QA: A
Benchmark for Information-Seeking Question Answering in Typologically Diverse Languages", TACL 2020),
Google LLC, https://github.com/google-research-datasets/tydiqa ; the GoldP English training questions
in SQuAD v1.1 form as distributed with the XTREME benchmark.

Licence: Apache License, Version 2.0; the full text is in LICENSE-Apache-2.0.txt next to this notice.
The file is an unchanged byte copy (xz-compressed) of the copy named in MANIFEST.json. xlt-claims
uses it as English training data for extractive QA (a stand-in for SQuAD v1.1 train).
""",
    "tatoeba": """Tatoeba similarity-search test set embedded in xlt-claims

Source: the Tatoeba corpus (https://tatoeba.org), sentences by the Tatoeba contributors, as selected
and aligned by Artetxe and Schwenk ("Massively Multilingual Sentence Embeddings for Zero-Shot
Cross-Lingual Transfer and Beyond", TACL 2019) in https://github.com/facebookresearch/LASER
(data/tatoeba/v1), dated 2018-11-17.

Licence of the sentences: Creative Commons Attribution 2.0 France (CC BY 2.0 FR),
https://creativecommons.org/licenses/by/2.0/fr/ ; terms of use: https://tatoeba.org/eng/terms_of_use .
Attribution: Tatoeba (tatoeba.org) and its contributors.

The files are unchanged byte copies (xz-compressed) of the 36 XTREME languages' files in the
repository above at the commit named in MANIFEST.json: line i of tatoeba.X-eng.X translates line i of
tatoeba.X-eng.eng.
""",
}


def git_blob_sha1(data: bytes) -> str:
    """The id git gives this content, so each file can be checked against the upstream commit's tree."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def count_rows(rel: str, data: bytes) -> int:
    if rel.endswith(".json"):
        d = json.loads(data)
        return sum(len(p["qas"]) for a in d["data"] for p in a["paragraphs"])
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def pack_set(name: str, files: list[dict[str, Any]], src: Path, out: Path) -> dict[str, Any]:
    rs = REAL_SETS[name]
    if not rs.may_ship:
        raise PackError(f"{name}: its licence ({rs.license}) does not allow shipping it")
    (out / name).mkdir(parents=True, exist_ok=True)
    meta_files: dict[str, Any] = {}
    for f in files:
        p = src / f["src"]
        if not p.is_file():
            raise PackError(f"{p}: not found")
        data = p.read_bytes()
        rows = count_rows(f["rel"], data)
        if f["rows"] is not None and rows != f["rows"]:
            raise PackError(f"{p}: {rows} rows, SOURCES.txt says {f['rows']}")
        xz = lzma.compress(data, format=lzma.FORMAT_XZ, preset=XZ_PRESET)
        target = out / name / (f["rel"] + ".xz")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(xz)
        entry = {"sha256": hashlib.sha256(data).hexdigest(), "git_blob_sha1": git_blob_sha1(data), "bytes": len(data),
                 "xz_sha256": hashlib.sha256(xz).hexdigest(), "xz_bytes": len(xz), "rows": rows}
        if f["repo"]:
            entry["upstream"] = f"{f['repo'][0]}@{f['repo'][1]}:{f['path']}"
        else:
            entry["derived"] = f["derived"]
        meta_files[f["rel"]] = entry
    if name == "tatoeba":
        for code in TATOEBA_CODES:
            a, b = meta_files[f"tatoeba.{code}-eng.{code}"], meta_files[f"tatoeba.{code}-eng.eng"]
            if a["rows"] != b["rows"]:
                raise PackError(f"tatoeba {code}: {a['rows']} vs {b['rows']} lines (not aligned)")
    notice = out / name / "NOTICE.txt"
    notice.write_text(NOTICES[name], encoding="utf-8")
    licence_files = ["NOTICE.txt"]
    if name == "xquad":
        shutil.copyfile(src / "xquad" / "CC-BY-SA4.0.txt", out / name / "LICENSE-CC-BY-SA-4.0.txt")
        licence_files.append("LICENSE-CC-BY-SA-4.0.txt")
    if name == "tydiqa":
        if not APACHE_LICENSE.is_file():
            raise PackError(f"{APACHE_LICENSE} not found (Debian's base-files ships it); the Apache-2.0 text must "
                            "ship with TyDi QA")
        shutil.copyfile(APACHE_LICENSE, out / name / "LICENSE-Apache-2.0.txt")
        licence_files.append("LICENSE-Apache-2.0.txt")
    repos = sorted({f"{f['repo'][0]}@{f['repo'][1]}" for f in files if f["repo"]})
    return {"title": rs.title, "license": rs.license, "notice": f"{name}/NOTICE.txt",
            "license_files": [f"{name}/{x}" for x in licence_files], "upstream": repos,
            "languages": list(rs.languages), "files": meta_files,
            "xz_bytes": sum(m["xz_bytes"] for m in meta_files.values()),
            "bytes": sum(m["bytes"] for m in meta_files.values())}


def pack(src: Path, out: Path = EMBED_DIR, log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Write every set into `out` (replacing it) and return the manifest."""
    src = Path(src)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sets = {}
    for name, files in plan().items():
        log(f"packing {name} ({len(files)} files)")
        sets[name] = pack_set(name, files, src, out)
    manifest = {
        "name": "real benchmark copies embedded in xlt-claims",
        "builder": "tools/realdata (python -m tools.realdata SRC)",
        "compression": "xz, lzma preset 9e; sha256/bytes/rows are of the uncompressed upstream bytes",
        "never_shipped": {"xnli": REAL_SETS["xnli"].license, "bucc2018": "no licence stated"},
        "sets": sets,
    }
    (out / EMBED_MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    return manifest


def verify(src: Path, shipped: Path = EMBED_DIR, scratch: Path | None = None) -> dict[str, Any]:
    """Pack `src` into a scratch folder and compare every file with the shipped folder byte for byte."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        built = Path(tmp) / "real"
        pack(src, built)
        names = sorted({str(p.relative_to(built)) for p in built.rglob("*") if p.is_file()} |
                       {str(p.relative_to(shipped)) for p in shipped.rglob("*") if p.is_file()})
        identical, differ = [], {}
        for n in names:
            a, b = shipped / n, built / n
            if not a.is_file() or not b.is_file():
                differ[n] = "missing in " + ("shipped" if not a.is_file() else "build")
            elif a.read_bytes() != b.read_bytes():
                differ[n] = "bytes differ"
            else:
                identical.append(n)
    return {"ok": not differ, "identical": len(identical), "differ": differ}
