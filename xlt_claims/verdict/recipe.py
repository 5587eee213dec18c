"""The training recipe a verdict's runs used, in words, against the paper's: the "recipe" difference.

Read from the runs' manifests (the resolved train-loop settings and the data sizes the train loop
recorded), so it says what was run, not what a profile intended: training examples used of those
available, optimizer steps, batch and the epochs they amount to, learning rate, maximum length,
frozen embeddings, and test items per language. The paper's side is the `paper` profile for the
claim's benchmark (experiments/profiles.py) with the benchmark's official training-set size.
The probe trains nothing: its recipe is the share of the bitext it reads (its run config). Runs without
these fields (synthetic training runs in tests) give None: the verdict then keeps the generic wording.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ..experiments.data import REGISTRY
from ..experiments.profiles import resolve_profile
from .confidence import GENERIC_RECIPE


def _runs(runs: dict[str, dict[int, Any]]) -> Iterable[Any]:
    for by_seed in runs.values():
        yield from by_seed.values()


def ours_text(m: dict[str, Any]) -> Optional[str]:
    """One run's recipe in words (None when its manifest lacks the train loop's fields)."""
    cfg, t = m.get("config"), m.get("task")
    if not isinstance(cfg, dict) or not isinstance(t, dict) or "n_train_used" not in t or m.get("train_steps") is None:
        return None
    steps, eff = int(m["train_steps"]), int(cfg.get("effective_batch_size") or cfg.get("batch_size") or 1)
    seen = max(1, int(t.get("n_train_after_method") or t["n_train_used"]))
    aug = (f" ({seen:,} after the method's augmentation)" if seen != t["n_train_used"] else "")
    tests = sorted((t.get("n_test_used") or {}).values())
    test = f"; {tests[len(tests) // 2]:,} test items per language" if tests else ""
    if t.get("n_pairs"):
        test += f", {t['n_pairs']} language pairs"
    frozen = ", word embeddings frozen" if cfg.get("freeze_word_embeddings") else ""
    if cfg.get("freeze_layers"):  # the train loop's freeze_layers = K: embeddings + layers 1..K fixed
        frozen = f", embeddings and the bottom {int(cfg['freeze_layers'])} layers frozen"
    return (f"{t['n_train_used']:,} of {int(t.get('n_train') or 0):,} English training examples{aug}, {steps} "
            f"steps at batch {eff} ({steps * eff / seen:.1f} epochs), lr {cfg.get('lr'):g}, max length "
            f"{cfg.get('max_length')}{frozen}{test}")


def paper_text(real: Optional[str], task_type: str) -> str:
    """The paper profile's recipe for benchmark `real` (a real set name), in words."""
    if not real or real not in REGISTRY:
        return GENERIC_RECIPE[0]
    p = resolve_profile("paper", real, task_type)
    sizes = REGISTRY[real].info.get("sizes") or {}
    train = f"the full English train ({sizes['train']:,} examples)" if sizes.get("train") else "the full English train"
    test = f"; all {sizes['test_per_lang']:,} test items per language" if sizes.get("test_per_lang") else ""
    return (f"{train}, {p['epochs']} epoch(s) at batch {p['batch_size']}, lr {p['lr']:g}, max length "
            f"{p['max_length']}{test}")


def probe_texts(cfg: dict[str, Any]) -> tuple[str, str]:
    """The probe trains nothing: its recipe is how much of the bitext it reads."""
    n = cfg.get("max_items")
    ours = (f"the first {n} pairs per language" if n else "every pair") + f", max length {cfg.get('max_length', 64)}"
    if cfg.get("langs"):
        ours += f", {len(cfg['langs'])} languages"
    return "every test pair of the bitext (XTREME's Tatoeba: up to 1,000 per language), full length", ours


def recipe_texts(runs: dict[str, dict[int, Any]], stands_for: dict[str, Optional[str]]) -> Optional[tuple[str, str]]:
    """(paper, ours) over the runs' tasks, or None if no run recorded its recipe. `stands_for` maps a task
    name to the real benchmark it is (itself) or stands in for (a proxy's counterpart, or None)."""
    by_task: dict[str, tuple[str, str]] = {}
    for r in _runs(runs):
        cfg = getattr(r, "config", None) or {}
        if cfg.get("kind") == "probe":
            return probe_texts(cfg)
        m = getattr(r, "manifest", None) or {}
        ours = ours_text(m)
        task = (m.get("task") or {}).get("name")
        if ours is None or not task or task in by_task:
            continue
        real = stands_for.get(task, task if task in REGISTRY and REGISTRY[task].kind == "real" else None)
        by_task[task] = (paper_text(real, (m.get("task") or {}).get("task_type", "classification")), ours)
    if not by_task:
        return None
    if len(by_task) == 1:
        return next(iter(by_task.values()))
    return ("; ".join(f"{t}: {p}" for t, (p, _) in sorted(by_task.items())),
            "; ".join(f"{t}: {o}" for t, (_, o) in sorted(by_task.items())))
