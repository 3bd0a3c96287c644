"""command, shell, raw, script: effect, creates/removes, check mode, quoting."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.harness import Target
from tests.modules_files.helpers import apply, host_exists, host_read, hostile_values, listing


def test_command_runs_without_a_shell(target: Target) -> None:
    cmd = f"touch '{target.scratch}/a b' {target.scratch}/; {target.scratch}/'$HOME'"
    res = apply(target, "command", {"cmd": cmd})
    assert res.changed and not res.failed and res.rc == 0
    assert listing(target) == ["$HOME", ";", "a b"]


def test_command_argv_reports_output_and_timing(target: Target) -> None:
    res = apply(target, "command", {"argv": ["printf", "%s\\n\\n", "hello world"]})
    assert res.changed and res.rc == 0
    assert res.stdout == "hello world"  # trailing empty lines stripped, as Ansible does
    assert res.data["cmd"] == ["printf", "%s\\n\\n", "hello world"]
    assert {"start", "end", "delta"} <= res.data.keys()


def test_command_failure_is_reported(target: Target) -> None:
    res = apply(target, "command", {"cmd": "ls /definitely/not/here"})
    assert res.failed and res.rc != 0
    assert res.msg == "non-zero return code"
    assert "not/here" in res.stderr


def test_command_chdir_and_stdin(target: Target) -> None:
    res = apply(target, "command", {"cmd": "tee out.txt", "chdir": target.scratch,
                                    "stdin": "line one"})  # fmt: skip
    assert res.stdout == "line one"
    assert host_read(target, f"{target.scratch}/out.txt") == b"line one\n"


def test_command_missing_chdir_fails_without_running(target: Target) -> None:
    res = apply(target, "command", {"cmd": f"touch {target.scratch}/ran", "chdir": "/nope/x"})
    assert res.failed
    assert not host_exists(target, f"{target.scratch}/ran")


def test_creates_and_removes_decide(target: Target) -> None:
    marker = f"{target.scratch}/made"
    args = {"cmd": f"touch {marker}", "creates": marker}
    assert apply(target, "command", args).changed
    second = apply(target, "command", args)
    assert not second.changed and second.msg == f"Did not run command since '{marker}' exists"
    rm = {"cmd": f"rm {marker}", "removes": marker}
    assert apply(target, "command", rm).changed and not host_exists(target, marker)
    assert not apply(target, "command", rm).changed


def test_creates_accepts_a_glob_relative_to_chdir(target: Target) -> None:
    args = {"cmd": "touch x-1.conf", "chdir": target.scratch, "creates": "*.conf"}
    assert apply(target, "command", args).changed
    assert not apply(target, "command", args).changed


def test_check_mode_runs_nothing(target: Target) -> None:
    marker = f"{target.scratch}/made"
    res = apply(target, "command", {"cmd": f"touch {marker}"}, check=True)
    assert res.skipped and not host_exists(target, marker)
    res = apply(target, "shell", {"cmd": f"touch {marker}", "creates": marker}, check=True)
    assert res.changed and not host_exists(target, marker)


def test_shell_pipes_and_executable(target: Target) -> None:
    res = apply(target, "shell", {"cmd": "echo one two | wc -w; exit 3"})
    assert res.failed and res.rc == 3 and res.stdout.strip() == "2"
    res = apply(target, "shell", {"cmd": "echo ${BASH_VERSION:+bash}", "executable": "/bin/bash"})
    assert res.stdout == "bash"


def test_raw_sends_the_line(target: Target) -> None:
    res = apply(target, "raw", {"cmd": "echo raw && false"})
    assert res.failed and res.stdout == "raw\n"
    assert apply(target, "raw", {"cmd": "true"}, check=True).skipped


def test_script_runs_a_controller_file_with_args(target: Target, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "hello.sh").write_text('#!/bin/sh\nprintf "%s|" "$@" > out\n')
    args = {"cmd": "hello.sh 'a b' c", "chdir": target.scratch,
            "creates": f"{target.scratch}/out"}  # fmt: skip
    res = apply(target, "script", args, search_paths=[tmp_path])
    assert res.changed and res.rc == 0
    assert host_read(target, f"{target.scratch}/out") == b"a b|c|"
    assert not apply(target, "script", args, search_paths=[tmp_path]).changed


def test_script_honours_the_shebang(target: Target, tmp_path: Path) -> None:
    (tmp_path / "which.sh").write_text('#!/bin/bash\necho ${BASH_VERSION:+bash} "$1"\n')
    res = apply(target, "script", {"cmd": "which.sh x"}, search_paths=[tmp_path])
    assert res.stdout == "bash x"


@pytest.mark.parametrize("module", ["command", "script"])
def test_hostile_arguments_stay_data(target: Target, tmp_path: Path, module: str) -> None:
    canary = f"{target.scratch}/pwned"
    (tmp_path / "echo.sh").write_text('printf "%s\\n" "$@"\n')
    for value in hostile_values(canary):
        if module == "command":
            res = apply(target, "command", {"argv": ["printf", "%s", value]})
            assert res.stdout == value.rstrip("\n")
        else:
            args = {"cmd": f"echo.sh {shlex.quote(value)}"}
            res = apply(target, "script", args, search_paths=[tmp_path])
            assert res.stdout == value.rstrip("\n")
        assert not host_exists(target, canary), value


def test_hostile_chdir_and_creates_stay_data(target: Target) -> None:
    canary = f"{target.scratch}/pwned"
    for value in hostile_values(canary):
        res = apply(target, "shell", {"cmd": "true", "chdir": value})
        assert res.failed
        res = apply(target, "command", {"cmd": "true", "creates": value, "removes": value})
        assert not host_exists(target, canary), value


_COMMAND_TEXT = st.text(st.sampled_from(
    [" ", "\t", "\n", "\r", "\x0b", "\xa0", "a", "-", "/", "=", "#", "$", "*", ";", "|",
     "'", '"', "\\", "é", "x"]), max_size=30)


@given(_COMMAND_TEXT)
def test_command_words_are_split_as_shlex_splits_them(text: str) -> None:
    from runbook_engine.modules.command import split_words

    try:
        expected = shlex.split(text)
    except ValueError:  # unbalanced quotes: shlex's error is the one the user sees
        with pytest.raises(ValueError):
            split_words(text)
        return
    assert split_words(text) == expected
