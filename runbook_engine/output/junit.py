"""JUnit XML for CI dashboards: a testsuite per play, a testcase per task x host.

classname is "play.host" and name is the task, so dashboards group by host. A failed host
is a <failure>, an unreachable one an <error>, a skipped one <skipped>. Loop items of one
task on one host make one testcase (the worst item decides). A failure that was ignored
(ignore_errors) or rescued by a block passes, with a note in <system-out>.
The file is written at close(), atomically (temporary file, then rename).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_engine.events import Event
from runbook_engine.modules.base import Result

# Characters XML 1.0 cannot carry at all (ANSI escapes from command output, NULs...).
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Keep the end of long outputs: that is where the error is.
_MAX_OUTPUT = 64 * 1024


def xml_text(value: Any) -> str:
    text = str(value)
    if len(text) > _MAX_OUTPUT:
        text = f"[... {len(text) - _MAX_OUTPUT} characters cut ...]\n" + text[-_MAX_OUTPUT:]
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass
class _Outcome:
    status: str
    result: Result
    duration: float
    item: Any = None
    has_item: bool = False
    ignored: bool = False
    rescued: bool = False


@dataclass
class _Case:
    play: str
    host: str
    task: str
    outcomes: list[_Outcome] = field(default_factory=list)


@dataclass
class _Suite:
    name: str
    started: float
    cases: dict[tuple[str, str], _Case] = field(default_factory=dict)


class JunitSink:
    """Collects results and writes the JUnit XML file at close()."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.playbook = "runbook"
        self.duration: float | None = None
        self.suites: list[_Suite] = []
        self._started: float | None = None
        self._closed = False

    def handle(self, event: Event) -> None:
        if event.kind == "run_start":
            self._started = event.time
            self.playbook = str(event.data.get("playbook") or self.playbook)
        elif event.kind == "play_start":
            self.suites.append(_Suite(event.play or "", event.time))
        elif event.kind == "host_result":
            self._host_result(event)
        elif event.kind == "run_end":
            self.duration = event.data.get("duration")

    def _host_result(self, event: Event) -> None:
        play = event.play or ""
        if not self.suites or self.suites[-1].name != play:
            self.suites.append(_Suite(play, event.time))
        suite = self.suites[-1]
        data = event.data
        host, task = event.host or "?", event.task or ""
        key = (str(data.get("task_id", task)), host)
        case = suite.cases.setdefault(key, _Case(play, host, task))
        result = data.get("result")
        case.outcomes.append(
            _Outcome(
                status=str(data.get("status", "ok")),
                result=result if isinstance(result, Result) else Result(),
                duration=float(data.get("duration") or 0.0),
                item=data.get("item"),
                has_item="item" in data,
                ignored=bool(data.get("ignored", False)),
                rescued=bool(data.get("rescued", False)),
            )
        )

    # -- XML -----------------------------------------------------------------------
    def document(self) -> ET.Element:
        root = ET.Element("testsuites", name=xml_text(self.playbook))
        totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        case_time = 0.0
        for suite in self.suites:
            element, counts, seconds = _suite_element(suite)
            root.append(element)
            case_time += seconds
            for name in totals:
                totals[name] += counts[name]
        for name, value in totals.items():
            root.set(name, str(value))
        root.set("time", f"{self.duration if self.duration is not None else case_time:.3f}")
        return root

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tree = ET.ElementTree(self.document())
        ET.indent(tree)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                tree.write(handle, encoding="utf-8", xml_declaration=True)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _suite_element(suite: _Suite) -> tuple[ET.Element, dict[str, int], float]:
    element = ET.Element("testsuite", name=xml_text(suite.name))
    counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    seconds = 0.0
    for case in suite.cases.values():
        case_element, kind = _case_element(case)
        element.append(case_element)
        counts["tests"] += 1
        if kind:
            counts[kind] += 1
        seconds += float(case_element.get("time", "0"))
    for name, value in counts.items():
        element.set(name, str(value))
    element.set("time", f"{seconds:.3f}")
    element.set("timestamp", dt.datetime.fromtimestamp(suite.started, dt.UTC).isoformat())
    return element, counts, seconds


def _case_element(case: _Case) -> tuple[ET.Element, str]:
    """The testcase and which counter it adds to ("failures", "errors", "skipped" or "")."""
    seconds = sum(o.duration for o in case.outcomes)
    element = ET.Element(
        "testcase",
        classname=xml_text(f"{case.play}.{case.host}"),
        name=xml_text(case.task),
        time=f"{seconds:.3f}",
    )
    unreachable = [o for o in case.outcomes if o.status == "unreachable"]
    failed = [o for o in case.outcomes if o.status == "failed"]
    counted = [o for o in failed if not (o.ignored or o.rescued)]
    kind = ""
    if unreachable:
        kind = "errors"
        _problem(element, "error", "unreachable", unreachable)
    elif counted:
        kind = "failures"
        _problem(element, "failure", "failed", counted)
    elif all(o.status == "skipped" for o in case.outcomes):
        kind = "skipped"
        ET.SubElement(element, "skipped", message=xml_text(case.outcomes[0].result.msg))
    notes = [_note(o) for o in failed if o.ignored or o.rescued]
    stdout = [*notes, *(_labelled(o, o.result.stdout) for o in case.outcomes)]
    stderr = [_labelled(o, o.result.stderr) for o in case.outcomes]
    for tag, parts in (("system-out", stdout), ("system-err", stderr)):
        text = "\n".join(p for p in parts if p)
        if text:
            ET.SubElement(element, tag).text = xml_text(text)
    return element, kind


def _problem(element: ET.Element, tag: str, kind: str, outcomes: list[_Outcome]) -> None:
    first = outcomes[0].result
    message = first.msg or (first.stderr.strip().splitlines() or [kind])[-1]
    if len(outcomes) > 1:
        message += f" (and {len(outcomes) - 1} more items)"
    details = []
    for outcome in outcomes:
        r = outcome.result
        lines = [f"item: {outcome.item}"] if outcome.has_item else []
        lines += [f"rc: {r.rc}"] if r.rc is not None else []
        lines += [r.msg] if r.msg else []
        lines += [r.stderr.rstrip()] if r.stderr.strip() else []
        details.append("\n".join(lines))
    problem = ET.SubElement(element, tag, message=xml_text(message), type=kind)
    problem.text = xml_text("\n\n".join(details))


def _note(outcome: _Outcome) -> str:
    why = "ignored" if outcome.ignored else "rescued"
    item = f" (item={outcome.item})" if outcome.has_item else ""
    return f"failed{item}, {why}: {outcome.result.msg}"


def _labelled(outcome: _Outcome, text: str) -> str:
    if not text.strip():
        return ""
    return f"[item={outcome.item}]\n{text.rstrip()}" if outcome.has_item else text.rstrip()
