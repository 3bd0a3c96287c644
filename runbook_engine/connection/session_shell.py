"""One long-lived /bin/sh per SSH connection that runs commands one after another.

A channel per command costs, on the controller, a round trip and about a dozen SSH
messages through paramiko's Python packet code, and on the host a new sshd session (fork,
login shell, exec of /bin/sh). Measured on one connection: 1.7 ms of controller CPU and
5.2 ms of the host's CPU per `true`, against 0.45 ms and 1.0 ms here.

The shell is started once per connection on an ordinary exec channel and reads its script
from the channel, so each request is one line of shell, parsed (in blocks, not byte by
byte) and run as it arrives:

    (eval 'COMMAND') </dev/null; printf 'TOKEN:SEQ:%s\n' "$?"; printf 'TOKEN:SEQ\n' >&2

`eval` in a subshell gives the command what `/bin/sh -c` would: the session's environment
and working directory, nothing left by the command before. Stdin data travels inside the
request as a `printf` format (a builtin: never on a command line) piped into the command,
so it cannot mix with the requests after it, whether or not the command reads it. The
reply is the command's stdout then `TOKEN:SEQ:RC`, and its stderr then `TOKEN:SEQ`; the
token is random per session, so no output ends a reply by accident.

A command whose output is short text (the modules' own scripts: `TaskContext.run(...,
text=True)`) can have it held back and printed with the stdout end marker, in one write:
one SSH packet instead of two, one wake-up of paramiko's transport thread instead of two
(at 50 hosts, ~6% of the controller's CPU when every command did so). Not for other
commands: a command substitution drops NUL bytes and holds everything in the host's
memory, and output no longer streams.

The shell is its session's process-group leader (sshd calls setsid), so a command that
times out is killed with its whole group, the shell included; the next command starts a
new one. Commands that start background jobs (a lone `&`) keep the channel-per-command
path: a job still writing after its command returned would leak into the next reply.
"""

from __future__ import annotations

import functools
import re
import secrets
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

# Imported by connection/ssh.py only: paramiko is loaded when a host is reached over SSH.
from runbook_engine.connection.paramiko_loader import paramiko  # isort: skip
from paramiko.buffered_pipe import BufferedPipe

from runbook_engine.connection.base import CommandResult, wait_budget
from runbook_engine.connection.ssh_channel import send_data

_READ_SIZE = 65536
# Stdin up to this size is sent inside the request; more goes through a channel of its own
# (streamed from a thread there).
MAX_STDIN = 256 * 1024

# The shell that reads requests: `exec` so that it is the session leader sshd started.
SHELL_COMMAND = "exec /bin/sh"

# `&` that puts a job in the background: not `&&`, and not part of a redirection. An `&`
# in arithmetic is removed before looking.
_BACKGROUND = re.compile(r"(?<![&<>|])&(?![&>])")
# One level of parentheses inside is allowed: `$(( (a & b) + 1 ))`, `$(( 0666 & ~0$(umask) ))`.
_ARITHMETIC = re.compile(r"\$\(\((?:[^()]|\([^()]*\))*\)\)")

# printf format for bytes: printable ASCII as itself, `%` doubled, the rest (quote and
# backslash included) as a 3-digit octal escape.
_PRINTF_TABLE = {
    i: (chr(i) if 0x20 <= i < 0x7F and chr(i) not in "'\\%" else f"\\{i:03o}")
    for i in range(256)
}
_PRINTF_TABLE[ord("%")] = "%%"


def suits(command: str, stdin: bytes | None) -> bool:
    """Whether `command` may run in the shared session shell."""
    if stdin is not None and len(stdin) > MAX_STDIN:
        return False
    return _BACKGROUND.search(_ARITHMETIC.sub("", command)) is None


def printf_format(data: bytes) -> str:
    """A single-quoted printf format that prints exactly `data`."""
    text = data.decode("latin-1").translate(_PRINTF_TABLE)
    if text.startswith("-"):  # else printf may take it for an option
        text = "\\055" + text[1:]
    return f"'{text}'"


