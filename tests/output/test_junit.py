"""JunitSink: the XML a CI dashboard reads, parsed back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.junit import JunitSink

from .scenario import emit_run


def write_report(tmp_path: Path, finish: bool = True) -> ET.Element:
    path = tmp_path / "reports" / "junit.xml"
    bus = EventBus([JunitSink(path)])
    emit_run(bus, finish=finish)
    assert not path.exists()  # written at close(), not before
    bus.close()
    assert [p.name for p in path.parent.iterdir()] == ["junit.xml"]  # no temporary left
    return ET.parse(path).getroot()


def case(root: ET.Element, classname: str, name: str) -> ET.Element:
    found = [c for c in root.iter("testcase") if (c.get("classname"), c.get("name")) == (
        classname, name)]  # fmt: skip
    assert len(found) == 1, f"{classname} / {name}: {len(found)} testcases"
    return found[0]


def test_suites_per_play_and_totals(tmp_path: Path) -> None:
    root = write_report(tmp_path)
    assert root.tag == "testsuites"
    assert root.get("name") == "playbooks/site.yml"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["web", "db"]
    web = suites[0]
    # check uptime x3, write config x2, install packages x1, set db password x2, restart app x2
    assert (web.get("tests"), web.get("failures"), web.get("errors"), web.get("skipped")) == (
        "10", "1", "1", "1"
    )  # fmt: skip
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("11", "1", "1")
    assert root.get("time") == "75.400"
    assert web.get("timestamp", "").endswith("+00:00")


def test_failed_host_is_a_failure_with_message_and_output(tmp_path: Path) -> None:
    root = write_report(tmp_path)
    web2 = case(root, "web.web2", "restart app")
    assert web2.get("time") == "1.500"
    failure = web2.find("failure")
    assert failure is not None
    assert failure.get("message") == "non-zero return code"
    assert failure.get("type") == "failed"
    assert (failure.text or "").startswith("rc: 3\nnon-zero return code\ntrace line 1")
    assert (web2.findtext("system-err") or "").endswith("Error: port 8080 in use")
    assert web2.findtext("system-out") == "starting <app> & co"


def test_unreachable_is_an_error_and_skipped_is_skipped(tmp_path: Path) -> None:
    root = write_report(tmp_path)
    error = case(root, "web.db1", "check uptime").find("error")
    assert error is not None
    assert error.get("message") == "ssh: connect to db1:22: Connection refused"
    skipped = case(root, "web.web1", "restart app").find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "conditional result was False"


def test_loop_items_make_one_case_and_ignored_failure_passes(tmp_path: Path) -> None:
    root = write_report(tmp_path)
    loop = case(root, "web.web1", "install packages")
    assert loop.find("failure") is None
    assert loop.find("error") is None
    assert loop.get("time") == "1.000"
    assert (loop.findtext("system-out") or "").startswith(
        "failed (item=ngnix), ignored: no such package: ngnix"
    )
    assert loop.findtext("system-err") == "[item=ngnix]\nE: Unable to locate package ngnix"


def test_passing_cases_have_no_children_but_output(tmp_path: Path) -> None:
    root = write_report(tmp_path)
    ok = case(root, "web.web1", "check uptime")
    assert [child.tag for child in ok] == ["system-out"]
    assert ok.findtext("system-out") == "up 3 days"
    assert [child.tag for child in case(root, "web.web2", "write config")] == []


def test_masked_results_stay_masked(tmp_path: Path) -> None:
    root = write_report(tmp_path)
    secret = case(root, "web.web1", "set db password")
    assert [child.tag for child in secret] == []
    text = ET.tostring(root, encoding="unicode")
    assert "password" not in text.replace("set db password", "")


def test_interrupted_run_still_writes_a_report(tmp_path: Path) -> None:
    root = write_report(tmp_path, finish=False)
    assert root.get("tests") == "11"
    assert root.get("time") == "8.650"  # sum of testcase times when run_end never came


def test_control_characters_do_not_break_the_xml(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    sink = JunitSink(path)
    bus = EventBus([sink])
    bus.emit("play_start", play="p", hosts=["h"])
    bus.emit("host_result", play="p", task="colours", host="h", task_id="1", status="failed",
             result=Result(failed=True, msg="bad \x1b[31mred\x1b[0m\x00",
                           stdout="\x1b[1mbold\x1b[0m"), duration=0.2)  # fmt: skip
    sink.close()
    sink.close()
    testcase = ET.parse(path).getroot().find("testsuite/testcase")
    assert testcase is not None
    failure = testcase.find("failure")
    assert failure is not None
    assert failure.get("message") == "bad \\x1b[31mred\\x1b[0m\\x00"
    assert testcase.findtext("system-out") == "\\x1b[1mbold\\x1b[0m"
