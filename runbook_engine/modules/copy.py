"""copy: put a controller file, a directory tree, or inline `content` on the host.

A single file costs one round trip (the host compares sha256 and writes only on change).
A directory tree costs one round trip to compare every file, then one per changed file.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import fileops
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.modules.fileops import Mode, Owner


def _as_text(value: Any) -> Any:
    """`content: "{{ some_dict }}"` renders to a dict; Ansible writes it as JSON."""
    if isinstance(value, dict | list):
        return json.dumps(value, indent=4, sort_keys=True)
    if isinstance(value, bool | int | float):
        return str(value)
    return value


class Args(ModuleArgs):
    dest: str
    src: str | None = None
    content: Annotated[str | None, BeforeValidator(_as_text)] = None
    mode: Mode = None
    owner: Owner = None
    group: Owner = None
    directory_mode: Mode = None
    backup: bool = False
    force: bool = True
    follow: bool = False
    remote_src: bool = False
    # `validate` would shadow BaseModel.validate; the YAML name stays `validate`
    validate_cmd: str | None = Field(None, alias="validate")

    @model_validator(mode="after")
    def _one_source(self) -> Args:
        if (self.src is None) == (self.content is None):
            raise ValueError("give exactly one of `src` or `content`")
        if self.content is not None and self.remote_src:
            raise ValueError("`content` cannot be used with `remote_src`")
        return self


@dataclass(slots=True)
class _Item:
    """One file or directory of a controller tree, relative to the destination."""

    dest: str
    local: Path | None  # None for a directory


def run(ctx: TaskContext, args: Args) -> Result:
    if args.remote_src:
        return _copy_on_host(ctx, args)
    if args.content is not None:
        data = args.content.encode()
        return _copy_one(ctx, args, data, args.dest, args.mode, "dynamically generated")
    local = ctx.find_file(args.src or "", "files")
    if local.is_dir():
        return _copy_tree(ctx, args, local)
    mode = f"{local.stat().st_mode & 0o7777:04o}" if args.mode == "preserve" else args.mode
    into_dir = args.dest.endswith("/")
    dest = args.dest + local.name if into_dir else args.dest
    try:
        return _copy_one(ctx, args, local.read_bytes(), dest, mode, str(local), parents=into_dir)
    except fileops.IsADirectory:
        return _copy_one(ctx, args, local.read_bytes(), f"{dest}/{local.name}", mode, str(local))


def _copy_one(
    ctx: TaskContext,
    args: Args,
    data: bytes,
    dest: str,
    mode: str | None,
    source: str,
    *,
    parents: bool = False,
) -> Result:
    """One file: a single round trip (two in diff mode, to show what was there before)."""
    before = fileops.read_file(ctx, dest) if ctx.diff else None
    written = fileops.write_file(
        ctx, dest, data, mode=mode, owner=args.owner, group=args.group,
        backup=args.backup, validate=args.validate_cmd, force=args.force, parents=parents,
        follow=args.follow,
    )  # fmt: skip
    result = Result(changed=written.changed, data=_returned(dest, data, written.backup_file))
    if ctx.diff and written.content_changed:
        result.diff.append(fileops.text_diff(before, data, dest, source))
    return result


def _returned(dest: str, data: bytes, backup_file: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "dest": dest,
        "checksum": hashlib.sha1(data).hexdigest(),
        "size": len(data),
    }
    if backup_file:
        values["backup_file"] = backup_file
    return values


# -- directory trees ----------------------------------------------------------------------
def _tree(local: Path, dest: str, into: bool) -> list[_Item]:
    """`src: dir/` copies the contents of dir; `src: dir` copies dir itself into dest."""
    root = dest.rstrip("/") or ""
    if not into:
        root = f"{root}/{local.name}"
    items = [_Item(root or "/", None)]
    for path in sorted(local.rglob("*")):
        target = f"{root}/{path.relative_to(local).as_posix()}"
        items.append(_Item(target, None if path.is_dir() else path))
    return items


def _survey(ctx: TaskContext, items: list[_Item]) -> list[str]:
    """One round trip: for each item, '-' (absent), 'x' (wrong type) or 'sha mode u g uid gid'."""
    lines = []
    for item in items:
        q = shlex.quote(item.dest)
        attrs = f"$(stat -c '%a %U %G %u %g' -- {q})"
        if item.local is None:
            lines.append(
                f"if [ -d {q} ]; then echo d; elif [ -e {q} ]; then echo x; else echo -; fi"
            )
        else:
            lines.append(
                f'if [ -f {q} ]; then h=$(sha256sum < {q}); echo "${{h%% *}} {attrs}"; '
                f"elif [ -e {q} ]; then echo x; else echo -; fi"
            )
    res = ctx.run("\n".join(lines))
    if res.rc != 0:
        raise ModuleFailure(f"cannot inspect {items[0].dest}: {res.stderr.strip()}")
    return res.stdout.splitlines()


def _make_dirs(ctx: TaskContext, paths: list[str], mode: str | None) -> bool:
    if not paths or ctx.check_mode:
        return bool(paths) and ctx.check_mode
    quoted = " ".join(shlex.quote(p) for p in paths)
    command = f"mkdir -p -- {quoted}"
    if mode:
        command += f" && chmod {shlex.quote(mode)} -- {quoted}"
    res = ctx.run(command)
    if res.rc != 0:
        raise ModuleFailure(f"cannot create directories: {res.stderr.strip()}")
    return True


def _copy_tree(ctx: TaskContext, args: Args, local: Path) -> Result:
    items = _tree(local, args.dest, into=(args.src or "").endswith("/"))
    survey = _survey(ctx, items)
    new_dirs, to_write = [], []
    for item, line in zip(items, survey, strict=True):
        if line == "x":
            kind = "directory" if item.local is None else "file"
            raise ModuleFailure(f"{item.dest} exists and is not a {kind}")
        if item.local is None:
            if line == "-":
                new_dirs.append(item.dest)
            continue
        assert item.local is not None
        data = item.local.read_bytes()
        mode = f"{item.local.stat().st_mode & 0o7777:04o}" if args.mode == "preserve" else args.mode
        if line == "-" or _file_differs(line, data, mode, args, ctx):
            to_write.append((item, data, mode))
    changed = _make_dirs(ctx, new_dirs, args.directory_mode) or bool(to_write)
    result = Result(changed=changed, data={"dest": items[0].dest})
    if to_write and not ctx.check_mode:
        written = fileops.write_files(
            ctx, [(item.dest, data, mode) for item, data, mode in to_write],
            owner=args.owner, group=args.group, backup=args.backup, force=args.force,
            validate=args.validate_cmd,
        )  # fmt: skip
        result.changed = any(written) or bool(new_dirs)
    if ctx.diff:
        for item, data, _mode in to_write:
            result.diff.append(fileops.text_diff(None, data, item.dest, str(item.local)))
    return result


def _file_differs(line: str, data: bytes, mode: str | None, args: Args, ctx: TaskContext) -> bool:
    digest, perms, user, group, uid, gid = line.split(" ")
    if digest != hashlib.sha256(data).hexdigest():
        return args.force
    st = {"mode": f"{int(perms, 8):04o}", "isdir": False, "pw_name": user, "gr_name": group,
          "uid": int(uid), "gid": int(gid)}  # fmt: skip
    return fileops.attributes_differ(st, mode, args.owner, args.group)


# -- remote_src ---------------------------------------------------------------------------
def _copy_on_host(ctx: TaskContext, args: Args) -> Result:
    """Copy a file that is already on the host: content read from src, written to dest."""
    src = args.src or ""
    st, data = fileops.read_file_and_stat(ctx, src)
    if st is None:
        raise ModuleFailure(f"Source {src} not found")
    if data is None:
        raise ModuleFailure(f"remote_src copies single files; {src} is not a regular file")
    mode = st["mode"] if args.mode == "preserve" else args.mode
    try:
        return _copy_one(ctx, args, data, args.dest, mode, src)
    except fileops.IsADirectory:
        name = src.rstrip("/").rsplit("/", 1)[-1]
        return _copy_one(ctx, args, data, f"{args.dest.rstrip('/')}/{name}", mode, src)
