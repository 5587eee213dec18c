"""Layer-wise cross-lingual alignment probe: bitext retrieval accuracy per layer, no training.

For every language xx of a bitext (default ``logt-retrieval``: {xx: [(en, xx), ...]}), every sentence
is encoded once; the hidden states of EVERY layer (0 = embedding output ... L = last layer) are
mean-pooled over real tokens (special tokens included, padding excluded) and L2-normalised. For each
layer, P@1 retrieval is measured in both directions (en->xx: the gold translation is the nearest
xx sentence among that language's items; xx->en likewise), cosine similarity. Languages are grouped
by their dominant Unicode script.

The result (``probe_layers``) is a metrics dict stored as a Run row (experiment kind "probe"):
per-language, per-layer accuracies in both directions, per-script and overall means, the best layer,
and item-bootstrap statistics of D = (mean accuracy over the lower half of the transformer layers) -
(accuracy of the last layer), which the pre-registered rule of the claim "lower layers carry more
cross-lingual information" judges (xlt_claims.verdict.layer_probe; this module only measures).

Only the first half of the claim (cross-lingual information) is measured; "upper layers provide more
language structure information" is not tested by retrieval. Evidence from this probe is proxy
evidence whenever the model is not mBERT or the bitext is not the claim's data.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable, Optional, Sequence

DEFAULT_MODEL = "offline:multilingual-e5-small"
DEFAULT_BITEXT = "logt-retrieval"


# --- scripts -------------------------------------------------------------------------------------

def script_of_lang(lang: str, texts: Sequence[str]) -> str:
    """The data package's script table, else the dominant script detected from the texts."""
    from .data.scripts import LANG_SCRIPTS, detect_script

    return LANG_SCRIPTS.get(lang) or detect_script(list(texts)[:500])


# --- retrieval -----------------------------------------------------------------------------------

def retrieval_correct(src: "torch.Tensor", tgt: "torch.Tensor") -> "torch.Tensor":
    """P@1 correctness per item and layer: src, tgt [L+1, N, H] (normalised), gold = same index.

    Returns bool [L+1, N]. Ties count as wrong unless the gold is the first maximum.
    """
    import torch

    sims = torch.bmm(src, tgt.transpose(1, 2))  # [L+1, N, N]
    pred = sims.argmax(-1)
    return pred == torch.arange(src.shape[1])[None, :]


# --- probe ---------------------------------------------------------------------------------------

