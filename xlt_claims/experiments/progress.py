"""Progress of a run: every stage reports (stage, i, n, info) to one callable.

progress=None draws a rich bar when stderr is a terminal, False is quiet, True always draws, and a
callable is called as fn(stage, i, n, info) (the runner's reporter, tests, benchmarks).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

__all__ = ["RichStages", "progress_callback"]


class RichStages:
    """One rich bar per stage (train, test, pairs, a method's own stages); a context manager."""

    def __init__(self, title: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.title = title
        self.tasks: dict[str, Any] = {}
        self.rich = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"), transient=False)

    def __enter__(self) -> "RichStages":
        self.rich.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.rich.stop()

    def __call__(self, stage: str, i: int, n: Optional[int], info: Any = "") -> None:
        text = info if isinstance(info, str) else " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in (info or {}).items())
        if stage not in self.tasks:
            self.tasks[stage] = self.rich.add_task(f"{self.title} {stage}", total=n, info=text)
        self.rich.update(self.tasks[stage], completed=i, total=n, info=text)


def _quiet(stage: str, i: int, n: Optional[int], info: Any = "") -> None:
    return None


def progress_callback(progress: Any, title: str) -> tuple[Callable[..., None], Optional[RichStages]]:
    """(callback, rich bars to start and stop or None) for the train loop's `progress` argument."""
    if callable(progress):
        return progress, None
    if progress is True or (progress is None and sys.stderr.isatty()):
        bars = RichStages(title)
        return bars, bars
    return _quiet, None
