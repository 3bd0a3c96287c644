"""wait_for: wait, from the host's side, for a port or a file to reach a state.

The whole polling loop runs on the host in ONE command (one round trip however long the
wait). Ports are probed with bash's /dev/tcp when bash exists, else with nc; without
either the module fails with a clear message. `drained` counts connections with `ss`.
Regexes (`search_regex`) are POSIX extended (grep -E / bash =~), not Python's.
"""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import model_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

_TAG = "@@RBWAIT@@"
_NO_TOOL = 3

# Polling helpers; every value arrives as a shell variable, never spliced into code.
_PROBES = r"""
if command -v bash >/dev/null 2>&1; then tool=bash
elif command -v nc >/dev/null 2>&1; then tool=nc
else tool=; fi
to=; if command -v timeout >/dev/null 2>&1; then to="timeout $ct"; fi
need_tool() {
  [ -n "$tool" ] && return 0
  echo "wait_for needs bash (/dev/tcp) or nc on the host to probe ports" >&2; exit 3
}
port_open() {
  if [ "$tool" = bash ]; then
    $to bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
  else
    nc -z -w "$ct" "$host" "$port" </dev/null >/dev/null 2>&1
  fi
}
port_says() {
  if [ "$tool" = bash ]; then
    $to bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 2
      while IFS= read -r -t "$3" line <&3 || [ -n "$line" ]; do
        [[ $line =~ $4 ]] && exit 0; line=
      done; exit 1' _ "$host" "$port" "$ct" "$regex" 2>/dev/null
  else
    nc -w "$ct" "$host" "$port" </dev/null 2>/dev/null | grep -Eq -- "$regex"
  fi
}
connections() {
  if command -v ss >/dev/null 2>&1; then
    ss -Htn state connected "( sport = :$port )" | wc -l
  else
    echo "wait_for state=drained needs ss (iproute2) on the host" >&2; exit 3
  fi
}
"""


class Args(ModuleArgs):
    host: str = "127.0.0.1"
    port: int | None = None
    path: str | None = None
    state: Literal["started", "stopped", "present", "absent", "drained"] = "started"
    search_regex: str | None = None
    delay: float = 0
    timeout: float = 300
    sleep: float = 1
    connect_timeout: float = 5
    msg: str | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Args:
        if self.port is not None and self.path is not None:
            raise ValueError("port and path are mutually exclusive")
        if self.state == "drained" and self.port is None:
            raise ValueError("state=drained needs a port")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"path must be absolute: {self.path!r}")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is out of range")
        for name in ("delay", "timeout", "sleep", "connect_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} can't be negative")
        return self


def _ready_test(args: Args) -> str:
    """Shell condition that is true once the wait is over."""
    waiting_for_gone = args.state in ("stopped", "absent")
    if args.path is not None:
        if waiting_for_gone:
            return '[ ! -e "$path" ]'
        if args.search_regex:
            return '[ -f "$path" ] && grep -Eq -- "$regex" "$path" 2>/dev/null'
        return '[ -e "$path" ]'
    if args.state == "drained":
        return '[ "$(connections)" -eq 0 ]'
    if waiting_for_gone:
        return "! port_open"
    return "port_says" if args.search_regex else "port_open"


def _script(args: Args) -> str:
    q = shlex.quote
    settings = (
        f"host={q(args.host)}; port={q(str(args.port or ''))}; path={q(args.path or '')}; "
        f"regex={q(args.search_regex or '')}; ct={args.connect_timeout:g}; "
        f"pause={args.sleep:g}; limit={args.timeout:g}"
    )
    lines = [settings, _PROBES, "t0=$(date +%s)"]
    if args.delay:
        lines.append(f"sleep {args.delay:g}")
    if args.port is None and args.path is None:
        lines += ["sleep $limit", f'echo "{_TAG}ok $(( $(date +%s) - t0 ))"']
        return "\n".join(lines)
    if args.port is not None:
        lines.append("need_tool")
    lines += [
        "limit=${limit%.*}",
        "while :; do",
        f"  if {_ready_test(args)}; then echo \"{_TAG}ok $(( $(date +%s) - t0 ))\"; exit 0; fi",
        "  now=$(date +%s)",
        f'  if [ $(( now - t0 )) -ge "$limit" ]; then echo "{_TAG}timeout $(( now - t0 ))"; '
        "exit 0; fi",
        "  sleep $pause",
        "done",
    ]
    return "\n".join(lines)


def _what(args: Args) -> str:
    if args.path is not None:
        return f"file {args.path}"
    if args.port is not None:
        return f"{args.host}:{args.port}"
    return "the timeout"


def run(ctx: TaskContext, args: Args) -> Result:
    done = ctx.run(_script(args))
    if done.rc == _NO_TOOL:
        raise ModuleFailure(done.stderr.strip())
    outcome = next((ln for ln in done.stdout.splitlines() if ln.startswith(_TAG)), "")
    word, _, seconds = outcome[len(_TAG) :].partition(" ")
    if word not in ("ok", "timeout"):
        raise ModuleFailure(f"wait_for failed (rc={done.rc}): {done.stderr.strip()}")
    data: dict[str, object] = {"elapsed": int(seconds or 0), "state": args.state}
    if args.port is not None:
        data["port"] = args.port
    if args.path is not None:
        data["path"] = args.path
    if args.search_regex:
        data["search_regex"] = args.search_regex
    if word == "timeout":
        if args.msg:
            return Result(failed=True, msg=args.msg, data=data)
        if args.search_regex and args.state not in ("stopped", "absent"):
            return Result(
                failed=True,
                msg=f"Timeout when waiting for search string {args.search_regex} in {_what(args)}",
                data=data,
            )
        return Result(failed=True, msg=f"Timeout when waiting for {_what(args)}", data=data)
    return Result(data=data)
