"""Textual verdicts against a labelled set: accuracy, per-label precision / recall, confusion matrix.

    python benchmarks/bench_stance.py                  # dev split + cases_dev*.txt (rules may be tuned on them)
    python benchmarks/bench_stance.py --split held-out # the kept-aside split (report it; never tune on it)
    python benchmarks/bench_stance.py --split all --errors --json out.json
    python benchmarks/bench_stance.py --cases blind.txt [--sources blind.toml]  # an external set

`--cases FILE` runs every case of FILE (same format as cases.txt) as ONE split named after the file,
instead of the bundled set; `--sources FILE.toml` (same format as sources.toml) adds papers to the
bundled ones (an id already bundled is an error unless its text is the same). Nothing is ever written
under benchmarks/stance/ (a --json path there is refused).

The set (benchmarks/stance/cases.txt, written for this purpose; docs/stance.md says how) is run end to
end: a fresh temporary claim store gets the seven bundled arXiv abstracts and the paraphrased abstracts
of benchmarks/stance/sources.toml, one report per distinct list of cited papers (cited papers that are
not stored stay unreadable), truncation marked by the ingest rule over each report's table, then
`compute_evidence` with the offline default model. The split of a case is fixed by a hash of its
claim text (40% held out), never chosen by hand. Also measured: truncation found at every cut length
(each SUPPORT claim cut inside a word at every position from 15 characters on).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = ROOT / "benchmarks" / "stance" / "cases.txt"
# always dev, each its own split named after the file ("cases_dev2.txt" -> "dev2"): written after the
# held-out split of cases.txt was spent (docs/stance.md, step 6)
DEV_FILES = sorted((ROOT / "benchmarks" / "stance").glob("cases_dev*.txt"))
SOURCES = ROOT / "benchmarks" / "stance" / "sources.toml"
ATOMS = ROOT / "examples" / "arxiv"
LABELS = ["SUPPORT", "CONTRADICT", "NEI", "UNCHECKED"]
VERDICT_LABEL = {"supported-by-source": "SUPPORT", "contradicted-by-source": "CONTRADICT",
                 "not-in-cited-sources": "NEI", "unchecked": "UNCHECKED", "contested": "CONTESTED"}
PREDICTED = LABELS + ["CONTESTED"]
PROBLEM_VERDICTS = {"not-in-cited-sources", "contradicted-by-source"}  # counted as problems by the report


def split_of(claim: str) -> str:
    return "held-out" if int(hashlib.sha1(claim.encode("utf-8")).hexdigest()[:8], 16) % 5 < 2 else "dev"


def load_cases(path: Path = CASES, split: str | None = None) -> list[dict]:
    """Cases of one file. `split` fixes every case's split (an external file, a dev-only file);
    None splits cases.txt by the hash of the claim. Each case's `key` (file stem and line) is unique
    across files."""
    cases = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"{path}: cannot read the cases: {e}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ", 3)]
        if len(parts) != 4 or parts[0] not in LABELS:
            raise SystemExit(f"{path}:{n}: expected 'LABEL | CLASS | IDS | CLAIM' "
                             f"(LABEL one of {', '.join(LABELS)}), got {line!r}")
        label, klass, cites, claim = parts
        ids = tuple(c.strip() for c in cites.split(",") if c.strip())
        if not ids:
            raise SystemExit(f"{path}:{n}: no cited arXiv id")
        cases.append({"file": path.name, "line": n, "key": f"{path.stem}:{n}", "label": label, "class": klass,
                      "cites": ids, "claim": claim, "split": split or split_of(claim)})
    if not cases:
        raise SystemExit(f"{path}: no cases (expected lines 'LABEL | CLASS | IDS | CLAIM')")
    return cases


def load_sources(extra: Path | None = None) -> list[dict]:
    """The papers of sources.toml, plus those of `extra` (same format). An id given twice with
    different texts is an error naming the file and the id."""
    def read(path: Path) -> list[dict]:
        try:
            papers = tomllib.loads(path.read_text(encoding="utf-8")).get("paper", [])
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise SystemExit(f"{path}: cannot read the sources: {e}") from None
        for i, p in enumerate(papers, 1):
            if not isinstance(p, dict) or not all(isinstance(p.get(k), str) for k in ("id", "title", "abstract")):
                raise SystemExit(f"{path}: [[paper]] number {i} needs string fields id, title and abstract")
        return papers

    papers = read(SOURCES)
    if extra is not None:
        seen = {p["id"]: p for p in papers}
        bundled = {a.stem for a in ATOMS.glob("*.atom")}
        for p in read(extra):
            if p["id"] in bundled:
                raise SystemExit(f"{extra}: paper {p['id']} is one of the bundled abstracts (examples/arxiv)")
            old = seen.get(p["id"])
            if old is not None:
                if " ".join(old["abstract"].split()) != " ".join(p["abstract"].split()):
                    raise SystemExit(f"{extra}: paper {p['id']} is already in {SOURCES.name} with another text")
                continue
            seen[p["id"]] = p
            papers.append(p)
    return papers


def build_store(db: Path, cases: list[dict], papers: list[dict] | None = None):
    from xlt_claims.ingest.truncation import analyze_table
    from xlt_claims.papers import import_atom
    from xlt_claims.store import open_store
    from xlt_claims.store.models import Claim, Paper, Reference, Report

    store = open_store(db)
    for f in sorted(ATOMS.glob("*.atom")):
        import_atom(store, f)
    extra = load_sources() if papers is None else papers
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for c in cases:
        groups[c["cites"]].append(c)
    ids: dict[str, str] = {}
    with store.session() as s:
        for p in extra:
            s.add(Paper(arxiv_id=p["id"], version=1, title=p["title"], abstract=" ".join(p["abstract"].split())))
        for g, (cites, members) in enumerate(sorted(groups.items())):
            rep = Report(key=f"bench{g:02d}", file_name=f"bench{g:02d}.txt", source_path="bench", content_hash=f"h{g}")
            s.add(rep)
            s.flush()
            for pos, pid in enumerate(cites, 1):
                s.add(Reference(report_id=rep.id, position=pos, arxiv_id=pid, version=None, cited_as=pid, line=pos))
            truncs = analyze_table([m["claim"] for m in members])
            for row, (m, tr) in enumerate(zip(members, truncs), 1):
                cid = f"c{len(ids) + 1:04d}"
                ids[m["key"]] = cid
                s.add(Claim(id=cid, report_key=rep.key, report_id=rep.id, row=row, line=m["line"], text=m["claim"],
                            normalized=m["claim"].lower(), looks_truncated=tr.truncated))
    return store, ids


def run(cases: list[dict], nli_model=None, papers: list[dict] | None = None) -> dict[str, dict]:
    from xlt_claims.evidence import compute_evidence

    with tempfile.TemporaryDirectory() as tmp:
        store, ids = build_store(Path(tmp) / "bench.db", cases, papers)
        summary = compute_evidence(store, nli_model=nli_model)
        store.close()
    out = {}
    for c in cases:
        d = summary.per_claim[ids[c["key"]]]
        out[c["key"]] = {"verdict": d["verdict"], "reason": d["reason"]}
    return out


def scores(rows: list[dict]) -> dict:
    conf = {t: Counter() for t in LABELS}
    for r in rows:
        conf[r["label"]][r["predicted"]] += 1
    n = len(rows)
    correct = sum(conf[t][t] for t in LABELS)
    per = {}
    for t in LABELS:
        tp = conf[t][t]
        pred = sum(conf[g][t] for g in LABELS)
        gold = sum(conf[t].values())
        per[t] = {"precision": tp / pred if pred else None, "recall": tp / gold if gold else None,
                  "predicted": pred, "gold": gold}
    unchecked_as_problem = sum(1 for r in rows if r["label"] == "UNCHECKED" and r["verdict"] in PROBLEM_VERDICTS)
    by_class = defaultdict(lambda: [0, 0])
    for r in rows:
        by_class[r["class"]][0] += r["label"] == r["predicted"]
        by_class[r["class"]][1] += 1
    return {"n": n, "accuracy": correct / n if n else None, "per_label": per,
            "confusion": {t: dict(conf[t]) for t in LABELS}, "unchecked_counted_as_problem": unchecked_as_problem,
            "by_class": {k: {"correct": v[0], "n": v[1]} for k, v in sorted(by_class.items())}}


def truncation_sweep(cases: list[dict]) -> dict:
    """Each SUPPORT claim cut inside a word at every position >= 15 characters, placed in a table of the
    other (complete) claims of the set: share of cuts the ingest rule marks truncated, per cut length."""
    from xlt_claims.ingest.truncation import analyze_table

    import re

    from xlt_claims.lexicon import is_english_word

    full = [c["claim"] for c in cases if c["label"] != "UNCHECKED" and c["claim"].endswith(".")]
    found, total = Counter(), Counter()
    for c in full:
        body = c[:-1]
        for cut in range(15, len(body) - 1):
            if not (body[cut - 1].isalpha() and body[cut].isalpha()):
                continue  # a cut inside a word only
            table = full[:8] + [body[:cut]]
            tr = analyze_table(table)[-1]
            bucket = f"{(cut // 20) * 20:>3}-{(cut // 20) * 20 + 19}"
            frag = re.findall(r"[A-Za-z]+$", body[:cut])[0].lower()
            # a fragment that is itself a word ("class" of "classification", "outperform" of
            # "outperforms") cannot be told from a whole word by looking at it: counted apart
            kind = "word" if is_english_word(frag) or len(frag) == 1 else "fragment"
            total[(bucket, kind)] += 1
            found[(bucket, kind)] += tr.truncated
    out: dict = {}
    for (b, kind) in sorted(total):
        out.setdefault(b, {})[kind] = {"found": found[(b, kind)], "cuts": total[(b, kind)],
                                       "rate": found[(b, kind)] / total[(b, kind)]}
    return out


def print_report(name: str, sc: dict) -> None:
    print(f"\n== {name}: {sc['n']} cases, accuracy {sc['accuracy']:.1%}")
    print(f"{'label':<11} {'precision':>9} {'recall':>7} {'pred':>5} {'gold':>5}")
    for t, p in sc["per_label"].items():
        pr = "-" if p["precision"] is None else f"{p['precision']:.1%}"
        rc = "-" if p["recall"] is None else f"{p['recall']:.1%}"
        print(f"{t:<11} {pr:>9} {rc:>7} {p['predicted']:>5} {p['gold']:>5}")
    print("confusion (rows gold, columns predicted):")
    print(" " * 11 + "".join(f"{t[:10]:>11}" for t in PREDICTED))
    for t in LABELS:
        print(f"{t:<11}" + "".join(f"{sc['confusion'][t].get(p, 0):>11}" for p in PREDICTED))
    print(f"UNCHECKED claims counted as a problem: {sc['unchecked_counted_as_problem']}")
    print("by class: " + ", ".join(f"{k} {v['correct']}/{v['n']}" for k, v in sc["by_class"].items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=["dev", "held-out", "all"], default="dev",
                    help="dev: the dev split of cases.txt and every case of cases_dev*.txt (always dev, "
                         "one split per file); held-out: the kept-aside split of cases.txt; all: every split")
    ap.add_argument("--cases", type=Path, default=None,
                    help="run every case of this file instead (one split named after the file)")
    ap.add_argument("--sources", type=Path, default=None,
                    help="papers (sources.toml format) added to the bundled ones")
    ap.add_argument("--errors", action="store_true", help="print each wrong case with the verdict's reason")
    ap.add_argument("--nli-model", default=None, help="judge with an NLI cross-encoder (id or path)")
    ap.add_argument("--no-truncation", action="store_true", help="skip the truncation sweep")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers to this file")
    ap.add_argument("--only", nargs="*", default=None,
                    help="only these cases, as LINE (of the cases file) or FILESTEM:LINE (debugging)")
    args = ap.parse_args(argv)
    if args.json is not None and args.json.resolve().is_relative_to(CASES.parent.resolve()):
        ap.error(f"--json {args.json}: nothing is written under {CASES.parent}")
    papers = load_sources(args.sources)
    if args.cases is not None:
        name = args.cases.stem
        cases = load_cases(args.cases, split=name)
        splits = [name]
    else:
        dev_files = [(f, f.stem.replace("cases_", "")) for f in DEV_FILES]
        cases = load_cases() + [c for f, name in dev_files for c in load_cases(f, split=name)]
        extra = [name for _, name in dev_files]
        splits = {"dev": ["dev", *extra], "held-out": ["held-out"], "all": ["dev", *extra, "held-out"]}[args.split]
    if args.only:
        want = set(args.only)
        cases = [c for c in cases if c["key"] in want or str(c["line"]) in want]
    t0 = time.perf_counter()
    pred = run(cases, args.nli_model, papers)  # every case in one store (same as a real run); scores per split
    rows = [{**c, **pred[c["key"]], "predicted": VERDICT_LABEL[pred[c["key"]]["verdict"]]} for c in cases]
    out = {"cases": len(cases), "seconds": round(time.perf_counter() - t0, 1)}
    for sp in splits:
        chosen = [r for r in rows if r["split"] == sp]
        if not chosen:
            continue
        out[sp] = scores(chosen)
        print_report(sp, out[sp])
        if args.errors:
            for r in chosen:
                if r["label"] != r["predicted"]:
                    print(f"  {r['key']} [{r['class']}] gold {r['label']} got {r['predicted']}: {r['claim']}\n"
                          f"      {r['reason'][:300]}")
    if not args.no_truncation:
        out["truncation"] = truncation_sweep(cases)
        print("\ntruncation found, claims cut inside a word, by cut length (found/cuts):")
        print(f"  {'chars':<8} {'fragment is no word':>28} {'fragment is a word':>27}")
        for b, v in out["truncation"].items():
            cells = [f"{v[k]['found']}/{v[k]['cuts']} ({v[k]['rate']:.0%})" if k in v else "-"
                     for k in ("fragment", "word")]
            print(f"  {b.strip():<8} {cells[0]:>28} {cells[1]:>27}")
    print(f"\n{len(cases)} cases judged in {out['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
