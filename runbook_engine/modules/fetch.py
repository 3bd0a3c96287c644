"""fetch: copy a host file to the controller, under `dest/<host>/<src path>` (or `flat`).

One round trip brings the sha1 and the content; the controller file is replaced
atomically, and only when it differs.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import tempfile
from pathlib import Path

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import ModuleArgs, Result, TaskContext

_MISSING = "@@RB_MISSING@@"
_DIRECTORY = "@@RB_DIRECTORY@@"


class Args(ModuleArgs):
    src: str
    dest: str
    flat: bool = False
    fail_on_missing: bool = True
    validate_checksum: bool = True


def _local_dest(ctx: TaskContext, args: Args) -> Path:
    name = args.src.rstrip("/").rsplit("/", 1)[-1]
    if args.flat:
        return Path(args.dest + name if args.dest.endswith("/") else args.dest)
    relative = args.src.lstrip("/")
    if ".." in Path(relative).parts or ".." in Path(ctx.host).parts or "/" in ctx.host:
        raise ModuleFailure(f"refusing to fetch to a path outside dest: {ctx.host}/{relative}")
    return Path(args.dest) / ctx.host / relative


def _fetch(ctx: TaskContext, src: str) -> tuple[str, bytes] | str:
    """(remote sha1, content), or a marker saying why there is no content."""
    p = shlex.quote(src)
    res = ctx.run(
        f"if [ -d {p} ]; then echo {_DIRECTORY}; elif [ ! -e {p} ]; then echo {_MISSING}; "
        f"else sha1sum < {p} && cat -- {p}; fi"
    )
    if res.rc != 0:
        raise ModuleFailure(f"cannot read {src}: {res.stderr.strip()}")
    head, _, content = res.stdout_bytes.partition(b"\n")
    marker = head.decode("ascii", "replace")
    if marker in (_MISSING, _DIRECTORY):
        return marker
    return marker.split()[0], content


def _write_local(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(ctx: TaskContext, args: Args) -> Result:
    dest = _local_dest(ctx, args)
    got = _fetch(ctx, args.src)
    if got == _DIRECTORY:
        raise ModuleFailure(
            f"remote file is a directory, fetch cannot work on directories: {args.src}"
        )
    if got == _MISSING:
        msg = f"the remote file does not exist, not transferring: {args.src}"
        if args.fail_on_missing:
            raise ModuleFailure(msg)
        return Result(msg=msg, data={"file": args.src})
    assert isinstance(got, tuple)
    remote_sum, data = got
    local_sum = hashlib.sha1(data).hexdigest()
    if args.validate_checksum and local_sum != remote_sum:
        raise ModuleFailure(f"checksum mismatch fetching {args.src} (file changed during fetch?)")
    values = {"dest": str(dest), "file": args.src, "checksum": local_sum,
              "remote_checksum": remote_sum, "md5sum": hashlib.md5(data).hexdigest()}  # fmt: skip
    current = dest.read_bytes() if dest.is_file() else None
    if current == data:
        return Result(data=values)
    if not ctx.check_mode:
        _write_local(dest, data)
    return Result(changed=True, data=values)
