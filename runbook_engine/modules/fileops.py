"""Host-side file primitives the modules build on. Each call is ONE round trip.

- `read_file(ctx, path) -> bytes | None`: content, or None when the path does not exist.
- `write_file(ctx, path, data, *, mode, owner, group, backup, validate, force, parents,
  follow) -> WriteResult`:
  atomic (temp file in the same directory, then `mv`), content on stdin, written only when
  its sha256 differs; also applies mode/owner/group. The result is truthy when anything
  changed and carries `backup_file`.
- `write_files(ctx, [(path, data), ...], *, mode, ...) -> list[WriteResult]`: several
  files in one round trip (GNU `head -c` splits stdin).
- `stat(ctx, path, *, follow, checksum) -> dict | None`: Ansible's `stat` keys.
- `read_file_and_stat(ctx, path) -> (stat | None, bytes | None)`: both, one round trip.
- `apply_attributes(ctx, path, mode, owner, group, *, recurse) -> bool` (symbolic modes too).
  `attribute_commands(...)` gives the same as shell lines printing `ATTRS_CHANGED` on change,
  for modules folding it into a script of their own; `attributes_differ(stat, ...)` decides
  from a stat without a round trip.
- `Mode`, `Owner`: pydantic field types for module `Args` (`mode: Mode = None`).
- `new_mode(current, mode, isdir) -> int`: what `chmod mode` would leave, in Python.
- `text_diff(before, after, before_header, after_header) -> dict`: a `Result.diff` entry.

`write_file` and `apply_attributes` honour `ctx.check_mode`: they report, change nothing.
Every value reaching the shell is quoted; file content only ever travels on stdin.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shlex
import stat as stat_bits
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator

from runbook_engine.errors import ModuleFailure
from runbook_engine.loader.yaml_source import OctalInt
from runbook_engine.modules import tokens
from runbook_engine.modules.base import TaskContext

_MISSING = "@@RB_MISSING@@"
_WRITTEN = "@@RB_WRITTEN@@"
ATTRS_CHANGED = "@@RB_ATTRS@@"
_BACKUP = "@@RB_BACKUP@@"
_INVALID = "@@RB_INVALID@@"

_SYMBOLIC = re.compile(r"^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+$")


# -- mode / owner arguments ------------------------------------------------------------
def normalize_mode(value: Any) -> str | None:
    """A `mode` argument as chmod text: '0644' or symbolic 'u+x,g-w'.

    A plain YAML int (`mode: 644`) is refused: YAML reads it as decimal 644, not octal."""
    if value is None:
        return None
    if isinstance(value, OctalInt):
        return f"{int(value):04o}"
    if isinstance(value, bool | int):
        raise ValueError(
            f"mode {value} is a decimal number; write it quoted with a leading zero, "
            f"e.g. mode: '0{value}' (or a symbolic mode like 'u=rw,go=r')"
        )
    if not isinstance(value, str):
        raise ValueError("mode must be an octal string like '0644' or a symbolic mode")
    text = value.strip()
    if re.fullmatch(r"[0-7]{1,4}", text):
        return f"{int(text, 8):04o}"
    if text == "preserve":
        return text
    clauses = text.split(",")
    if all(_SYMBOLIC.match(c) for c in clauses):
        # no "who" means "a" (not "a minus umask" as chmod would): predictable everywhere
        return ",".join(c if c[0] in "ugoa" else "a" + c for c in clauses)
    raise ValueError(f"invalid mode {value!r}: use '0644' (quoted) or a symbolic mode like 'u+x'")


def _normalize_owner(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("owner/group must be a name or a numeric id")
    text = str(value)
    if not text or ":" in text or text.startswith("-") or "\n" in text:
        raise ValueError(f"invalid user or group name {text!r}")
    return text


Mode = Annotated[str | None, BeforeValidator(normalize_mode)]
Owner = Annotated[str | None, BeforeValidator(_normalize_owner)]

_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007}
_SHIFT = {"u": 6, "g": 3, "o": 0}


def new_mode(current: int, mode: str, isdir: bool = False) -> int:
    """The permission bits `chmod mode` leaves on a file whose bits are `current`."""
    if mode.isdigit():
        return int(mode, 8)
    result = current & 0o7777
    for clause in mode.split(","):
        who_text = re.match(r"[ugoa]*", clause).group(0)  # type: ignore[union-attr]
        who = 0
        for w in who_text.replace("a", "ugo") or "ugo":
            who |= _WHO[w]
        for op, perms in re.findall(r"([-+=])([ugo]|[rwxXst]*)", clause[len(who_text) :]):
            bits = 0
            if perms in _SHIFT:  # copy another class: g=u
                src = (result >> _SHIFT[perms]) & 7
                bits = (src << 6 | src << 3 | src) & who & 0o777
            else:
                for p in perms:
                    bits |= {
                        "r": 0o444,
                        "w": 0o222,
                        "x": 0o111,
                        "X": 0o111 if isdir or result & 0o111 else 0,
                        "s": 0o6000,
                        "t": 0o1000,
                    }[p]
                bits &= who
            if op == "+":
                result |= bits
            elif op == "-":
                result &= ~bits
            else:
                cleared = who & 0o777 if isdir else who
                result = (result & ~cleared) | bits
    return result


class IsADirectory(ModuleFailure):
    """`write_file` found a directory where the file should go."""


def text_diff(
    before: bytes | None, after: bytes | None, before_header: str, after_header: str
) -> dict[str, str]:
    """A `Result.diff` entry; binary content is summarised rather than shown."""

    def text(data: bytes | None) -> str:
        if data is None:
            return ""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return f"(binary data, {len(data)} bytes)\n"

    return {
        "before": text(before),
        "after": text(after),
        "before_header": before_header,
        "after_header": after_header,
    }


# -- reading ------------------------------------------------------------------------------
def read_file(ctx: TaskContext, path: str) -> bytes | None:
    """The file's bytes, or None if nothing exists at `path`."""
    p = shlex.quote(path)
    res = ctx.run(f"if [ -e {p} ]; then exec cat -- {p}; else echo {_MISSING}; fi")
    if res.rc != 0:
        raise ModuleFailure(f"cannot read {path}: {res.stderr.strip()}")
    if res.stdout_bytes == f"{_MISSING}\n".encode():
        return None
    return res.stdout_bytes


