"""file: every state, attributes, idempotence, check and diff mode, hostile paths."""

from __future__ import annotations

import shlex

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
    sh,
)


def test_directory_with_mode(target: Target) -> None:
    path = f"{target.scratch}/a/b"
    args = {"path": path, "state": "directory", "mode": "0750"}
    res = apply(target, "file", args, check=True, diff=True)
    assert res.changed and not host_exists(target, path)
    assert res.diff[0]["before"] == "state: absent\n"
    assert res.diff[0]["after"] == "state: directory\n"
    assert apply(target, "file", args).changed
    assert (
        sh(target, f"test -d {path} && echo dir") == "dir\n" and host_mode(target, path) == "0750"
    )
    assert not apply(target, "file", args).changed
    assert apply(target, "file", {**args, "mode": "g+w"}).changed
    assert host_mode(target, path) == "0770"


def test_recurse_sets_every_file(target: Target) -> None:
    root = f"{target.scratch}/tree"
    sh(target, f"mkdir -p {root}/sub && touch {root}/sub/f && chmod 600 {root}/sub/f")
    args = {"path": root, "state": "directory", "mode": "u=rwX,go=rX", "recurse": True}
    assert apply(target, "file", args).changed
    assert (
        host_mode(target, f"{root}/sub/f") == "0644" and host_mode(target, f"{root}/sub") == "0755"
    )
    assert not apply(target, "file", args).changed
    numeric = {"path": root, "state": "directory", "mode": "0700", "recurse": True}
    assert apply(target, "file", numeric, check=True).changed
    assert host_mode(target, f"{root}/sub/f") == "0644"
    assert apply(target, "file", numeric).changed
    assert not apply(target, "file", numeric, check=True).changed


def test_file_state_only_changes_attributes(target: Target) -> None:
    path = f"{target.scratch}/f"
    with pytest.raises(ModuleFailure, match="is absent"):
        apply(target, "file", {"path": path, "mode": "0600"})
    host_write(target, path, b"data")
    sh(target, f"chmod 644 {path}")
    assert apply(target, "file", {"path": path, "mode": "0600"}, check=True).changed
    assert host_mode(target, path) == "0644"
    assert apply(target, "file", {"path": path, "state": "file", "mode": "0600"}).changed
    assert host_mode(target, path) == "0600" and host_read(target, path) == b"data"
    assert not apply(target, "file", {"dest": path, "mode": "0600"}).changed


def test_owner_and_group_by_name(target: Target) -> None:
    path = f"{target.scratch}/f"
    host_write(target, path, b"")
    user, group = sh(target, "id -un; id -gn").split()
    args = {"path": path, "owner": user, "group": group}
    assert not apply(target, "file", args).changed
    uid = sh(target, "id -u").strip()
    assert not apply(target, "file", {"path": path, "owner": uid}).changed


def test_touch_and_absent(target: Target) -> None:
    path = f"{target.scratch}/t"
    assert apply(target, "file", {"path": path, "state": "touch", "mode": "0640"}).changed
    assert host_read(target, path) == b"" and host_mode(target, path) == "0640"
    keep = {"path": path, "state": "touch", "modification_time": "preserve",
            "access_time": "preserve"}  # fmt: skip
    assert not apply(target, "file", keep).changed
    assert apply(target, "file", {"path": path, "state": "absent"}, check=True).changed
    assert host_exists(target, path)
    assert apply(target, "file", {"path": path, "state": "absent"}).changed
    assert not host_exists(target, path)
    assert not apply(target, "file", {"path": path, "state": "absent"}).changed


def test_absent_removes_a_tree(target: Target) -> None:
    root = f"{target.scratch}/tree"
    sh(target, f"mkdir -p {root}/x/y && touch {root}/x/y/z")
    assert apply(target, "file", {"path": root, "state": "absent"}).changed
    assert not host_exists(target, root)


def test_symlink(target: Target) -> None:
    link, src = f"{target.scratch}/current", "releases/v1"
    sh(target, f"mkdir -p {target.scratch}/releases/v1 {target.scratch}/releases/v2")
    args = {"path": link, "src": src, "state": "link"}
    assert apply(target, "file", args, check=True).changed and not host_exists(target, link)
    assert apply(target, "file", args).changed
    assert sh(target, f"readlink {link}") == "releases/v1\n"
    assert not apply(target, "file", args).changed
    assert apply(target, "file", {**args, "src": "releases/v2"}).changed
    assert sh(target, f"readlink {link}") == "releases/v2\n"


def test_symlink_refuses_to_replace_a_file_without_force(target: Target) -> None:
    path = f"{target.scratch}/f"
    host_write(target, path, b"precious")
    host_write(target, f"{target.scratch}/other", b"")
    args = {"path": path, "src": "other", "state": "link"}
    with pytest.raises(ModuleFailure, match="refusing"):
        apply(target, "file", args)
    assert host_read(target, path) == b"precious"
    assert apply(target, "file", {**args, "force": True}).changed
    assert sh(target, f"readlink {path}") == "other\n"


def test_symlink_to_missing_src_needs_force(target: Target) -> None:
    args = {"path": f"{target.scratch}/l", "src": "/nonexistent", "state": "link"}
    with pytest.raises(ModuleFailure, match="does not exist"):
        apply(target, "file", args)
    assert apply(target, "file", {**args, "force": True}).changed
    assert not apply(target, "file", {**args, "force": True}).changed


def test_hard_link(target: Target) -> None:
    src, path = f"{target.scratch}/orig", f"{target.scratch}/hard"
    host_write(target, src, b"shared")
    args = {"path": path, "src": src, "state": "hard"}
    assert apply(target, "file", args).changed
    assert sh(target, f"[ {path} -ef {src} ] && echo same") == "same\n"
    assert not apply(target, "file", args).changed


def test_hostile_paths_stay_data(target: Target) -> None:
    canary = f"{target.scratch}/pwned"
    for index, value in enumerate(hostile_values(canary)):
        path = f"{target.scratch}/{index}{value.replace('/', '_')}"
        assert apply(target, "file", {"path": path, "state": "directory"}).changed
        assert sh(target, f"test -d {shlex.quote(path)} && echo ok") == "ok\n"
        link = {"path": path + "-l", "src": value, "state": "link", "force": True}
        assert apply(target, "file", link).changed
        assert not host_exists(target, canary), value
