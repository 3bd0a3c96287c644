"""lineinfile and blockinfile: edits, anchors, idempotence, check/diff mode, hostile text."""

from __future__ import annotations

import pytest

from runbook_engine.errors import ModuleFailure
from tests.harness import Target
from tests.modules_files.helpers import (
    apply,
    host_exists,
    host_mode,
    host_read,
    host_write,
    hostile_values,
    listing,
)

CONF = b"# sshd\nPort 22\nPermitRootLogin yes\n#Banner none\n"


@pytest.fixture
def conf(target: Target) -> str:
    path = f"{target.scratch}/sshd_config"
    host_write(target, path, CONF)
    return path


def test_regexp_replaces_the_matching_line(target: Target, conf: str) -> None:
    args = {"path": conf, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no"}
    res = apply(target, "lineinfile", args)
    assert res.changed and res.msg == "line replaced"
    assert host_read(target, conf) == b"# sshd\nPort 22\nPermitRootLogin no\n#Banner none\n"
    again = apply(target, "lineinfile", args)
    assert not again.changed and again.msg == ""


def test_line_added_at_eof_then_idempotent(target: Target, conf: str) -> None:
    args = {"path": conf, "line": "UseDNS no"}
    assert apply(target, "lineinfile", args).msg == "line added"
    assert host_read(target, conf) == CONF + b"UseDNS no\n"
    assert not apply(target, "lineinfile", args).changed


def test_insertafter_insertbefore_and_bof(target: Target, conf: str) -> None:
    apply(target, "lineinfile", {"path": conf, "line": "Port 2222", "insertafter": "^Port"})
    apply(target, "lineinfile", {"path": conf, "line": "# top", "insertbefore": "BOF"})
    apply(target, "lineinfile", {"path": conf, "line": "Banner /etc/issue",
                                 "insertbefore": "^#Banner"})  # fmt: skip
    assert host_read(target, conf) == (
        b"# top\n# sshd\nPort 22\nPort 2222\nPermitRootLogin yes\nBanner /etc/issue\n#Banner none\n"
    )


def test_backrefs_and_search_string(target: Target, conf: str) -> None:
    args = {"path": conf, "regexp": r"^Port (\d+)$", "line": r"Port \g<1>0", "backrefs": True}
    assert apply(target, "lineinfile", args).changed
    assert b"Port 220\n" in host_read(target, conf)  # type: ignore[operator]
    missing = {**args, "regexp": "^NoSuchKey (.*)$"}
    assert not apply(target, "lineinfile", missing).changed
    res = apply(target, "lineinfile", {"path": conf, "search_string": "Root", "line": "X"})
    assert res.changed and b"\nX\n" in host_read(target, conf)  # type: ignore[operator]


def test_absent_removes_every_match(target: Target, conf: str) -> None:
    res = apply(target, "lineinfile", {"path": conf, "regexp": "^#", "state": "absent"})
    assert res.changed and res.msg == "2 line(s) removed"
    assert host_read(target, conf) == b"Port 22\nPermitRootLogin yes\n"
    assert not apply(
        target, "lineinfile", {"path": conf, "regexp": "^#", "state": "absent"}
    ).changed


def test_missing_file_fails_unless_create(target: Target) -> None:
    path = f"{target.scratch}/new.conf"
    with pytest.raises(ModuleFailure, match="does not exist"):
        apply(target, "lineinfile", {"path": path, "line": "a=1"})
    args = {"path": path, "line": "a=1", "create": True, "mode": "0600"}
    assert apply(target, "lineinfile", args).changed
    assert host_read(target, path) == b"a=1\n" and host_mode(target, path) == "0600"
    assert not apply(target, "lineinfile", args).changed
    assert apply(target, "lineinfile", {**args, "mode": "0640"}).changed
    assert host_mode(target, path) == "0640"


def test_check_and_diff_mode(target: Target, conf: str) -> None:
    args = {"path": conf, "regexp": "^Port", "line": "Port 2222"}
    res = apply(target, "lineinfile", args, check=True, diff=True)
    assert res.changed and host_read(target, conf) == CONF
    assert res.diff[0]["before"] == CONF.decode()
    assert res.diff[0]["after"] == CONF.decode().replace("Port 22", "Port 2222")


def test_backup(target: Target, conf: str) -> None:
    res = apply(target, "lineinfile", {"path": conf, "line": "x", "backup": True})
    assert host_read(target, res.data["backup_file"]) == CONF
    assert len(listing(target)) == 2


def test_hostile_lines_stay_data(target: Target, conf: str) -> None:
    canary = f"{target.scratch}/pwned"
    for value in hostile_values(canary):
        line = value.replace("\n", " ")
        assert apply(target, "lineinfile", {"path": conf, "line": line}).changed
        assert f"\n{line}\n".encode() in host_read(target, conf)  # type: ignore[operator]
        assert not host_exists(target, canary), value


BLOCK_FILE = b"line 1\nline 2\n"


def test_block_inserted_updated_removed(target: Target) -> None:
    path = f"{target.scratch}/hosts"
    host_write(target, path, BLOCK_FILE)
    args = {"path": path, "block": "10.0.0.1 db\n10.0.0.2 web"}
    res = apply(target, "blockinfile", args)
    assert res.changed and res.msg == "Block inserted"
    expected = (
        b"line 1\nline 2\n# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 db\n10.0.0.2 web\n"
        b"# END ANSIBLE MANAGED BLOCK\n"
    )
    assert host_read(target, path) == expected
    assert not apply(target, "blockinfile", args).changed
    assert apply(target, "blockinfile", {**args, "block": "10.0.0.3 cache"}).changed
    assert b"10.0.0.3 cache\n# END" in host_read(target, path)  # type: ignore[operator]
    res = apply(target, "blockinfile", {"path": path, "state": "absent"})
    assert res.changed and res.msg == "Block removed"
    assert host_read(target, path) == BLOCK_FILE
    assert not apply(target, "blockinfile", {"path": path, "state": "absent"}).changed


def test_block_custom_marker_and_anchor(target: Target) -> None:
    path = f"{target.scratch}/cfg"
    host_write(target, path, BLOCK_FILE)
    args = {"path": path, "block": "x", "marker": "<!-- {mark} -->", "insertafter": "^line 1"}
    assert apply(target, "blockinfile", args, check=True).changed
    assert host_read(target, path) == BLOCK_FILE
    res = apply(target, "blockinfile", args, diff=True)
    assert res.diff[0]["after"] == "line 1\n<!-- BEGIN -->\nx\n<!-- END -->\nline 2\n"
    assert host_read(target, path) == b"line 1\n<!-- BEGIN -->\nx\n<!-- END -->\nline 2\n"
    assert not apply(target, "blockinfile", args).changed


def test_block_create_and_hostile_content(target: Target) -> None:
    canary = f"{target.scratch}/pwned"
    path = f"{target.scratch}/new $(touch pwned) `touch pwned`"
    block = "\n".join(hostile_values(canary))
    args = {"path": path, "block": block, "create": True}
    assert apply(target, "blockinfile", args).changed
    assert block.encode() in host_read(target, path)  # type: ignore[operator]
    assert not apply(target, "blockinfile", args).changed
    assert not host_exists(target, canary)


def test_bad_regexp_is_an_argument_error() -> None:
    from pydantic import ValidationError

    from runbook_engine.modules.lineinfile import Args

    with pytest.raises(ValidationError, match="not a valid regular expression"):
        Args.model_validate({"path": "/x", "regexp": "(unclosed", "line": "y"})


def test_edits_go_through_a_symlink(target: Target, conf: str) -> None:
    link = f"{target.scratch}/link"
    target.conn.run(f"ln -s sshd_config {link}")
    assert apply(target, "lineinfile", {"path": link, "line": "UseDNS no"}).changed
    assert apply(target, "blockinfile", {"path": link, "block": "Match all"}).changed
    assert target.conn.run(f"readlink {link}").stdout == "sshd_config\n"
    assert host_read(target, conf).startswith(CONF + b"UseDNS no\n# BEGIN")  # type: ignore[union-attr]