def read_file_and_stat(ctx: TaskContext, path: str) -> tuple[dict[str, Any] | None, bytes | None]:
    """(stat following links, content) in one round trip; (None, None) if nothing is there."""
    separator = f"@@RB_CONTENT_{tokens.token_hex(8)}@@"
    p = shlex.quote(path)
    script = (
        f"( {stat_script(path, follow=True)}\n) || exit 1\n"
        f"echo {separator}\nif [ -f {p} ]; then exec cat -- {p}; fi"
    )
    res = ctx.run(script)
    if res.rc != 0:
        raise ModuleFailure(f"cannot read {path}: {res.stderr.strip()}")
    head, _, content = res.stdout_bytes.partition(f"{separator}\n".encode())
    st = parse_stat(path, head.decode("utf-8", "surrogateescape"))
    if st is None:
        return None, None
    return st, content if st["isreg"] else None


_TYPE_FLAGS = {
    "isdir": stat_bits.S_ISDIR,
    "isreg": stat_bits.S_ISREG,
    "islnk": stat_bits.S_ISLNK,
    "isblk": stat_bits.S_ISBLK,
    "ischr": stat_bits.S_ISCHR,
    "isfifo": stat_bits.S_ISFIFO,
    "issock": stat_bits.S_ISSOCK,
}
_PERMISSION_FLAGS = {
    "isuid": 0o4000, "isgid": 0o2000,
    "rusr": 0o400, "wusr": 0o200, "xusr": 0o100,
    "rgrp": 0o040, "wgrp": 0o020, "xgrp": 0o010,
    "roth": 0o004, "woth": 0o002, "xoth": 0o001,
}  # fmt: skip
CHECKSUM_TOOLS = {
    "sha1": "sha1sum",
    "sha224": "sha224sum",
    "sha256": "sha256sum",
    "sha384": "sha384sum",
    "sha512": "sha512sum",
    "md5": "md5sum",
}