def request_line(
    command: str, stdin: bytes | None, token: str, seq: int, *, text: bool = False
) -> str:
    if text:
        return _text_request_line(command, stdin, token, seq)
    run = f"(eval {shlex.quote(command)})"
    run = f"printf {printf_format(stdin)} | {run}" if stdin else f"{run} </dev/null"
    return (
        f"{run}; printf '{token}:{seq}:%s\\n' \"$?\"; printf '{token}:{seq}\\n' >&2\n"
    )


def _text_request_line(command: str, stdin: bytes | None, token: str, seq: int) -> str:
    """The request for a command whose output is short text (the module docstring says
    which): held in a shell variable and printed with the end marker in one write.

    The command substitution is the subshell `(eval ...)` would be. Its EXIT trap appends
    `x` after everything the command printed, even when the command calls `exit`, so
    trailing newlines survive (`${_rb_o%x}` removes just the `x`), and keeps the exit
    status. The variables are unset before the next request, which never sees them.
    """
    run = f"eval {shlex.quote(command)}"
    run = f"printf {printf_format(stdin)} | {run}" if stdin else f"{run} </dev/null"
    return (
        f"_rb_o=$(trap '_rb_r=$?; printf x; exit $_rb_r' EXIT; {run}); _rb_r=$?; "
        f"printf '%s{token}:{seq}:%s\\n' \"${{_rb_o%x}}\" \"$_rb_r\"; "
        f"printf '{token}:{seq}\\n' >&2; unset _rb_o _rb_r\n"
    )


class SessionEnded(Exception):
    """The shell's channel closed before the command's reply was complete."""

    def __init__(self, stdout: bytes, stderr: bytes) -> None:
        super().__init__("the remote shell session ended")
        self.stdout = stdout
        self.stderr = stderr


@dataclass
class Reply:
    """Accumulates one command's reply from the two streams."""

    out_end: bytes
    err_end: bytes
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    rc: int | None = None
    err_done: bool = False

    def add_out(self, data: bytes) -> None:
        start = max(0, len(self.out) - len(self.out_end) - 8)
        self.out += data
        at = self.out.find(self.out_end, start)
        if at < 0:
            return
        newline = self.out.find(b"\n", at)
        if newline < 0:
            return
        self.rc = int(self.out[at + len(self.out_end) : newline])
        del self.out[at:]

    def add_err(self, data: bytes) -> None:
        start = max(0, len(self.err) - len(self.err_end))
        self.err += data
        at = self.err.find(self.err_end, start)
        if at >= 0:
            self.err_done = True
            del self.err[at:]

    @property
    def done(self) -> bool:
        return self.rc is not None and self.err_done

    def result(self) -> CommandResult:
        assert self.rc is not None
        return CommandResult(self.rc, bytes(self.out), bytes(self.err))


class PidFilter(Protocol):
    """Strips the shell's PID report from the front of stderr (ssh._PidFilter)."""

    pid: int | None

    def feed(self, data: bytes) -> bytes: ...


class _WatchedPipe(BufferedPipe):
    """A buffer of the shell's channel that tells `_watch` what it is fed, after storing
    it (b"" when it closes). Installed over paramiko's own by `SessionShell`."""

    _watch: Callable[[bytes], None]

    def feed(self, data: bytes) -> None:
        super().feed(data)
        self._watch(bytes(data))

    def close(self) -> None:
        super().close()
        self._watch(b"")


