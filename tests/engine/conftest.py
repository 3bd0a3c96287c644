"""Helpers to run `runbook` on a playbook written by the test."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli_harness import CliResult


@pytest.fixture
def write(tmp_path: Path):
    """write("site.yml", yaml_text) -> path; text is dedented."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


def runbook_process(*args: str | Path, timeout: float = 120) -> CliResult:
    """Run the real `runbook` command in a child process."""
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_engine", *[str(a) for a in args]],
        capture_output=True, text=True, timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