def stat_script(path: str, *, follow: bool = False, checksum: str | None = None) -> str:
    """Shell text printing what `parse_stat` reads (for modules batching it with more)."""
    p = shlex.quote(path)
    exists = f"[ -e {p} ]" if follow else f"{{ [ -e {p} ] || [ -L {p} ]; }}"
    lines = [
        f"if ! {exists}; then echo {_MISSING}; exit 0; fi",
        f"stat {'-L ' if follow else ''}-c '%f %a %u %g %s %Y %X %Z %i %d %h %U %G' -- {p}"
        " || exit 1",
        f'a=; [ -r {p} ] && a=r; [ -w {p} ] && a=${{a}}w; [ -x {p} ] && a=${{a}}x; echo "A$a"',
    ]
    if checksum:
        tool = CHECKSUM_TOOLS[checksum]
        regular = f"[ -f {p} ]" if follow else f"[ -f {p} ] && [ ! -L {p} ]"
        lines.append(f"if {regular} && [ -r {p} ]; then {tool} < {p}; else echo; fi")
    else:
        lines.append("echo")
    # the link source (absolute) first: the raw target may hold any byte, so it comes last
    lines.append(f"if [ -L {p} ]; then readlink -f -- {p} || echo; readlink -- {p}; fi")
    return "\n".join(lines)


def parse_stat(path: str, out: str) -> dict[str, Any] | None:
    if out.startswith(_MISSING):
        return None
    head, access, checksum, link = [*out.split("\n", 3), "", "", ""][:4]
    f = head.split(" ")
    raw_mode = int(f[0], 16)
    st: dict[str, Any] = {
        "exists": True,
        "path": path,
        "mode": f"{int(f[1], 8):04o}",
        "uid": int(f[2]),
        "gid": int(f[3]),
        "size": int(f[4]),
        "mtime": float(f[5]),
        "atime": float(f[6]),
        "ctime": float(f[7]),
        "inode": int(f[8]),
        "dev": int(f[9]),
        "nlink": int(f[10]),
        "pw_name": f[11],
        "gr_name": " ".join(f[12:]),
        "readable": "r" in access,
        "writeable": "w" in access,
        "executable": "x" in access,
    }
    st["owner"], st["group"] = st["pw_name"], st["gr_name"]
    for key, test in _TYPE_FLAGS.items():
        st[key] = bool(test(raw_mode))
    if checksum.strip():
        st["checksum"] = checksum.split()[0]
    if link:
        source, _, target = link.partition("\n")
        st["lnk_source"] = source
        st["lnk_target"] = target[:-1] if target.endswith("\n") else target
    bits = int(st["mode"], 8)
    for name, bit in _PERMISSION_FLAGS.items():
        st[name] = bool(bits & bit)
    return st


def stat(
    ctx: TaskContext, path: str, *, follow: bool = False, checksum: str | None = None
) -> dict[str, Any] | None:
    """Ansible-style stat of `path` (None if absent). `checksum`: 'sha1', 'sha256', ..."""
    res = ctx.run(stat_script(path, follow=follow, checksum=checksum), text=True)
    if res.rc != 0:
        raise ModuleFailure(f"cannot stat {path}: {res.stderr.strip()}")
    return parse_stat(path, res.stdout)


