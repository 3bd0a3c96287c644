"""service: start/stop/restart/reload a service and set whether it starts at boot.

systemd when it is the running init (/run/systemd/system), else SysV init scripts
(`service NAME ACTION` or /etc/init.d/NAME, enabled through update-rc.d or chkconfig).
One round trip reads the current state; a second one acts, only when needed.
"""

from __future__ import annotations

import re
import shlex
from typing import Literal

from pydantic import field_validator, model_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

_TAG = "@@RBSVC@@"
_NAME = re.compile(r"^[A-Za-z0-9_.@:\-]+$")

_PROBE = r"""
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo "{tag}manager systemd"
  systemctl show --property=LoadState,ActiveState,UnitFileState -- "$name" |
    sed 's/^\([^=]*\)=/{tag}\1 /'
elif [ -x "/etc/init.d/$name" ]; then
  echo "{tag}manager sysv"
  if [ -n "$pattern" ]; then pgrep -f -- "$pattern" >/dev/null 2>&1
  elif command -v service >/dev/null 2>&1; then service "$name" status >/dev/null 2>&1
  else "/etc/init.d/$name" status >/dev/null 2>&1; fi
  echo "{tag}status $?"
  links=; for l in /etc/rc[2345].d/S[0-9][0-9]"$name"; do [ -e "$l" ] && links=1; done
  echo "{tag}enabled ${{links:-0}}"
else
  echo "{tag}manager none"
fi
"""


class Args(ModuleArgs):
    name: str
    state: Literal["started", "stopped", "restarted", "reloaded"] | None = None
    enabled: bool | None = None
    pattern: str | None = None
    daemon_reload: bool = False

    @field_validator("name")
    @classmethod
    def _service_name(cls, value: str) -> str:
        if not _NAME.match(value) or value.startswith("-"):
            raise ValueError(f"invalid service name {value!r}")
        return value

    @model_validator(mode="after")
    def _something_to_do(self) -> Args:
        if self.state is None and self.enabled is None and not self.daemon_reload:
            raise ValueError("give at least one of 'state' or 'enabled'")
        return self


def _probe(ctx: TaskContext, args: Args) -> dict[str, str]:
    setup = f"name={shlex.quote(args.name)}; pattern={shlex.quote(args.pattern or '')}"
    done = ctx.run(setup + _PROBE.format(tag=_TAG))
    facts: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if line.startswith(_TAG):
            key, _, value = line[len(_TAG) :].partition(" ")
            facts[key] = value
    if "manager" not in facts:
        raise ModuleFailure(f"could not inspect service {args.name}: {done.stderr.strip()}")
    return facts


def _current(facts: dict[str, str], args: Args) -> tuple[bool, bool]:
    """(running, enabled) as the probe saw them; fails when the service doesn't exist."""
    manager = facts["manager"]
    if manager == "systemd":
        if facts.get("LoadState") == "not-found":
            raise ModuleFailure(f"Could not find the requested service {args.name}: host")
        running = facts.get("ActiveState") in ("active", "activating", "reloading")
        enabled = facts.get("UnitFileState") in ("enabled", "enabled-runtime", "static",
                                                 "alias", "indirect", "generated")
        return running, enabled
    if manager == "sysv":
        return facts.get("status") == "0", facts.get("enabled") == "1"
    raise ModuleFailure(f"Could not find the requested service {args.name}: host")


def _systemd_commands(args: Args, actions: list[str], enable: bool | None) -> list[str]:
    name = shlex.quote(args.name)
    commands = ["systemctl daemon-reload"] if args.daemon_reload else []  # unit files changed
    commands += [f"systemctl {action} -- {name}" for action in actions]
    if enable is not None:
        commands.append(f"systemctl {'enable' if enable else 'disable'} -- {name}")
    return commands


def _sysv_commands(args: Args, actions: list[str], enable: bool | None) -> list[str]:
    name = shlex.quote(args.name)
    commands = [
        f"if command -v service >/dev/null 2>&1; then service {name} {action}; "
        f"else /etc/init.d/{name} {action}; fi"
        for action in actions
    ]
    if enable is not None:
        word = "enable" if enable else "disable"
        commands.append(
            "if command -v update-rc.d >/dev/null 2>&1; then "
            f"update-rc.d {name} defaults >/dev/null && update-rc.d {name} {word}; "
            f"elif command -v chkconfig >/dev/null 2>&1; then chkconfig {name} "
            f"{'on' if enable else 'off'}; "
            "else echo 'neither update-rc.d nor chkconfig is available' >&2; false; fi"
        )
    return commands


def _actions(args: Args, running: bool) -> list[str]:
    if args.state == "started":
        return [] if running else ["start"]
    if args.state == "stopped":
        return ["stop"] if running else []
    if args.state == "restarted":
        return ["restart"]
    if args.state == "reloaded":
        return ["reload"] if running else ["start"]
    return []


def run(ctx: TaskContext, args: Args) -> Result:
    facts = _probe(ctx, args)
    running, enabled = _current(facts, args)
    actions = _actions(args, running)
    enable = args.enabled if args.enabled is not None and args.enabled != enabled else None
    changed = bool(actions) or enable is not None
    final_running = running if not actions else actions[-1] != "stop"
    final_enabled = enabled if enable is None else enable
    data = {
        "name": args.name,
        "state": "started" if final_running else "stopped",
        "enabled": final_enabled,
        "manager": facts["manager"],
    }
    if not changed or ctx.check_mode:
        if args.daemon_reload and facts["manager"] == "systemd" and not ctx.check_mode:
            ctx.run("systemctl daemon-reload", check=True)
        return Result(changed=changed, data=data)
    build = _systemd_commands if facts["manager"] == "systemd" else _sysv_commands
    script = " && ".join(f"{{ {c}; }}" for c in build(args, actions, enable))
    done = ctx.run(script)
    if done.rc != 0:
        detail = (done.stderr.strip() or done.stdout.strip())[-2000:]
        verb = " and ".join(actions + ([f"{'en' if enable else 'dis'}able"] if enable
                                       is not None else []))
        raise ModuleFailure(f"Unable to {verb} service {args.name}: {detail}")
    return Result(changed=True, data=data)
