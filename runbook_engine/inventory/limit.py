"""`--limit`: a host pattern whose terms may be `@file`, one host per line (retry files)."""

from __future__ import annotations

from pathlib import Path

from runbook_engine.errors import InputError, Position
from runbook_engine.inventory.patterns import split_pattern


def limit_terms(limit: str) -> list[tuple[str, Position | None]]:
    """Pattern terms of a --limit, with the file:line of those read from an @file."""
    terms: list[tuple[str, Position | None]] = []
    pieces = split_pattern(limit) if "@" not in limit else _split_keeping_files(limit)
    for piece in pieces:
        if not piece.startswith("@"):
            terms.append((piece, None))
            continue
        path = Path(piece[1:])
        if not path.is_file():
            raise InputError(
                f"--limit file '{path}' "
                + ("is a directory" if path.is_dir() else "does not exist"),
                hint="'@FILE' reads host names from FILE, one a line",
            )
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            name = line.strip()
            if name and not name.startswith("#"):
                terms.append((name, Position(str(path), number, line.index(name) + 1)))
    if not terms:
        raise InputError(f"--limit '{limit}' names no hosts")
    return terms


def _split_keeping_files(limit: str) -> list[str]:
    """Commas separate terms; an @file term keeps its colons (paths may contain them)."""
    pieces: list[str] = []
    for chunk in limit.split(","):
        chunk = chunk.strip()
        if chunk.startswith("@"):
            pieces.append(chunk)
        elif chunk:
            pieces.extend(split_pattern(chunk))
    return pieces