# -- attributes ---------------------------------------------------------------------------
def attributes_differ(
    st: dict[str, Any], mode: str | None, owner: str | None, group: str | None
) -> bool:
    """Whether applying mode/owner/group would change the file `st` describes."""
    if mode and mode != "preserve":
        current = int(st["mode"], 8)
        if new_mode(current, mode, st["isdir"]) != current:
            return True
    if owner and owner not in (st["pw_name"], str(st["uid"])):
        return True
    return bool(group and group not in (st["gr_name"], str(st["gid"])))


def attribute_commands(
    target: str, mode: str | None, owner: str | None, group: str | None, recurse: bool = False
) -> list[str]:
    """Shell lines setting attributes of `target` (shell text); print ATTRS_CHANGED on change."""
    flags = "-R -c" if recurse else "-c"
    lines = []
    if mode and mode != "preserve":
        lines.append(f"o=$(chmod {flags} {shlex.quote(mode)} -- {target}) || exit 1")
        lines.append(f'[ -z "$o" ] || echo {ATTRS_CHANGED}')
    if owner or group:
        spec = (owner or "") + (f":{group}" if group else "")
        lines.append(f"o=$(chown {flags} {shlex.quote(spec)} -- {target}) || exit 1")
        lines.append(f'[ -z "$o" ] || echo {ATTRS_CHANGED}')
    return lines


def apply_attributes(
    ctx: TaskContext,
    path: str,
    mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    *,
    recurse: bool = False,
) -> bool:
    """Set mode/owner/group on `path`; True if anything changed (or would, in check mode)."""
    if not (mode and mode != "preserve") and not owner and not group:
        return False
    if ctx.check_mode:
        if recurse:
            return would_change_recursively(ctx, path, mode, owner, group)
        st = stat(ctx, path, follow=True)
        return st is not None and attributes_differ(st, mode, owner, group)
    res = ctx.run("\n".join(attribute_commands(shlex.quote(path), mode, owner, group, recurse)),
                  text=True)
    if res.rc != 0:
        raise ModuleFailure(f"cannot set attributes of {path}: {res.stderr.strip()}")
    return ATTRS_CHANGED in res.stdout


def would_change_recursively(
    ctx: TaskContext, path: str, mode: str | None, owner: str | None, group: str | None
) -> bool:
    tests = []
    if mode and mode != "preserve":
        if not mode.isdigit():
            return True  # find cannot model a symbolic chmod; assume it would change
        tests.append(f"! -perm {mode}")
    if owner:
        flag = "-uid" if owner.isdigit() else "-user"
        tests.append(f"! {flag} {shlex.quote(owner)}")
    if group:
        flag = "-gid" if group.isdigit() else "-group"
        tests.append(f"! {flag} {shlex.quote(group)}")
    expr = " -o ".join(tests)
    res = ctx.run(f"find {shlex.quote(path)} \\( {expr} \\) -print 2>/dev/null | head -n 1")
    return bool(res.stdout.strip())


# -- writing ------------------------------------------------------------------------------
@dataclass(slots=True)
class WriteResult:
    """What `write_file` did: truthy when content or attributes changed."""

    changed: bool
    content_changed: bool = False
    backup_file: str | None = None

    def __bool__(self) -> bool:
        return self.changed


def backup_name(path: str) -> str:
    """Ansible's backup file naming: `<path>.<pid-ish>.<YYYY-MM-DD@HH:MM:SS>~`."""
    return f"{path}.{secrets.randbelow(90000) + 10000}.{time.strftime('%Y-%m-%d@%H:%M:%S')}~"


def validate_command(validate: str, file_expr: str) -> str:
    """`validate: 'visudo -cf %s'` as shell text: words quoted, %s -> `file_expr` (shell)."""
    if "%s" not in validate:
        raise ModuleFailure(f"validate must contain %s (the file to check): {validate!r}")
    words = []
    for word in shlex.split(validate):
        parts = word.split("%s")
        words.append(file_expr.join(shlex.quote(p) if p else "" for p in parts))
    return " ".join(words)


