"""GitHubSummarySink: the markdown appended to $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.summary import GitHubSummarySink

from .scenario import emit_run


def summary(tmp_path: Path, finish: bool = True) -> str:
    path = tmp_path / "step_summary.md"
    path.write_text("previous step\n")
    bus = EventBus([GitHubSummarySink(path)])
    emit_run(bus, finish=finish)
    bus.close()
    text = path.read_text()
    assert text.startswith("previous step\n")  # appended, never overwritten
    return text.removeprefix("previous step\n")


def test_verdict_and_recap_table(tmp_path: Path) -> None:
    lines = summary(tmp_path).splitlines()
    assert lines[0] == (
        "### ❌ runbook `playbooks/site.yml`: exit code 12: "
        "some host failed and some host unreachable"
    )
    assert lines[2] == "run `r-42` · 1m15s"
    table = lines[lines.index("| Host | ok | changed | unreachable | failed | skipped | rescued "
                              "| ignored |"):]  # fmt: skip
    assert table[1] == "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    assert table[2:5] == [
        "| db1 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |",
        "| web1 | 5 | 2 | 0 | 0 | 1 | 0 | 1 |",
        "| web2 | 3 | 1 | 0 | 1 | 0 | 0 | 0 |",
    ]


def test_failed_tasks_with_messages(tmp_path: Path) -> None:
    text = summary(tmp_path)
    lines = text.splitlines()
    start = lines.index("#### Failed tasks")
    assert lines[start + 2 : start + 6] == [
        "| Play | Task | Host | Status | Message |",
        "| --- | --- | --- | --- | --- |",
        "| web | check uptime | db1 | unreachable | ssh: connect to db1:22: Connection refused |",
        "| web | restart app | web2 | failed | rc=3: non-zero return code |",
    ]
    assert "ngnix" not in text  # the ignored loop failure is not a failed task
    assert "<details><summary>stderr: web2 · restart app</summary>" in lines
    fence = lines.index("```text")
    assert lines[fence + 1] == "trace line 1"
    assert lines[fence + 26] == "Error: port 8080 in use"
    assert lines[fence + 27] == "```"


def test_warnings_listed(tmp_path: Path) -> None:
    assert "- host web2 failed; continuing with the remaining hosts" in summary(tmp_path)


def test_unfinished_run_counts_what_it_saw(tmp_path: Path) -> None:
    lines = summary(tmp_path, finish=False).splitlines()
    assert lines[0] == "### ⚠️ runbook `playbooks/site.yml`: did not finish"
    assert "| web1 | 2 | 3 | 0 | 0 | 1 | 0 | 1 |" in lines
    assert "| db1 | 0 | 0 | 1 | 0 | 0 | 0 | 0 |" in lines


def test_cells_cannot_break_the_table(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    bus = EventBus([GitHubSummarySink(path)])
    bus.emit("run_start", playbook="p.yml", check=True)
    bus.emit("host_result", play="p", task="a | b", host="h", task_id="1", status="failed",
             result=Result(failed=True, msg="line1\n<b>x</b> | y", stderr="has ``` fence"),
             duration=0.1)  # fmt: skip
    bus.emit("run_end", stats={"h": {"failed": 1}}, exit_code=4, duration=1.0)
    bus.close()
    lines = path.read_text().splitlines()
    assert "1.0s · check mode" in lines
    assert "| p | a \\| b | h | failed | line1<br>&lt;b&gt;x&lt;/b&gt; \\| y |" in lines
    assert "````text" in lines  # a longer fence than any backtick run inside


def test_all_ok_and_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    bus = EventBus([GitHubSummarySink()])
    bus.emit("run_start", playbook="ok.yml")
    bus.emit("run_end", stats={"h": {"ok": 2}}, exit_code=0, duration=0.5)
    bus.close()
    text = path.read_text()
    assert text.startswith("### ✅ runbook `ok.yml`: exit code 0: all hosts ok\n")
    assert "| h | 2 | 0 | 0 | 0 | 0 | 0 | 0 |" in text.splitlines()
    assert "Failed tasks" not in text


def test_without_a_summary_file_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    sink = GitHubSummarySink()
    sink.handle(EventBus().emit("run_end", stats={}, exit_code=0, duration=0.0))
    sink.close()
    assert list(tmp_path.iterdir()) == []
    assert "exit code 0" in sink.markdown()
