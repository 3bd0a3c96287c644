"""Run PHP on the host the safe way: the script travels on stdin, data in environment
variables (quoted by `shlex`), never interpolated into PHP code. The script answers with
one JSON document after a marker, so notices a plugin prints cannot be mistaken for it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import TaskContext

MARKER = "@@RB_PHP_JSON@@"
# Printed by every script as its last line: `rb_out($data)`.
PRELUDE = f"""<?php
function rb_out($data) {{ echo "\\n{MARKER}", json_encode($data), "\\n"; }}
"""


class PhpFailure(ModuleFailure):
    """A PHP script ended without its answer (fatal error, missing php, ...)."""


def run_php(
    ctx: TaskContext,
    script: str,
    *,
    chdir: str,
    env: Mapping[str, str] | None = None,
    php: str = "php",
    what: str = "php",
) -> dict[str, Any]:
    """Run `script` (PHP code after PRELUDE, without its own `<?php`) in `chdir`."""
    argv = ["env", *(f"{k}={v}" for k, v in (env or {}).items())]
    argv += [php, "-d", "opcache.enable=0", "-d", "display_errors=stderr", "-d", "log_errors=0"]
    done = ctx.run(argv, stdin=(PRELUDE + script).encode(), chdir=chdir)
    head, found, tail = done.stdout.rpartition(MARKER)
    if not found:
        detail = (done.stderr.strip() or head.strip())[-800:]
        if done.rc == 127:
            detail = f"{php} is not installed on {ctx.host}"
        raise PhpFailure(f"{what} failed on {ctx.host} (rc={done.rc}): {detail}")
    try:
        answer = json.loads(tail.strip().splitlines()[0])
    except (ValueError, IndexError) as exc:
        raise PhpFailure(f"{what}: unreadable answer from PHP on {ctx.host}") from exc
    if not isinstance(answer, dict):
        raise PhpFailure(f"{what}: unexpected answer from PHP on {ctx.host}")
    if answer.get("error"):
        raise PhpFailure(f"{what} on {ctx.host}: {answer['error']}")
    return answer


def compare_versions(a: str, b: str) -> int:
    """-1, 0, 1 like PHP's version_compare for the dotted numbers WordPress uses."""

    def key(v: str) -> list[int]:
        return [int(p) if p.isdigit() else 0 for p in v.replace("-", ".").split(".")]

    ka, kb = key(a), key(b)
    width = max(len(ka), len(kb))
    ka += [0] * (width - len(ka))
    kb += [0] * (width - len(kb))
    return (ka > kb) - (ka < kb)