def write_script(
    path: str,
    digest: str,
    *,
    mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    backup: bool = False,
    validate: str | None = None,
    force: bool = True,
    parents: bool = False,
    follow: bool = False,
    size: int | None = None,
) -> str:
    """The shell script behind `write_file`: content expected on its stdin, all of it, or
    exactly `size` bytes of it (GNU `head -c` reads no further) when batching files."""
    directory = path.rpartition("/")[0]
    read = "cat" if size is None else f"head -c {int(size)}"
    # A lone file's unread stdin needs no draining (both connections ignore the broken
    # pipe); a batch's must be read past, for the next file.
    skip = f"{read} >/dev/null; " if size is not None else ""
    mode = None if mode == "preserve" else mode
    unchanged = [f"  {c}" for c in attribute_commands('"$p"', mode, owner, group)]
    lines = [
        f"p={shlex.quote(path)}",
        f"mkdir -p -- {shlex.quote(directory or '/')} || exit 1" if parents else "",
        'if [ -L "$p" ]; then p=$(readlink -f -- "$p") || exit 1; fi' if follow else "",
        f't="${{p%/*}}/.rb.{tokens.token_hex(6)}.rbtmp"',
        f'if [ -d "$p" ]; then {skip}exit 21',
        # Not rewritten (same content, or kept): the attributes may still need setting.
        f'elif [ -f "$p" ] && [ "$(sha256sum < "$p")" = "{digest}  -" ]; then {skip}:',
        *unchanged,
        *([f'elif [ -e "$p" ]; then {skip}:', *unchanged] if not force else []),
        "else",
        # the temp file starts private: content may be a secret whose final mode is 0600
        f'  ( umask 077; set -C; {read} > "$t" ) || {{ rm -f -- "$t"; exit 1; }}',
        *_new_file_attributes(mode, owner, group),
    ]
    if validate:
        check = validate_command(validate, '"$t"')
        lines.append(f'  {check} >&2 || {{ rm -f -- "$t"; echo {_INVALID}; exit 1; }}')
    if backup:
        b = shlex.quote(backup_name(path))
        lines.append(f'  if [ -e "$p" ]; then cp -p -- "$p" {b} && echo {_BACKUP}{b}; fi')
    lines += [
        '  mv -f -- "$t" "$p" || { rm -f -- "$t"; exit 1; }',
        f"  echo {_WRITTEN}",
        "fi",
    ]
    return "\n".join(line for line in lines if line)


def _new_file_attributes(mode: str | None, owner: str | None, group: str | None) -> list[str]:
    """Lines giving the private temp file "$t" its final mode and owner: the given ones,
    else those of the file it replaces, else the umask's default for a new file. The file
    is rewritten anyway, so whether they change is not reported (no `chmod -c`)."""
    keep_mode, keep_owner = not mode, not (owner and group)
    lines = []
    if keep_mode or keep_owner:
        actions = ['chmod "$1" -- "$t"'] if keep_mode else []
        if keep_owner:
            actions.append('chown "$2" -- "$t" 2>/dev/null')
        lines.append(
            f'  if [ -e "$p" ]; then set -- $(stat -L -c "%a %u:%g" -- "$p"); {"; ".join(actions)}'
        )
        default = '  else chmod "$(printf %o $(( 0666 & ~0$(umask) )))" -- "$t"; fi'
        lines.append(default if keep_mode else "  fi")
    if mode:
        lines.append(f'  chmod {shlex.quote(mode)} -- "$t" || exit 1')
    if owner or group:
        spec = (owner or "") + (f":{group}" if group else "")
        lines.append(f'  chown {shlex.quote(spec)} -- "$t" || exit 1')
    return lines


