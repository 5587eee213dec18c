"""The LOGT builder on a tiny synthetic LibreOffice package: cleaning rules, deterministic bytes,
verification reports, .deb handling without dpkg-deb, the `python -m tools.logt` report, and the
pinned hashes of the shipped files (the builder moved out of the runtime package; the files did not
change)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import polib
import pytest

from tools.logt import build as logt
from tools.logt.__main__ import main as logt_main
from tools.logt.clean import RULES, clean_pair, normkey, strip_mnemonics
from xlt_claims.experiments.data.proxy import PROXY_DIR, sha256_file

# ---------------------------------------------------------------------------------------------------
# cleaning rules


@pytest.mark.parametrize("en,tr,kw,rule", [
    ("Open file", "Datei öffnen", {"obsolete": True}, "obsolete"),
    ("Open file", "Datei öffnen", {"fuzzy": True}, "fuzzy"),
    ("One file", "Eine Datei", {"plural": True}, "plural"),
    ("Open file", "", {}, "untranslated"),
    ("Line one\nline two", "Zeile eins\nZeile zwei", {}, "multiline"),
    ("Delete %s files", "%s Dateien löschen", {}, "placeholder"),
    ("Delete %1 files", "%1 Dateien löschen", {}, "placeholder"),
    ("Delete {count} files", "{count} Dateien löschen", {}, "placeholder"),
    ("Data Series $(ROW)", "Datenreihe $(ROW)", {}, "placeholder"),
    ("#1 must be set.", "#1 muss angegeben sein.", {}, "placeholder"),
    ("Delete the XX library?", "Bibliothek XX löschen?", {}, "placeholder"),
    ("Use <b>bold</b> text", "<b>Fetten</b> Text verwenden", {}, "markup"),
    ("Fish &amp; chips", "Fisch &amp; Pommes", {}, "markup"),
    ("See https://example.org now", "Siehe https://example.org jetzt", {}, "code"),
    ("Run with --verbose flag", "Mit --verbose starten", {}, "code"),
    ("Call getValue now", "getValue jetzt aufrufen", {}, "code"),
    ("12", "zwölf", {}, "no_words"),
    ("2nd Y axis", ".", {}, "no_words"),
    ("PDF Export", "pdf export!", {}, "identical"),
])
def test_each_cleaning_rule(en, tr, kw, rule):
    assert rule in RULES
    assert clean_pair(en, tr, **kw) == rule


def test_clean_pair_keeps_and_normalises():
    assert clean_pair("~Open  File", "Datei ö~ffnen") == ("Open File", "Datei öffnen")
    assert clean_pair("_Hours", "H_eures") == ("Hours", "Heures")  # GTK mnemonic inside a word
    assert clean_pair("Insert _Table", "挿入表(_T)") == ("Insert Table", "挿入表")
    nfd = "Cafe\u0301 menu"
    en, tr = clean_pair("Coffee menu", nfd)  # type: ignore[misc]
    assert tr == "Café menu" and len(tr) == 9  # NFC composed
    assert strip_mnemonics("snake_case name", "x") == ("snake_case name", "x")
    assert normkey("  Open File...  ") == normkey("open file…") == "open file"


# ---------------------------------------------------------------------------------------------------
# synthetic LibreOffice: two languages, three domains

WORDS = ["sheet", "cell", "range", "formula", "chart", "table", "page", "style", "frame", "column", "border",
         "filter", "pivot", "series", "axis", "legend", "margin", "footnote", "index", "field"]


def _mo(path: Path, entries: list[tuple]) -> None:
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    for ctxt, en, tr, *plural in entries:
        e = polib.POEntry(msgctxt=ctxt, msgid=en, msgstr=tr if not plural else "")
        if plural:
            e.msgid_plural = en + "s"
            e.msgstr_plural = {0: tr, 1: tr + "n"}
        po.append(e)
    path.parent.mkdir(parents=True, exist_ok=True)
    po.save_as_mofile(str(path))


def _tr(lang: str, text: str) -> str:
    if lang == "de":
        return "DE " + text.replace("the", "die")
    return "テスト" + "".join(chr(0x3042 + (ord(c) % 40)) for c in text if c.isalpha())  # kana


def make_catalogs(root: Path, langs=("de", "ja"), drop: str = "") -> None:
    for lang in langs:
        base = root / logt.RESOURCE_DIR / lang / "LC_MESSAGES"
        for domain, verb in (("sc", "Recalculates"), ("sw", "Reformats")):
            ents = []
            for i, w in enumerate(WORDS):
                for j, w2 in enumerate(WORDS[:6]):
                    en = f"{verb} the {w} of every {w2}"
                    if en != drop:
                        ents.append((f"STR_{domain}_{i}_{j}", en, _tr(lang, en)))
            _mo(base / f"{domain}.mo", ents)
        ents = [("STR_PH", "Delete %s files", _tr(lang, "Delete files")),
                ("STR_MARK", "Use <b>bold</b> text", _tr(lang, "Use bold text")),
                ("STR_PL", "One selected file", _tr(lang, "One selected file"), True),
                ("STR_ML", "First line\nSecond line", _tr(lang, "two lines")),
                ("STR_ID", "Identical text here", "Identical text here"),
                ("STR_MN", "~Open the file", "~" + _tr(lang, "Open the file"))]
        for d in range(6):
            for k, w in enumerate(WORDS[d * 3 : d * 3 + 3]):
                lab, tip = f"Show {w} lines", f"Shows or hides the {w} lines in dialog {WORDS[d]}."
                ents += [(f"dlg{d}|w{k}", lab, _tr(lang, lab)), (f"dlg{d}|extended_tip|w{k}", tip, _tr(lang, tip))]
        _mo(base / "cui.mo", ents)


def _build(root: Path):
    cats = logt.read_catalogs(root, [("de", "de"), ("ja", "ja")])
    msgs = logt.build_messages(cats)
    tasks = logt.build_tasks(cats, msgs)
    pk = [{"name": "libreoffice-l10n-de", "version": "4:7.4.7-1", "sha256": "0" * 64, "lang": "de"}]
    return cats, tasks, logt.make_outputs(cats, tasks, pk)


def test_builder_is_deterministic_and_counts_rules(tmp_path):
    make_catalogs(tmp_path / "root")
    cats, tasks, out = _build(tmp_path / "root")
    for rule in ("placeholder", "markup", "plural", "multiline", "identical"):
        assert cats.drops["de"][rule] >= 1, rule
    assert any(e.en == "Open the file" for e in cats.entries["de"])  # mnemonic removed
    _, _, out2 = _build(tmp_path / "root")
    assert out == out2  # byte-for-byte
    m = json.loads(out[logt.MANIFEST])
    assert m["scripts"] == {"de": "Latin", "ja": "Han+Kana", "en": "Latin"}
    for fname, meta in m["files"].items():
        import hashlib

        assert hashlib.sha256(out[fname]).hexdigest() == meta["sha256"]
        assert out[fname][4:8] == b"\0\0\0\0"  # gzip mtime 0
    labels = {r["label"] for r in tasks["cls"]}
    assert labels == {"calc", "writer"}
    assert {r["kind"] for r in tasks["pair"]} >= {"pos", "neg_sibling"}
    for r in tasks["pair"]:
        if r["kind"] == "neg_sibling":
            assert r["neg_dialog"] == r["dialog"] and r["neg_widget"] != r["widget"]


def test_verify_reports_which_records_differ(tmp_path):
    make_catalogs(tmp_path / "a")
    make_catalogs(tmp_path / "b", drop="Recalculates the sheet of every sheet")
    for name in ("a", "b"):
        _, _, out = _build(tmp_path / name)
        d = tmp_path / f"out_{name}"
        d.mkdir()
        for f, data in out.items():
            (d / f).write_bytes(data)
    same = logt.verify(tmp_path / "out_a", tmp_path / "out_a")
    assert same["ok"] and len(same["identical"]) == 6
    rep = logt.verify(tmp_path / "out_a", tmp_path / "out_b")
    assert not rep["ok"] and logt.NOTICE in rep["identical"]
    diffs = rep["differ"]
    assert logt.MANIFEST in diffs and "files" in diffs[logt.MANIFEST]["fields"]
    changed = [f for f, why in diffs.items() if why.get("reason") == "records differ"]
    assert changed and all(diffs[f]["removed"] + diffs[f]["added"] + diffs[f]["changed"] > 0 for f in changed)


# ---------------------------------------------------------------------------------------------------
# .deb handling


def _tar(files: dict[str, bytes], mode: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def make_deb(path: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    members = [("debian-binary", b"2.0\n"),
               ("control.tar.gz", _tar({"./control": f"Package: {name}\nVersion: {version}\nArchitecture: all\n".encode()}, "w:gz")),
               ("data.tar.xz", _tar({f"./{k}": v for k, v in files.items()}, "w:xz"))]
    out = b"!<arch>\n"
    for n, data in members:
        out += f"{n + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode() + data
        if len(data) % 2:
            out += b"\n"
    path.write_bytes(out)
    return path


def test_deb_fields_and_python_extraction(tmp_path, monkeypatch):
    make_catalogs(tmp_path / "src", langs=("de",))
    mo = tmp_path / "src" / logt.RESOURCE_DIR / "de" / "LC_MESSAGES"
    files = {f"{logt.RESOURCE_DIR}/de/LC_MESSAGES/{p.name}": p.read_bytes() for p in mo.glob("*.mo")}
    deb = make_deb(tmp_path / "libreoffice-l10n-de_4%3a7.4.7-1_all.deb", "libreoffice-l10n-de", "4:7.4.7-1", files)
    assert logt._deb_fields(deb) == {"Package": "libreoffice-l10n-de", "Version": "4:7.4.7-1", "Architecture": "all"}
    monkeypatch.setattr(logt.shutil, "which", lambda name: None)  # no dpkg-deb: pure-Python path
    logt.extract_deb(deb, tmp_path / "x")
    assert (tmp_path / "x" / logt.RESOURCE_DIR / "de" / "LC_MESSAGES" / "sc.mo").read_bytes() == files[
        f"{logt.RESOURCE_DIR}/de/LC_MESSAGES/sc.mo"]
    with pytest.raises(logt.BuildError, match="apt-get not found"):
        logt.fetch_packages(tmp_path / "cache")
    with pytest.raises(logt.BuildError, match="not an ar archive"):
        (tmp_path / "bad.deb").write_bytes(b"nope")
        logt._deb_fields(tmp_path / "bad.deb")


def test_build_tool_reports_differences_against_shipped(tmp_path, monkeypatch, capsys):
    """With packages that are not the pinned ones, `python -m tools.logt` must exit 1 and name each differing file
    and package (here a 2-language synthetic build against the shipped 32-language files)."""
    for lang in ("de", "ja"):
        make_catalogs(tmp_path / f"src_{lang}", langs=(lang,))
    debs = []
    for lang in ("de", "ja"):
        mo = tmp_path / f"src_{lang}" / logt.RESOURCE_DIR / lang / "LC_MESSAGES"
        files = {f"{logt.RESOURCE_DIR}/{lang}/LC_MESSAGES/{p.name}": p.read_bytes() for p in mo.glob("*.mo")}
        debs.append((lang, make_deb(tmp_path / f"libreoffice-l10n-{lang}_1_all.deb", f"libreoffice-l10n-{lang}", "1", files)))

    def fake_fetch(cache, pinned=None, langs=None, apt_update=False, log=None):
        assert pinned and pinned["libreoffice-l10n-de"].startswith("4:7.4")  # pinned from the shipped MANIFEST
        return [logt.Package(logt._deb_fields(p)["Package"], "1", logt.sha256_file(p), p, lang) for lang, p in debs]

    monkeypatch.setattr(logt, "fetch_packages", fake_fetch)
    code = logt_main(["--cache", str(tmp_path / "cache"), "--json"])
    assert code == 1
    rep = json.loads(capsys.readouterr().out)["verify"]
    assert not rep["ok"] and set(rep["differ"]) >= {"logt-cls.jsonl.gz", "MANIFEST.json"}
    assert rep["packages"]["libreoffice-l10n-de"].startswith("version 4:7.4")
    assert rep["packages"]["libreoffice-l10n-fr"] == "only in shipped manifest"
    assert rep["differ"]["logt-cls.jsonl.gz"]["reason"] == "records differ"
    assert "input packages differ" in rep["explanation"]


# The shipped proxy files, pinned: moving the builder out of the runtime package (issue 13) must not
# change a byte of what ships, and neither may anything else without a deliberate edit here.
SHIPPED_SHA256 = {
    "MANIFEST.json": "4c7fd080ab2b306107c9c340423ba7dc59226d68950eddbd391e9298f81e044c",
    "NOTICE.txt": "34cb1d12d7a4fb32c90f5ee3e20361fb2709b630dcd46f7de807082c7f86af1e",
    "logt-align.jsonl.gz": "3d39f85c56a54be1d267cd574e5c283fd9cadafcf7a2968bf15d5e250ad5092b",
    "logt-cls.jsonl.gz": "4a6df6b6e6375499cb59aa40c9f7d83f30cf0a083b1122fe338fa79ad8f65a80",
    "logt-pair.jsonl.gz": "0e0d0a7f42f4cfd13baef8a6ef1328aa594d2079c35da6f4b77aa2d714388ef7",
    "logt-retrieval.jsonl.gz": "4797cce8a801cb8ee472374d0090b18daebd9ce37305f818cd1e84ac20857af0",
}


def test_shipped_proxy_files_keep_their_hashes():
    assert sorted(p.name for p in PROXY_DIR.iterdir() if p.is_file()) == sorted(SHIPPED_SHA256)
    assert {name: sha256_file(PROXY_DIR / name) for name in SHIPPED_SHA256} == SHIPPED_SHA256


def test_builder_writes_the_shipped_notice_verbatim():
    assert logt.NOTICE_TEXT.encode("utf-8") == (PROXY_DIR / "NOTICE.txt").read_bytes()


def test_runtime_package_does_not_import_the_builder():
    import ast

    pkg = Path(__file__).resolve().parent.parent / "xlt_claims"
    offenders = []
    for p in pkg.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{p}: {n}" for n in names if n == "tools" or n.startswith("tools.")]
    assert offenders == []
    assert not (pkg / "experiments" / "data" / "logt.py").exists()
    assert not (pkg / "experiments" / "data" / "clean.py").exists()
