"""file: make a path be a file, directory, symlink, hard link, touched file, or absent.

One round trip looks (stat, plus the link source for link/hard); the decision is taken
here; one more round trip acts, only when something must change. The two commonest
states, `directory` and `absent`, look and act in one round trip when not in check mode
(`_act_at_once`), unless a diff is asked for: their decision fits in a few shell tests.
"""

from __future__ import annotations

import shlex
from typing import Any, Literal

from pydantic import AliasChoices, Field

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import fileops
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext
from runbook_engine.modules.fileops import Mode, Owner

State = Literal["file", "directory", "absent", "touch", "link", "hard"]


class Args(ModuleArgs):
    path: str = Field(validation_alias=AliasChoices("path", "dest", "name"))
    state: State | None = None
    src: str | None = None
    mode: Mode = None
    owner: Owner = None
    group: Owner = None
    recurse: bool = False
    force: bool = False
    follow: bool = True
    modification_time: Literal["now", "preserve"] | None = None
    access_time: Literal["now", "preserve"] | None = None


def _kind(st: dict[str, Any] | None) -> str:
    if st is None:
        return "absent"
    if st["islnk"]:
        return "link"
    if st["isdir"]:
        return "directory"
    return "hard" if st["nlink"] > 1 else "file"


def _look(ctx: TaskContext, args: Args, state: str) -> tuple[dict[str, Any] | None, bool, bool]:
    """(lstat of path, src exists, path and src are the same inode) in one round trip."""
    follow = state in ("file", "directory", "touch") and args.follow
    script = fileops.stat_script(args.path, follow=follow)
    src_exists = same = False
    if args.src and state in ("link", "hard"):
        # a relative src is relative to the link's directory, as with `ln -s`
        here = shlex.quote(args.path.rsplit("/", 1)[0] or "/")
        src, path = shlex.quote(args.src), shlex.quote(args.path)
        script = (
            f"if (cd -- {here} 2>/dev/null && [ -e {src} ]); then echo Y; else echo N; fi\n"
            f"if (cd -- {here} 2>/dev/null && [ {path} -ef {src} ]); then echo Y; else echo N; fi\n"
            + script
        )
    res = ctx.run(script, text=True)  # Y/N and stat fields
    if res.rc != 0:
        raise ModuleFailure(f"cannot inspect {args.path}: {res.stderr.strip()}")
    out = res.stdout
    if args.src and state in ("link", "hard"):
        flags, out = out[:4], out[4:]
        src_exists, same = flags[0] == "Y", flags[2] == "Y"
    return fileops.parse_stat(args.path, out), src_exists, same


def run(ctx: TaskContext, args: Args) -> Result:
    state = args.state or _default_state(args)
    if not ctx.check_mode and not ctx.diff:  # a diff shows the state before: look first
        done = _act_at_once(ctx, args, state)
        if done is not None:
            return done
    st, src_exists, same = _look(ctx, args, state)
    before = _kind(st)
    if state == "file" and args.state is None and st is not None:
        state = "directory" if st["isdir"] else "link" if st["islnk"] else "file"
    plan = _plan(args, state, st, src_exists, same)
    values: dict[str, Any] = {"path": args.path, "state": state}
    if plan is None:
        return Result(data=values)
    result = Result(changed=True, data=values)
    if ctx.diff:
        result.diff.append(
            {"before": f"state: {before}\n", "after": f"state: {state}\n",
             "before_header": args.path, "after_header": args.path}
        )  # fmt: skip
    if ctx.check_mode:
        if plan == _recurse_only(args):
            result.changed = fileops.would_change_recursively(
                ctx, args.path, args.mode, args.owner, args.group
            )
            result.diff = result.diff if result.changed else []
        return result
    out = _act(ctx, args, state, "set -e\n" + "\n".join(plan))
    if plan == _recurse_only(args):  # recursion may turn out to change nothing
        result.changed = fileops.ATTRS_CHANGED in out
        result.diff = result.diff if result.changed else []
    return result


_CREATED, _REMOVED, _OTHER_KIND = "@@RB_CREATED@@", "@@RB_REMOVED@@", "@@RB_OTHER_KIND@@"


