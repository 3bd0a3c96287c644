"""package: install/remove packages with whatever manager the host has.

apt (Debian, Ubuntu) goes through the apt module's code; dnf and yum (Fedora, RHEL)
are handled here with `rpm -q` for the current state. The manager is detected in the
same round trip that reads the installed state.
"""

from __future__ import annotations

import shlex
from typing import Any, Literal

from pydantic import field_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import apt
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext


class Args(ModuleArgs):
    name: list[str]
    state: apt.State = "present"
    use: Literal["auto", "apt", "dnf", "yum"] = "auto"

    @field_validator("name", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return apt.split_names(value)

    @field_validator("name")
    @classmethod
    def _valid(cls, value: list[str]) -> list[str]:
        return apt.check_names(value)


def _rpm_installed(ctx: TaskContext, names: list[str]) -> set[str]:
    if not names:
        return set()
    done = ctx.run(f"rpm -q --qf '%{{NAME}}\\n' -- {shlex.join(names)} 2>/dev/null")
    return {line.strip() for line in done.stdout.splitlines() if line.strip() in names}


def _run_rpm(ctx: TaskContext, args: Args, tool: str) -> Result:
    names = [n.split("=", 1)[0] for n in args.name]
    installed = _rpm_installed(ctx, names)
    if args.state in ("present", "installed"):
        verb, targets = "install", [n for n in names if n not in installed]
    elif args.state == "latest":
        missing = [n for n in names if n not in installed]
        if ctx.check_mode:
            updates = ctx.run(f"{tool} -q check-update -- {shlex.join(names)}").rc == 100
            return Result(changed=bool(missing) or updates)
        if missing:
            verb, targets = "install", names
        else:
            verb, targets = "upgrade", names
    else:
        verb, targets = "remove", [n for n in names if n in installed]
    if not targets:
        return Result(msg="nothing to do")
    if ctx.check_mode:
        return Result(changed=True, msg=f"would {verb}: {' '.join(targets)}")
    done = ctx.run(f"{tool} -y {verb} -- {shlex.join(targets)}")
    if done.rc != 0:
        raise ModuleFailure(f"{tool} {verb} failed (rc={done.rc}): {done.stderr.strip()}")
    changed = verb != "upgrade" or "Nothing to do" not in done.stdout
    return Result(changed=changed, stdout=done.stdout, stderr=done.stderr, rc=done.rc)


def run(ctx: TaskContext, args: Args) -> Result:
    probe = apt.parse_probe(ctx.run(apt.probe_script(list(args.name))).stdout)
    manager = probe.manager if args.use == "auto" else args.use
    if manager == "apt":
        if probe.manager != "apt":
            raise ModuleFailure("apt-get/dpkg-query not found on the host")
        apt_args = apt.Args(name=list(args.name), state=args.state)
        return apt.run_apt(ctx, apt_args, probe)
    if manager in ("dnf", "yum"):
        return _run_rpm(ctx, args, manager)
    raise ModuleFailure("no supported package manager (apt, dnf, yum) found on the host")
