"""Synthetic literature reports in the seed format, for the ingest benchmark and crash tests.

The reports vary headings (plain / Markdown), claim kinds, values, datasets and languages, and cut
a share of long claims at a fixed length the way the seed generator does.
"""

from __future__ import annotations

import random
from pathlib import Path

_DATASETS = ["XNLI", "PAWS-X", "XQuAD", "MLQA", "TyDiQA", "WikiANN", "UD-POS", "BUCC", "Tatoeba"]
_MODELS = ["mBERT", "XLM-R", "XLM-R large", "mT5", "LaBSE", "InfoXLM"]
_METHODS = ["Robust training", "Adversarial training", "Feature aggregation", "Optimal transport alignment",
            "Code-switching augmentation", "Contrastive learning", "Translate-train"]
_LANGS = ["German", "French", "Chinese", "Arabic", "Hindi", "Swahili", "Thai", "Russian", "Turkish", "Urdu"]
_TEMPLATES = [
    "{method} improves {model} by {v} points on {ds} in setting {i}.",
    "{model} outperforms the baseline by {a} to {b} absolute percentage points on {ds} for {lang} (case {i}).",
    "{method} does not improve {model} on {ds} for {lang} in experiment {i}.",
    "Accuracy on {ds} increases from {x} to {y} for {lang} when {method_l} is applied to {model} (run {i}).",
    "{ds} provides evaluation data for zero-shot cross-lingual transfer across many languages, variant {i}.",
    "{method} reduces the gap between English and {lang} on {ds}, which matters for low-resource settings in study {i} "
    "because the representations of distant languages become better aligned with those of English speakers",
    "Lower layers of {model} carry more cross-lingual information than upper layers according to analysis {i}.",
]


def make_report(key: str, n_claims: int, rng: random.Random, markdown: bool = False, cut: int = 120) -> str:
    h = "## " if markdown else ""
    claims = []
    for i in range(n_claims):
        t = rng.choice(_TEMPLATES)
        x = round(rng.uniform(50, 80), 1)
        a = rng.randint(1, 3)
        s = t.format(method=rng.choice(_METHODS), method_l=rng.choice(_METHODS).lower(), model=rng.choice(_MODELS),
                     ds=rng.choice(_DATASETS), lang=rng.choice(_LANGS), v=round(rng.uniform(0.1, 5), 1), a=a,
                     b=a + rng.randint(1, 3), x=x, y=round(x + rng.uniform(0.2, 4), 1), i=f"{key}-{i}")
        if len(s) > cut:
            s = s[:cut].rstrip()
        mark = "\u2713" if rng.random() < 0.8 else "\u00d7"
        claims.append(f"{s}\t{mark}\t{rng.uniform(0.05, 0.95):.2f}")
    n_ok = sum(1 for c in claims if "\u2713" in c)
    refs = "\n".join(f"- <http://arxiv.org/abs/{rng.randint(1901, 2412)}.{rng.randint(1000, 99999):05d}v{rng.randint(1, 5)}>"
                     for _ in range(rng.randint(1, 6)))
    title = f"Synthetic Report {key} on Cross-Lingual Transfer"
    n_papers = rng.randint(5, 30)
    return (
        f"{'# ' if markdown else ''}{title}\n\nAssignee Research\n\nJuly {rng.randint(1, 28)}, 2026\n\n{h}Abstract\n\n"
        f"We review zero-shot cross-lingual transfer with multilingual encoders such as mBERT and XLM-R.\n\n"
        f"{h}1 Introduction\n\nThis paper examines: Synthetic Paper {key}. Research question: How does {rng.choice(_METHODS).lower()} "
        f"affect transfer on {rng.choice(_DATASETS)}?.\n\n{h}2 Methodology\n\nSystematic literature search across multiple "
        f"databases yielded {n_papers} papers. An independent multi-reviewer assessment produced a quality score "
        f"of {rng.uniform(5, 9):.1f}/10.\n\n{h}3 Results\n\n{n_papers} papers retrieved. {n_claims} claims extracted; "
        f"{n_ok} independently verified.\n\n{h}4 Extracted Claims\n\nClaim\tVerified\tConfidence\n" + "\n".join(claims) +
        f"\n\n{h}References\n\n{refs}\n"
    )


def generate_corpus(out_dir: str | Path, n_reports: int = 400, claims_per_report: int = 25, seed: int = 0) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for r in range(n_reports):
        key = f"syn_{seed}_{r:05d}"
        p = out / f"{key}.txt"
        p.write_text(make_report(key, claims_per_report, rng, markdown=bool(r % 2)), encoding="utf-8")
        paths.append(p)
    return paths
