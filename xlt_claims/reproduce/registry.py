"""The reproduction registry: one declarative TOML file per experiment in `reproductions/`.

An experiment file names the claims it tests (a match rule that survives re-ingest), the task and
data, the model, the arms (a baseline and a method with its parameters), the seeds and profile, and
a pre-registered decision rule. Adding an experiment = adding one file (plus, for a new method, one
module under `xlt_claims/experiments/methods/` that registers itself). The format is documented in
`reproductions/README.md`; `load_registry()` validates every file and names file and line on error.

Files may share setup: `include = "_common.toml"` (or a list) merges the named files (relative to the
including file) under the including file's own values: tables merge key by key, anything else is
replaced. Files starting with "_" are never experiments themselves. An include cycle is an error.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from ..paths import PACKAGE_DIR
from .experiment import (DIRECTIONS, PROFILES, TIERS, TRAIN_KIND, Arm, DecisionRule, Experiment, MatchRule, ModelSpec,
                         RegistryError, ReportContext, SourceFile, TaskSpec, normalize_text)
from .kinds import get_kind

__all__ = ["DIRECTIONS", "ENV_VAR", "PROFILES", "TIERS", "TRAIN_KIND", "Arm", "DecisionRule", "Experiment", "MatchRule",
           "ModelSpec", "Registry", "RegistryError", "ReportContext", "SourceFile", "TaskSpec", "default_dirs",
           "load_registry", "normalize_text", "parse_experiment", "read_toml"]

ENV_VAR = "XLT_CLAIMS_REPRODUCTIONS"
_TOP_KEYS = {"name", "description", "paper", "tier", "notes", "match", "task", "model", "arms", "run", "decision",
             "kind", "params", "include", "differences"}
_DIFFERENCE_KEYS = {"aspect", "weight", "paper", "ours", "why"}
_MATCH_KEYS = {"all", "any", "none", "report_cites", "report_text", "datasets", "report_key"}


# --- reading a file and its includes ---------------------------------------------------------------

def _load_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text ({exc})") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: invalid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: tables merge key by key, any other value (arrays too) replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_toml(path: Path, _chain: tuple[Path, ...] = ()) -> tuple[SourceFile, dict[str, Any]]:
    """The file's data with its includes merged in (the `include` key removed), and where each key came from."""
    path = Path(path)
    text, data = _load_toml(path)
    src = SourceFile(path, text)
    names = data.pop("include", [])
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise src.error("include", "'include' must be a file name or a list of file names")
    merged: dict[str, Any] = {}
    for name in names:
        inc = (path.parent / name).resolve()
        chain = (*_chain, path.resolve())
        if inc in chain:
            cycle = " -> ".join(p.name for p in (*chain[chain.index(inc):], inc))
            raise src.error("include", f"include cycle: {cycle}")
        if not inc.is_file():
            raise src.error("include", f"included file {name!r} not found (looked for {inc})")
        inc_src, inc_data = read_toml(inc, chain)
        merged = _merge(merged, inc_data)
        src.included += [(inc_src.path, inc_src.text), *inc_src.included]
    return src, _merge(merged, data)


# --- parsing ---------------------------------------------------------------------------------------

