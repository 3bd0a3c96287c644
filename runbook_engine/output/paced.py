"""Text for a pipe or a file (a CI log), written in batches at a steady pace.

Hosts' results arrive from many threads at once. Written as they come, each line is a
system call, and with other hosts busy each system call can cost a thread switch (with
PYTHONUNBUFFERED set, as in many CI images, ~550 of them in a 50-host run). Left to
Python's buffering instead, a pipe gets nothing until 8 KiB have gathered, so a CI log can
show nothing for minutes. Here text is kept until the caller flushes (at a task's banner,
say) or until it is `every` seconds old, then written in one call.
"""

from __future__ import annotations

import threading
from typing import TextIO

FLUSH_EVERY = 0.2  # seconds; a human reading a log sees no lag below this


class PacedWriter:
    def __init__(self, stream: TextIO, every: float = FLUSH_EVERY) -> None:
        self.stream = stream
        self._every = every
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._due = threading.Event()  # set when text is waiting
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self, text: str) -> None:
        with self._lock:
            first = not self._pending
            self._pending.append(text)
            if first and self._thread is None:
                self._thread = threading.Thread(target=self._pace, name="runbook-output",
                                                daemon=True)
                self._thread.start()
        if first:
            self._due.set()

    def flush(self) -> None:
        with self._lock:
            text = "".join(self._pending)
            self._pending.clear()
            if text:
                self.stream.write(text)
            self.stream.flush()

    def close(self) -> None:
        self._closed.set()
        self._due.set()
        self.flush()

    def _pace(self) -> None:
        while True:
            self._due.wait()
            if self._closed.wait(self._every):
                return
            self._due.clear()  # before writing: text written from now on sets it again
            try:
                self.flush()
            except (OSError, ValueError):  # the reader went away: the next flush says so
                return
