"""Gather facts in one round trip with POSIX tools (no Python on the host).

Facts land both as `ansible_facts.<name>` and as top-level `ansible_<name>` variables,
as Ansible injects them.
"""

from __future__ import annotations

from typing import Any

from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

_SCRIPT = r"""
h=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)
echo "hostname=$h"
echo "fqdn=$(hostname -f 2>/dev/null || echo "$h")"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
echo "distribution=${ID:-unknown}"
echo "distribution_version=${VERSION_ID:-}"
echo "distribution_pretty=${PRETTY_NAME:-}"
echo "os_family_like=${ID_LIKE:-$ID}"
echo "system=$(uname -s)"
echo "kernel=$(uname -r)"
echo "architecture=$(uname -m)"
echo "processor_vcpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
echo "memtotal_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "user_dir=$HOME"
echo "shell=${SHELL:-}"
for m in apt-get dnf yum apk zypper pacman; do
  if command -v $m >/dev/null 2>&1; then echo "pkg_mgr=${m%-get}"; break; fi
done
if [ -d /run/systemd/system ]; then echo "service_mgr=systemd"; else echo "service_mgr=sysvinit"; fi
echo "date_time_epoch=$(date +%s)"
"""

_FAMILIES = {"debian": "Debian", "ubuntu": "Debian", "rhel": "RedHat", "fedora": "RedHat",
             "centos": "RedHat", "alpine": "Alpine", "suse": "Suse", "arch": "Archlinux"}


class Args(ModuleArgs):
    gather_subset: list[str] | str | None = None
    filter: str | None = None


def run(ctx: TaskContext, args: Args) -> Result:
    out = ctx.run(_SCRIPT)
    if out.rc != 0:
        return Result(failed=True, msg=f"could not gather facts: {out.stderr.strip()}")
    facts: dict[str, Any] = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            facts[key] = value
    like = facts.pop("os_family_like", "").split()
    facts["os_family"] = next((_FAMILIES[w] for w in like if w in _FAMILIES),
                              facts.get("distribution", "").capitalize())
    for key in ("processor_vcpus", "user_uid", "date_time_epoch"):
        if facts.get(key, "").isdigit():
            facts[key] = int(facts[key])
    kb = facts.pop("memtotal_kb", "")
    facts["memtotal_mb"] = int(kb) // 1024 if kb.isdigit() else None
    injected: dict[str, Any] = {f"ansible_{k}": v for k, v in facts.items()}
    injected["ansible_facts"] = facts
    return Result(data={"ansible_facts": injected})
