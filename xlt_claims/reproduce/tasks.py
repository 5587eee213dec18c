"""Resolving an experiment's task: the claim's own benchmark whenever it is reachable, else the offline
proxy, or a task file (`file:path.json`, relative to the experiment file) for custom tasks and tests.

Which benchmark an experiment reads (`benchmark_for`, the same rule for every kind):

  --proxy            the offline proxy (LOGT), the behaviour before real benchmarks were the default
  --data DIR         the real benchmark, read from DIR (an error if the experiment has none)
  (default)          the real benchmark when it is embedded (PAWS-X, XQuAD + TyDi QA, Tatoeba) or
                     registered (`claims data add`; XNLI, which never ships, only so), else the proxy,
                     with a note saying what is missing and how to add it

A refused data guard (e.g. placeholder test labels) is reported as DataGuardRefused, which the runner
turns into an `invalid` verdict instead of a crash.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Optional

from ..experiments.data import DataError, PlaceholderLabelsError, check_folder, load_task
from ..experiments.data.sources import REAL_SETS, availability
from ..experiments.types import Example, TaskData
from .experiment import Experiment

_CACHE: dict[tuple, TaskData] = {}
_CHECKED: set[tuple[str, str]] = set()  # (set, folder) parsed whole by check_data_folder


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


def is_real_set(name: Optional[str]) -> bool:
    return bool(name) and name in REAL_SETS


def not_at_hand(real: Optional[str]) -> Optional[str]:
    """Why the real set `real` cannot be read here ("XNLI is not at hand (CC BY-NC 4.0, never shipped)"),
    or None when it is embedded or registered, or is no real set at all."""
    if not is_real_set(real) or availability(real)["status"] != "missing":
        return None
    rs = REAL_SETS[real]
    return f"{rs.title} is not at hand ({rs.short_license}{'' if rs.may_ship else ', never shipped'})"


def benchmark_for(real: Optional[str], proxy: Optional[str], data_dir: Optional[str] = None,
                  use_proxy: bool = False) -> dict[str, Any]:
    """Which task to read: {name, data_dir, proxy_spec, benchmark ("real" | "proxy"), where, note}.

    `real` is the claim's own benchmark (a real set name, or None), `proxy` its offline stand-in.
    `where` says where the data comes from ("--data DIR", "embedded", "registered DIR", "LibreOffice
    proxy (LOGT)", "task file"); `note` why the proxy is used although a real benchmark exists."""
    if data_dir and use_proxy:
        raise TaskError("--proxy and --data exclude each other (--data reads the real benchmark)")
    if data_dir:
        if not real:
            raise TaskError(f"no real-data task (only the proxy {proxy!r}); run it without --data")
        d = str(Path(data_dir).expanduser().resolve())
        return {"name": real, "data_dir": d, "proxy_spec": False, "benchmark": "real", "where": f"--data {d}",
                "note": None, "real": real}
    proxy_src = {"name": proxy, "data_dir": None, "proxy_spec": True, "benchmark": "proxy",
                 "where": "task file" if str(proxy or "").startswith("file:") else "LibreOffice proxy (LOGT)",
                 "note": None, "stands_for": REAL_SETS[real].title if is_real_set(real) else None,
                 "real": real if is_real_set(real) else None}
    if not is_real_set(real):
        return proxy_src
    if use_proxy:
        return {**proxy_src, "note": f"--proxy: the offline proxy instead of {REAL_SETS[real].title}"}
    missing = not_at_hand(real)
    if missing:
        return {**proxy_src, "note": f"{missing}: the offline proxy stands in; `claims data add {real} DIR` or "
                                     f"--data DIR runs it on {REAL_SETS[real].title}"}
    av = availability(real)
    where = "embedded" if av["status"] == "embedded" else f"registered {av['location']}"
    return {"name": real, "data_dir": None, "proxy_spec": False, "benchmark": "real", "where": where, "note": None,
            "real": real}


def task_source(exp: Experiment, data_dir: Optional[str], use_proxy: bool = False) -> dict[str, Any]:
    """Which task an experiment uses under these options (no loading): see benchmark_for."""
    try:
        return benchmark_for(exp.task.real, exp.task.proxy, data_dir, use_proxy)
    except TaskError as exc:
        raise TaskError(f"experiment {exp.name}: {exc}") from None


def load_task_for(exp: Experiment, data_dir: Optional[str] = None, use_proxy: bool = False) -> TaskData:
    return load_source(exp, task_source(exp, data_dir, use_proxy))


def load_source(exp: Experiment, src: dict[str, Any]) -> TaskData:
    """The task `src` (from task_source / benchmark_for) names, loaded with the file's task options."""
    name = src["name"]
    if name.startswith("file:"):
        p = Path(name[5:])
        if not p.is_absolute():
            p = exp.base_dir / p
        key = ("file", str(p.resolve()))
        if key not in _CACHE:
            _CACHE[key] = load_task_file(p)
        return _CACHE[key]
    if src["data_dir"] and not src["proxy_spec"]:
        check_data_folder(name, src["data_dir"])
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


def check_data_folder(name: str, data_dir: str) -> None:
    """--data DIR: every file of real set `name` in DIR is parsed once (all languages, as `claims data add`
    checks a folder) before the first run, so a malformed file stops the command with its file and line
    before anything is trained or stored, even one no run would read (another language's dev set).
    TaskError on bad input."""
    key = (name, str(Path(data_dir).resolve()))
    if key in _CHECKED:
        return
    try:
        check_folder(name, data_dir)
    except DataError as exc:
        raise TaskError(f"{name}: {exc}") from exc
    _CHECKED.add(key)


def clear_cache() -> None:
    _CACHE.clear()
    _CHECKED.clear()
