"""JsonSink: one parseable document, whatever happened during the run."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.json_sink import JsonSink

from .scenario import MASKED, STATS, emit_run


def run_document(finish: bool = True) -> dict:
    stream = io.StringIO()
    bus = EventBus([JsonSink(stream=stream)])
    emit_run(bus, finish=finish)
    assert stream.getvalue() == ""  # nothing before close()
    bus.close()
    return json.loads(stream.getvalue())


def test_document_shape_and_totals() -> None:
    doc = run_document()
    assert doc["run"]["run_id"] == "r-42"
    assert doc["run"]["playbook"] == "playbooks/site.yml"
    assert doc["run"]["started"].endswith("+00:00")
    assert [p["name"] for p in doc["plays"]] == ["web", "db"]
    assert [t["name"] for t in doc["plays"][0]["tasks"]] == [
        "check uptime", "write config", "install packages", "set db password", "restart app"
    ]  # fmt: skip
    assert doc["stats"] == STATS
    assert doc["exit_code"] == 12
    assert doc["finished"] is True
    assert doc["duration"] == 75.4
    assert doc["warnings"] == ["host web2 failed; continuing with the remaining hosts"]


def test_task_and_host_results() -> None:
    tasks = run_document()["plays"][0]["tasks"]
    uptime = tasks[0]
    assert uptime["task_id"] == "t1"
    assert uptime["module"] == "command"
    assert uptime["position"] == "playbooks/site.yml:5:7"
    assert uptime["results"]["web1"]["stdout"] == "up 3 days"
    assert uptime["results"]["web1"]["status"] == "ok"
    assert uptime["results"]["web1"]["duration"] == 0.25
    db1 = uptime["results"]["db1"]
    assert (db1["status"], db1["unreachable"]) == ("unreachable", True)
    assert db1["msg"] == "ssh: connect to db1:22: Connection refused"
    config = tasks[1]["results"]["web1"]
    assert config["changed"] is True
    assert config["dest"] == "/etc/app.conf"  # module data sits beside the standard keys
    assert config["diff"][0]["after"] == "port=8080\n"
    failed = tasks[4]["results"]["web2"]
    assert (failed["failed"], failed["rc"]) == (True, 3)
    assert failed["stderr"].endswith("Error: port 8080 in use\n")


def test_loop_results_are_a_list_per_host() -> None:
    loop = run_document()["plays"][0]["tasks"][2]["results"]["web1"]
    assert [(r["item"], r["status"], r["ignored"]) for r in loop] == [
        ("nginx", "changed", False),
        ("ngnix", "failed", True),
    ]


def test_masked_result_stays_masked() -> None:
    doc = run_document()
    secret_task = doc["plays"][0]["tasks"][3]["results"]
    assert secret_task["web1"]["msg"] == MASKED
    assert secret_task["web1"]["censored"] == MASKED


def test_handler_and_rescued_flags() -> None:
    handler = run_document()["plays"][1]["tasks"][0]
    assert handler["handler"] is True
    assert handler["results"]["web1"]["rescued"] is True


def test_interrupted_run_still_prints_valid_json() -> None:
    doc = run_document(finish=False)
    assert doc["finished"] is False
    assert doc["exit_code"] is None
    assert doc["stats"] == {}
    assert doc["plays"][1]["tasks"][0]["results"]["web1"]["status"] == "ok"
    assert isinstance(doc["duration"], float)


def test_odd_values_are_serialised_safely() -> None:
    stream = io.StringIO()
    sink = JsonSink(stream=stream)
    bus = EventBus([sink])
    bus.emit("play_start", play="p", hosts=["h"])
    bus.emit("task_start", play="p", task="t", task_id="1", module="stat", position="a:1:1",
             hosts=["h"], handler=False)  # fmt: skip
    data = {
        "raw": b"\xff\xfe",
        "text": b"plain",
        "when": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        "tags": {"b", "a"},
        "path": Path("/etc/hosts"),
        "pair": ("x", 1),
        "nan": float("nan"),
        "keys": {1: "one", ("a", "b"): "tuple"},
        "obj": object.__new__(type("Opaque", (), {"__str__": lambda self: "opaque!"})),
    }
    bus.emit("host_result", play="p", task="t", host="h", task_id="1", status="ok",
             result=Result(data=data), duration=0.1, ignored=False, rescued=False)  # fmt: skip
    sink.close()
    sink.close()  # printed once
    text = stream.getvalue()
    entry = json.loads(text)["plays"][0]["tasks"][0]["results"]["h"]
    assert entry["raw"] == "base64://4="
    assert entry["text"] == "plain"
    assert entry["when"] == "2024-05-01T12:00:00+00:00"
    assert entry["tags"] == ["a", "b"]
    assert entry["path"] == "/etc/hosts"
    assert entry["pair"] == ["x", 1]
    assert entry["nan"] == "nan"
    assert entry["keys"] == {"1": "one", "['a', 'b']": "tuple"}
    assert entry["obj"] == "opaque!"
    assert text.count('"plays"') == 1


def test_result_without_task_start_is_kept() -> None:
    stream = io.StringIO()
    bus = EventBus([JsonSink(stream=stream)])
    bus.emit("host_result", play="p", task="orphan", host="h", task_id="9", status="failed",
             result=Result(failed=True, msg="x"), duration=0.0)  # fmt: skip
    bus.close()
    doc = json.loads(stream.getvalue())
    assert doc["plays"][0]["tasks"][0]["results"]["h"]["msg"] == "x"
