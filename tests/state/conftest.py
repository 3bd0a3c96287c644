"""Store tests run against both backends: a SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_engine.state import Store, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state/state.db"
    return str(request.getfixturevalue("postgres_db"))


@pytest.fixture
def store(state_url: str) -> Iterator[Store]:
    opened = open_store(state_url)
    try:
        yield opened
    finally:
        opened.close()
