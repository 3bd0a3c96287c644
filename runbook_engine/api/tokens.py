"""API tokens: random, shown once, stored only as a SHA-256 digest, scoped to playbooks.

A token is 32 random bytes, so a plain SHA-256 digest is enough (no password stretching
needed: there is nothing to guess). Verification hashes the presented token and compares
it with every stored digest in constant time, without stopping at the first match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from runbook_engine.api.config import ServerConfig, TokenEntry
from runbook_engine.errors import InputError

TOKEN_PREFIX = "rbk_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """Tokens from the config plus the tokens file, which is re-read when it changes."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        assert config.tokens_file is not None
        self.path: Path = config.tokens_file
        self._mtime: float | None = None
        self._file_tokens: list[TokenEntry] = []

    def _load_file(self) -> list[TokenEntry]:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return []
        if mtime != self._mtime:
            self._file_tokens = read_tokens_file(self.path)
            self._mtime = mtime
        return self._file_tokens

    def tokens(self) -> list[TokenEntry]:
        return [*self.config.tokens, *self._load_file()]

    def verify(self, presented: str) -> TokenEntry | None:
        presented_digest = digest(presented)
        match = None
        for entry in self.tokens():
            if hmac.compare_digest(presented_digest, entry.sha256) and match is None:
                match = entry
        return match


def read_tokens_file(path: Path) -> list[TokenEntry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    items = data.get("tokens", []) if isinstance(data, dict) else []
    entries = []
    for item in items:
        try:
            entries.append(TokenEntry.model_validate(item))
        except ValueError:
            continue
    return entries


def add_token(config: ServerConfig, name: str, playbooks: list[str]) -> str:
    """Create a token, store its digest, return the token (to be shown once)."""
    assert config.tokens_file is not None
    unknown = [p for p in playbooks if p != "*" and p not in config.playbooks]
    if unknown:
        raise InputError(f"not in the server config's playbooks: {', '.join(unknown)}",
                         hint=f"known: {', '.join(sorted(config.playbooks)) or 'none'}")
    if not playbooks:
        raise InputError("a token needs --playbooks NAME[,NAME] (or '*')")
    existing = read_tokens_file(config.tokens_file)
    if any(t.name == name for t in [*config.tokens, *existing]):
        raise InputError(f"a token named {name!r} exists", hint="revoke it first")
    token = new_token()
    entry = TokenEntry(name=name, sha256=digest(token), playbooks=playbooks)
    _write(config.tokens_file, [*existing, entry])
    return token


def revoke_token(config: ServerConfig, name: str) -> bool:
    assert config.tokens_file is not None
    existing = read_tokens_file(config.tokens_file)
    kept = [t for t in existing if t.name != name]
    if len(kept) == len(existing):
        return False
    _write(config.tokens_file, kept)
    return True


def _write(path: Path, entries: list[TokenEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"tokens": [e.model_dump() for e in entries]}
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    temporary.replace(path)
