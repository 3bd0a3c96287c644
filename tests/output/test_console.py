"""ConsoleSink: what an engineer reads during and after a run."""

from __future__ import annotations

import io
import re

import pytest

from runbook_engine.events import EventBus
from runbook_engine.modules.base import Result
from runbook_engine.output.console import ConsoleSink, exit_code_meaning, format_duration

from .scenario import MASKED, emit_run

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def render(**options: object) -> str:
    stream = io.StringIO()
    bus = EventBus([ConsoleSink(stream=stream, **options)])  # type: ignore[arg-type]
    emit_run(bus)
    bus.close()
    return stream.getvalue()


def test_plain_output_has_headers_host_lines_and_recap() -> None:
    out = render()
    lines = out.splitlines()
    assert "\x1b[" not in out  # not a terminal: no escape codes
    assert lines[1].startswith("PLAY [web] ****")
    assert len(lines[1]) == 80
    assert "TASK [check uptime] playbooks/site.yml:5 ***" in out
    assert "ok: [web1]" in lines
    assert "unreachable: [db1] => ssh: connect to db1:22: Connection refused" in lines
    assert "changed: [web1] => (item=nginx)" in lines
    item_failure = "failed: [web1] => (item=ngnix) => rc=100 no such package: ngnix"
    assert lines[lines.index(item_failure) + 1 :][:3] == [
        "  stderr:",
        "    E: Unable to locate package ngnix",
        "...ignoring",
    ]
    assert "skipped: [web1]" in lines
    assert "RUNNING HANDLER [reload nginx] playbooks/site.yml:40 ***" in out
    assert "ok: [web1] (rescued)" in lines
    assert "[WARNING]: host web2 failed; continuing with the remaining hosts" in lines


def test_failure_shows_message_and_tail_of_stderr() -> None:
    lines = render().splitlines()
    start = lines.index("failed: [web2] => rc=3 non-zero return code")
    assert lines[start + 1] == "  stderr:"
    shown = lines[start + 2 : start + 22]
    assert shown[0] == "    trace line 7"
    assert shown[-1] == "    Error: port 8080 in use"
    assert lines[start + 22] == "    (6 earlier lines not shown; use -v)"


def test_diff_is_shown_in_diff_mode() -> None:
    lines = render().splitlines()
    start = lines.index("changed: [web1]")
    assert lines[start + 1 : start + 6] == [
        "--- /etc/app.conf",
        "+++ /etc/app.conf",
        "@@ -1 +1 @@",
        "-port=80",
        "+port=8080",
    ]


def test_recap_and_exit_code() -> None:
    out = render()
    recap = out[out.index("PLAY RECAP") :].splitlines()
    assert recap[1] == (
        "db1  : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0"
        "    ignored=0"
    )
    assert recap[2].startswith("web1 : ok=5    changed=2 ")
    assert recap[3].startswith("web2 : ok=3    changed=1    unreachable=0    failed=1 ")
    assert recap[-1] == (
        "exit code 12: some host failed and some host unreachable - total time 1m15s"
    )


def test_default_verbosity_hides_ok_results_and_v_shows_them() -> None:
    assert '"stdout": "up 3 days"' not in render()
    verbose = render(verbosity=1).splitlines()
    index = verbose.index("ok: [web1]")
    assert verbose[index + 1] == (
        '{"changed": false, "failed": false, "rc": 0, "skipped": false, "stderr": "", '
        '"stdout": "up 3 days"}'
    )
    assert "playbook playbooks/site.yml (run r-42)" in verbose
    assert "PLAY [web] (3 hosts) " in "\n".join(verbose)
    assert "skipped: [web1] => conditional result was False" in verbose


def test_vv_adds_module_and_durations() -> None:
    out = render(verbosity=2)
    assert "TASK [restart app] playbooks/site.yml:25 (command) ***" in out
    assert "failed: [web2] => rc=3 non-zero return code (1.50s)" in out.splitlines()


def test_masked_results_stay_masked_at_every_verbosity() -> None:
    out = render(verbosity=3)
    assert MASKED in out
    for line in out.splitlines():
        assert "password" not in line.lower() or "set db password" in line


@pytest.mark.parametrize("term", ["xterm-256color", "dumb"])
def test_color_marks_statuses(monkeypatch: pytest.MonkeyPatch, term: str) -> None:
    monkeypatch.setenv("TERM", term)
    monkeypatch.delenv("COLORTERM", raising=False)
    out = render(color=True, progress=False)
    assert "\x1b[32mok: [web1]\x1b[0m" in out  # green
    assert "\x1b[33mchanged: [web1]\x1b[0m" in out  # yellow
    assert "\x1b[31mfailed: [web2]" in out  # red
    assert "\x1b[36mskipped: [web1]\x1b[0m" in out  # cyan
    assert "\x1b[35munreachable: [db1]" in out  # magenta
    assert "ok: [web1]" in ANSI.sub("", out).splitlines()


def test_progress_line_only_when_asked_and_cleared() -> None:
    assert "hosts done" not in render()
    out = render(progress=True, color=False)
    assert "task 1 - 0/3 hosts done" in out
    assert "task 1 - 3/3 hosts done" in out
    assert "task 1 - 1/1 hosts done" in out  # handler in the second play
    plain = ANSI.sub("", out)
    assert "exit code 12" in plain.splitlines()[-1]


