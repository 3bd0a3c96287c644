"""Local connection: the controller itself, for `localhost` / `ansible_connection: local`.

Uses subprocess directly rather than invoke's runner: byte-exact stdin/stdout (binary files
survive) and no watcher threads per command, which matters on a hot path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from typing import BinaryIO

from runbook_engine.connection.base import CommandResult

_READ_SIZE = 65536
_STDERR_KEEP = 1_048_576


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class LocalStream:
    def __init__(self, command: str) -> None:
        self._proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self.stdin: BinaryIO = self._proc.stdin
        self.stdout: BinaryIO = self._proc.stdout
        self._stderr = bytearray()
        # Drain stderr meanwhile: a full stderr pipe would block the command's stdout.
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, args=(self._proc.stderr,), daemon=True
        )
        self._stderr_thread.start()

    def _drain_stderr(self, pipe: BinaryIO) -> None:
        while data := pipe.read1(_READ_SIZE):  # type: ignore[attr-defined]
            self._stderr += data
            if len(self._stderr) > _STDERR_KEEP:  # keep the tail: the error is at the end
                del self._stderr[:-_STDERR_KEEP]

    def wait(self) -> CommandResult:
        if not self.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.stdin.close()
        while self.stdout.read(_READ_SIZE):  # unread output is discarded, not kept
            pass
        self._stderr_thread.join()
        rc = self._proc.wait()
        return CommandResult(rc, b"", bytes(self._stderr))

    def __enter__(self) -> LocalStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None:
            _kill_group(self._proc)
            self._proc.wait()
        self._stderr_thread.join(5)
        for f in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if f and not f.closed:
                f.close()


class LocalConnection:
    """Runs commands with /bin/sh on the controller."""

    def __init__(self, host: str = "localhost") -> None:
        self.host = host
        self._running: set[subprocess.Popen[bytes]] = set()
        self._starting = threading.Lock()

    def connect(self) -> None:
        return None

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float | None = None,
        text: bool = False,  # nothing to gain locally: pipes have no packets
    ) -> CommandResult:
        # Started and registered under one lock: the command may already be running
        # when Popen returns, and a close() in between must still find it.
        with self._starting:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", command],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # so a timeout kills the whole command, children too
            )
            self._running.add(proc)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise TimeoutError(f"command timed out after {timeout} s") from None
        finally:
            self._running.discard(proc)
        return CommandResult(proc.returncode, out, err)

    def open_stream(self, command: str) -> LocalStream:
        return LocalStream(command)

    def close(self) -> None:
        """Kill commands still running (an interrupted run), like a closed SSH session."""
        with self._starting:
            for proc in list(self._running):
                _kill_group(proc)
