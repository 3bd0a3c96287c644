"""log_scan: count lines matching patterns in a log since the last run.

The byte offset reached (and the file's inode) is kept in a state file ON THE HOST, so each
run reads only what was appended. A new inode means the log was rotated: the rest of the
old file (`PATH.1` or `PATH.0`, when it carries the old inode) is read first, then the new
file from the start. A file shorter than the saved offset was truncated: read from the start.

    - log_scan: {path: /var/log/app.log, patterns: ["ERROR", "panic:"], fail_count: 1}
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Literal

from pydantic import Field

from runbook_engine.checks import check_item, check_result, status_above
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext, fail

_SAMPLE_LINES = 20


class Args(ModuleArgs):
    path: str
    patterns: list[str] = Field(min_length=1, description="extended regular expressions")
    exclude: list[str] = Field(default_factory=list, description="drop lines matching these")
    ignore_case: bool = False
    warn_count: int | None = None
    fail_count: int | None = 1
    state_file: str | None = Field(
        None, description="offset file on the host; default ~/.cache/runbook-engine/log_scan/"
    )
    first_run: Literal["start", "end"] = Field(
        "start", description="with no state yet: scan the whole file, or only what comes next"
    )


def _state_path(args: Args) -> str:
    if args.state_file:
        return shlex.quote(args.state_file)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", args.path.strip("/")) + ".offset"
    return '"${HOME:-/tmp}"/.cache/runbook-engine/log_scan/' + shlex.quote(name)


def _filter(args: Args) -> str:
    flag = "-i " if args.ignore_case else ""
    cmd = f"grep -E {flag}" + " ".join(f"-e {shlex.quote(p)}" for p in args.patterns)
    if args.exclude:
        cmd += f" | grep -v -E {flag}" + " ".join(f"-e {shlex.quote(p)}" for p in args.exclude)
    # '> ' marks a log line, so a log can never forge our own @@ markers.
    return cmd + (f' | awk \'NR<={_SAMPLE_LINES}{{print "> " $0}} END{{print "@@count " NR}}\'')


def _script(args: Args, check_mode: bool) -> str:
    matches = _filter(args)
    save = (
        ""
        if check_mode
        else ('mkdir -p "$(dirname "$st")" && printf "%s %s\\n" "$ino" "$size" > "$st"')
    )
    return f"""
f={shlex.quote(args.path)}; st={_state_path(args)}; first={args.first_run}
[ -r "$f" ] || {{ echo "@@missing"; exit 0; }}
inode() {{ ls -di -- "$1" | awk '{{print $1}}'; }}
ino=$(inode "$f"); size=$(wc -c < "$f" | tr -d ' ')
prev_ino=; prev_off=
[ -r "$st" ] && read -r prev_ino prev_off < "$st"
off=0
if [ -z "$prev_ino" ]; then
  [ "$first" = end ] && off=$size
elif [ "$prev_ino" = "$ino" ]; then
  if [ "$prev_off" -le "$size" ]; then off=$prev_off; else echo "@@truncated"; fi
else
  echo "@@rotated"
  for old in "$f.1" "$f.0"; do
    if [ -r "$old" ] && [ "$(inode "$old")" = "$prev_ino" ]; then
      echo "@@old $old"; tail -c +$((prev_off + 1)) -- "$old" | {matches}
      break
    fi
  done
fi
echo "@@new $off $size"
tail -c +$((off + 1)) -- "$f" | head -c $((size - off)) | {matches}
{save}
"""


def _parse(stdout: str) -> tuple[int, list[str], dict[str, Any]]:
    count, sample = 0, []
    info: dict[str, Any] = {"rotated": False, "truncated": False, "missing": False}
    for line in stdout.splitlines():
        if line.startswith("> "):
            sample.append(line[2:])
        elif line.startswith("@@count "):
            count += int(line.split()[1])
        elif line.startswith("@@new "):
            _, start, end = line.split()
            info.update(start_offset=int(start), end_offset=int(end))
        elif line in ("@@rotated", "@@truncated", "@@missing"):
            info[line[2:]] = True
    return count, sample[:_SAMPLE_LINES], info


def run(ctx: TaskContext, args: Args) -> Result:
    out = ctx.run(_script(args, ctx.check_mode))
    if out.rc != 0:
        return fail(f"log_scan failed on {args.path}: {out.stderr.strip()}", rc=out.rc)
    count, sample, info = _parse(out.stdout)
    name = f"log {args.path}"
    threshold = {"warn_count": args.warn_count, "fail_count": args.fail_count}
    if info["missing"]:
        item = check_item(name, "fail", None, threshold, "log file is missing or unreadable")
        return check_result(item, data={"log_scan": info})
    status = status_above(count, args.warn_count, args.fail_count)
    what = (
        ", after rotation" if info["rotated"] else ", after truncation" if info["truncated"] else ""
    )
    detail = f"{count} matching line(s) in {info['end_offset'] - info['start_offset']} new bytes"
    detail += what
    if sample:
        detail += f"; last seen: {sample[-1][:200]}"
    item = check_item(name, status, count, threshold, detail)
    return check_result(item, data={"log_scan": info | {"count": count, "lines": sample}})
