"""The pre-registered decision on a paired effect: its interval against 0 and the magnitude bar."""

from __future__ import annotations

import math

from ..stats import Effect
from ..store.status import EXPERIMENT_STATUSES

OUTCOMES = EXPERIMENT_STATUSES  # what a verdict can say: the experimental statuses


def decide(effect: Effect, min_effect: float) -> tuple[str, str]:
    """Pre-registered decision on an effect in the claimed direction with magnitude bar `min_effect`.

    reproduced            CI excludes 0 on the claimed side and the mean reaches the magnitude bar
    partially-reproduced  CI excludes 0 on the claimed side, the mean falls short of the bar
    not-reproduced        CI lies entirely below the bar and does not exclude 0 on the claimed side
                          (no effect, an effect of the wrong sign, or one too small to be the claim's)
    inconclusive          CI contains both 0 and the bar (underpowered), or fewer than 2 seeds
    """
    if min_effect <= 0:
        raise ValueError("min_effect must be > 0")
    if effect.n < 2 or not math.isfinite(effect.ci_low):
        return "inconclusive", f"{effect.n} paired seed(s): no variance estimate"
    lo, hi, m = effect.ci_low, effect.ci_high, effect.mean
    if lo > 0 and m >= min_effect:
        return "reproduced", f"CI [{lo:.2f}, {hi:.2f}] excludes 0 and the mean {m:+.2f} reaches the bar {min_effect:.2f}"
    if lo > 0:
        return "partially-reproduced", (f"direction holds (CI [{lo:.2f}, {hi:.2f}] excludes 0) but the mean {m:+.2f} "
                                        f"falls short of the bar {min_effect:.2f}")
    if hi < min_effect:
        return "not-reproduced", f"CI [{lo:.2f}, {hi:.2f}] lies below the bar {min_effect:.2f} and includes 0 or less"
    return "inconclusive", f"CI [{lo:.2f}, {hi:.2f}] contains both 0 and the bar {min_effect:.2f}"
