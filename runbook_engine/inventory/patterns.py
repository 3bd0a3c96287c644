"""Host patterns, as Ansible reads them: `web:&prod:!web3`, `web*`, `~db\\d+`, `web[0:2]`."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from runbook_engine.errors import InputError, Position

LOCALHOST_NAMES = ("localhost", "127.0.0.1", "::1")
_SUBSCRIPT = re.compile(r"^(?P<base>.+)\[(?:(?P<index>-?\d+)|(?P<start>\d*):(?P<end>-?\d*))\]$")
_IPV6 = re.compile(r"^[0-9a-fA-F]*:[0-9a-fA-F:]*:[0-9a-fA-F]*$")
_GLOB_CHARS = ("*", "?", "[", ".")


@dataclass(frozen=True, slots=True)
class Atom:
    """One term of a pattern: `op` is '' (union), '&' (intersection) or '!' (exclusion)."""

    op: str
    expr: str
    subscript: tuple[int, int | None] | None = None
    text: str = ""  # as written, for messages

    @property
    def is_regex(self) -> bool:
        return self.expr.startswith("~")

    @property
    def is_glob(self) -> bool:
        return not self.is_regex and any(c in self.expr for c in _GLOB_CHARS)


def split_pattern(pattern: str | Sequence[str]) -> list[str]:
    """Terms of a pattern: comma-separated when it has commas, else colon-separated
    (colons inside `[x:y]` and in IPv6 addresses are not separators)."""
    if not isinstance(pattern, str):
        return [t for item in pattern for t in split_pattern(item)]
    if "," in pattern:
        terms = pattern.split(",")
    elif _IPV6.match(pattern.lstrip("!&")):
        terms = [pattern]
    else:
        terms = _split_on_colons(pattern)
    return [t.strip() for t in terms if t.strip()]


def _split_on_colons(pattern: str) -> list[str]:
    terms, current, depth = [], [], 0
    for char in pattern:
        if char == ":" and depth == 0:
            terms.append("".join(current))
            current = []
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        current.append(char)
    terms.append("".join(current))
    return terms


def parse_atoms(pattern: str | Sequence[str], position: Position | None = None) -> list[Atom]:
    """Terms in evaluation order: unions, then intersections, then exclusions. A pattern of
    only intersections and exclusions starts from `all`."""
    atoms = [_atom(term, position) for term in split_pattern(pattern)]
    if not atoms:
        raise InputError("empty host pattern", position, hint="use 'all' to target every host")
    ordered = [a for a in atoms if a.op == ""]
    ordered += [a for a in atoms if a.op == "&"] + [a for a in atoms if a.op == "!"]
    if not ordered or ordered[0].op:
        ordered.insert(0, Atom("", "all", None, "all"))
    return ordered


def _atom(term: str, position: Position | None) -> Atom:
    op = term[0] if term[0] in "!&" else ""
    expr = term[len(op) :]
    if not expr:
        raise InputError(f"'{term}' in host pattern names nothing", position)
    subscript = None
    match = _SUBSCRIPT.match(expr) if not expr.startswith("~") else None
    if match:
        expr = match["base"]
        if match["index"] is not None:
            subscript = (int(match["index"]), None)
        else:
            end = int(match["end"]) if match["end"] not in ("", None) else -1
            subscript = (int(match["start"] or 0), end)
    return Atom(op, expr, subscript, term)


@lru_cache(maxsize=512)
def compile_matcher(expr: str, position: Position | None = None) -> Callable[[str], bool]:
    """`~regex` (matched at the start of the name, as Ansible does) or a shell glob."""
    if expr.startswith("~"):
        try:
            return re.compile(expr[1:]).match  # type: ignore[return-value]
        except re.error as exc:
            raise InputError(f"invalid regular expression '{expr[1:]}' in host pattern: {exc}",
                             position) from None
    return re.compile(fnmatch.translate(expr)).match  # type: ignore[return-value]


def apply_subscript(
    hosts: list[str], atom: Atom, position: Position | None
) -> list[str]:
    """Ansible's subscripts: `[i]` one host (negative from the end), `[a:b]` a..b inclusive."""
    if atom.subscript is None:
        return hosts
    start, end = atom.subscript
    count = len(hosts)
    if end is None:
        if not -count <= start < count:
            raise InputError(
                f"'{atom.text}': index {start} is out of range, '{atom.expr}' has {count} "
                f"host{'s' if count != 1 else ''}",
                position,
            )
        return [hosts[start]]
    if end == -1:
        end = count - 1
    if start >= count:
        raise InputError(
            f"'{atom.text}': range starts at {start} but '{atom.expr}' has {count} "
            f"host{'s' if count != 1 else ''}",
            position,
        )
    return hosts[start : end + 1]
