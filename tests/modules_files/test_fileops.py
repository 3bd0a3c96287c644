"""fileops used directly, as other modules do: batches, binary data, failures."""

from __future__ import annotations

import pytest

from runbook_engine.errors import ModuleFailure
from runbook_engine.modules import fileops
from tests.harness import Target, make_ctx
from tests.modules_files.helpers import host_exists, host_mode, host_read, host_write, listing


def test_write_files_in_one_batch(target: Target) -> None:
    s = target.scratch
    files = [
        (f"{s}/empty", b"", None),
        (f"{s}/binary", bytes(range(256)) * 300, "0600"),
        (f"{s}/text", b"no newline at end", "0640"),
        (f"{s}/sub/dir/deep", b"x\n", None),
    ]
    ctx = make_ctx(target)
    results = fileops.write_files(ctx, files, parents=True)
    assert [r.changed for r in results] == [True, True, True, True]
    for path, data, mode in files:
        assert host_read(target, path) == data
        if mode:
            assert host_mode(target, path) == mode
    host_write(target, f"{s}/text", b"edited")
    again = fileops.write_files(ctx, files, parents=True)
    assert [r.changed for r in again] == [False, False, True, False]
    assert host_read(target, f"{s}/text") == b"no newline at end"


def test_write_files_stops_at_a_directory(target: Target) -> None:
    s = target.scratch
    files = [(f"{s}/a", b"1"), (s, b"2"), (f"{s}/c", b"3")]
    with pytest.raises(ModuleFailure, match=f"cannot write {s}: it is a directory"):
        fileops.write_files(make_ctx(target), files)
    assert host_read(target, f"{s}/a") == b"1" and not host_exists(target, f"{s}/c")


def test_write_file_refuses_relative_paths(target: Target) -> None:
    with pytest.raises(ModuleFailure, match="absolute"):
        fileops.write_file(make_ctx(target), "relative/x", b"")


def test_read_file_and_stat(target: Target) -> None:
    path = f"{target.scratch}/f"
    ctx = make_ctx(target)
    assert fileops.read_file_and_stat(ctx, path) == (None, None)
    host_write(target, path, b"abc\n@@RB_CONTENT_x@@\n")
    st, data = fileops.read_file_and_stat(ctx, path)
    assert st is not None and st["isreg"] and st["size"] == 21
    assert data == b"abc\n@@RB_CONTENT_x@@\n"
    st, data = fileops.read_file_and_stat(ctx, target.scratch)
    assert st is not None and st["isdir"] and data is None


def test_apply_attributes_check_mode_changes_nothing(target: Target) -> None:
    path = f"{target.scratch}/f"
    host_write(target, path, b"")
    fileops.apply_attributes(make_ctx(target), path, "0600")
    assert fileops.apply_attributes(make_ctx(target, check=True), path, "go+r")
    assert host_mode(target, path) == "0600"
    assert not fileops.apply_attributes(make_ctx(target, check=True), path, "u-x")
    assert listing(target) == ["f"]
