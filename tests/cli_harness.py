"""Running the `runbook` command in the test's own process (fast), as the `runbook`
fixture of tests/conftest.py does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class CliResult:
    rc: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str | Path) -> CliResult:
    from runbook_engine.cli import main

    rc = main([str(a) for a in args])
    captured = capsys.readouterr()
    return CliResult(rc, captured.out, captured.err)