def parse_experiment(path: Path) -> Experiment:
    """One experiment file (with its includes), validated; errors name the file and line."""
    path = Path(path)
    src, data = read_toml(path)
    unknown = set(data) - _TOP_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise src.error(k, f"unknown key '{k}' (allowed: {', '.join(sorted(_TOP_KEYS))})")
    kind_name = data.get("kind", TRAIN_KIND)
    if not isinstance(kind_name, str):
        raise src.error("kind", "'kind' must be a string")
    try:
        kind = get_kind(kind_name)
    except KeyError as exc:
        raise src.error("kind", str(exc)) from None
    for req in kind.required_keys:
        if req not in data:
            raise RegistryError(f"{path}:1: missing required key '{req}'")
    name = data["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise src.error("name", f"name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    common = {"name": name, "path": path.resolve(), "description": " ".join(str(data["description"]).split()),
              "match": _parse_match(src, data["match"]), "task": _parse_task(src, data["task"]),
              "model": _parse_model(data.get("model", {})), "source_text": src.text, "kind": kind_name, "raw": data,
              "differences": _parse_differences(src, data.get("differences", []))}
    return kind.parse(src, data, common)


def _parse_match(src: SourceFile, m: Any) -> MatchRule:
    if not isinstance(m, dict):
        raise src.error("match", "[match] must be a table")
    bad = set(m) - _MATCH_KEYS
    if bad:
        raise src.error(sorted(bad)[0], f"unknown match key '{sorted(bad)[0]}'")
    match = MatchRule(
        all=src.str_list(m.get("all"), "all"),
        any=src.str_list(m.get("any"), "any"),
        none=src.str_list(m.get("none"), "none"),
        report_cites=[re.sub(r"v\d+$", "", c) for c in src.str_list(m.get("report_cites"), "report_cites")],
        report_text=m.get("report_text"),
        datasets=src.str_list(m.get("datasets"), "datasets"),
        report_key=m.get("report_key"),
    )
    src.check_regexes([*match.all, *match.any, *match.none], "match")
    src.check_regexes([p for p in (match.report_text, match.report_key) if p], "match")
    if match.is_empty():
        raise src.error("match", "[match] needs at least one of 'all', 'any' or 'datasets' so it cannot match every claim")
    return match


def _parse_task(src: SourceFile, t: Any) -> TaskSpec:
    if not isinstance(t, dict) or "proxy" not in t:
        raise src.error("task", "[task] needs 'proxy' (the offline default task, e.g. \"logt-pair\")")
    for key in ("options", "real_options"):
        if not isinstance(t.get(key, {}), dict):
            raise src.error(key, f"[task] {key} must be a table of load_task options")
    return TaskSpec(proxy=t["proxy"], real=t.get("real"), options=dict(t.get("options", {})),
                    real_options=dict(t.get("real_options", {})), claim_dataset=t.get("claim_dataset"))


def _parse_differences(src: SourceFile, raw: Any) -> list[dict[str, Any]]:
    """[[differences]]: how this experiment differs from the claim's setup, each with the evidence weight
    that remains (0 < weight <= 1) and why; one entry per aspect."""
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        raise src.error("differences", "[[differences]] entries must be tables")
    out, seen = [], set()
    for d in raw:
        extra = set(d) - _DIFFERENCE_KEYS
        if extra:
            raise src.error("differences", f"unknown difference key '{sorted(extra)[0]}' (allowed: "
                                           f"{', '.join(sorted(_DIFFERENCE_KEYS))})")
        if not isinstance(d.get("aspect"), str) or not d["aspect"]:
            raise src.error("differences", "every [[differences]] entry needs an 'aspect'")
        w = d.get("weight")
        if not (isinstance(w, (int, float)) and not isinstance(w, bool) and 0 < w <= 1):
            raise src.error("differences", f"difference {d['aspect']!r}: weight must be in (0, 1]")
        if not isinstance(d.get("why"), str) or not d["why"].strip():
            raise src.error("differences", f"difference {d['aspect']!r}: say why (the 'why' key)")
        if d["aspect"] in seen:
            raise src.error("differences", f"difference {d['aspect']!r} stated twice")
        seen.add(d["aspect"])
        out.append({k: (" ".join(v.split()) if isinstance(v, str) else v) for k, v in d.items()})
    return out


def _parse_model(md: dict[str, Any]) -> ModelSpec:
    return ModelSpec(default=md.get("default", ModelSpec.default), claim=md.get("claim"))


# --- the registry ----------------------------------------------------------------------------------

def default_dirs() -> list[Path]:
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [PACKAGE_DIR.parent / "reproductions"]


@dataclass
class Registry:
    experiments: dict[str, Experiment]
    dirs: list[Path]

    def get(self, name: str) -> Experiment:
        try:
            return self.experiments[name]
        except KeyError:
            known = ", ".join(sorted(self.experiments)) or "none"
            raise RegistryError(f"unknown experiment {name!r} (known: {known}; registry dirs: "
                                f"{', '.join(map(str, self.dirs))})") from None

    def __iter__(self):
        return iter(sorted(self.experiments.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self.experiments)


def load_registry(dirs: Optional[Iterable[os.PathLike | str]] = None) -> Registry:
    """Parse every `*.toml` in the registry folders (non-recursive; files starting with '_' are skipped)."""
    ds = [Path(d) for d in dirs] if dirs else default_dirs()
    exps: dict[str, Experiment] = {}
    for d in ds:
        if not d.exists():
            continue
        if d.is_file():
            files = [d]
        else:
            files = sorted(p for p in d.glob("*.toml") if not p.name.startswith("_"))
        for f in files:
            e = parse_experiment(f)
            if e.name in exps:
                raise RegistryError(f"{f}:1: experiment name {e.name!r} already defined in {exps[e.name].path}")
            exps[e.name] = e
    return Registry(exps, ds)
