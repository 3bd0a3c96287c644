"""The shared remote shell (connection/session_shell.py): commands run one after another
in one /bin/sh per connection, and still behave as if each had a session of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_engine.connection import session_shell
from runbook_engine.connection.factory import connection_for
from runbook_engine.connection.ssh import SSHConnection
from runbook_engine.modules import fileops
from tests.fixtures.sshd import SSHHost


@pytest.fixture
def conn(ssh_hosts: list[SSHHost]) -> Iterator[SSHConnection]:
    host = ssh_hosts[0]
    connection = connection_for(host.name, host.inventory_vars())
    assert isinstance(connection, SSHConnection)
    try:
        yield connection
    finally:
        connection.close()


def _shell_pid(conn: SSHConnection) -> str:
    # `$$` in a subshell is the PID of the shell that started it.
    return conn.run("echo $$").stdout.strip()


def test_commands_share_one_remote_shell(conn: SSHConnection) -> None:
    first = _shell_pid(conn)
    assert all(_shell_pid(conn) == first for _ in range(5))


def test_opting_out_gives_every_command_its_own_session(ssh_hosts: list[SSHHost]) -> None:
    host = ssh_hosts[0]
    conn = connection_for(host.name, {**host.inventory_vars(), "runbook_ssh_reuse_shell": "no"})
    try:
        assert len({_shell_pid(conn) for _ in range(3)}) == 3
    finally:
        conn.close()


def test_nothing_carries_over_between_commands(conn: SSHConnection) -> None:
    before = conn.run("pwd; umask").stdout.splitlines()
    result = conn.run("cd /; X=leaked; export Y=leaked; umask 0077; set -e; trap 'echo t' EXIT")
    assert result.rc == 0
    after = conn.run('pwd; echo "[$X][$Y]"; umask; false; echo still-running')
    assert after.stdout.splitlines() == [before[0], "[][]", before[1], "still-running"]
    assert before[1] != "0077"


def test_exit_codes_and_output_without_final_newline(conn: SSHConnection) -> None:
    result = conn.run("printf 'no newline'; printf 'err' >&2; exit 7")
    assert (result.rc, result.stdout, result.stderr) == (7, "no newline", "err")
    assert conn.run("exit 0").rc == 0


def test_a_reply_arriving_in_pieces_on_both_streams_is_collected_whole(
    conn: SSHConnection,
) -> None:
    # Both streams share one wake-up; a piece that arrived unnoticed would leave the
    # command waiting out the 5 s re-check, past its 3 s timeout.
    script = (
        "printf 'o1 '; sleep 0.2; printf 'e1 ' >&2; sleep 0.2; printf 'o2 '; "
        "printf 'e2 ' >&2; sleep 0.2; printf 'e3' >&2; sleep 0.2; printf 'o3'; exit 4"
    )
    for _ in range(3):
        result = conn.run(script, timeout=3)
        assert (result.rc, result.stdout, result.stderr) == (4, "o1 o2 o3", "e1 e2 e3")


def test_stdin_is_exact_and_an_unread_stdin_does_not_leak(conn: SSHConnection) -> None:
    data = bytes(range(256)) + b"%s %% \\n '\"' $(touch /tmp/x) \n\n"
    assert conn.run("cat", stdin=data).stdout_bytes == data
    for option_like in (b"--help", b"-v", b"-"):
        assert conn.run("cat", stdin=option_like).stdout_bytes == option_like
    # The command ignores its stdin; the next command must see none of it.
    assert conn.run("echo ignored", stdin=b"exit 99\n" * 1000).stdout == "ignored\n"
    assert conn.run("cat; echo next").stdout == "next\n"


def test_shell_syntax_error_fails_the_command_not_the_shell(conn: SSHConnection) -> None:
    pid = _shell_pid(conn)
    result = conn.run("if then fi (")
    assert result.rc == 2 and "syntax" in result.stderr.lower()
    assert _shell_pid(conn) == pid


def test_a_command_that_kills_its_shell_reports_it_and_the_next_one_works(
    conn: SSHConnection,
) -> None:
    pid = _shell_pid(conn)
    result = conn.run("echo before; kill -KILL $$")
    assert result.rc == 255 and result.stdout == "before\n"
    assert conn.run("echo after").stdout == "after\n"
    assert _shell_pid(conn) != pid


def test_timeout_kills_the_shell_and_the_next_command_gets_a_new_one(
    conn: SSHConnection, tmp_path: Path
) -> None:
    pid = _shell_pid(conn)
    with pytest.raises(TimeoutError, match="timed out"):
        conn.run("sleep 30", timeout=0.5)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the host is this machine: its processes are visible here
    assert not Path(f"/proc/{pid}").exists(), "the timed-out command's shell still runs"
    assert conn.run("echo ok").stdout == "ok\n"


def test_background_jobs_keep_a_channel_of_their_own(conn: SSHConnection) -> None:
    assert not session_shell.suits("sleep 1 & echo started", None)
    assert session_shell.suits("a && b 2>&1 >&2 &>/dev/null; x=$(( 6 & 3 ))", None)
    # The late output of a background job is read with its own command, not the next one.
    result = conn.run("(sleep 0.3; echo late) & echo now")
    assert result.stdout == "now\nlate\n"
    assert conn.run("echo next").stdout == "next\n"


def test_arithmetic_with_parentheses_is_not_a_background_job() -> None:
    assert session_shell.suits("echo $(( (6 & 3) + 1 ))", None)
    # Replacing a file while keeping its mode computes the umask's default with `&`: that
    # script (lineinfile, copy without `mode`) must not cost a session of its own.
    script = fileops.write_script("/srv/app/settings.ini", "0" * 64)
    assert "& ~0$(umask)" in script
    assert session_shell.suits(script, b"max_connections=200\n")


def test_a_shell_that_died_while_idle_is_replaced_before_the_next_command(
    conn: SSHConnection,
) -> None:
    import os
    import signal

    pid = int(_shell_pid(conn))
    os.kill(pid, signal.SIGKILL)  # as a server's idle ChannelTimeout would end it
    shell = conn._shell
    deadline = time.monotonic() + 5
    while shell is not None and not (shell.channel.closed or shell.channel.eof_received):
        assert time.monotonic() < deadline
        time.sleep(0.02)  # paramiko has seen the channel end: the case under test
    result = conn.run("echo still here")
    assert (result.rc, result.stdout) == (0, "still here\n")
    assert int(_shell_pid(conn)) != pid


def test_commands_work_with_descriptors_above_select_limit(ssh_hosts: list[SSHHost]) -> None:
    # A run over hundreds of hosts holds more than 1024 descriptors: select() fails there.
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1300:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    filler = [os.open("/dev/null", os.O_RDONLY) for _ in range(1100)]
    host = ssh_hosts[0]
    conn = connection_for(host.name, host.inventory_vars())
    try:
        assert conn.run("echo shared").stdout == "shared\n"
        assert conn.run("sleep 0.1 & echo own channel; wait").stdout == "own channel\n"
        assert conn.run("sleep 0.2", timeout=5).rc == 0
    finally:
        conn.close()
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_stdin_never_appears_on_a_command_line_on_the_host(conn: SSHConnection) -> None:
    # The host is this machine: every process's command line is readable here.
    import threading

    secret = b"s3cret-" + bytes(range(48, 58))
    # More than a pipe holds: whatever feeds it blocks until `cat` reads, after the sleep,
    # so a feeding process with the data in its arguments would be seen.
    payload = secret + b"." * 150_000
    done = threading.Event()
    seen: list[str] = []

    def scan() -> None:
        while not done.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    if secret in cmdline.read_bytes():
                        seen.append(str(cmdline))
                except OSError:
                    pass

    scanner = threading.Thread(target=scan)
    scanner.start()
    try:
        result = conn.run("sleep 0.5; cat", stdin=payload)
    finally:
        done.set()
        scanner.join()
    assert result.stdout_bytes == payload
    assert seen == []


def test_the_reader_sleeps_once_per_reply_even_when_it_comes_in_pieces(
    conn: SSHConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn.run("true")  # the shell is up
    sleeps: list[int] = []
    real_wait = session_shell._Wakeup.wait

    def counting_wait(self: session_shell._Wakeup, deadline: float | None) -> None:
        if not self._flag.is_set():
            sleeps.append(1)
        real_wait(self, deadline)

    monkeypatch.setattr(session_shell._Wakeup, "wait", counting_wait)
    result = conn.run("echo o1; sleep 0.1; echo e1 >&2; sleep 0.1; echo o2; sleep 0.1; exit 3")
    assert (result.rc, result.stdout, result.stderr) == (3, "o1\no2\n", "e1\n")
    assert len(sleeps) == 1  # woken for the whole reply, not for each of its 5 packets


def test_output_larger_than_the_ssh_window_is_read_as_it_comes(conn: SSHConnection) -> None:
    # paramiko's window is 2 MiB: unread, the host would stop sending before the end marker
    result = conn.run("head -c 5000000 /dev/zero; head -c 3000000 /dev/zero >&2", timeout=60)
    assert (result.rc, len(result.stdout_bytes), len(result.stderr_bytes)) == (
        0, 5_000_000, 3_000_000)


def test_wakeup_waits_for_both_end_markers_even_split_across_packets() -> None:
    wakeup = session_shell._Wakeup()
    wakeup.expect(b"TOKEN:7:", b"TOKEN:7\n")
    wakeup.rearm()
    wakeup.fed("out", b"output\nTOK")
    wakeup.fed("out", b"EN:7:0\n")  # the marker, split in two
    wakeup.fed("err", b"errors\n")
    assert not wakeup._flag.is_set()
    wakeup.fed("err", b"TOKEN:7\n")
    assert wakeup._flag.is_set()
    wakeup.rearm()
    wakeup.fed("out", b"late")  # both markers in: any more data wakes the reader
    assert wakeup._flag.is_set()


def test_wakeup_wakes_for_a_stream_that_ends_or_much_unread_output() -> None:
    wakeup = session_shell._Wakeup()
    wakeup.expect(b"T:1:", b"T:1\n")
    wakeup.rearm()
    wakeup.fed("err", b"")  # the channel closed
    assert wakeup._flag.is_set()
    wakeup.rearm()
    wakeup.fed("out", b"x" * (session_shell._Wakeup.DRAIN_AT - 1))
    assert not wakeup._flag.is_set()
    wakeup.fed("out", b"x")
    assert wakeup._flag.is_set()


@pytest.mark.parametrize("stdin", [None, b"line one\n%s \\ 'q'\n"])
def test_a_text_reply_is_exact_whatever_the_command_does(
    conn: SSHConnection, stdin: bytes | None
) -> None:
    """`text=True` holds the output back for one write with the end marker: trailing
    newlines, an output ending in the held-back marker's own `x`, an `exit` in the middle
    and stderr all come back as they would without it."""
    scripts = [
        "printf 'a\\n\\n\\n'",
        "printf 'ends in x'",
        "echo out; echo err >&2; exit 4; echo never",
        "printf ''",
        "cat; echo after-stdin",
        "if true; then echo inside; exit 0; fi",
    ]
    for script in scripts:
        plain = conn.run(script, stdin=stdin)
        held = conn.run(script, stdin=stdin, text=True)
        assert (held.rc, held.stdout_bytes, held.stderr_bytes) == (
            plain.rc, plain.stdout_bytes, plain.stderr_bytes), script
    assert conn.run("printf 'x'", text=True).stdout == "x"
    # Nothing of the holding-back is left for the next command to see.
    after = conn.run('echo "[${_rb_o-unset}][${_rb_r-unset}]"')
    assert after.stdout == "[unset][unset]\n"


def test_a_text_reply_comes_in_one_packet_with_its_end_marker(
    conn: SSHConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn.run("true")  # the shell is up
    assert conn._shell is not None
    stdout_buffer = conn._shell.channel.in_buffer
    packets: list[bytes] = []
    real_feed = session_shell._WatchedPipe.feed

    def counting_feed(self: session_shell._WatchedPipe, data: bytes) -> None:
        if self is stdout_buffer:  # paramiko feeds it one SSH packet at a time
            packets.append(bytes(data))
        real_feed(self, data)

    monkeypatch.setattr(session_shell._WatchedPipe, "feed", counting_feed)
    # The marker is written after the command has exited: without text, two packets.
    script = "echo result; sleep 0.2"
    assert conn.run(script).stdout == "result\n"
    assert len(packets) == 2
    packets.clear()
    assert conn.run(script, text=True).stdout == "result\n"
    assert len(packets) == 1


def test_a_buffer_reports_what_it_is_fed_from_the_moment_it_is_watched() -> None:
    """paramiko's transport thread may feed a buffer (the shell's PID report on stderr)
    while `SessionShell` installs its watch. The watch must be in place before the buffer
    becomes a `_WatchedPipe`, whose `feed` calls it: the other order lost a connection at
    500 hosts (AttributeError in the transport thread)."""
    ready_when_swapped: list[bool] = []

    class RecordingPipe(session_shell.BufferedPipe):
        def __setattr__(self, name: str, value: object) -> None:
            if name == "__class__":
                ready_when_swapped.append("_watch" in self.__dict__)
            super().__setattr__(name, value)

    class Channel:
        in_buffer = RecordingPipe()
        in_stderr_buffer = RecordingPipe()

    shell = session_shell.SessionShell(Channel(), pid_filter=None)  # type: ignore[arg-type]
    assert ready_when_swapped == [True, True]
    Channel.in_stderr_buffer.feed(b"late")
    assert shell.channel.in_stderr_buffer.read(4) == b"late"