def write_file(
    ctx: TaskContext,
    path: str,
    data: bytes,
    *,
    mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    backup: bool = False,
    validate: str | None = None,
    force: bool = True,
    parents: bool = False,
    follow: bool = False,
) -> WriteResult:
    """Make `path` hold exactly `data` (and the attributes): one round trip, atomic.

    `force=False` leaves an existing file alone. `validate` ('cmd %s') checks the temp
    file before it replaces `path`. `parents` creates missing parent directories. `follow`
    writes through a symlink to its target (else the link itself is replaced, as Ansible's
    copy does).
    In check mode, reports what would change."""

    if not path.startswith("/"):
        raise ModuleFailure(f"path must be absolute: {path!r}")
    digest = hashlib.sha256(data).hexdigest()
    if ctx.check_mode:
        st = stat(ctx, path, follow=True, checksum="sha256")
        if st is None:
            return WriteResult(True, True)
        if st["isdir"]:
            raise IsADirectory(f"{path} is a directory")
        differs = force and st.get("checksum") != digest
        return WriteResult(differs or attributes_differ(st, mode, owner, group), differs)
    script = write_script(
        path, digest, mode=mode, owner=owner, group=group,
        backup=backup, validate=validate, force=force, parents=parents, follow=follow,
    )  # fmt: skip
    res = ctx.run(script, stdin=data, text=True)
    if _INVALID in res.stdout:
        raise ModuleFailure(f"failed to validate: {res.stderr.strip()}")
    if res.rc == 21:
        raise IsADirectory(f"{path} is a directory")
    if res.rc != 0:
        raise ModuleFailure(f"cannot write {path}: {res.stderr.strip()}")
    return _outcome(res.stdout)


def _outcome(stdout: str) -> WriteResult:
    backup_file = None
    for line in stdout.splitlines():
        if line.startswith(_BACKUP):
            backup_file = line[len(_BACKUP) :]
    written = _WRITTEN in stdout
    return WriteResult(written or ATTRS_CHANGED in stdout, written, backup_file)


_NEXT_FILE = "@@RB_NEXT_FILE@@"
_BATCH = 64  # files per round trip: keeps the command line far below any limit


def write_files(
    ctx: TaskContext,
    files: Sequence[tuple[str, bytes] | tuple[str, bytes, str | None]],
    *,
    mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    backup: bool = False,
    force: bool = True,
    parents: bool = False,
    validate: str | None = None,
) -> list[WriteResult]:
    """`write_file` for several files, `_BATCH` per round trip: the contents go one after
    the other on stdin, each read by exactly its size. An item may carry its own mode as a
    third element. Stops at the first failure."""
    results: list[WriteResult] = []
    items = [(item[0], item[1], item[2] if len(item) > 2 else mode) for item in files]
    for start in range(0, len(items), _BATCH):
        batch = items[start : start + _BATCH]
        if ctx.check_mode or len(batch) == 1:
            results += [
                write_file(ctx, path, data, mode=file_mode, owner=owner, group=group,
                           backup=backup, force=force, parents=parents, validate=validate)
                for path, data, file_mode in batch
            ]  # fmt: skip
            continue
        parts = []
        for path, data, file_mode in batch:
            if not path.startswith("/"):
                raise ModuleFailure(f"path must be absolute: {path!r}")
            script = write_script(
                path, hashlib.sha256(data).hexdigest(), mode=file_mode, owner=owner,
                group=group, backup=backup, force=force, parents=parents, size=len(data),
                validate=validate,
            )  # fmt: skip
            parts.append(f"echo {_NEXT_FILE}\n(\n{script}\n) || exit $?")
        res = ctx.run("\n".join(parts), stdin=b"".join(data for _, data, _m in batch),
                      text=True)
        outputs = res.stdout.split(f"{_NEXT_FILE}\n")[1:]
        if res.rc != 0:
            failed = batch[len(outputs) - 1][0] if outputs else batch[0][0]
            if _INVALID in res.stdout:
                raise ModuleFailure(f"failed to validate {failed}: {res.stderr.strip()}")
            problem = "it is a directory" if res.rc == 21 else res.stderr.strip()
            raise ModuleFailure(f"cannot write {failed}: {problem}")
        results += [_outcome(out) for out in outputs]
    return results
