"""Start-up cost: `--version` and an empty playbook, median of several runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import time

from bench import venvs
from bench.fixtures import WORKLOAD
from bench.tools import REPO, RUNBOOK

REPEAT = 5


def _median_wall(argv: list[str], cwd: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    walls = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def startup_costs(tool_names: list[str]) -> dict[str, float]:
    empty = str(WORKLOAD / "empty.yml")
    local = str(REPO / "inventories" / "local.yml")
    cmds: dict[str, list[str]] = {
        "runbook --version": [str(RUNBOOK), "--version"],
        "runbook run empty.yml": [str(RUNBOOK), "run", empty, "-i", local],
    }
    if "ansible" in tool_names:
        exe = str(venvs.peer_bin("ansible"))
        cmds["ansible-playbook --version"] = [exe, "--version"]
        cmds["ansible-playbook empty.yml"] = [exe, "-i", "localhost,", "-c", "local", empty]
    if "pyinfra" in tool_names:
        cmds["pyinfra --version"] = [str(venvs.peer_bin("pyinfra")), "--version"]
    return {name: _median_wall(argv, str(REPO)) for name, argv in cmds.items()}
