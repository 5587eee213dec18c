"""Where things live on disk outside the repository (caches, model conversions) and in the package."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def cache_dir(*parts: str) -> Path:
    """`$XLT_CLAIMS_CACHE` or `~/.cache/xlt-claims`, never inside the repository."""
    root = Path(os.environ.get("XLT_CLAIMS_CACHE") or Path.home() / ".cache" / "xlt-claims")
    p = root.joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p


def config_dir(*parts: str) -> Path:
    """`$XLT_CLAIMS_CONFIG` or `~/.config/xlt-claims` (user settings such as registered data folders);
    created on demand."""
    root = Path(os.environ.get("XLT_CLAIMS_CONFIG") or Path.home() / ".config" / "xlt-claims")
    p = root.joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p
