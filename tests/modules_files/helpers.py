"""Looking at the target host directly (not through the module under test)."""

from __future__ import annotations

import shlex
from typing import Any

from runbook_engine.modules.base import Result
from tests.harness import Target, make_ctx, run_module


def sh(target: Target, command: str, stdin: bytes | None = None) -> str:
    res = target.conn.run(command, stdin=stdin)
    assert res.rc == 0, res.stderr
    return res.stdout


def host_read(target: Target, path: str) -> bytes | None:
    q = shlex.quote(path)
    res = target.conn.run(f"if [ -e {q} ]; then cat -- {q}; else exit 3; fi")
    return None if res.rc == 3 else res.stdout_bytes


def host_write(target: Target, path: str, data: bytes) -> None:
    sh(target, f"cat > {shlex.quote(path)}", stdin=data)


def host_exists(target: Target, path: str) -> bool:
    q = shlex.quote(path)
    return target.conn.run(f"[ -e {q} ] || [ -L {q} ]").rc == 0


def host_mode(target: Target, path: str) -> str:
    return f"{int(sh(target, f'stat -c %a -- {shlex.quote(path)}'), 8):04o}"


def listing(target: Target) -> list[str]:
    return sorted(sh(target, f"ls -A -- {shlex.quote(target.scratch)}").splitlines())


def hostile_values(canary: str) -> list[str]:
    """Strings that would run `touch canary` if they ever reached a shell unquoted."""
    return [
        f"; touch {canary}",
        f"$(touch {canary})",
        f"`touch {canary}`",
        f"' ; touch {canary}; '",
        f'" ; touch {canary}; "',
        f"x\ntouch {canary}\n",
        f"--help && touch {canary}",
    ]


def apply(
    target: Target,
    module: str,
    args: dict[str, Any],
    *,
    check: bool = False,
    diff: bool = False,
    **kwargs: Any,
) -> Result:
    return run_module(module, make_ctx(target, check=check, diff=diff, **kwargs), args)
