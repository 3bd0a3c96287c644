"""The human face of a run: Ansible-like lines, a live progress line on a terminal, a recap.

Lines are built as (text, style) segments. Without a terminal they are joined and written
as plain text (no rich object per line: 50 hosts x 10 tasks must stay cheap), hosts'
results in batches at most 0.2 s old (`paced.PacedWriter`) and everything else at once;
with colour or progress they go through one rich Console, and the progress line is a rich
Live display.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from runbook_engine.errors import ExitCode
from runbook_engine.events import Event
from runbook_engine.modules.base import Result
from runbook_engine.output.paced import PacedWriter

Segment = tuple[str, str]  # (text, rich style; "" for none)

STATUS_STYLES = {
    "ok": "green",
    "changed": "yellow",
    "failed": "red",
    "skipped": "cyan",
    "unreachable": "magenta",
}
MESSAGE_MODULES = frozenset({"debug"})
RECAP_COUNTERS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
# Output of a failure printed without -v; the rest is one -v away.
FAILURE_LINES = 20
WIDTH = 80


def exit_code_meaning(code: int | None) -> str:
    """What an exit code tells a human (and CI)."""
    if code is None:
        return "run did not finish"
    if code == ExitCode.OK:
        return "all hosts ok"
    known = {
        ExitCode.INTERNAL: "internal error",
        ExitCode.INVALID_INPUT: "invalid input",
        ExitCode.INTERRUPTED: "interrupted",
    }
    if code in known:
        return known[ExitCode(code)]
    parts = []
    if code & ExitCode.HOST_FAILED:
        parts.append("some host failed")
    if code & ExitCode.HOST_UNREACHABLE:
        parts.append("some host unreachable")
    return " and ".join(parts) or "unknown"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 1:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def result_summary(result: Result) -> dict[str, Any]:
    """The registered value without the *_lines duplicates: what -v prints."""
    value = result.registered()
    value.pop("stdout_lines", None)
    value.pop("stderr_lines", None)
    return value


def _json(value: Any, indent: int | None) -> str:
    return json.dumps(value, indent=indent, default=str, ensure_ascii=False, sort_keys=True)


class ConsoleSink:
    """Prints the run as it happens; see the module docstring."""

    def __init__(
        self,
        stream: TextIO | None = None,
        verbosity: int = 0,
        color: bool | None = None,
        progress: bool | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.verbosity = verbosity
        tty = _isatty(self.stream)
        self.color = (tty and "NO_COLOR" not in os.environ) if color is None else color
        self.progress = tty if progress is None else progress
        self.diff_mode = False
        self._console: Any = None
        self._live: Any = None
        if self.color or self.progress:
            from rich.console import Console

            # An explicit colour request wins over TERM=dumb (CI logs render ANSI fine).
            dumb = os.environ.get("TERM", "") in ("dumb", "unknown")
            self._console = Console(
                file=self.stream,
                force_terminal=True,
                color_system="standard" if self.color and dumb else "auto",
                no_color=not self.color,
                highlight=False,
                soft_wrap=True,
            )
        self._task_number = 0
        self._task_total: int | None = None
        self._task_hosts = 0
        self._task_module = ""
        self._hosts_done: set[str] = set()
        self._closed = False
        # Plain text for a pipe or a file; a terminal gets every line at once.
        self._paced = PacedWriter(self.stream) if self._console is None and not tty else None

    # -- event dispatch ------------------------------------------------------------
    def handle(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(event)
            if self._paced is not None and event.kind != "host_result":
                self._paced.flush()  # banners, warnings and the recap: not a moment late

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_progress()
        if self._paced is not None:
            self._paced.close()
        self.stream.flush()

    # -- events --------------------------------------------------------------------
    def _on_run_start(self, event: Event) -> None:
        data = event.data
        self.diff_mode = bool(data.get("diff"))
        if data.get("check"):
            self._line([("CHECK MODE: nothing will be changed on hosts", "bold yellow")])
        if self.verbosity >= 1:
            inventory = ", ".join(str(i) for i in data.get("inventory") or [])
            run_id = f" (run {data['run_id']})" if data.get("run_id") else ""
            self._line([(f"playbook {data.get('playbook', '?')}{run_id}", "dim")])
            if inventory:
                self._line([(f"inventory {inventory}", "dim")])

    def _on_play_start(self, event: Event) -> None:
        hosts = event.data.get("hosts") or []
        self._task_number = 0
        self._task_total = event.data.get("task_count")
        plural = "" if len(hosts) == 1 else "s"
        count = f" ({len(hosts)} host{plural})" if self.verbosity >= 1 else ""
        self._blank()
        self._line(_banner(f"PLAY [{event.play or ''}]{count}", "bold"))

    def _on_task_start(self, event: Event) -> None:
        data = event.data
        self._task_number += 1
        self._task_hosts = len(data.get("hosts") or [])
        self._task_module = str(data.get("module") or "")
        self._hosts_done = set()
        kind = "RUNNING HANDLER" if data.get("handler") else "TASK"
        title = f"{kind} [{event.task or ''}]"
        position = _file_line(str(data.get("position") or ""))
        if position:
            title += f" {position}"
        if self.verbosity >= 2 and data.get("module"):
            title += f" ({data['module']})"
        self._blank()
        self._line(_banner(title, "bold"))
        self._update_progress()

    def _on_host_result(self, event: Event) -> None:
        data = event.data
        status = str(data.get("status", "ok"))
        result = data.get("result")
        if not isinstance(result, Result):
            result = Result()
        self._line(self._host_line(event.host or "?", status, result, data))
        if status in ("failed", "unreachable"):
            self._failure_details(result)
        elif status in ("ok", "changed") and self.verbosity >= 1:
            indent = 2 if self.verbosity >= 3 else None
            self._line([(_json(result_summary(result), indent), "")])
        if result.diff and (self.diff_mode or self.verbosity >= 2):
            for entry in result.diff:
                for segment in _diff_lines(entry):
                    self._line([segment])
        if data.get("ignored"):
            self._line([("...ignoring", "cyan")])
        if event.host:
            self._hosts_done.add(event.host)
        self._update_progress()

    def _on_warning(self, event: Event) -> None:
        self._line([(f"[WARNING]: {event.data.get('msg', '')}", "bold magenta")])

    def _on_run_end(self, event: Event) -> None:
        self._stop_progress()
        stats: Mapping[str, Mapping[str, int]] = event.data.get("stats") or {}
        self._blank()
        self._line(_banner("PLAY RECAP", "bold"))
        width = max((len(h) for h in stats), default=0)
        for host in sorted(stats):
            self._line(_recap_line(host, stats[host], width))
        code = event.data.get("exit_code")
        duration = format_duration(event.data.get("duration"))
        style = "bold green" if code == 0 else "bold red"
        self._blank()
        self._line([(f"exit code {code}: {exit_code_meaning(code)}", style),
                    (f" - total time {duration}", "")])  # fmt: skip

    # -- pieces --------------------------------------------------------------------
    def _host_line(
        self, host: str, status: str, result: Result, data: Mapping[str, Any]
    ) -> list[Segment]:
        style = STATUS_STYLES.get(status, "")
        text = f"{status}: [{host}]"
        if "item" in data:
            text += f" => (item={data['item']})"
        segments = [(text, style)]
        if status in ("failed", "unreachable"):
            message = result.msg or (result.stderr.strip().splitlines() or [""])[-1]
            rc = f"rc={result.rc} " if result.rc not in (None, 0) else ""
            if message or rc:
                segments.append((f" => {rc}{message}".rstrip(), style))
        elif status in ("ok", "changed") and result.msg and self._is_message_module(data):
            first, *rest = result.msg.splitlines() or [""]
            segments.append((f" => {first}", ""))
            segments.extend((f"\n    {line}", "") for line in rest)
        elif status == "skipped" and result.msg and self.verbosity >= 1:
            segments.append((f" => {result.msg}", style))
        if data.get("rescued"):
            segments.append((" (rescued)", "cyan"))
        if self.verbosity >= 2 and data.get("duration") is not None:
            segments.append((f" ({float(data['duration']):.2f}s)", "dim"))
        return segments

    def _is_message_module(self, data: Mapping[str, Any]) -> bool:
        """debug's message is its whole point: shown without -v, as Ansible does."""
        return str(data.get("module") or self._task_module) in MESSAGE_MODULES

    def _failure_details(self, result: Result) -> None:
        if self.verbosity >= 1:
            self._line([(_json(result_summary(result), 2), "red")])
            return
        for name, text in (("stderr", result.stderr), ("stdout", result.stdout)):
            lines = text.rstrip().splitlines()
            if not lines or (name == "stdout" and result.stderr.strip()):
                continue
            if len(lines) == 1 and lines[0].strip() == result.msg.strip():
                continue
            self._line([(f"  {name}:", "red")])
            for line in lines[-FAILURE_LINES:]:
                self._line([(f"    {line}", "")])
            if len(lines) > FAILURE_LINES:
                more = len(lines) - FAILURE_LINES
                self._line([(f"    ({more} earlier lines not shown; use -v)", "dim")])

    # -- writing -------------------------------------------------------------------
    def _line(self, segments: list[Segment]) -> None:
        if self._console is None:
            (self._paced or self.stream).write("".join(text for text, _ in segments) + "\n")
            return
        from rich.text import Text

        self._console.print(Text.assemble(*segments))

    def _blank(self) -> None:
        self._line([("", "")])

    def _update_progress(self) -> None:
        if not self.progress or self._console is None:
            return
        from rich.text import Text

        total = f"/{self._task_total}" if self._task_total else ""
        text = Text(
            f"task {self._task_number}{total} - "
            f"{len(self._hosts_done)}/{self._task_hosts} hosts done",
            style="dim",
        )
        if self._live is None:
            from rich.live import Live

            self._live = Live(
                text,
                console=self._console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._live.update(text, refresh=True)

    def _stop_progress(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _file_line(position: str) -> str:
    """'file:line:col' -> 'file:line' (the column is noise in a task header)."""
    parts = position.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return f"{parts[0]}:{parts[1]}"
    return position


def _banner(title: str, style: str) -> list[Segment]:
    stars = "*" * max(3, WIDTH - len(title) - 1)
    return [(title, style), (" " + stars, "")]


def _recap_line(host: str, counts: Mapping[str, int], width: int) -> list[Segment]:
    if counts.get("unreachable"):
        host_style = STATUS_STYLES["unreachable"]
    elif counts.get("failed"):
        host_style = STATUS_STYLES["failed"]
    elif counts.get("changed"):
        host_style = STATUS_STYLES["changed"]
    else:
        host_style = STATUS_STYLES["ok"]
    segments: list[Segment] = [(host.ljust(width), host_style), (" :", "")]
    for name in RECAP_COUNTERS:
        value = int(counts.get(name, 0) or 0)
        style = STATUS_STYLES.get(name, "") if value else ""
        segments.append((f" {name}={value}".ljust(len(name) + 6), style))
    segments[-1] = (segments[-1][0].rstrip(), segments[-1][1])
    return segments


def _diff_lines(entry: Mapping[str, Any]) -> list[Segment]:
    import difflib  # only when a diff is shown: not on every start

    if "prepared" in entry:
        return [(line, "") for line in str(entry["prepared"]).splitlines()]
    before = str(entry.get("before", ""))
    after = str(entry.get("after", ""))
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=str(entry.get("before_header", "before")),
        tofile=str(entry.get("after_header", "after")),
        lineterm="",
    )
    styled = []
    for line in lines:
        if line.startswith(("+++", "---")):
            styled.append((line, "bold"))
        elif line.startswith("+"):
            styled.append((line, "green"))
        elif line.startswith("-"):
            styled.append((line, "red"))
        else:
            styled.append((line, "cyan" if line.startswith("@@") else ""))
    return styled
