"""Runs through the API: triggered, followed to their end, approved; all in the history."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.conftest import Server
from tests.scheduler.helpers import wait_until


def _follow(client: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    with client.stream("GET", f"/runs/{run_id}/events", timeout=180) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in stream.iter_lines() if line]


def test_a_run_is_triggered_and_followed_to_its_end(server: Server) -> None:
    marker = server.work / "followed.txt"
    with server.client(server.token) as ci:
        started = ci.post("/runs", json={"playbook": "marker", "limit": "localhost",
                                         "extra_vars": {"marker": str(marker)}})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        events = _follow(ci, run_id)
        kinds = [e["kind"] for e in events]
        assert kinds[0] == "run_start" and events[0]["run_id"] == run_id
        assert "host_result" in kinds and kinds[-2:] == ["run_end", "exit"]
        assert events[-1]["exit_code"] == 0
        written = next(e for e in events if e["kind"] == "host_result")
        assert (written["task"], written["result"]["status"]) == ("write marker", "changed")
        result = ci.get(f"/runs/{run_id}").json()
        assert (result["status"], result["exit_code"]) == ("ok", 0)
        assert result["trigger"] == "api:ci" and result["playbook_name"] == "marker"
        assert run_id in [r["id"] for r in ci.get("/runs").json()]
    assert marker.read_text().split() == [run_id]
    with server.client(server.other_token) as other:
        assert other.get(f"/runs/{run_id}").status_code == 403
        assert run_id not in [r["id"] for r in other.get("/runs").json()]


def test_an_approval_is_granted_through_the_api(server: Server) -> None:
    marker = server.work / "approved.txt"
    with server.client(server.token) as ci:
        started = ci.post("/runs", json={"playbook": "gate",
                                         "extra_vars": {"marker": str(marker)}})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]

        def pending() -> bool:
            approvals = ci.get(f"/runs/{run_id}").json().get("approvals", [])
            return any(a["status"] == "pending" for a in approvals)

        wait_until(pending, 120, "the run to wait at its approval step")
        assert not marker.exists()
        with server.client(server.other_token) as other:
            assert other.post(f"/runs/{run_id}/approve", json={}).status_code == 403
        granted = ci.post(f"/runs/{run_id}/approve", json={"reason": "change OPS-7"})
        assert granted.status_code == 200, granted.text
        assert granted.json()["status"] == "approved"
        assert granted.json()["decided_by"] == "api:ci"
        assert ci.post(f"/runs/{run_id}/deny", json={}).status_code == 409  # decided already
        events = _follow(ci, run_id)
        assert events[-1]["exit_code"] == 0
        result = ci.get(f"/runs/{run_id}").json()
        assert result["status"] == "ok"
        assert [(a["step"], a["status"], a["reason"]) for a in result["approvals"]] == [
            ("go ahead", "approved", "change OPS-7")]
    assert marker.read_text().split() == [run_id]
