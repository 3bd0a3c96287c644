"""A markdown summary of the run for a GitHub Actions job page ($GITHUB_STEP_SUMMARY).

Appended at close(): a verdict line, the recap table, the failed and unreachable hosts with
their messages (and the tail of their stderr, folded), and the warnings.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

from runbook_engine.events import Event
from runbook_engine.modules.base import Result
from runbook_engine.output.console import RECAP_COUNTERS, exit_code_meaning, format_duration

_STDERR_TAIL = 30


@dataclass(frozen=True, slots=True)
class _Problem:
    play: str
    task: str
    host: str
    status: str
    item: str | None
    result: Result


def cell(text: object) -> str:
    """Text that stays inside one markdown table cell and renders literally."""
    escaped = html.escape(str(text), quote=False).replace("|", "\\|")
    return "<br>".join(line.strip() for line in escaped.strip().splitlines())


def fenced(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


class GitHubSummarySink:
    """Appends the run's markdown summary to `path` (default: $GITHUB_STEP_SUMMARY)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        target = path if path is not None else os.environ.get("GITHUB_STEP_SUMMARY")
        self.path = Path(target) if target else None
        self.run: dict[str, object] = {}
        self.stats: dict[str, dict[str, int]] | None = None
        self.exit_code: int | None = None
        self.duration: float | None = None
        self.problems: list[_Problem] = []
        self.warnings: list[str] = []
        self._seen: dict[str, dict[str, int]] = {}
        self._closed = False

    def handle(self, event: Event) -> None:
        data = event.data
        if event.kind == "run_start":
            self.run = dict(data)
        elif event.kind == "host_result":
            status = str(data.get("status", "ok"))
            host = event.host or "?"
            counts = self._seen.setdefault(host, dict.fromkeys(RECAP_COUNTERS, 0))
            counted_as = "ignored" if data.get("ignored") else status
            counted_as = "rescued" if data.get("rescued") and status == "failed" else counted_as
            if counted_as in counts:
                counts[counted_as] += 1
            if counted_as in ("failed", "unreachable"):
                result = data.get("result")
                item = str(data["item"]) if "item" in data else None
                self.problems.append(
                    _Problem(event.play or "", event.task or "", host, status, item,
                             result if isinstance(result, Result) else Result())
                )  # fmt: skip
        elif event.kind == "warning":
            self.warnings.append(str(data.get("msg", "")))
        elif event.kind == "run_end":
            self.stats = data.get("stats") or {}
            self.exit_code = data.get("exit_code")
            self.duration = data.get("duration")

    def markdown(self) -> str:
        playbook = self.run.get("playbook", "playbook")
        finished = self.stats is not None
        icon = "⚠️" if not finished else "✅" if self.exit_code == 0 else "❌"
        verdict = f"exit code {self.exit_code}: {exit_code_meaning(self.exit_code)}"
        if not finished:
            verdict = "did not finish"
        out = [f"### {icon} runbook `{playbook}`: {verdict}", ""]
        facts = []
        if self.run.get("run_id"):
            facts.append(f"run `{self.run['run_id']}`")
        if self.duration is not None:
            facts.append(format_duration(self.duration))
        if self.run.get("check"):
            facts.append("check mode")
        if self.run.get("limit"):
            facts.append(f"limit `{self.run['limit']}`")
        if facts:
            out += [" · ".join(facts), ""]
        out += self._recap()
        out += self._problems()
        if self.warnings:
            out += ["#### Warnings", ""] + [f"- {cell(w)}" for w in self.warnings] + [""]
        return "\n".join(out) + "\n"

    def _recap(self) -> list[str]:
        stats = self.stats if self.stats else self._seen
        if not stats:
            return []
        header = "| Host | " + " | ".join(RECAP_COUNTERS) + " |"
        rule = "| --- |" + " ---: |" * len(RECAP_COUNTERS)
        rows = [
            f"| {cell(host)} | "
            + " | ".join(str(stats[host].get(name, 0)) for name in RECAP_COUNTERS)
            + " |"
            for host in sorted(stats)
        ]
        return [header, rule, *rows, ""]

    def _problems(self) -> list[str]:
        if not self.problems:
            return []
        out = ["#### Failed tasks", "", "| Play | Task | Host | Status | Message |",
               "| --- | --- | --- | --- | --- |"]  # fmt: skip
        for p in self.problems:
            task = f"{p.task} (item={p.item})" if p.item is not None else p.task
            message = p.result.msg or (p.result.stderr.strip().splitlines() or [""])[-1]
            if p.result.rc not in (None, 0):
                message = f"rc={p.result.rc}: {message}"
            out.append(
                f"| {cell(p.play)} | {cell(task)} | {cell(p.host)} | {p.status} | {cell(message)} |"
            )
        out.append("")
        for p in self.problems:
            lines = p.result.stderr.rstrip().splitlines()
            if not lines:
                continue
            title = html.escape(f"{p.host} · {p.task}", quote=False)
            out += [f"<details><summary>stderr: {title}</summary>", "",
                    fenced("\n".join(lines[-_STDERR_TAIL:])), "", "</details>", ""]  # fmt: skip
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.path is None:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(self.markdown())
