"""Stopping the API server stops the runs it started cleanly: interrupted, resumable."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.api.conftest import running_server
from tests.scheduler.helpers import runs, wait_until


def test_sigterm_to_the_server_leaves_its_runs_interrupted_not_lost(tmp_path: Path) -> None:
    with running_server(tmp_path) as (server, process):
        with server.client(server.token) as ci:
            started = ci.post("/runs", json={"playbook": "gate",
                                             "extra_vars": {"marker": str(tmp_path / "m")}})
            assert started.status_code == 202, started.text
            run_id = started.json()["run_id"]
            wait_until(lambda: ci.get(f"/runs/{run_id}").json().get("approvals"), 120,
                       "the run to wait at its approval step")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=90)
        # uvicorn ends by re-raising the SIGTERM it handled: a clean stop either way
        assert process.returncode in (0, -15), output
        assert "Application shutdown complete" in output
    [run] = [r for r in runs(tmp_path / "state") if r.id == run_id]
    assert (run.status, run.exit_code, run.trigger) == ("interrupted", 130, "api:ci")
    assert not (tmp_path / "m").exists()