def test_progress_shows_task_total_when_known() -> None:
    stream = io.StringIO()
    bus = EventBus([ConsoleSink(stream=stream, progress=True, color=False)])
    bus.emit("play_start", play="p", hosts=["h"], task_count=10)
    bus.emit("task_start", play="p", task="t", task_id="1", module="ping", position="a:1:1",
             hosts=["h"], handler=False)  # fmt: skip
    bus.emit("host_result", play="p", task="t", host="h", task_id="1", status="ok",
             result=Result(), duration=0.1, ignored=False, rescued=False)  # fmt: skip
    bus.close()
    assert "task 1/10 - 1/1 hosts done" in stream.getvalue()


def test_run_end_without_recap_data_and_close_twice() -> None:
    stream = io.StringIO()
    sink = ConsoleSink(stream=stream)
    bus = EventBus([sink])
    bus.emit("run_end", stats={}, exit_code=0, duration=2.25)
    sink.close()
    sink.close()
    assert stream.getvalue().splitlines()[-1] == "exit code 0: all hosts ok - total time 2.2s"


def test_exit_code_meanings_and_durations() -> None:
    assert exit_code_meaning(2) == "invalid input"
    assert exit_code_meaning(4) == "some host failed"
    assert exit_code_meaning(8) == "some host unreachable"
    assert exit_code_meaning(130) == "interrupted"
    assert exit_code_meaning(None) == "run did not finish"
    assert format_duration(3725) == "1h02m05s"
    assert format_duration(0.042) == "0.04s"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_detection_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = FakeTerminal()
    bus = EventBus([ConsoleSink(stream=stream)])
    emit_run(bus)
    bus.close()
    out = stream.getvalue()
    assert "\x1b[32mok: [web1]\x1b[0m" in out
    assert "task 5 - 2/2 hosts done" in out


def test_no_color_env_keeps_progress_but_drops_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = FakeTerminal()
    bus = EventBus([ConsoleSink(stream=stream)])
    emit_run(bus)
    bus.close()
    out = stream.getvalue()
    assert "\x1b[32m" not in out
    assert "task 5 - 2/2 hosts done" in out


def test_debug_messages_show_without_verbose() -> None:
    stream = io.StringIO()
    bus = EventBus([ConsoleSink(stream=stream)])
    bus.emit("task_start", play="p", task="show", task_id="1", module="debug",
             position="site.yml:3:7", hosts=["h1", "h2"], handler=False)  # fmt: skip
    bus.emit("host_result", play="p", task="show", host="h1", task_id="1", status="ok",
             result=Result(msg="version is 1.2"), duration=0.0)  # fmt: skip
    bus.emit("host_result", play="p", task="show", host="h2", task_id="1", status="ok",
             result=Result(msg="line one\nline two"), duration=0.0)  # fmt: skip
    bus.emit("host_result", play="p", task="show", host="h2", task_id="1", status="skipped",
             result=Result(skipped=True, msg="verbosity threshold not met"),
             duration=0.0)  # fmt: skip
    bus.close()
    lines = stream.getvalue().splitlines()
    assert lines[-4:] == [
        "ok: [h1] => version is 1.2",
        "ok: [h2] => line one",
        "    line two",
        "skipped: [h2]",
    ]


def test_a_pipe_gets_a_hosts_result_while_another_host_still_works(tmp_path) -> None:
    """Python buffers 8 KiB for a pipe: without pacing, a CI log would show the quick
    host's line only when the slow host is done too."""
    import os
    import queue
    import subprocess
    import sys
    import threading

    release = tmp_path / "release"
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n"
        "    quick: {ansible_connection: local, wait_for: ''}\n"
        f"    slow: {{ansible_connection: local, wait_for: '{release}'}}\n")
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: wait\n"
        "      shell: 'while [ -n \"{{ wait_for }}\" ] && [ ! -e \"{{ wait_for }}\" ]; do"
        " sleep 0.05; done'\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_engine", "run", str(playbook), "-i", str(inventory),
         "--no-journal"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=tmp_path)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []])
    reader.start()
    seen: list[str] = []
    try:
        while not seen or not seen[-1].startswith("changed: [quick]"):
            seen.append(lines.get(timeout=30))  # Empty: the line is still held back
        assert proc.poll() is None  # the slow host is still waiting for `release`
    finally:
        release.touch()
        proc.wait(timeout=60)
        reader.join()
    out = "".join(seen) + "".join(lines.queue)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert "changed: [slow]" in out


def test_paced_text_is_written_in_order_within_the_pace_or_at_a_flush() -> None:
    import threading

    from runbook_engine.output.paced import PacedWriter

    class Recording(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.writes = 0
            self.written = threading.Event()

        def write(self, text: str) -> int:
            self.writes += 1
            self.written.set()
            return super().write(text)

    stream = Recording()
    writer = PacedWriter(stream, every=0.05)
    for i in range(100):
        writer.write(f"line {i}\n")
    assert stream.written.wait(10)  # the pace alone writes them: nobody flushed
    writer.write("after\n")
    writer.flush()
    writer.close()
    assert stream.getvalue() == "".join(f"line {i}\n" for i in range(100)) + "after\n"
    assert stream.writes <= 3  # in batches, not a call per line
