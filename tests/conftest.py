"""Loads every fixture module in tests/fixtures/ (real servers: sshd, S3, ACME, ...);
modules whose name starts with "_" are helpers they share, not fixtures.

Each server fixture is session-scoped, waits on readiness (a port that answers), and
stops its process by PID when the session ends.
"""

from __future__ import annotations

import functools
import pkgutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_harness import CliResult, run_in_process

_FIXTURES = Path(__file__).parent / "fixtures"

pytest_plugins = [
    f"tests.fixtures.{m.name}"
    for m in pkgutil.iter_modules([str(_FIXTURES)])
    if not m.name.startswith("_")
]

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runbook(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the CLI in this process (fast); returns rc, stdout, stderr."""
    return functools.partial(run_in_process, capsys)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session", autouse=True)
def _isolated_state_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs are journaled by default; keep the suite's history out of ./.runbook."""
    import os

    if "RUNBOOK_STATE_DIR" not in os.environ and "RUNBOOK_STATE_URL" not in os.environ:
        os.environ["RUNBOOK_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
