"""Errors shared by every layer, and the exit codes the CLI maps them to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes. Failed and unreachable combine as a bit mask (12)."""

    OK = 0
    INTERNAL = 1
    INVALID_INPUT = 2
    HOST_FAILED = 4
    HOST_UNREACHABLE = 8
    HOST_LOCKED = 16  # another run holds a lease on a target host; nothing was run
    INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class Position:
    """Where something was written: file, 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


def did_you_mean(word: object, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """A hint naming the closest choices, or '' when none is close."""
    import difflib  # only for an error message: not on every start

    close = difflib.get_close_matches(str(word), list(choices), n=3, cutoff=cutoff)
    if not close:
        return ""
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


class RunbookError(Exception):
    """Base of the engine's own errors."""


class InputError(RunbookError):
    """Bad input (YAML, schema, unknown module, undefined variable...): exit code 2.

    Always raised before any host is touched; the message names file:line:column.
    """

    def __init__(self, message: str, position: Position | None = None, hint: str = "") -> None:
        self.message = message
        self.position = position
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.position}: " if self.position else ""
        text = f"{where}error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class HostUnreachable(RunbookError):
    """The host could not be connected to, or the connection died."""


class ModuleFailure(RunbookError):
    """A module gave up on a host; the executor turns it into a failed Result."""
