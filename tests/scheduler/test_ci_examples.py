"""The shipped CI examples parse, and every `runbook run` line in them is a valid command."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
import yaml

from runbook_engine.cli import main as runbook_main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "ci"
SHELL_ENDS = {">", ">>", "|", "&&", "||", ";", "2>", "2>&1"}


def _github_scripts(document: dict) -> list[str]:
    return [step["run"] for job in document["jobs"].values() for step in job["steps"]
            if "run" in step]


def _gitlab_scripts(document: dict) -> list[str]:
    scripts: list[str] = []
    for job in document.values():
        if isinstance(job, dict):
            for key in ("before_script", "script"):
                scripts += job.get(key, [])
    return scripts


def _runbook_commands(scripts: list[str]) -> list[list[str]]:
    commands = []
    for script in scripts:
        for line in script.splitlines():
            if "runbook run" not in line:
                continue
            words = shlex.split(os.path.expandvars(line.strip()))
            end = next((i for i, w in enumerate(words) if w in SHELL_ENDS), len(words))
            commands.append(words[:end])
    return commands


@pytest.mark.parametrize(("name", "scripts_of", "on"), [
    ("github-actions.yml", _github_scripts, True),  # YAML 1.1 reads the key `on` as True
    ("gitlab-ci.yml", _gitlab_scripts, "stages"),
])
def test_ci_example_command_lines_pass_syntax_check(
        name: str, scripts_of, on: object, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    assert on in document
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("LIMIT", "all")
    monkeypatch.setenv("RUNBOOK_STATE_DIR", str(tmp_path))
    commands = _runbook_commands(scripts_of(document))
    assert len(commands) >= 2  # a validation or dry run, and the real run
    for words in commands:
        assert words[:2] == ["runbook", "run"], words
        assert "playbooks/health-check.yml" in words
        code = runbook_main([*words[1:], "--syntax-check"])
        assert code == 0, (words, capsys.readouterr().err)
    assert any("--format" in words and "jsonl" in words for words in commands)
    assert any("--check" in words for words in commands)
