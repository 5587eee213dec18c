"""Evidence throughput: 1,000 claims against 100 abstracts, first run (model load included) and a second,
cached run, side by side in one process.

    python benchmarks/bench_evidence.py [--claims 1000] [--papers 100] [--refs-per-report 10] [--model ID]

The text is synthetic but shaped like the real thing: abstracts of 7-9 sentences naming methods,
datasets, models and gains; claims that restate, alter (numbers) or invent (entities) what the cited
abstracts say, and some that are off-topic. Goal: first run <= 60 s on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATASETS = ["XNLI", "PAWS-X", "XQuAD", "MLQA", "TyDiQA", "WikiANN", "UD-POS", "Tatoeba", "BUCC", "XCOPA",
            "MasakhaNER", "AmericasNLI", "MLDoc", "MARC"]
MODELS = ["mBERT", "XLM-R", "mT5", "XLM", "InfoXLM", "RemBERT", "mDeBERTa"]
TECHNIQUES = ["adversarial training", "randomized smoothing", "contrastive alignment", "code-switching augmentation",
              "layer fusion", "vocabulary extension", "self-training", "knowledge distillation", "optimal transport",
              "translate-train augmentation", "adapter tuning", "script transliteration", "meta-learning"]
LANG_GROUPS = ["low-resource languages", "languages with non-Latin scripts", "typologically distant languages",
               "African languages", "Indic languages", "languages unseen in pre-training"]
TASKS = ["natural language inference", "paraphrase identification", "question answering", "named entity recognition",
         "part-of-speech tagging", "sentence retrieval", "text classification"]


def _acronym(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHKLMNPRSTWX") for _ in range(rng.randint(3, 5)))


def make_paper(i: int, rng: random.Random) -> dict:
    name = _acronym(rng)
    tech = rng.choice(TECHNIQUES)
    model = rng.choice(MODELS)
    ds = rng.sample(DATASETS, 3)
    task = rng.choice(TASKS)
    group = rng.choice(LANG_GROUPS)
    gains = [round(rng.uniform(0.3, 4.5), 1) for _ in ds]
    sents = [
        f"Pre-trained multilingual encoders such as {model} transfer surprisingly well across languages, "
        f"but their representations of {group} remain poorly aligned.",
        f"In this work, we propose {name}, a method based on {tech} that improves zero-shot cross-lingual transfer "
        f"for {task}.",
        f"{name} requires no parallel data and adds less than {rng.randint(1, 9)}% parameters to the encoder.",
        f"We evaluate {name} on {ds[0]}, {ds[1]} and {ds[2]} with {rng.randint(7, 40)} target languages.",
        f"{name} improves over the {model} baseline by +{gains[0]} points on {ds[0]}, +{gains[1]} points on {ds[1]} "
        f"and +{gains[2]} points on {ds[2]}.",
        f"The gains are largest for {group}, while high-resource languages see little change.",
        f"Our analysis shows that {tech} mostly affects the {rng.choice(['lower', 'middle', 'upper'])} layers "
        f"of the encoder.",
    ]
    if rng.random() < 0.5:
        sents.append(f"We further show that combining {name} with {rng.choice(TECHNIQUES)} does not help.")
    if rng.random() < 0.5:
        sents.append("Code and models are publicly available.")
    return {"id": f"2{(i // 90) + 101:03d}.{10000 + i:05d}", "title": f"{name}: {tech.capitalize()} for Zero-Shot "
            f"Cross-Lingual {task.title()}", "abstract": " ".join(sents), "name": name, "tech": tech, "model": model,
            "ds": ds, "gains": gains, "group": group, "task": task}


def make_claim(p: dict, rng: random.Random) -> str:
    k = rng.random()
    if k < 0.25:
        j = rng.randrange(3)
        return f"{p['name']} improves over {p['model']} by {p['gains'][j]} points on {p['ds'][j]}."
    if k < 0.4:
        j = rng.randrange(3)
        return f"{p['name']} improves over {p['model']} by {round(p['gains'][j] + rng.choice([-0.7, 0.6, 1.3]), 1)} points on {p['ds'][j]}."
    if k < 0.55:
        return f"Methods based on {p['tech']} improve zero-shot transfer for {p['task']}."
    if k < 0.65:
        return f"The {_acronym(rng)} module of {p['name']} uses two convolution layers to fuse features."
    if k < 0.75:
        return f"The largest gains of {p['name']} are observed for {p['group']}."
    if k < 0.85:
        return f"{p['name']} does not require parallel data."
    if k < 0.93:
        return f"Transfer to {rng.choice(LANG_GROUPS)} degrades when the tokenizer vocabulary is shared."
    return f"Some research focuses on making the model aware of misalignment by considering additional syntac"


def build(store, n_claims: int, n_papers: int, refs_per_report: int, seed: int = 0) -> None:
    from xlt_claims.store.models import Claim, Paper, Reference, Report

    rng = random.Random(seed)
    papers = [make_paper(i, rng) for i in range(n_papers)]
    n_reports = max(1, n_claims // 100)
    with store.session() as s:
        for p in papers:
            s.add(Paper(arxiv_id=p["id"], version=1, title=p["title"], abstract=p["abstract"]))
        cid = 0
        for r in range(n_reports):
            cited = rng.sample(papers, refs_per_report)
            rep = Report(key=f"bench{r:03d}", file_name=f"bench{r:03d}.txt", source_path="-", content_hash=f"h{r}",
                         research_question=f"How does {cited[0]['tech']} affect zero-shot transfer on "
                                           f"{cited[0]['ds'][0]} for {cited[0]['group']}?")
            s.add(rep)
            s.flush()
            for pos, p in enumerate(cited, 1):
                s.add(Reference(report_id=rep.id, position=pos, arxiv_id=p["id"], version=1, cited_as=p["id"], line=pos))
            per = n_claims // n_reports + (1 if r < n_claims % n_reports else 0)
            for row in range(per):
                text = make_claim(rng.choice(cited), rng)
                s.add(Claim(id=f"b{cid:05d}", report_key=rep.key, report_id=rep.id, row=row + 1, line=row + 1,
                            text=text, normalized=text.lower(), looks_truncated=not text.endswith(".")))
                cid += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=1000)
    ap.add_argument("--papers", type=int, default=100)
    ap.add_argument("--refs-per-report", type=int, default=10)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()

    from xlt_claims.evidence import compute_evidence
    from xlt_claims.evidence.embed import Embedder
    from xlt_claims.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        build(store, args.claims, args.papers, args.refs_per_report)
        load0 = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        first = compute_evidence(store, model=args.model)  # includes loading the model
        t1, cpu1 = time.perf_counter() - t0, time.process_time() - c0
        Embedder._loaded.clear()  # a second run must not need the model at all
        t0, c0 = time.perf_counter(), time.process_time()
        second = compute_evidence(store, model=args.model)
        t2, cpu2 = time.perf_counter() - t0, time.process_time() - c0
        load1 = os.getloadavg()[0]
    n = first.claims
    threads = __import__("torch").get_num_threads()
    print(f"model: {first.model_id}  (torch threads: {threads}; load average {load0:.1f} -> {load1:.1f} on "
          f"{os.cpu_count()} cores: wall times on a shared machine are upper bounds)")
    print(f"claims: {n}  papers: {args.papers}  sentences embedded (first run): {first.cache['misses']}")
    print(f"verdicts: {dict(first.verdicts)}")
    print(f"first run : {t1:7.2f} s wall  (model load {first.timings['model_load']:.2f} s, embed "
          f"{first.timings['embed']:.2f} s, judge {first.timings['judge']:.2f} s)  {n / t1:7.1f} claims/s  "
          f"goal <= 60 s: {'met' if t1 <= 60 else 'MISSED'}")
    print(f"            CPU time {cpu1:.1f} s over {threads} threads -> ~{cpu1 / threads:.1f} s wall on an idle machine")
    print(f"second run: {t2:7.2f} s wall  (cache hits {second.cache['hits']}, new {second.cache['misses']}, "
          f"model load {second.timings['model_load']:.2f} s)  {n / t2:7.1f} claims/s  CPU time {cpu2:.1f} s")
    print(f"speed-up of the cached run: {t1 / t2:.1f}x wall, {cpu1 / cpu2:.1f}x CPU time")


if __name__ == "__main__":
    main()
