"""Running commands: the same behaviour over the local connection and over real SSH."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from runbook_engine.modules.base import TaskContext
from tests.harness import Target, make_ctx


def test_stdout_stderr_and_exit_code(target: Target) -> None:
    result = target.conn.run("echo out; echo err >&2; exit 3")
    assert (result.rc, result.stdout, result.stderr) == (3, "out\n", "err\n")


def test_commands_run_with_posix_sh(target: Target) -> None:
    assert target.conn.run("readlink /proc/$$/exe").stdout.strip().endswith(("dash", "sh"))


def test_every_byte_survives_stdin_to_stdout(target: Target) -> None:
    data = bytes(range(256)) * 64 + b"\r\n\x00no newline at end"
    result = target.conn.run("cat", stdin=data)
    assert result.rc == 0
    assert result.stdout_bytes == data


def test_big_stdin_and_big_outputs_do_not_deadlock(target: Target) -> None:
    data = os.urandom(6 * 1024 * 1024)  # more than any channel window or pipe buffer
    result = target.conn.run("tee /dev/stderr", stdin=data, timeout=60)
    assert result.rc == 0
    assert result.stdout_bytes == data
    assert result.stderr_bytes == data


def test_no_stdin_means_end_of_file(target: Target) -> None:
    result = target.conn.run("cat; echo after", timeout=10)
    assert result.stdout == "after\n"


def test_timeout_raises_and_kills_the_command(target: Target) -> None:
    pidfile = f"{target.scratch}/pid"
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="timed out"):
        target.conn.run(f"sh -c 'echo $$ > {pidfile}; exec sleep 30'; echo never", timeout=1)
    assert time.monotonic() - started < 5
    pid = int(Path(pidfile).read_text())  # scratch is on this machine for both targets
    assert not _running(pid), "the timed-out command is still running"
    # the connection is still usable afterwards
    assert target.conn.run("echo ok").stdout == "ok\n"


def test_shell_metacharacters_arrive_as_data(target: Target) -> None:
    canary = Path(target.scratch) / "pwned"
    value = f"$(touch {canary}) `touch {canary}`; touch {canary} | & > < * ' \" \\ \n end"
    ctx: TaskContext = make_ctx(target)
    result = ctx.run(["printf", "%s", value], chdir=target.scratch)
    assert result.stdout == value
    assert not canary.exists()


def _peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS)


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_stream_50_mb_each_way_in_bounded_memory(target: Target) -> None:
    size = 50 * 1024 * 1024
    chunk = os.urandom(1024 * 1024)
    dest = f"{target.scratch}/upload.bin"
    _peak_rss_reset()
    base = _peak_rss_mb()
    sent = hashlib.sha256()
    with target.conn.open_stream(f"cat > {dest}") as stream:
        for _ in range(size // len(chunk)):
            stream.stdin.write(chunk)
            sent.update(chunk)
        result = stream.wait()
    assert result.rc == 0, result.stderr
    with open(dest, "rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == sent.hexdigest()
    received = hashlib.sha256()
    total = 0
    with target.conn.open_stream(f"cat {dest}; echo done >&2") as stream:
        while block := stream.stdout.read(1024 * 1024):
            received.update(block)
            total += len(block)
        result = stream.wait()
    assert (result.rc, result.stderr, total) == (0, "done\n", size)
    assert received.hexdigest() == sent.hexdigest()
    grown = _peak_rss_mb() - base
    assert grown < 30, f"peak memory grew {grown:.0f} MB while streaming 50 MB"


def test_stream_reports_failure(target: Target) -> None:
    with target.conn.open_stream("cat >/dev/null; echo broken >&2; exit 5") as stream:
        stream.stdin.write(b"x" * 1000)
        result = stream.wait()
    assert (result.rc, result.stderr) == (5, "broken\n")


def test_concurrent_commands_share_one_connection(target: Target) -> None:
    errors: list[str] = []

    def worker(n: int) -> None:
        for i in range(10):
            try:
                got = target.conn.run(f"echo {n}-{i}", stdin=b"" if i % 2 else b"x").stdout
            except Exception as exc:
                got = repr(exc)
            if got != f"{n}-{i}\n":
                errors.append(got)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_close_kills_a_running_command(target: Target) -> None:
    pidfile = Path(target.scratch) / "pid"
    outcome: list[object] = []

    def long_command() -> None:
        try:
            outcome.append(target.conn.run(f"echo $$ > {pidfile}; exec sleep 30"))
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=long_command)
    worker.start()
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pid = int(pidfile.read_text())
    target.conn.close()
    worker.join(10)
    assert not worker.is_alive()
    assert outcome  # returned or raised, but did not hang
    assert not _running(pid)


def test_close_kills_a_command_that_started_before_it_was_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command can be running before Popen returns to the thread that started it; a
    close() in that gap (a loaded controller) must still kill it. The gap is widened here."""
    import subprocess

    from runbook_engine.connection import local

    started = threading.Event()
    pidfile = tmp_path / "pid"

    class SlowToReturn(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            deadline = time.monotonic() + 10
            while not (pidfile.exists() and pidfile.read_text().strip()):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            started.set()  # the command runs; Popen has not returned yet
            time.sleep(0.5)

    monkeypatch.setattr(local.subprocess, "Popen", SlowToReturn)
    conn = local.LocalConnection()
    worker = threading.Thread(
        target=lambda: conn.run(f"echo $$ > {pidfile}; exec sleep 30"), daemon=True)
    worker.start()
    assert started.wait(10)
    conn.close()
    worker.join(10)
    assert not worker.is_alive(), "close() missed the command: it ran on for 30 s"
    assert not _running(int(pidfile.read_text()))


def _running(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        time.sleep(0.05)
    return True


def test_stream_with_much_stderr_does_not_block_stdout(target: Target) -> None:
    command = "head -c 300000 /dev/zero >&2; head -c 300000 /dev/zero; echo tail >&2"
    with target.conn.open_stream(command) as stream:
        total = 0
        while block := stream.stdout.read(65536):
            total += len(block)
        result = stream.wait()
    assert total == 300000
    assert result.rc == 0
    assert result.stderr_bytes == b"\0" * 300000 + b"tail\n"
