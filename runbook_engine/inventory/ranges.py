"""Host ranges in host names, as Ansible writes them: `web[01:20]`, `db-[a:c]`, `n[1:10:2]`."""

from __future__ import annotations

import re
import string

from runbook_engine.errors import InputError, Position

_RANGE = re.compile(r"\[([^\[\]]*)\]")
_HINT = "write a range as [start:end] or [start:end:step], e.g. web[01:20] or db-[a:c]"


def has_range(name: str) -> bool:
    return "[" in name or "]" in name


def expand_host_range(name: str, position: Position | None = None) -> list[str]:
    """Every host name a pattern with ranges stands for, in order; a plain name is itself.

    A start written with a leading zero keeps its width (`[01:03]` -> 01, 02, 03).
    """
    if not has_range(name):
        return [name]
    match = _RANGE.search(name)
    if match is None or ":" not in match.group(1):
        raise InputError(f"malformed host range in '{name}'", position, hint=_HINT)
    head, tail = name[: match.start()], name[match.end() :]
    if "]" in head:
        raise InputError(f"malformed host range in '{name}'", position, hint=_HINT)
    tails = expand_host_range(tail, position)
    return [head + item + rest for item in _range_items(match.group(1), name, position)
            for rest in tails]


def _range_items(spec: str, name: str, position: Position | None) -> list[str]:
    parts = spec.split(":")
    if len(parts) > 3:
        raise InputError(f"malformed host range '[{spec}]' in '{name}'", position, hint=_HINT)
    begin, end = parts[0] or "0", parts[1]
    step_text = parts[2] if len(parts) == 3 else "1"
    if not step_text.isdigit() or int(step_text) == 0:
        raise InputError(
            f"host range step '{step_text}' in '{name}' must be a positive integer",
            position,
            hint=_HINT,
        )
    step = int(step_text)
    if begin.isdigit() and end.isdigit():
        return _numeric(begin, end, step, name, position)
    letters = string.ascii_letters
    if len(begin) == 1 and len(end) == 1 and begin in letters and end in letters:
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise InputError(f"host range '[{spec}]' in '{name}' ends before it starts", position)
        return [letters[i] for i in range(first, last + 1, step)]
    raise InputError(
        f"malformed host range '[{spec}]' in '{name}': bounds must be two numbers "
        "or two single letters",
        position,
        hint=_HINT,
    )


def _numeric(begin: str, end: str, step: int, name: str, pos: Position | None) -> list[str]:
    width = 0
    if begin.startswith("0") and len(begin) > 1:
        if len(begin) != len(end):
            raise InputError(
                f"host range '[{begin}:{end}]' in '{name}': a zero-padded start and its end "
                "must have the same width",
                pos,
                hint="write "
                + name.replace(f"[{begin}:{end}", f"[{begin}:{end.zfill(len(begin))}", 1),
            )
        width = len(begin)
    first, last = int(begin), int(end)
    if first > last:
        raise InputError(f"host range '[{begin}:{end}]' in '{name}' ends before it starts", pos)
    return [str(i).zfill(width) for i in range(first, last + 1, step)]
