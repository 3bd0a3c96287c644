"""Round trips are the main cost over SSH: a no-op costs one, a change one or two.

The connection is the real one (local or SSH), wrapped only to count `run` calls.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from runbook_engine.connection.base import CommandResult, Connection
from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import Become
from tests.harness import Target, make_ctx, run_module
from tests.modules_files.helpers import host_mode, host_read, host_write, sh


class Counting:
    """A connection that counts the commands sent through it."""

    def __init__(self, inner: Connection) -> None:
        self.inner, self.host, self.calls = inner, inner.host, 0

    def connect(self) -> None:
        self.inner.connect()

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float | None = None,
        text: bool = False,
    ) -> CommandResult:
        self.calls += 1
        return self.inner.run(command, stdin=stdin, timeout=timeout, text=text)

    def open_stream(self, command: str) -> Any:
        return self.inner.open_stream(command)

    def close(self) -> None:
        self.inner.close()


def trips(target: Target, module: str, args: dict[str, Any], **kwargs: Any) -> tuple[int, bool]:
    conn = Counting(target.conn)
    counted = Target(target.name, conn, target.scratch)  # type: ignore[arg-type]
    res = run_module(module, make_ctx(counted, **kwargs), args)
    assert not res.failed, res.msg
    return conn.calls, res.changed


def test_copy_and_template_one_trip(target: Target, tmp_path: Path) -> None:
    dest = f"{target.scratch}/f"
    args = {"content": "x\n", "dest": dest, "mode": "0600"}
    assert trips(target, "copy", args) == (1, True)
    assert trips(target, "copy", args) == (1, False)
    assert trips(target, "copy", args, check=True) == (1, False)
    (tmp_path / "t.j2").write_text("{{ 1 + 1 }}\n")
    tmpl = {"src": "t.j2", "dest": dest}
    assert trips(target, "template", tmpl, search_paths=[tmp_path]) == (1, True)
    assert trips(target, "template", tmpl, search_paths=[tmp_path]) == (1, False)


def test_edits_one_trip_for_a_no_op(target: Target) -> None:
    path = f"{target.scratch}/conf"
    host_write(target, path, b"a=1\n")
    sh(target, f"chmod 644 {path}")
    args = {"path": path, "line": "a=1", "mode": "0644"}
    assert trips(target, "lineinfile", args) == (1, False)
    assert trips(target, "lineinfile", {**args, "line": "b=2"}) == (2, True)
    assert trips(target, "blockinfile", {"path": path, "block": "c"}) == (2, True)
    assert trips(target, "blockinfile", {"path": path, "block": "c"}) == (1, False)


def test_file_directory_and_absent_act_in_one_trip(target: Target) -> None:
    path = f"{target.scratch}/d"
    args = {"path": path, "state": "directory", "mode": "0755"}
    assert trips(target, "file", args) == (1, True)
    assert host_mode(target, path) == "0755"
    assert trips(target, "file", args) == (1, False)
    assert trips(target, "file", {**args, "mode": "0700"}) == (1, True)
    assert host_mode(target, path) == "0700"
    assert trips(target, "file", args, check=True) == (1, True)  # looks, acts on nothing
    assert host_mode(target, path) == "0700"
    assert trips(target, "file", {"path": path, "state": "absent"}) == (1, True)
    assert trips(target, "file", {"path": path, "state": "absent"}) == (1, False)


def test_file_other_states_look_then_act(target: Target) -> None:
    path = f"{target.scratch}/t"
    assert trips(target, "file", {"path": path, "state": "touch"}) == (2, True)
    # a path that is not a directory: the one-trip attempt hands over to the look,
    # which explains the refusal
    with pytest.raises(ModuleFailure, match="already exists as a file"):
        trips(target, "file", {"path": path, "state": "directory"})


def test_command_one_trip_with_creates(target: Target) -> None:
    marker = f"{target.scratch}/m"
    args = {"cmd": f"touch {marker}", "creates": marker}
    assert trips(target, "command", args) == (1, True)
    assert trips(target, "command", args) == (1, False)


def test_become_writes_as_root(target: Target) -> None:
    """Through sudo: owner root and content still arrive on stdin, one round trip."""
    dest = f"{target.scratch}/owned-by-root"
    args = {"content": "secret\n", "dest": dest, "owner": "root", "group": "root", "mode": "0640"}
    assert trips(target, "copy", args, become=Become()) == (1, True)
    assert sh(target, f"stat -c %U:%G {dest}") == "root:root\n"
    assert host_mode(target, dest) == "0640"
    assert trips(target, "copy", args, become=Become()) == (1, False)
    assert sh(target, f"sudo -n cat {dest}") == "secret\n"


def test_tree_copy_batches_its_files(target: Target, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    for index in range(20):
        (site / f"page{index}.html").write_text(f"<p>{index}</p>\n")
    args = {"src": f"{site}/", "dest": f"{target.scratch}/www"}
    assert trips(target, "copy", args) == (3, True)  # look, mkdir, every file at once
    assert trips(target, "copy", args) == (1, False)
    (site / "page7.html").write_text("<p>seven</p>\n")
    assert trips(target, "copy", args) == (2, True)
    assert host_read(target, f"{target.scratch}/www/page7.html") == b"<p>seven</p>\n"


def test_become_with_a_sudo_password(target: Target, request: pytest.FixtureRequest) -> None:
    """The password goes first on stdin; the file contents after it must arrive intact."""
    if target.name == "localhost":
        pytest.skip("the sudo password rule exists on the SSH test hosts")
    password = request.getfixturevalue("ssh_hosts")[0].password
    become = Become(user="daemon", password=password)
    base = f"/tmp/rb-become-{secrets.token_hex(4)}"
    try:
        args = {"src": f"{tmp_dir(request)}/", "dest": base}
        assert trips(target, "copy", args, become=become) == (3, True)
        assert trips(target, "copy", args, become=become) == (1, False)
        assert sh(target, f"stat -c %U {base}/one") == "daemon\n"
        assert sh(target, f"cat {base}/one {base}/two") == "first\nsecond\n"
    finally:
        sh(target, f"sudo -n rm -rf {base}")


def tmp_dir(request: pytest.FixtureRequest) -> Path:
    path: Path = request.getfixturevalue("tmp_path")
    (path / "one").write_text("first\n")
    (path / "two").write_text("second\n")
    return path