class _Wakeup:
    """Wakes the shell's reader once its reply is complete, not at every packet.

    A reply comes in two to four packets (output, then each stream's end marker), often
    apart. Woken at each, the reader woke ~2.3 times per command: each time a sleep, a
    wake-up and a wait for the GIL, the controller's costliest steps (bench/switches.py).
    Both buffers report what they are fed (`fed`); the reader is woken when both streams'
    end markers have arrived, when a stream ends, when `DRAIN_AT` bytes wait unread (the
    SSH window moves only as they are read), and for any data once the markers are in or
    when no request awaits a reply. No system call per packet either, unlike
    `Channel.fileno()`'s pipe (a write by the transport thread, a poll and a read by ours).
    """

    DRAIN_AT = 256 * 1024

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._lock = threading.Lock()
        self._awaited: dict[str, bytes] = {}  # stream -> its end marker, not seen yet
        self._tails: dict[str, bytes] = {}  # stream -> last bytes: a marker split in two
        self._unread = 0

    def expect(self, out_end: bytes, err_end: bytes) -> None:
        """The next reply ends with these markers (called before the request is sent)."""
        with self._lock:
            self._awaited = {"out": out_end, "err": err_end}
            self._tails = {"out": b"", "err": b""}

    def fed(self, stream: str, data: bytes) -> None:
        """(paramiko's transport thread) `data` arrived on `stream`; b"": it ended."""
        with self._lock:
            self._unread += len(data)
            end = self._awaited.get(stream)
            if end is not None and data:
                window = self._tails[stream] + data
                if end in window:
                    del self._awaited[stream]
                else:
                    self._tails[stream] = window[-(len(end) - 1) :]
            if not data or not self._awaited or self._unread >= self.DRAIN_AT:
                self._flag.set()

    def rearm(self) -> None:
        """Before the reader looks at both streams: whatever arrives later counts."""
        with self._lock:
            self._unread = 0
            self._flag.clear()

    def wait(self, deadline: float | None) -> None:
        """Until woken, or `wait_budget` runs out (the caller looks again)."""
        self._flag.wait(wait_budget(deadline))


class SessionShell:
    """The controller's side of one remote shell (one command at a time; callers lock)."""

    def __init__(self, channel: paramiko.Channel, pid_filter: PidFilter) -> None:
        self.channel = channel
        self._wakeup = _Wakeup()
        for pipe, stream in ((channel.in_buffer, "out"), (channel.in_stderr_buffer, "err")):
            # The watch before the class: paramiko's transport thread may feed the pipe at
            # any moment (the shell's PID report), and a _WatchedPipe's feed calls it.
            pipe._watch = functools.partial(self._wakeup.fed, stream)
            pipe.__class__ = _WatchedPipe  # two methods more, no new state of paramiko's
        self.pid_filter = pid_filter
        self.token = secrets.token_hex(12)  # ends each reply; random per session
        self._seq = 0
        self.dead = False
        self._released = False
        self._release_lock = threading.Lock()

    def claim_release(self) -> bool:
        """True exactly once: for whoever closes the channel."""
        with self._release_lock:
            first, self._released = not self._released, True
            self.dead = True
            return first

    @property
    def pid(self) -> int | None:
        return self.pid_filter.pid

    def request(self, command: str, stdin: bytes | None, *, text: bool = False) -> Reply:
        """Send one command; returns the Reply to fill with `collect`. `text`: the
        command's output is short text, sent with the end marker (`request_line`)."""
        self._discard_stray_output()
        self._seq += 1
        reply = Reply(
            out_end=f"{self.token}:{self._seq}:".encode(),
            err_end=f"{self.token}:{self._seq}\n".encode(),
        )
        self._wakeup.expect(reply.out_end, reply.err_end)
        line = request_line(command, stdin, self.token, self._seq, text=text)
        send_data(self.channel, line.encode())
        return reply

    def collect(self, reply: Reply, deadline: float | None) -> None:
        """Read until the reply is complete. Raises TimeoutError at `deadline`,
        SessionEnded if the shell's channel closes first."""
        channel = self.channel
        wakeup = self._wakeup
        while True:
            wakeup.rearm()
            while channel.recv_ready():
                reply.add_out(channel.recv(_READ_SIZE))
            while channel.recv_stderr_ready():
                reply.add_err(self.pid_filter.feed(channel.recv_stderr(_READ_SIZE)))
            if reply.done:
                return
            if channel.eof_received or channel.closed:
                if not channel.recv_ready() and not channel.recv_stderr_ready():
                    self.dead = True
                    raise SessionEnded(bytes(reply.out), bytes(reply.err))
                continue
            try:
                wakeup.wait(deadline)
            except TimeoutError:
                self.dead = True
                raise

    def _discard_stray_output(self) -> None:
        """Output that arrived between commands (e.g. a login script's) belongs to none."""
        channel = self.channel
        while channel.recv_ready():
            channel.recv(_READ_SIZE)
        while channel.recv_stderr_ready():
            self.pid_filter.feed(channel.recv_stderr(_READ_SIZE))
