"""apt: install, upgrade or remove Debian packages with apt-get.

One round trip reads what is installed (dpkg-query) and how old the package cache is; a
second one, only when needed, updates the cache and installs/removes. Whether anything
changed is read from apt-get's own summary line ("N upgraded, N newly installed, N to
remove"), so `latest` is exact. Check mode runs the same apt-get with `-s` (simulate),
which needs no root and changes nothing.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, field_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

_TAG = "@@RBPKG@@"
# name[:arch][=version]; anything else (spaces, options, shell) is refused
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.\-]*(:[a-z0-9\-]+)?(=[A-Za-z0-9.+~:\-]+)?$")
_SUMMARY = re.compile(
    r"^(\d+) upgraded, (\d+) newly installed, (?:(\d+) downgraded, )?(\d+) to remove", re.M
)
_APT_ENV = "DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a"
_APT_OPTS = (
    "-y -q -o DPkg::Lock::Timeout=300 "
    "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
)

State = Literal["present", "installed", "absent", "removed", "latest"]


def split_names(value: Any) -> Any:
    """`name: a,b` and `name: [a, b]` both mean two packages."""
    if value is None:
        return []
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    return value


def check_names(names: list[str]) -> list[str]:
    for name in names:
        if not _PACKAGE.match(name):
            raise ValueError(f"invalid package name {name!r}")
    return names


class Args(ModuleArgs):
    name: list[str] = Field(default=[], alias="pkg")
    state: State = "present"
    update_cache: bool = False
    cache_valid_time: int = 0
    purge: bool = False
    autoremove: bool = False
    install_recommends: bool | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_names(value)

    @field_validator("name")
    @classmethod
    def _valid(cls, value: list[str]) -> list[str]:
        return check_names(value)


@dataclass
class Probe:
    manager: str
    installed: dict[str, str] = field(default_factory=dict)  # package -> version
    config_only: set[str] = field(default_factory=set)  # removed, config files left
    cache_time: int = 0
    now: int = 0


def probe_script(names: list[str]) -> str:
    """Which package manager, the package cache's age, and (apt) the dpkg state of names."""
    bare = [n.split("=", 1)[0] for n in names]
    dpkg = ":"
    if bare:
        fmt = shlex.quote(f"{_TAG}pkg ${{Package}} ${{Status}} ${{Version}}\n")
        dpkg = f"dpkg-query -W -f={fmt} -- {shlex.join(bare)} 2>/dev/null"
    return f"""
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
  echo "{_TAG}manager apt"
  stamp=0
  for f in /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists; do
    if [ -e "$f" ]; then m=$(stat -c %Y "$f"); [ "$m" -gt "$stamp" ] && stamp=$m; fi
  done
  echo "{_TAG}cache $stamp $(date +%s)"
  {dpkg}
elif command -v dnf >/dev/null 2>&1; then echo "{_TAG}manager dnf"
elif command -v yum >/dev/null 2>&1; then echo "{_TAG}manager yum"
else echo "{_TAG}manager none"
fi
exit 0
"""


def parse_probe(stdout: str) -> Probe:
    probe = Probe(manager="none")
    for line in stdout.splitlines():
        if not line.startswith(_TAG):
            continue
        key, _, rest = line[len(_TAG) :].partition(" ")
        words = rest.split()
        if key == "manager":
            probe.manager = rest.strip()
        elif key == "cache" and len(words) == 2:
            probe.cache_time, probe.now = int(words[0]), int(words[1])
        elif key == "pkg" and len(words) >= 4:
            package, status = words[0], words[1:4]
            version = words[4] if len(words) > 4 else ""
            if status[2] == "installed":
                probe.installed[package] = version
            elif status[2] == "config-files":
                probe.config_only.add(package)
    return probe


def _wanted_missing(args: Args, probe: Probe) -> list[str]:
    missing = []
    for spec in args.name:
        package, _, version = spec.partition("=")
        have = probe.installed.get(package)
        if have is None or (version and have != version):
            missing.append(spec)
    return missing


def _to_remove(args: Args, probe: Probe) -> list[str]:
    names = [n.split("=", 1)[0] for n in args.name]
    present = set(probe.installed) | (probe.config_only if args.purge else set())
    return [n for n in names if n in present]


def _apt_get(verb: str, names: list[str], args: Args, simulate: bool) -> str:
    opts = _APT_OPTS + (" -s" if simulate else "")
    if args.install_recommends is True:
        opts += " --install-recommends"
    elif args.install_recommends is False:
        opts += " --no-install-recommends"
    if verb == "remove" and args.purge:
        opts += " --purge"
    if verb == "remove" and args.autoremove:
        opts += " --auto-remove"
    return f"{_APT_ENV} apt-get {opts} {verb} -- {shlex.join(names)}"


def _summary_changes(output: str) -> bool:
    return any(
        any(int(n or 0) for n in match.groups()) for match in _SUMMARY.finditer(output)
    )


def run_apt(ctx: TaskContext, args: Args, probe: Probe) -> Result:
    """The apt half, shared with the generic `package` module."""
    data: dict[str, Any] = {"cache_updated": False, "cache_update_time": probe.cache_time}
    commands: list[str] = []
    age = probe.now - probe.cache_time
    wants_update = args.update_cache and not (
        args.cache_valid_time and probe.cache_time and age < args.cache_valid_time
    )
    if wants_update and not ctx.check_mode:
        commands.append(f"{_APT_ENV} apt-get -q -o DPkg::Lock::Timeout=300 update")
        data["cache_updated"] = True
    if args.state in ("present", "installed"):
        targets = _wanted_missing(args, probe)
        if targets:
            commands.append(_apt_get("install", targets, args, ctx.check_mode))
    elif args.state == "latest":
        if args.name:
            commands.append(_apt_get("install", list(args.name), args, ctx.check_mode))
    else:
        targets = _to_remove(args, probe)
        if targets:
            commands.append(_apt_get("remove", targets, args, ctx.check_mode))
    if not commands:
        return Result(msg="nothing to do", data=data)
    done = ctx.run(" && ".join(commands))
    if done.rc != 0:
        detail = (done.stderr.strip() or done.stdout.strip())[-3000:]
        raise ModuleFailure(f"apt-get failed (rc={done.rc}): {detail}")
    if data["cache_updated"]:
        data["cache_update_time"] = probe.now
    changed = _summary_changes(done.stdout)
    return Result(changed=changed, stdout=done.stdout, stderr=done.stderr, rc=done.rc, data=data)


def run(ctx: TaskContext, args: Args) -> Result:
    probe = parse_probe(ctx.run(probe_script(list(args.name))).stdout)
    if probe.manager != "apt":
        raise ModuleFailure("apt-get/dpkg-query not found on the host: use the package module")
    return run_apt(ctx, args, probe)
