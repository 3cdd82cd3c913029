"""Fixtures for the session-store tests: a throwaway PostgreSQL server, and a fresh store on each dialect.

The server is calib.bench.postgres (Debian's binaries, a temp folder, a unix socket). Missing
binaries fail the tests with what to install: CI installs them (.ci/run); nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from calib.bench.postgres import INSTALL_HINT, PostgresServer, postgres_bin


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for the whole test run (fails, never skips, without binaries)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        pytest.fail(f"could not start a throwaway PostgreSQL server: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty session store: a SQLite file, then a new database on the throwaway server."""
    if request.param == "sqlite":
        return str(tmp_path / "sessions.sqlite")
    return request.getfixturevalue("postgres_server").create_database()
