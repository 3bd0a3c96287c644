"""stat, slurp, fetch, ping: what they report and, for fetch, what lands on the controller."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from runbook_engine.errors import ModuleFailure
from tests.harness import Target
from tests.modules_files.helpers import apply, host_exists, host_write, hostile_values, sh


def test_stat_of_a_file(target: Target) -> None:
    path = f"{target.scratch}/f"
    host_write(target, path, b"hello\n")
    sh(target, f"chmod 640 {path}")
    st = apply(target, "stat", {"path": path}).data["stat"]
    assert st["exists"] and st["isreg"] and not st["isdir"] and not st["islnk"]
    assert st["mode"] == "0640" and st["size"] == 6
    assert st["rusr"] and st["wusr"] and st["rgrp"] and not st["wgrp"] and not st["roth"]
    assert st["checksum"] == hashlib.sha1(b"hello\n").hexdigest()
    assert st["pw_name"] == sh(target, "id -un").strip() and st["uid"] == int(sh(target, "id -u"))
    st = apply(target, "stat", {"path": path, "checksum_algorithm": "sha256"}).data["stat"]
    assert st["checksum"] == hashlib.sha256(b"hello\n").hexdigest()


def test_stat_of_links_dirs_and_nothing(target: Target) -> None:
    link = f"{target.scratch}/l"
    sh(target, f"ln -s {target.scratch} {link}")
    st = apply(target, "stat", {"path": link}).data["stat"]
    assert st["islnk"] and st["lnk_target"] == target.scratch
    assert st["lnk_source"] == sh(target, f"readlink -f {target.scratch}").strip()
    st = apply(target, "stat", {"path": link, "follow": True}).data["stat"]
    assert st["isdir"] and not st["islnk"] and "checksum" not in st
    res = apply(target, "stat", {"path": f"{target.scratch}/none"})
    assert res.data == {"stat": {"exists": False}} and not res.changed


def test_slurp(target: Target) -> None:
    data = bytes(range(256))
    host_write(target, f"{target.scratch}/bin", data)
    res = apply(target, "slurp", {"src": f"{target.scratch}/bin"})
    assert base64.b64decode(res.data["content"]) == data and res.data["encoding"] == "base64"
    with pytest.raises(ModuleFailure, match="file not found"):
        apply(target, "slurp", {"path": f"{target.scratch}/none"})


def test_ping(target: Target) -> None:
    res = apply(target, "ping", {})
    assert res.data == {"ping": "pong"} and not res.changed and not res.failed


def test_fetch_lays_out_by_host(target: Target, tmp_path: Path) -> None:
    src = f"{target.scratch}/app.log"
    host_write(target, src, b"log line\n")
    args = {"src": src, "dest": str(tmp_path)}
    res = apply(target, "fetch", args, check=True)
    local = tmp_path / target.name / src.lstrip("/")
    assert res.changed and not local.exists()
    res = apply(target, "fetch", args)
    assert res.changed and local.read_bytes() == b"log line\n" and res.data["dest"] == str(local)
    assert res.data["checksum"] == res.data["remote_checksum"]
    assert not apply(target, "fetch", args).changed
    host_write(target, src, b"log line\nanother\n")
    assert apply(target, "fetch", args).changed and local.read_bytes().endswith(b"another\n")


def test_fetch_flat_and_missing(target: Target, tmp_path: Path) -> None:
    src = f"{target.scratch}/f.txt"
    host_write(target, src, b"x")
    apply(target, "fetch", {"src": src, "dest": f"{tmp_path}/out/", "flat": True})
    assert (tmp_path / "out" / "f.txt").read_bytes() == b"x"
    missing = {"src": f"{target.scratch}/none", "dest": str(tmp_path)}
    with pytest.raises(ModuleFailure, match="does not exist"):
        apply(target, "fetch", missing)
    res = apply(target, "fetch", {**missing, "fail_on_missing": False})
    assert not res.changed and not res.failed


def test_hostile_paths_stay_data(target: Target, tmp_path: Path) -> None:
    canary = f"{target.scratch}/pwned"
    for index, value in enumerate(hostile_values(canary)):
        path = f"{target.scratch}/{index}{value.replace('/', '_')}"
        host_write(target, path, value.encode())
        assert apply(target, "stat", {"path": path}).data["stat"]["size"] == len(value.encode())
        res = apply(target, "slurp", {"src": path})
        assert base64.b64decode(res.data["content"]) == value.encode()
        res = apply(target, "fetch", {"src": path, "dest": f"{tmp_path}/{index}", "flat": True})
        assert (tmp_path / str(index)).read_bytes() == value.encode()
        assert not host_exists(target, canary), value
