"""Controller-only modules: debug, assert, fail, set_fact, include_vars, pause."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from runbook_engine.connection.local import LocalConnection
from runbook_engine.errors import ModuleFailure
from tests.harness import Target, make_ctx, run_module


@pytest.fixture
def controller(tmp_path: Path) -> Target:
    return Target("localhost", LocalConnection(), str(tmp_path))


def test_debug_msg_and_var(controller: Target) -> None:
    ctx = make_ctx(controller, variables={"release": {"version": "1.2", "hosts": ["a", "b"]}})
    assert run_module("debug", ctx, {"msg": "deploying 1.2"}).msg == "deploying 1.2"
    shown = run_module("debug", ctx, {"var": "release.hosts"})
    assert shown.data == {"release.hosts": ["a", "b"]}
    assert '"a"' in shown.msg and not shown.changed
    missing = run_module("debug", ctx, {"var": "nope"})
    assert missing.data["nope"] == "VARIABLE IS NOT DEFINED!"
    assert run_module("debug", ctx, {}).msg == "Hello world!"


def test_debug_verbosity_skips_below_threshold(controller: Target) -> None:
    quiet = make_ctx(controller, variables={"ansible_verbosity": 0})
    assert run_module("debug", quiet, {"msg": "x", "verbosity": 2}).skipped
    loud = make_ctx(controller, variables={"ansible_verbosity": 2})
    assert run_module("debug", loud, {"msg": "x", "verbosity": 2}).msg == "x"


def test_assert_passes_and_fails_with_messages(controller: Target) -> None:
    ctx = make_ctx(controller, variables={"disk_free": 30, "name": "web1"})
    ok = run_module("assert", ctx, {"that": ["disk_free > 10", "name is defined"]})
    assert not ok.failed and ok.msg == "All assertions passed"
    bad = run_module(
        "assert", ctx, {"that": ["disk_free > 10", "disk_free > 50"], "fail_msg": "disk low"}
    )
    assert bad.failed and bad.msg == "disk low"
    assert bad.data["assertion"] == "disk_free > 50"
    one = run_module("assert", ctx, {"that": "name == 'web1'", "success_msg": "ok!"})
    assert one.msg == "ok!"
    assert run_module("assert", ctx, {"that": "name == 'x'", "msg": "alias"}).msg == "alias"
    assert run_module("assert", ctx, {"that": ["true"], "quiet": True}).msg == ""
    with pytest.raises(ModuleFailure, match="undefined_thing"):
        run_module("assert", ctx, {"that": ["undefined_thing > 1"]})


def test_fail_fails_with_msg(controller: Target) -> None:
    ctx = make_ctx(controller)
    result = run_module("fail", ctx, {"msg": "stop here"})
    assert result.failed and result.msg == "stop here"
    assert run_module("fail", ctx, {}).msg == "Failed as requested from task"


def test_set_fact_returns_facts_of_any_name(controller: Target) -> None:
    ctx = make_ctx(controller)
    result = run_module("set_fact", ctx, {"a": 1, "b": {"c": [1, 2]}, "cacheable": True})
    assert result.data["ansible_facts"] == {"a": 1, "b": {"c": [1, 2]}}
    assert result.registered()["ansible_facts"]["a"] == 1
    with pytest.raises(ModuleFailure):
        run_module("set_fact", ctx, {"not a name": 1})
    with pytest.raises(ModuleFailure):
        run_module("set_fact", ctx, {})


def test_include_vars_from_vars_dir_and_by_name(controller: Target, tmp_path: Path) -> None:
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars" / "app.yml").write_text("port: 8080\nusers: [ann, bob]\n")
    (tmp_path / "list.yml").write_text("- not\n- a mapping\n")
    ctx = make_ctx(controller, search_paths=[tmp_path])
    result = run_module("include_vars", ctx, {"file": "app.yml"})
    assert result.data["ansible_facts"] == {"port": 8080, "users": ["ann", "bob"]}
    assert result.data["ansible_included_var_files"] == [str(tmp_path / "vars" / "app.yml")]
    named = run_module("include_vars", ctx, {"file": "app.yml", "name": "app"})
    assert named.data["ansible_facts"] == {"app": {"port": 8080, "users": ["ann", "bob"]}}
    merged = run_module("include_vars", ctx, {"dir": "vars"})
    assert merged.data["ansible_facts"]["port"] == 8080
    with pytest.raises(ModuleFailure, match="could not find"):
        run_module("include_vars", ctx, {"file": "missing.yml"})
    with pytest.raises(ModuleFailure, match="mapping"):
        run_module("include_vars", ctx, {"file": "list.yml"})
    with pytest.raises(ValidationError):
        run_module("include_vars", ctx, {})


def test_include_vars_refuses_connection_variables(controller: Target, tmp_path: Path) -> None:
    # They would be ignored: the host's connection was made from the inventory.
    (tmp_path / "conn.yml").write_text("motd: hi\nansible_user: deploy\n")
    ctx = make_ctx(controller, search_paths=[tmp_path])
    with pytest.raises(ModuleFailure, match=r"conn\.yml: ansible_user is a connection variable"):
        run_module("include_vars", ctx, {"file": "conn.yml"})
    # Under a name they are just data.
    named = run_module("include_vars", ctx, {"file": "conn.yml", "name": "other"})
    assert named.data["ansible_facts"] == {"other": {"motd": "hi", "ansible_user": "deploy"}}


def test_pause_seconds_waits(controller: Target) -> None:
    started = time.monotonic()
    result = run_module("pause", make_ctx(controller), {"seconds": 0.3})
    assert time.monotonic() - started >= 0.3
    assert not result.failed and "warnings" not in result.data


def test_pause_without_terminal_does_not_hang(repo_root: Path) -> None:
    script = (
        "from runbook_engine.connection.local import LocalConnection\n"
        "from tests.harness import Target, make_ctx, run_module\n"
        "r = run_module('pause', make_ctx(Target('h', LocalConnection(), '/tmp')),"
        " {'prompt': 'Continue?'})\n"
        "print(r.msg)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo_root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "no terminal" in done.stdout


def _read_until(fd: int, needle: bytes, deadline: float) -> bytes:
    seen = b""
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"never saw {needle!r}; got {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_pause_prompts_on_a_terminal_and_returns_the_answer(repo_root: Path) -> None:
    script = (
        "from runbook_engine.connection.local import LocalConnection\n"
        "from tests.harness import Target, make_ctx, run_module\n"
        "r = run_module('pause', make_ctx(Target('web1', LocalConnection(), '/tmp')),"
        " {'prompt': 'Proceed with the failover?'})\n"
        "print('ANSWER=' + r.data['user_input'])\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: a Python whose stdin is a terminal
        os.chdir(repo_root)
        os.execv(sys.executable, [sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        _read_until(fd, b"Proceed with the failover?", deadline)
        os.write(fd, b"yes please\n")
        output = _read_until(fd, b"ANSWER=yes please", deadline)
        assert b"ANSWER=yes please" in output
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