def _act_at_once(ctx: TaskContext, args: Args, state: str) -> Result | None:
    """`directory` (following links, no recursion) or `absent` in one round trip; None
    for other states, and when the path turns out to be something else (the two-step
    path then explains why it cannot continue)."""
    path = shlex.quote(args.path)
    if state == "directory" and args.follow and not args.recurse:
        script = "\n".join([
            f"if [ -d {path} ]; then :",
            f"elif [ -e {path} ] || [ -L {path} ]; then echo {_OTHER_KIND}; exit 0",
            f"else mkdir -p -- {path} || exit 1; echo {_CREATED}; fi",
            *fileops.attribute_commands(path, args.mode, args.owner, args.group),
        ])
    elif state == "absent":
        script = (f"if [ -e {path} ] || [ -L {path} ]; then rm -rf -- {path} || exit 1; "
                  f"echo {_REMOVED}; fi")
    else:
        return None
    out = _act(ctx, args, state, script)
    if _OTHER_KIND in out:
        return None
    changed = any(mark in out for mark in (_CREATED, _REMOVED, fileops.ATTRS_CHANGED))
    return Result(changed=changed, data={"path": args.path, "state": state})


def _act(ctx: TaskContext, args: Args, state: str, script: str) -> str:
    res = ctx.run(script, text=True)  # markers only
    if res.rc != 0:
        raise ModuleFailure(f"cannot make {args.path} a {state}: {res.stderr.strip()}")
    return res.stdout


def _default_state(args: Args) -> str:
    return "directory" if args.recurse else "file"


def _recurse_only(args: Args) -> list[str]:
    path = shlex.quote(args.path)
    return fileops.attribute_commands(path, args.mode, args.owner, args.group, recurse=True)


def _plan(
    args: Args, state: str, st: dict[str, Any] | None, src_exists: bool, same: bool
) -> list[str] | None:
    """The shell lines to run, or None when the path is already as asked."""
    path = shlex.quote(args.path)
    attrs = fileops.attribute_commands(path, args.mode, args.owner, args.group)
    needs_attrs = st is not None and fileops.attributes_differ(
        st, args.mode, args.owner, args.group
    )
    if state == "absent":
        return None if st is None else [f"rm -rf -- {path}"]
    if state == "file":
        if st is None:
            raise ModuleFailure(f"file ({args.path}) is absent, cannot continue")
        if st["isdir"]:
            raise ModuleFailure(f"{args.path} is a directory, not a file")
        return attrs if needs_attrs else None
    if state == "directory":
        if st is not None and not st["isdir"]:
            raise ModuleFailure(f"{args.path} already exists as a {_kind(st)}")
        if st is None:
            return [f"mkdir -p -- {path}", *attrs, *(_recurse_only(args) if args.recurse else [])]
        if args.recurse and (args.mode or args.owner or args.group):
            return _recurse_only(args)
        return attrs if needs_attrs else None
    if state == "touch":
        if st is None:
            return [f"touch -- {path}", *attrs]
        keep = args.modification_time == "preserve" and args.access_time == "preserve"
        if keep:
            return attrs if needs_attrs else None
        return [f"touch -- {path}", *attrs]
    return _plan_link(args, state, st, src_exists, same)


def _plan_link(
    args: Args, state: str, st: dict[str, Any] | None, src_exists: bool, same: bool
) -> list[str] | None:
    if not args.src:
        raise ModuleFailure(f"src is required for state={state}")
    path, src = shlex.quote(args.path), shlex.quote(args.src)
    here = shlex.quote(args.path.rsplit("/", 1)[0] or "/")
    if state == "link" and st is not None and st["islnk"] and st.get("lnk_target") == args.src:
        return None
    if state == "hard" and same:
        return None
    if not src_exists and (state == "hard" or not args.force):
        raise ModuleFailure(f"src file does not exist, use force=yes to link anyway: {args.src}")
    replace = ""
    if st is not None and not st["islnk"]:
        if not args.force:
            raise ModuleFailure(
                f"refusing to convert from {_kind(st)} to {state} for {args.path} (use force=yes)"
            )
        # an empty directory may be replaced; rmdir refuses a non-empty one, as it should
        replace = f"rmdir -- {path}" if st["isdir"] else ""
    link = f"ln -sfn -- {src} {path}" if state == "link" else f"ln -f -- {src} {path}"
    return [f"cd -- {here}", *([replace] if replace else []), link]
