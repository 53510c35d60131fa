"""Faults survived: real gunicorn processes, real databases, real signals.

Every test here carries the `faults` mark: `pytest -m faults` runs only these,
`pytest -m "not faults"` skips them. They run in CI on PostgreSQL (and SQLite where
the fault is SQLite's); outside CI a missing service skips them, in CI it fails them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from live import PostgresDatabase, postgres_admin_url

FAULTS_DIR = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "faults: fault-injection tests with real servers (kill -9, restarts, full disk)"
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        if FAULTS_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def secret() -> str:
    return secrets.token_hex(32)


@pytest.fixture
def pg_database():
    """A PostgreSQL database of this test's own, dropped afterwards."""
    database = PostgresDatabase(postgres_admin_url(), f"assess_faults_{os.getpid()}")
    yield database
    database.drop()


@pytest.fixture
def hook_dir(tmp_path) -> Path:
    path = tmp_path / "hooks"
    path.mkdir()
    return path
