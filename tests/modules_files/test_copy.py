"""copy: content, controller files and trees, remote_src, attributes, check and diff mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from runbook_engine.loader.yaml_source import OctalInt
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


def test_content_is_written_once(target: Target) -> None:
    dest = f"{target.scratch}/motd"
    args = {"content": "hello\n", "dest": dest, "mode": OctalInt(0o640)}
    first = apply(target, "copy", args)
    assert first.changed and first.data["dest"] == dest
    assert host_read(target, dest) == b"hello\n" and host_mode(target, dest) == "0640"
    assert not apply(target, "copy", args).changed
    assert listing(target) == ["motd"]  # no temp file left behind


def test_mode_change_alone_is_a_change(target: Target) -> None:
    dest = f"{target.scratch}/f"
    host_write(target, dest, b"x")
    assert apply(target, "copy", {"content": "x", "dest": dest, "mode": "u=rw,go="}).changed
    assert host_mode(target, dest) == "0600"
    assert not apply(target, "copy", {"content": "x", "dest": dest, "mode": "0600"}).changed


def test_plain_int_mode_is_refused() -> None:
    from runbook_engine.modules.copy import Args

    with pytest.raises(ValidationError, match="'0644'"):
        Args.model_validate({"content": "x", "dest": "/tmp/x", "mode": 644})


def test_check_mode_changes_nothing(target: Target) -> None:
    dest = f"{target.scratch}/f"
    res = apply(target, "copy", {"content": "new\n", "dest": dest}, check=True)
    assert res.changed and not host_exists(target, dest)
    host_write(target, dest, b"old\n")
    res = apply(target, "copy", {"content": "new\n", "dest": dest}, check=True, diff=True)
    assert res.changed and host_read(target, dest) == b"old\n"
    assert res.diff[0]["before"] == "old\n" and res.diff[0]["after"] == "new\n"


def test_diff_shows_before_and_after(target: Target) -> None:
    dest = f"{target.scratch}/f"
    host_write(target, dest, b"a\nb\n")
    res = apply(target, "copy", {"content": "a\nc\n", "dest": dest}, diff=True)
    assert res.diff == [
        {"before": "a\nb\n", "after": "a\nc\n", "before_header": dest,
         "after_header": "dynamically generated"}
    ]  # fmt: skip


def test_backup_keeps_the_old_file(target: Target) -> None:
    dest = f"{target.scratch}/conf"
    host_write(target, dest, b"old\n")
    res = apply(target, "copy", {"content": "new\n", "dest": dest, "backup": True})
    backup = res.data["backup_file"]
    assert backup.startswith(dest + ".") and backup.endswith("~")
    assert host_read(target, backup) == b"old\n" and host_read(target, dest) == b"new\n"


def test_force_false_keeps_an_existing_file(target: Target) -> None:
    dest = f"{target.scratch}/conf"
    host_write(target, dest, b"mine\n")
    assert not apply(target, "copy", {"content": "theirs", "dest": dest, "force": False}).changed
    assert host_read(target, dest) == b"mine\n"


def test_validate_refuses_a_bad_file(target: Target) -> None:
    dest = f"{target.scratch}/conf"
    host_write(target, dest, b"good\n")
    args = {"content": "bad\n", "dest": dest, "validate": "grep -q good %s"}
    with pytest.raises(Exception, match="failed to validate"):
        apply(target, "copy", args)
    assert host_read(target, dest) == b"good\n" and listing(target) == ["conf"]
    assert apply(target, "copy", {**args, "content": "good too\n"}).changed


def test_binary_file_survives(target: Target, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4
    (tmp_path / "blob.bin").write_bytes(data)
    dest = f"{target.scratch}/blob.bin"
    assert apply(target, "copy", {"src": "blob.bin", "dest": dest}, search_paths=[tmp_path]).changed
    assert host_read(target, dest) == data


def test_src_file_into_an_existing_directory(target: Target, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "app.conf").write_text("k=v\n")
    args = {"src": "app.conf", "dest": target.scratch, "mode": "preserve"}
    assert apply(target, "copy", args, search_paths=[tmp_path]).changed
    assert host_read(target, f"{target.scratch}/app.conf") == b"k=v\n"
    assert not apply(target, "copy", args, search_paths=[tmp_path]).changed


def test_directory_tree(target: Target, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "index.html").write_text("<h1>hi</h1>\n")
    (site / "css" / "a.css").write_text("body{}\n")
    args = {"src": str(site), "dest": f"{target.scratch}/www/", "directory_mode": "0750"}
    assert apply(target, "copy", args, check=True).changed
    assert not host_exists(target, f"{target.scratch}/www")
    assert apply(target, "copy", args).changed
    assert host_read(target, f"{target.scratch}/www/site/css/a.css") == b"body{}\n"
    assert host_mode(target, f"{target.scratch}/www/site/css") == "0750"
    assert not apply(target, "copy", args).changed
    (site / "index.html").write_text("<h1>changed</h1>\n")
    contents = {**args, "src": f"{site}/", "dest": f"{target.scratch}/flat"}
    assert apply(target, "copy", contents).changed
    assert host_read(target, f"{target.scratch}/flat/index.html") == b"<h1>changed</h1>\n"
    assert not apply(target, "copy", contents).changed


def test_remote_src(target: Target) -> None:
    src, dest = f"{target.scratch}/a", f"{target.scratch}/b"
    host_write(target, src, b"on host\n")
    args = {"src": src, "dest": dest, "remote_src": True}
    assert apply(target, "copy", args).changed and host_read(target, dest) == b"on host\n"
    assert not apply(target, "copy", args).changed


def test_hostile_paths_and_content_stay_data(target: Target) -> None:
    canary = f"{target.scratch}/pwned"
    for index, value in enumerate(hostile_values(canary)):
        dest = f"{target.scratch}/{index}{value.replace('/', '_')}"
        assert apply(target, "copy", {"content": value, "dest": dest}).changed
        assert host_read(target, dest) == value.encode()
        assert not host_exists(target, canary), value


def test_a_symlink_dest_is_replaced_unless_follow(target: Target) -> None:
    real, link = f"{target.scratch}/real", f"{target.scratch}/link"
    host_write(target, real, b"real\n")
    target.conn.run(f"ln -s real {link}")
    assert apply(target, "copy", {"content": "via link\n", "dest": link, "follow": True}).changed
    assert host_read(target, real) == b"via link\n" and host_exists(target, link)
    assert target.conn.run(f"readlink {link}").stdout == "real\n"
    assert apply(target, "copy", {"content": "own file\n", "dest": link}).changed
    assert target.conn.run(f"readlink {link}").rc != 0
    assert host_read(target, link) == b"own file\n" and host_read(target, real) == b"via link\n"


def test_structured_content_is_written_as_json(target: Target) -> None:
    dest = f"{target.scratch}/conf.json"
    assert apply(target, "copy", {"content": {"b": [1, 2], "a": True}, "dest": dest}).changed
    assert json.loads(host_read(target, dest) or b"") == {"a": True, "b": [1, 2]}
