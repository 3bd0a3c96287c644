"""lineinfile: make sure one line is in a file (or not), edited on the controller.

The file is read once, the edit is computed here, and written back once only when it
differs. Matching follows Ansible: the LAST matching line is used unless `firstmatch`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import fileops
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.modules.fileops import Mode, Owner


class EditArgs(ModuleArgs):
    """What lineinfile and blockinfile share: the file, its creation and attributes."""

    path: str = Field(validation_alias=AliasChoices("path", "dest", "destfile", "name"))
    state: Literal["present", "absent"] = "present"
    insertafter: str | None = None
    insertbefore: str | None = None
    create: bool = False
    backup: bool = False
    mode: Mode = None
    owner: Owner = None
    group: Owner = None
    # `validate` would shadow BaseModel.validate; the YAML name stays `validate`
    validate_cmd: str | None = Field(None, alias="validate")

    @model_validator(mode="after")
    def _one_anchor(self) -> EditArgs:
        if self.insertafter is not None and self.insertbefore is not None:
            raise ValueError("give only one of `insertafter` or `insertbefore`")
        for name in ("insertafter", "insertbefore", "regexp"):
            _compiles(name, getattr(self, name, None))
        return self


def _compiles(name: str, pattern: str | None) -> None:
    if pattern is None or pattern in ("EOF", "BOF"):
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"`{name}` is not a valid regular expression: {exc}") from None


class Args(EditArgs):
    line: str | None = Field(None, validation_alias=AliasChoices("line", "value"))
    regexp: str | None = Field(None, validation_alias=AliasChoices("regexp", "regex"))
    search_string: str | None = None
    backrefs: bool = False
    firstmatch: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Args:
        if self.regexp is not None and self.search_string is not None:
            raise ValueError("give only one of `regexp` or `search_string`")
        if self.state == "present" and self.line is None:
            raise ValueError("`line` is required with state=present")
        if self.backrefs and self.regexp is None:
            raise ValueError("`backrefs` needs `regexp`")
        if self.state == "absent" and self.line is None and not (self.regexp or self.search_string):
            raise ValueError("state=absent needs `line`, `regexp` or `search_string`")
        return self


def save(
    ctx: TaskContext,
    args: EditArgs,
    st: dict[str, Any] | None,
    before: bytes,
    after: bytes,
    msg: str,
) -> Result:
    """Write `after` if it differs from `before`; else fix the attributes if `st` shows a need."""
    changed = before != after or st is None
    backup_file = None
    if changed and not ctx.check_mode:
        written = fileops.write_file(
            ctx, args.path, after, mode=args.mode, owner=args.owner, group=args.group,
            backup=args.backup, validate=args.validate_cmd, follow=True,
        )  # fmt: skip
        backup_file = written.backup_file
    elif not changed and fileops.attributes_differ(st, args.mode, args.owner, args.group):
        fileops.apply_attributes(ctx, args.path, args.mode, args.owner, args.group)
        changed, msg = True, "ownership, perms or SE linux context changed"
    result = Result(changed=changed, msg=msg if changed else "")
    if backup_file:
        result.data["backup_file"] = backup_file
    if ctx.diff and before != after:
        result.diff.append(fileops.text_diff(before, after, f"{args.path} (content)", args.path))
    return result


def load(ctx: TaskContext, args: EditArgs) -> tuple[dict[str, Any] | None, bytes | None]:
    """(stat, content) in one round trip; content b'' for a missing file with `create`,
    None when there is nothing to edit (absent file, state=absent)."""
    st, data = fileops.read_file_and_stat(ctx, args.path)
    if st is not None and not st["isreg"]:
        raise ModuleFailure(f"{args.path} is not a regular file")
    if data is None and args.state == "present":
        if not args.create:
            raise ModuleFailure(f"Destination {args.path} does not exist !")
        return None, b""
    return st, data


def _matches(args: Args, line: str) -> re.Match[str] | bool:
    text = line.rstrip("\r\n")
    if args.regexp is not None:
        return re.search(args.regexp, text) or False
    if args.search_string is not None:
        return args.search_string in text
    return text == args.line


def _present(args: Args, lines: list[str]) -> tuple[list[str], str]:
    assert args.line is not None
    found, match = -1, None
    anchor = -1
    after = args.insertafter not in (None, "EOF", "BOF") and re.compile(args.insertafter or "")
    before = args.insertbefore not in (None, "BOF") and re.compile(args.insertbefore or "")
    for number, line in enumerate(lines):
        m = _matches(args, line)
        if m:
            found, match = number, m
            if args.firstmatch:
                break
        elif after and after.search(line):
            anchor = number + 1
            if args.firstmatch:
                break
        elif before and before.search(line):
            anchor = number
            if args.firstmatch:
                break
    new = args.line
    if found >= 0:
        if args.backrefs and isinstance(match, re.Match):
            new = match.expand(args.line)
        ending = lines[found][len(lines[found].rstrip("\r\n")) :] or "\n"
        if lines[found] == new + ending:
            return lines, ""
        lines[found] = new + ending
        return lines, "line replaced"
    if args.backrefs:
        return lines, ""
    if any(line.rstrip("\r\n") == new for line in lines):
        return lines, ""
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"
    if args.insertbefore == "BOF" or args.insertafter == "BOF":
        lines.insert(0, new + "\n")
    elif anchor >= 0:
        lines.insert(anchor, new + "\n")
    else:
        lines.append(new + "\n")
    return lines, "line added"


def run(ctx: TaskContext, args: Args) -> Result:
    st, data = load(ctx, args)
    if data is None:
        return Result(msg="file not present")
    text = data.decode("utf-8", "surrogateescape")
    lines = text.splitlines(keepends=True)
    if args.state == "absent":
        kept = [line for line in lines if not _matches(args, line)]
        removed = len(lines) - len(kept)
        msg = f"{removed} line(s) removed" if removed else ""
        result = save(ctx, args, st, data, "".join(kept).encode("utf-8", "surrogateescape"), msg)
        result.data["found"] = removed
        return result
    lines, msg = _present(args, lines)
    after = "".join(lines).encode("utf-8", "surrogateescape")
    return save(ctx, args, st, data, after, msg)
