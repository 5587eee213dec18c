"""Resolving an experiment's task: the offline proxy by default, the claim's own benchmark with
`--data DIR`, or a task file (`file:path.json`, relative to the experiment file) for custom tasks
and tests. A refused data guard (e.g. placeholder test labels) is reported as DataGuardRefused, which
the runner turns into an `invalid` verdict instead of a crash.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Optional

from ..experiments.data import DataError, PlaceholderLabelsError, load_task
from ..experiments.types import Example, TaskData
from .experiment import Experiment

_CACHE: dict[tuple, TaskData] = {}


class TaskError(RuntimeError):
    """The task cannot be loaded (missing data, unknown name)."""


class DataGuardRefused(TaskError):
    """The data loader's guard refused the data (placeholder labels, ...)."""


def _examples(items: list[dict]) -> list[Example]:
    names = {f.name for f in fields(Example)}
    return [Example(**{k: v for k, v in it.items() if k in names}) for it in items]


def load_task_file(path: Path) -> TaskData:
    """A TaskData stored as JSON: {name, task_type, labels, train, dev, test: {lang: [...]}, test_pairs, ...}."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(f"task file {path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TaskError(f"task file {path}: not valid JSON ({exc})") from None
    try:
        return TaskData(
            name=raw.get("name", Path(path).stem), task_type=raw["task_type"], labels=list(raw["labels"]),
            train=_examples(raw["train"]), dev=_examples(raw["dev"]),
            test={k: _examples(v) for k, v in raw["test"].items()},
            test_pairs={k: _examples(v) for k, v in raw.get("test_pairs", {}).items()},
            scripts=dict(raw.get("scripts", {})), proxy=bool(raw.get("proxy", True)),
            provenance=dict(raw.get("provenance", {"file": str(path)})),
        )
    except KeyError as exc:
        raise TaskError(f"task file {path}: missing key {exc}") from None


def task_source(exp: Experiment, data_dir: Optional[str]) -> dict[str, Any]:
    """Which task an experiment uses under these options (no loading)."""
    if data_dir:
        if not exp.task.real:
            raise TaskError(f"experiment {exp.name} has no real-data task (only the proxy {exp.task.proxy!r}); "
                            "run it without --data")
        return {"name": exp.task.real, "data_dir": str(Path(data_dir).expanduser().resolve()), "proxy_spec": False}
    return {"name": exp.task.proxy, "data_dir": None, "proxy_spec": True}


def load_task_for(exp: Experiment, data_dir: Optional[str] = None) -> TaskData:
    src = task_source(exp, data_dir)
    name = src["name"]
    if name.startswith("file:"):
        p = Path(name[5:])
        if not p.is_absolute():
            p = exp.base_dir / p
        key = ("file", str(p.resolve()))
        if key not in _CACHE:
            _CACHE[key] = load_task_file(p)
        return _CACHE[key]
    opts = dict(exp.task.options)
    if not src["proxy_spec"]:
        opts.update(exp.task.real_options)
    if src["data_dir"]:
        opts["data_dir"] = src["data_dir"]
    key = (name, json.dumps(opts, sort_keys=True, default=str))
    if key in _CACHE:
        return _CACHE[key]
    try:
        task = load_task(name, **opts)
    except PlaceholderLabelsError as exc:  # the data guard: one label everywhere in a test split
        raise DataGuardRefused(f"{name}: {exc}") from exc
    except (DataError, OSError, ValueError, LookupError) as exc:  # missing or unreadable data, unknown name
        raise TaskError(f"cannot load task {name!r}: {type(exc).__name__}: {exc}") from exc
    except ImportError as exc:
        if (exc.name or "").startswith("xlt_claims"):
            raise  # a broken module of ours must fail loudly
        raise TaskError(f"cannot load task {name!r}: needs the optional package {exc.name!r} ({exc})") from exc
    _CACHE[key] = task
    return task


def clear_cache() -> None:
    _CACHE.clear()
