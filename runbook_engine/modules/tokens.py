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


class _Keyed:
    def __init__(self) -> None:
        self.key = os.urandom(32)
        self.counter = itertools.count()


_current = _Keyed()


def _renew() -> None:
    global _current
    _current = _Keyed()


os.register_at_fork(after_in_child=_renew)


def token_hex(nbytes: int) -> str:
    """`nbytes` (1-64) of keyed hash as hex, never the same twice in a process."""
    keyed = _current
    number = next(keyed.counter).to_bytes(8, "big")
    return hashlib.blake2b(number, key=keyed.key, digest_size=nbytes).hexdigest()
