"""blockinfile: keep a block of lines between two marker lines in a file.

Read once, edited here, written once when it differs (see lineinfile.save).
"""

from __future__ import annotations

import re

from pydantic import AliasChoices, Field

from runbook_engine.modules.base import Result, TaskContext
from runbook_engine.modules.lineinfile import EditArgs, load, save


class Args(EditArgs):
    block: str = Field("", validation_alias=AliasChoices("block", "content"))
    marker: str = "# {mark} ANSIBLE MANAGED BLOCK"
    marker_begin: str = "BEGIN"
    marker_end: str = "END"
    append_newline: bool = False
    prepend_newline: bool = False


def _position(args: Args, lines: list[str]) -> int:
    """Where a new block goes: after/before the last line matching the anchor, else EOF."""
    if args.insertbefore == "BOF" or args.insertafter == "BOF":
        return 0
    pattern, offset = None, 0
    if args.insertbefore is not None:
        pattern = re.compile(args.insertbefore)
    elif args.insertafter not in (None, "EOF"):
        pattern, offset = re.compile(args.insertafter or ""), 1
    found = None
    if pattern is not None:
        for number, line in enumerate(lines):
            if pattern.search(line):
                found = number + offset
    return len(lines) if found is None else found


def edit(args: Args, text: str) -> tuple[str, str]:
    """(new text, message) for the block asked for in `text`."""
    begin = args.marker.replace("{mark}", args.marker_begin)
    end = args.marker.replace("{mark}", args.marker_end)
    lines = text.splitlines(keepends=True)
    stripped = [line.rstrip("\r\n") for line in lines]
    start = stripped.index(begin) if begin in stripped else None
    stop = stripped.index(end, start or 0) if end in stripped[start or 0 :] else None
    existed = start is not None and stop is not None
    if existed:
        assert start is not None and stop is not None
        del lines[start : stop + 1]
        at = start
    else:
        at = _position(args, lines)
    wanted = args.state == "present" and args.block != ""
    if not existed and not wanted:
        return text, ""
    if wanted:
        if at == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        body = args.block if args.block.endswith("\n") else args.block + "\n"
        block = [begin + "\n", *body.splitlines(keepends=True), end + "\n"]
        if args.prepend_newline and at > 0 and lines[at - 1].strip():
            block.insert(0, "\n")
        if args.append_newline and at < len(lines) and lines[at].strip():
            block.append("\n")
        lines[at:at] = block
    new = "".join(lines)
    if not existed:
        return new, "Block inserted" if wanted else ""
    return new, "Block inserted" if wanted else "Block removed"


def run(ctx: TaskContext, args: Args) -> Result:
    st, data = load(ctx, args)
    if data is None:
        return Result(msg="file not present")
    text = data.decode("utf-8", "surrogateescape")
    new, msg = edit(args, text)
    after = new.encode("utf-8", "surrogateescape")
    if after == data:
        msg = ""
    return save(ctx, args, st, data, after, msg)
