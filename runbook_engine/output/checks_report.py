"""ChecksReport: an event sink that collects check results (`Result.data["check"]`) from
host_result events and renders them as a console table, a JSON document and a
self-contained HTML file.

    report = ChecksReport(html_path="report.html", json_path=None, console=Console())
    bus.add(report)          # ... run ...
    bus.close()              # writes the files and prints the table
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_engine.checks import worst
from runbook_engine.checks.report import CheckRow, as_json, headline, render_html, summary
from runbook_engine.events import Event

if TYPE_CHECKING:  # rich costs ~40 ms of start-up: imported when a table is printed
    from rich.console import Console
    from rich.table import Table

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


class ChecksReport:
    def __init__(
        self,
        html_path: str | Path | None = None,
        json_path: str | Path | None = None,
        console: Console | Callable[[], Console] | None = None,
        title: str = "Health report",
    ) -> None:
        """`console`: where the table goes after the run, or a function making it (called
        only if there is a table to print)."""
        self.html_path = Path(html_path) if html_path else None
        self.json_path = Path(json_path) if json_path else None
        self.console = console
        self.title = title
        self.rows: list[CheckRow] = []
        self.playbook: str | None = None
        self._closed = False

    @classmethod
    def for_file(
        cls, path: str | Path, console: Console | Callable[[], Console] | None = None
    ) -> ChecksReport:
        """`--report FILE`: JSON when FILE ends in .json, else self-contained HTML."""
        if str(path).endswith(".json"):
            return cls(json_path=path, console=console)
        return cls(html_path=path, console=console)

    # -- sink protocol -----------------------------------------------------------
    def handle(self, event: Event) -> None:
        if event.kind == "run_start":
            self.playbook = event.data.get("playbook")
        elif event.kind == "host_result":
            self._collect(event)
        elif event.kind == "host_unreachable":
            self.rows.append(CheckRow(event.host or "?", event.task or "", "host reachable",
                                      "fail", None, None, str(event.data.get("msg", ""))))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.json_path:
            _write_atomic(self.json_path, json.dumps(self.to_json(), indent=2, default=str))
        if self.html_path:
            _write_atomic(self.html_path, self.to_html())
        if self.console is not None and self.rows:
            console = self.console if hasattr(self.console, "print") else self.console()
            console.print(self.table())

    # -- views -------------------------------------------------------------------
    @property
    def status(self) -> str:
        return worst([r.status for r in self.rows])

    def meta(self) -> dict[str, Any]:
        return {"title": self.title, "playbook": self.playbook,
                "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}

    def to_json(self) -> dict[str, Any]:
        return as_json(self.rows, self.meta())

    def to_html(self) -> str:
        return render_html(self.rows, self.meta())

    def table(self) -> Table:
        from rich.table import Table

        counts = summary(self.rows)
        caption = "  ".join(f"{n} {s}" for s, n in counts.items())
        table = Table(title=f"{self.title}: {self.status.upper()}", caption=caption)
        # thresholds and full values are in the JSON / HTML; the detail says it in words
        for column in ("Host", "Check", "Status", "Value", "Detail"):
            table.add_column(column, overflow="fold")
        for row in self.rows:
            table.add_row(row.host, row.name, f"[{_STYLE.get(row.status, 'red')}]"
                          f"{row.status.upper()}[/]", headline(row.value), row.detail)
        return table

    # -- collection ----------------------------------------------------------------
    def _collect(self, event: Event) -> None:
        result = event.data.get("result")
        data = getattr(result, "data", None) or {}
        items = data.get("check")
        if items is None:
            return
        for item in items if isinstance(items, list) else [items]:
            self.rows.append(CheckRow(
                host=event.host or "?", task=event.task or "",
                name=str(item.get("name", event.task or "check")),
                status=str(item.get("status", "fail")), value=item.get("value"),
                threshold=item.get("threshold"), detail=str(item.get("detail", "")),
            ))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