def _bootstrap_stats(correct: dict[str, "np.ndarray"], n_layers: int, reps: int, seed: int) -> dict[str, Any]:
    """correct[lang] = bool [2, L+1, n]. Returns D (lower half - last) and best-vs-last with 95% CIs."""
    import numpy as np

    L = n_layers
    lower = list(range(1, L // 2 + 1))
    rng = np.random.default_rng(seed)
    boot = np.zeros((reps, L + 1))
    point = np.zeros(L + 1)
    for c in correct.values():
        n = c.shape[-1]
        acc = c.mean(axis=(0, 2))  # [L+1]
        point += acc
        idx = rng.integers(0, n, size=(reps, n))
        cf = c.astype(np.float32)  # [2, L+1, n]
        # mean over directions and resampled items: [reps, L+1]
        boot += cf[:, :, idx].mean(axis=(0, 3)).T  # [2, L+1, reps, n] -> [reps, L+1]
    k = len(correct)
    point /= k
    boot /= k

    def summ(values: "np.ndarray", pt: float) -> dict[str, float]:
        lo, hi = np.percentile(values, [2.5, 97.5])
        return {"value": round(100 * pt, 3), "ci_low": round(100 * float(lo), 3), "ci_high": round(100 * float(hi), 3)}

    d_lower_pt = point[lower].mean() - point[L]
    d_lower = boot[:, lower].mean(1) - boot[:, L]
    best_below = int(np.argmax(point[:L]))
    d_best = boot[:, best_below] - boot[:, L]
    return {
        "lower_layers": lower,
        "last_layer": L,
        "d_lower_minus_last": summ(d_lower, d_lower_pt),
        "best_below_last": best_below,
        "d_best_below_minus_last": summ(d_best, point[best_below] - point[L]),
        "bootstrap": {"reps": reps, "seed": seed, "unit": "items within language, paired across layers"},
    }


def probe_layers(
    model: str = DEFAULT_MODEL,
    bitext: str = DEFAULT_BITEXT,
    *,
    langs: Optional[Sequence[str]] = None,
    max_items: Optional[int] = 200,
    batch_size: int = 64,
    max_length: int = 64,
    device: str = "auto",
    prefix: Optional[str] = None,
    bootstrap_reps: int = 1000,
    seed: int = 0,
    encoder: Any = None,
    tokenizer: Any = None,
    pairs: Optional[dict[str, list[tuple[str, str]]]] = None,
    progress: Optional[Callable[[str, int, int], None]] = None,
    data_dir: Optional[str] = None,
) -> dict[str, Any]:
    """Run the probe and return its metrics dict (see the module docstring for the layout).

    ``encoder``/``tokenizer``/``pairs`` may be passed directly (tests); otherwise they come from
    ``load_encoder(model)`` and ``load_bitext(bitext, langs, data_dir=data_dir)``. Sentence vectors come from
    ``models.embed_layers`` (mean over real tokens incl. specials, L2-normalised; the encoder's text
    prefix, "query: " for e5, unless ``prefix`` is given). ``max_items`` caps the items per
    language (the first ones in the bitext's order, which is stable); ``None`` keeps all.
    """
    import numpy as np
    import torch

    from .models import embed_layers, encoder_info

    t0 = time.time()
    if pairs is None:
        from .data import load_bitext

        pairs = load_bitext(bitext, langs=list(langs) if langs else None, **({"data_dir": data_dir} if data_dir else {}))
    if encoder is None or tokenizer is None:
        from .models import load_encoder

        encoder, tokenizer = load_encoder(model, device=device)
    if prefix is None:
        prefix = encoder_info(encoder).text_prefix
    use = {l: list(v[: max_items or None]) for l, v in sorted(pairs.items()) if l != "en" and (not langs or l in langs)}
    use = {l: v for l, v in use.items() if len(v) >= 2}
    if not use:
        raise ValueError(f"bitext {bitext!r} has no language with at least 2 pairs")
    t_load = time.time() - t0

    # English once (deduplicated across languages), each language once
    en_texts = sorted({e for v in use.values() for e, _ in v})
    en_pos = {t: i for i, t in enumerate(en_texts)}
    total = len(use) + 1
    if progress:
        progress("encode en", 0, total)
    en_emb = torch.from_numpy(embed_layers(encoder, tokenizer, en_texts, batch_size=batch_size,
                                           max_length=max_length, prefix=prefix))
    n_layers = en_emb.shape[0] - 1
    per_lang: dict[str, Any] = {}
    correct: dict[str, np.ndarray] = {}
    for i, (lang, items) in enumerate(use.items(), start=1):
        if progress:
            progress(f"encode {lang}", i, total)
        tr_emb = torch.from_numpy(embed_layers(encoder, tokenizer, [t for _, t in items], batch_size=batch_size,
                                               max_length=max_length, prefix=prefix))
        src = en_emb[:, torch.tensor([en_pos[e] for e, _ in items])]
        c_en = retrieval_correct(src, tr_emb).numpy()
        c_xx = retrieval_correct(tr_emb, src).numpy()
        correct[lang] = np.stack([c_en, c_xx])
        en2xx, xx2en = c_en.mean(1), c_xx.mean(1)
        per_lang[lang] = {
            "n": len(items),
            "script": script_of_lang(lang, [t for _, t in items]),
            "en2xx": [round(float(a), 4) for a in en2xx],
            "xx2en": [round(float(a), 4) for a in xx2en],
            "mean": [round(float(a), 4) for a in (en2xx + xx2en) / 2],
            "best_layer": int(np.argmax((en2xx + xx2en) / 2)),
        }
    avg = np.mean([per_lang[l]["mean"] for l in per_lang], axis=0)
    scripts: dict[str, list[str]] = {}
    for l, r in per_lang.items():
        scripts.setdefault(r["script"], []).append(l)
    per_script = {}
    for s, ls in sorted(scripts.items()):
        m = np.mean([per_lang[l]["mean"] for l in ls], axis=0)
        per_script[s] = {
            "langs": ls,
            "mean": [round(float(a), 4) for a in m],
            "best_layer": int(np.argmax(m)),
            "lower_half_minus_last": round(100 * float(m[1 : n_layers // 2 + 1].mean() - m[n_layers]), 3),
        }
    stats = _bootstrap_stats(correct, n_layers, bootstrap_reps, seed)
    wall = time.time() - t0
    fp = hashlib.sha256()
    for lang, items in use.items():
        for en, tr in items:
            fp.update(f"{lang}\x00{en}\x00{tr}\x01".encode())
    info = encoder_info(encoder)
    return {
        "model_info": info.to_dict(),
        "data_fingerprint": fp.hexdigest(),
        "kind": "probe",
        "probe": "bitext-retrieval-p@1",
        "model": model,
        "bitext": bitext,
        "prefix": prefix,
        "pooling": "mean over real tokens, L2-normalised, cosine",
        "n_layers": n_layers,
        "layers": list(range(n_layers + 1)),
        "layer_0": "embedding output",
        "per_lang": per_lang,
        "per_script": per_script,
        "avg": [round(float(a), 4) for a in avg],
        "best_layer": int(np.argmax(avg)),
        "stats": stats,
        "n_items": int(sum(r["n"] for r in per_lang.values())),
        "timing": {"load_s": round(t_load, 2), "total_s": round(wall, 2)},
        "collapsed": False,
    }


def probe_config(**kw: Any) -> dict[str, Any]:
    cfg = {"kind": "probe", "model": kw.get("model", DEFAULT_MODEL), "bitext": kw.get("bitext", DEFAULT_BITEXT),
           "langs": sorted(kw["langs"]) if kw.get("langs") else None, "max_items": kw.get("max_items", 200),
           "max_length": kw.get("max_length", 64), "bootstrap_reps": kw.get("bootstrap_reps", 1000),
           "seed": kw.get("seed", 0)}
    return cfg


def config_hash(cfg: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --- display -------------------------------------------------------------------------------------

def format_probe_table(metrics: dict[str, Any], by: str = "script") -> str:
    """Plain-text table: rows = scripts (or languages), columns = layers, P@1 in percent."""
    L = metrics["n_layers"]
    head = f"{by:<12}" + "".join(f"{k:>6}" for k in range(L + 1)) + "  best"
    rows = [head]
    src = metrics["per_script"] if by == "script" else metrics["per_lang"]
    for name, r in src.items():
        rows.append(f"{name[:12]:<12}" + "".join(f"{100 * a:6.1f}" for a in r["mean"]) + f"  {r['best_layer']:>4}")
    rows.append(f"{'ALL':<12}" + "".join(f"{100 * a:6.1f}" for a in metrics["avg"]) + f"  {metrics['best_layer']:>4}")
    return "\n".join(rows)
