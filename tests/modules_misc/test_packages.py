"""apt / package: a real small Debian package (`hello`) installed and removed on the local
target (root); check mode (apt-get -s, no root needed) over SSH with `sl`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from runbook_engine.errors import ModuleFailure
from tests.harness import Target, make_ctx, run_module

pytestmark = pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt (Debian)")

APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def _installed(target: Target, package: str) -> bool:
    done = target.conn.run(f"dpkg-query -W -f='${{Status}}' {package} 2>/dev/null")
    return done.stdout.endswith(" installed")


def _purge(package: str) -> None:
    subprocess.run(
        ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "purge", package],
        env=APT_ENV, check=False, capture_output=True, timeout=600,
    )


@pytest.fixture
def no_hello(target: Target) -> Iterator[None]:
    if target.name != "localhost":
        pytest.skip("installing needs root: the local half installs, SSH runs check mode")
    _purge("hello")
    yield
    _purge("hello")


@pytest.mark.slow
def test_install_idempotent_latest_and_remove(target: Target, no_hello: None) -> None:
    preview = run_module("apt", make_ctx(target, check=True), {"name": "hello"})
    assert preview.changed and not _installed(target, "hello")
    installed = run_module("apt", make_ctx(target), {"name": ["hello"], "state": "present"})
    assert installed.changed and installed.rc == 0
    assert target.conn.run("hello").stdout.strip() == "Hello, world!"
    assert not run_module("apt", make_ctx(target), {"name": "hello"}).changed
    assert not run_module("apt", make_ctx(target), {"name": "hello", "state": "latest"}).changed
    cached = run_module(
        "apt", make_ctx(target),
        {"name": "hello", "update_cache": True, "cache_valid_time": 10**9},
    )
    assert not cached.changed and cached.data["cache_updated"] is False
    removed = run_module("package", make_ctx(target), {"name": "hello", "state": "absent"})
    assert removed.changed and not _installed(target, "hello")
    again = run_module("package", make_ctx(target), {"name": "hello", "state": "absent"})
    assert not again.changed


def test_check_mode_simulates_without_root(target: Target) -> None:
    if _installed(target, "sl"):
        pytest.skip("sl is installed on this machine")
    would = run_module("apt", make_ctx(target, check=True), {"name": ["sl"]})
    assert would.changed and "Inst sl" in would.stdout
    assert not _installed(target, "sl")
    generic = run_module("package", make_ctx(target, check=True), {"name": "sl"})
    assert generic.changed and not _installed(target, "sl")
    nothing = run_module("package", make_ctx(target, check=True),
                         {"name": "sl", "state": "absent"})
    assert not nothing.changed


def test_unknown_package_fails_clearly(target: Target) -> None:
    with pytest.raises(ModuleFailure, match="no-such-package-rb"):
        run_module("apt", make_ctx(target, check=True), {"name": "no-such-package-rb"})


def test_names_that_are_not_package_names_are_refused(target: Target) -> None:
    canary = f"{target.scratch}/canary"
    for bad in (f"hello;touch {canary}", "-o=APT::x", "hello world", "$(id)"):
        with pytest.raises(ValidationError):
            run_module("apt", make_ctx(target, check=True), {"name": bad})
        with pytest.raises(ValidationError):
            run_module("package", make_ctx(target, check=True), {"name": [bad]})
    assert target.conn.run(f"test -e {canary}").rc != 0
