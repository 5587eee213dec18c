"""What judging one claim against an experiment's runs produces, before it is stored as a Verdict row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class VerdictResult:
    outcome: str
    reason: str
    proxy: bool
    metric: str
    effect: Optional[float] = None
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    n_seeds: int = 0
    run_ids: list[int] = field(default_factory=list)
    confidence: Optional[float] = None  # posterior; None = leave the claim's confidence unchanged
    detail: dict[str, Any] = field(default_factory=dict)
