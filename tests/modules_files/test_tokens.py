"""Per-task tokens (temp file names, separators) are unique, hex, and not shared with a
forked child, without a system call each."""

from __future__ import annotations

import os
import re

import pytest

from runbook_engine.modules import tokens


def test_tokens_are_hex_of_the_asked_size_and_never_repeat() -> None:
    many = [tokens.token_hex(6) for _ in range(20_000)]
    assert all(re.fullmatch(r"[0-9a-f]{12}", t) for t in many)
    assert len(set(many)) == len(many)
    assert re.fullmatch(r"[0-9a-f]{16}", tokens.token_hex(8))


def test_no_kernel_randomness_is_read_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(os, "urandom", lambda n: calls.append(n) or b"\0" * n)
    first, second = tokens.token_hex(8), tokens.token_hex(8)
    assert calls == [] and first != second


def test_a_forked_child_makes_tokens_of_its_own() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next tokens, to the parent
        os.close(read)
        os.write(write, " ".join(tokens.token_hex(8) for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {tokens.token_hex(8) for _ in range(50)}
    assert len(child) == 50
    assert not child & parent  # with the parent's key and counter they would be the same
