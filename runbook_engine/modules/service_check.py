"""service_check: is a service up? A systemd unit when systemd runs the host; otherwise
(or in addition) a process by name and / or a TCP port listening. One round trip.

    - service_check: {name: nginx}                 # systemd unit, else a process "nginx"
    - service_check: {process: redis-server, port: 6379}
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from pydantic import Field, model_validator

from runbook_engine.checks import check_item, check_result
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext, fail

_COMM_MAX = 15  # the kernel truncates /proc/PID/comm to 15 characters


class Args(ModuleArgs):
    name: str | None = Field(None, description="systemd unit (`.service` may be omitted)")
    process: str | None = Field(None, description="process name (comm) to look for")
    port: int | None = Field(None, ge=1, le=65535, description="TCP port that must listen")
    min_count: int = Field(1, ge=1, description="fewest matching processes")

    @model_validator(mode="after")
    def _something_to_check(self) -> Args:
        if not (self.name or self.process or self.port):
            raise ValueError("give at least one of name, process, port")
        return self


def _script(args: Args) -> str:
    parts = []
    if args.name:
        unit = shlex.quote(args.name)
        parts.append(
            "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then"
            f" echo @@systemd; systemctl is-active -- {unit}; fi"
        )
    parts.append("echo @@procs; cat /proc/[0-9]*/stat 2>/dev/null")
    if args.port:
        parts.append("echo @@tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null")
    return "; ".join(parts) + "; true"


def _sections(stdout: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("@@"):
            current = found.setdefault(line[2:], [])
        else:
            current.append(line)
    return found


def _pids_named(stat_lines: list[str], name: str) -> list[int]:
    """PIDs whose /proc/PID/stat (`pid (comm) state ...`) names `name`; zombies skipped."""
    want = name[:_COMM_MAX]
    pids = []
    for line in stat_lines:
        match = re.match(r"(\d+) \((.*)\) (\S)", line)
        if match and match.group(2) == want and match.group(3) not in "ZX":
            pids.append(int(match.group(1)))
    return sorted(pids)


def _listening(tcp_lines: list[str], port: int) -> bool:
    for line in tcp_lines:
        fields = line.split()
        # fields: sl local_address rem_address st ...; st 0A = LISTEN
        if len(fields) > 3 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[-1], 16) == port:
            return True
    return False


def run(ctx: TaskContext, args: Args) -> Result:
    out = ctx.run(_script(args))
    sections = _sections(out.stdout)
    if "procs" not in sections:
        return fail(f"could not inspect processes: {out.stderr.strip()}")
    items: list[dict[str, Any]] = []
    process = args.process
    if args.name and "systemd" in sections:
        state = (sections["systemd"] or ["unknown"])[0].strip()
        items.append(
            check_item(
                f"unit {args.name}",
                "ok" if state == "active" else "fail",
                state,
                "active",
                f"systemd says {state}",
            )
        )
    elif args.name and not process:
        process = args.name.removesuffix(".service")  # no systemd: look for the process
    if process:
        pids = _pids_named(sections["procs"], process)
        detail = f"{len(pids)} running" + (
            f" (pids {', '.join(map(str, pids[:5]))})" if pids else ""
        )
        items.append(
            check_item(
                f"process {process}",
                "ok" if len(pids) >= args.min_count else "fail",
                len(pids),
                {"min_count": args.min_count},
                detail,
            )
        )
    if args.port:
        up = _listening(sections.get("tcp", []), args.port)
        items.append(
            check_item(
                f"port {args.port}",
                "ok" if up else "fail",
                "listening" if up else "closed",
                "listening",
                f"tcp/{args.port} {'is' if up else 'is not'} listening",
            )
        )
    return check_result(items if len(items) > 1 else items[0])
