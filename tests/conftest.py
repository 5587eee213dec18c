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


# --- real servers (tests/_servers.py): started once per session, only by the tests that ask ----------

def _server_missing(why: str) -> None:
    """Skip with the reason; under CI (.ci/run installs the packages) a missing server is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide this server: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def pg_server():
    from _servers import start_postgres

    server, why = start_postgres()
    if server is None:
        _server_missing(why)
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database on the session's server (dropped after the test)."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path: Path):
    """The claim store on SQLite and on a real PostgreSQL server, for tests that must hold on both."""
    from xlt_claims.store import open_store

    if request.param == "sqlite":
        s = open_store(tmp_path / "claims.db")
    else:
        s = open_store(request.getfixturevalue("pg_url"))
    yield s
    s.close()


@pytest.fixture(scope="session")
def slurm_cluster():
    from _servers import start_slurm

    cluster, why = start_slurm()
    if cluster is None:
        _server_missing(why)
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    yield cluster
    if old is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = old
    cluster.stop()


@pytest.fixture(autouse=True)
def _isolated_data_registry(tmp_path, monkeypatch):
    """`claims data add` writes a per-user registry; tests never see (or change) the developer's."""
    monkeypatch.setenv("XLT_CLAIMS_DATA_REGISTRY", str(tmp_path / "data-registry.json"))
