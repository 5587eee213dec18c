"""The warning `claims reproduce` gives before it trains a model with a recipe that was not chosen for it
(issue 19: the quick recipe was applied to mBERT silently). The quick profile and the experiment files'
quick overrides were piloted on the bundled encoder (multilingual-e5-small); any other model, the claim's
mBERT included, runs them unchanged. The verdict states the recipe it ran against the paper's in numbers
(verdict/recipe.py); this says so before anything runs, with the numbers the profile caps at.
"""

from __future__ import annotations

from typing import Any, Optional

from ..experiments.models import OFFLINE_ALIASES
from ..experiments.profiles import ProfileError, resolve_profile


def caps(profile: str, overrides: Optional[dict[str, Any]] = None) -> str:
    """The profile's caps in words: training examples, steps, max length, frozen layers, test items per language."""
    try:
        cfg = resolve_profile(profile, "", "classification", overrides)
    except ProfileError:
        return f"the {profile} profile"
    parts = []
    if cfg.get("max_train_examples"):
        parts.append(f"at most {cfg['max_train_examples']:,} English training examples")
    parts.append(f"{cfg['max_steps']} steps" if cfg.get("max_steps") else f"{cfg['epochs']} epochs")
    parts.append(f"max length {cfg['max_length']}")
    if cfg.get("freeze_layers"):
        parts.append(f"embeddings and the bottom {int(cfg['freeze_layers'])} layers frozen")
    if cfg.get("max_test_examples"):
        parts.append(f"at most {cfg['max_test_examples']:,} test items per language")
    return ", ".join(parts)


def recipe_warning(experiment: str, model: str, profile: str, overrides: Optional[dict[str, Any]] = None) -> Optional[str]:
    """None for the paper profile or the bundled encoder; else one line saying what runs instead."""
    if profile == "paper" or not model or model in OFFLINE_ALIASES:
        return None
    return (f"{experiment}: {model} runs the {profile} recipe ({caps(profile, overrides)}), chosen for the bundled "
            "encoder, not the paper's; the verdict states the difference; --profile paper runs the paper's recipe")
