"""Unpredictable tokens for per-task names on hosts (temp files, output separators).

`secrets.token_hex` reads the kernel's random source on every call, and that system call
releases the GIL: with other hosts' threads busy, each release can cost a thread switch,
several times the token's own cost. These tokens are keyed hashes of a counter instead,
with a key read once per process (and again in a forked child, which would otherwise
repeat its parent's tokens). Without the key they are as unpredictable as the originals.
"""

from __future__ import annotations

import hashlib
import itertools
import os

_state: dict[str, object] = {}


def _new_key() -> None:
    _state["key"] = os.urandom(32)
    _state["counter"] = itertools.count()


_new_key()
os.register_at_fork(after_in_child=_new_key)


def token_hex(nbytes: int) -> str:
    """`nbytes` (1-64) of keyed hash as hex, never the same twice in a process."""
    number = next(_state["counter"])  # type: ignore[call-overload]
    digest = hashlib.blake2b(number.to_bytes(8, "big"), key=_state["key"],  # type: ignore[arg-type]
                             digest_size=nbytes)
    return digest.hexdigest()
