"""Shared test fixtures. Area-specific helpers live next to their tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REPORTS_DIR = EXAMPLES / "reports"
ARXIV_FIXTURES = EXAMPLES / "arxiv"

# Tests never reach a model hub or the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "claims.db"


@pytest.fixture
def store(db_path: Path):
    from xlt_claims.store import open_store

    s = open_store(db_path)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Model conversions are shared across tests (expensive), everything else is per test."""
    shared = os.environ.get("XLT_CLAIMS_CACHE") or str(tmp_path_factory.getbasetemp().parent / "xlt-cache")
    monkeypatch.setenv("XLT_CLAIMS_CACHE", shared)
