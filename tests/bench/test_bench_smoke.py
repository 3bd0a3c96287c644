"""The benchmark's workload and verifier stay runnable: runbook-engine on 2 real sshd
hosts, first run and idempotent re-run, each verified (the peers are not run here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import tools
from bench.fixtures import make_cert, make_targets, prepare
from bench.verify import verify
from tests.fixtures.sshd import HostPool

pytestmark = [pytest.mark.ssh]


def test_workload_runs_and_verifies(sshd_pool: HostPool, tmp_path: Path) -> None:
    daemons = [sshd_pool.start(f"benchsmoke{i}", sudo=False) for i in range(2)]
    # 3 inventory hosts on 2 daemons: the --scale layout is covered too
    targets = make_targets(daemons, 3)
    cert = make_cert(tmp_path)
    prepare(targets, "runbook", cert)
    assert verify(targets, "runbook", cert), "the verifier must reject the starting state"
    inv = tools.invocation("runbook", tmp_path / "work", targets, 3)
    for phase in ("first", "rerun"):
        done = subprocess.run(inv.argv, env=inv.env, cwd=inv.cwd, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"{phase}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        assert verify(targets, "runbook", cert) == [], phase
        if phase == "rerun":
            assert "changed=0" in done.stdout
    # the floor's script reaches the same end state
    prepare(targets, "floor", cert)
    floor = tools.invocation("floor", tmp_path / "floor", targets, 3)
    done = subprocess.run(floor.argv, env=floor.env, cwd=floor.cwd, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert verify(targets, "floor", cert) == []


def test_report_shows_the_machine_speed_each_result_was_measured_at() -> None:
    from bench import report, speed

    probe = speed.probe_ms()
    assert 0 < probe < 5000
    run = {"first": {"wall": 1.0, "cpu": 0.5, "peak_rss_mb": 50.0}, "speed_probe_ms": probe}
    summary = report.summarize([run, {**run, "speed_probe_ms": probe + 2}])
    assert summary["speed_probe_ms"] == probe + 1
    assert f"median {probe + 1:.1f} ms" in report.table(2, {"runbook": summary})
