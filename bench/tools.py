"""How each tool is invoked on the same targets: runbook-engine, ansible-playbook,
pyinfra and the floor. Each tool works in its own directory on every target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench import venvs
from bench.fixtures import PLAYBOOK, WORKLOAD, Target

REPO = Path(__file__).resolve().parent.parent
RUNBOOK = REPO / ".venv" / "bin" / "runbook"
TOOLS = ("runbook", "ansible", "pyinfra", "floor")
# Connect timeout for every tool (the floor passes it to paramiko): the default 10 s of
# runbook and ansible lost 4 of 500 hosts during a load spike (load average ~400).
CONNECT_TIMEOUT = 30


@dataclass
class Invocation:
    argv: list[str]
    env: dict[str, str]
    cwd: str


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYINFRA_"))}
    env.update(extra or {})
    return env


def _inventory(targets: list[Target], tool: str) -> dict[str, object]:
    hosts = {}
    for t in targets:
        d = t.daemon
        hosts[t.name] = {
            "ansible_host": d.address,
            "ansible_port": d.port,
            "ansible_user": d.user,
            "ansible_ssh_private_key_file": d.key_file,
            "runbook_known_hosts_file": d.known_hosts,
            "ansible_ssh_timeout": CONNECT_TIMEOUT,
            "bench_root": t.root(tool),
        }
    return {"all": {"children": {"bench": {"hosts": hosts}}}}


def byte_compile_runbook() -> None:
    """Write runbook_engine's .pyc files, as `pip install` does for an installed package
    (and did for ansible and pyinfra in their venvs). The editable install here, with
    PYTHONDONTWRITEBYTECODE=1 in the environment, otherwise compiles every module from
    source at each start: ~0.13 s of CPU per invocation that no user pays."""
    import compileall

    compileall.compile_dir(str(REPO / "runbook_engine"), quiet=1)


def runbook(workdir: Path, targets: list[Target], parallel: int) -> Invocation:
    byte_compile_runbook()
    inv = workdir / "inventory.yml"
    inv.write_text(yaml.safe_dump(_inventory(targets, "runbook"), sort_keys=False))
    argv = [str(RUNBOOK), "run", str(PLAYBOOK), "-i", str(inv), "-f", str(parallel)]
    return Invocation(argv, _env(), str(workdir))


_ANSIBLE_CFG = """\
[defaults]
forks = {forks}
host_key_checking = True
interpreter_python = /usr/bin/python3
gathering = explicit
retry_files_enabled = False
local_tmp = {workdir}/ansible-local
deprecation_warnings = False

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s
    -o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes
control_path_dir = {workdir}/cp
"""


def ansible(workdir: Path, targets: list[Target], parallel: int) -> Invocation:
    inv = workdir / "inventory.yml"
    inv.write_text(yaml.safe_dump(_inventory(targets, "ansible"), sort_keys=False))
    cfg = workdir / "ansible.cfg"
    cfg.write_text(_ANSIBLE_CFG.format(forks=parallel, workdir=workdir,
                                       known_hosts=targets[0].daemon.known_hosts))
    (workdir / "cp").mkdir(exist_ok=True)
    exe = venvs.ensure("ansible")
    env = _env({"ANSIBLE_CONFIG": str(cfg), "PATH": f"{exe.parent}:{os.environ['PATH']}"})
    return Invocation([str(exe), "-i", str(inv), str(PLAYBOOK)], env, str(workdir))


def stop_ansible_masters(workdir: Path) -> None:
    """Tell every ControlPersist master to exit (so each run starts cold, like a new day)."""
    for sock in (workdir / "cp").glob("*"):
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "bench"],
                       capture_output=True, timeout=10)


def pyinfra(workdir: Path, targets: list[Target], parallel: int) -> Invocation:
    hosts = [
        (t.name, {
            "ssh_hostname": t.daemon.address,
            "ssh_port": t.daemon.port,
            "ssh_user": t.daemon.user,
            "ssh_key": t.daemon.key_file,
            "ssh_known_hosts_file": t.daemon.known_hosts,
            "ssh_strict_host_key_checking": "yes",
            "bench_root": t.root("pyinfra"),
        })
        for t in targets
    ]
    inv = workdir / "inventory.py"
    inv.write_text(f"hosts = {hosts!r}\n")
    exe = venvs.ensure("pyinfra")
    argv = [str(exe), "-y", "--parallel", str(parallel), str(inv), "deploy.py"]
    return Invocation(argv, _env(), str(WORKLOAD))


def floor(workdir: Path, targets: list[Target], parallel: int) -> Invocation:
    spec = {
        "parallel": parallel,
        "targets": [
            {"name": t.name, "address": t.daemon.address, "port": t.daemon.port,
             "user": t.daemon.user, "key_file": t.daemon.key_file,
             "known_hosts": t.daemon.known_hosts, "root": t.root("floor"),
             "timeout": CONNECT_TIMEOUT}
            for t in targets
        ],
    }
    path = workdir / "floor.json"
    path.write_text(json.dumps(spec))
    return Invocation([sys.executable, "-m", "bench.floor", str(path)],
                      _env({"PYTHONPATH": str(REPO)}), str(REPO))


BUILDERS = {"runbook": runbook, "ansible": ansible, "pyinfra": pyinfra, "floor": floor}


def invocation(tool: str, workdir: Path, targets: list[Target], parallel: int) -> Invocation:
    workdir.mkdir(parents=True, exist_ok=True)
    return BUILDERS[tool](workdir, targets, parallel)


def after_run(tool: str, workdir: Path) -> None:
    if tool == "ansible":
        stop_ansible_masters(workdir)
