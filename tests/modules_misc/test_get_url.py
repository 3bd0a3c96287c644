"""get_url: downloads made on the host (curl, and wget when curl is missing)."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import replace

import pytest

from tests.harness import Target, make_ctx, run_module
from tests.modules_misc.http_server import AUTH_PASSWORD, AUTH_USER, LoopbackSite
from tests.modules_misc.recording import RecordingConnection

PAYLOAD = b"release tarball \x00\xff bytes\n" * 100


@pytest.fixture
def site(http_server: LoopbackSite) -> LoopbackSite:
    http_server.files["app.tar"] = PAYLOAD
    http_server.files["other.bin"] = b"other"
    return http_server


def _read(target: Target, path: str) -> bytes:
    return target.conn.run(f"cat {shlex.quote(path)}").stdout_bytes


def _mode(target: Target, path: str) -> str:
    return target.conn.run(f"stat -c %a {shlex.quote(path)}").stdout.strip()


def test_download_then_idempotent(target: Target, site: LoopbackSite) -> None:
    dest = f"{target.scratch}/app.tar"
    args = {"url": site.url("/files/app.tar"), "dest": dest}
    first = run_module("get_url", make_ctx(target), args)
    assert first.changed and not first.failed, first.msg
    assert first.data["status_code"] == 200 and first.data["size"] == len(PAYLOAD)
    assert first.data["checksum_dest"] == hashlib.sha1(PAYLOAD).hexdigest()
    assert _read(target, dest) == PAYLOAD
    hits = site.hits("/files/app.tar")
    again = run_module("get_url", make_ctx(target), args)
    assert not again.changed and site.hits("/files/app.tar") == hits
    forced = run_module("get_url", make_ctx(target), {**args, "force": True})
    assert not forced.changed and site.hits("/files/app.tar") == hits + 1
    leftovers = target.conn.run(f"ls -A {shlex.quote(target.scratch)}").stdout.split()
    assert leftovers == ["app.tar"]


def test_checksum_verifies_and_decides(target: Target, site: LoopbackSite) -> None:
    dest = f"{target.scratch}/app.tar"
    good = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
    target.conn.run(f"echo stale > {shlex.quote(dest)}")
    fixed = run_module("get_url", make_ctx(target),
                       {"url": site.url("/files/app.tar"), "dest": dest, "checksum": good})
    assert fixed.changed and _read(target, dest) == PAYLOAD
    hits = site.hits("/files/app.tar")
    kept = run_module("get_url", make_ctx(target),
                      {"url": site.url("/files/app.tar"), "dest": dest, "checksum": good})
    assert not kept.changed and site.hits("/files/app.tar") == hits
    bad_dest = f"{target.scratch}/bad"
    bad = run_module("get_url", make_ctx(target),
                     {"url": site.url("/files/other.bin"), "dest": bad_dest, "checksum": good})
    assert bad.failed and "did not match" in bad.msg
    assert target.conn.run(f"test -e {shlex.quote(bad_dest)}").rc != 0


def test_mode_dest_directory_and_check_mode(target: Target, site: LoopbackSite) -> None:
    url = site.url("/files/other.bin")
    preview = run_module("get_url", make_ctx(target, check=True),
                         {"url": url, "dest": target.scratch})
    assert preview.changed
    assert target.conn.run(f"test -e {target.scratch}/other.bin").rc != 0
    done = run_module("get_url", make_ctx(target),
                      {"url": url, "dest": target.scratch, "mode": "0600"})
    assert done.changed and done.data["dest"] == f"{target.scratch}/other.bin"
    assert _mode(target, done.data["dest"]) == "600"
    relaxed = run_module("get_url", make_ctx(target),
                         {"url": url, "dest": target.scratch, "mode": "0644"})
    assert relaxed.changed and _mode(target, done.data["dest"]) == "644"
    settled = run_module("get_url", make_ctx(target, check=True),
                         {"url": url, "dest": target.scratch, "mode": "0644"})
    assert not settled.changed


def test_http_errors_fail_and_leave_nothing(target: Target, site: LoopbackSite) -> None:
    dest = f"{target.scratch}/missing"
    result = run_module("get_url", make_ctx(target),
                        {"url": site.url("/files/nope"), "dest": dest})
    assert result.failed and result.data["status_code"] == 404
    assert target.conn.run(f"ls -A {shlex.quote(target.scratch)}").stdout == ""


def test_credentials_never_on_a_command_line(target: Target, site: LoopbackSite) -> None:
    recorder = RecordingConnection(target.conn)
    ctx = make_ctx(replace(target, conn=recorder))
    dest = f"{target.scratch}/welcome"
    result = run_module(
        "get_url", ctx,
        {"url": site.url("/auth"), "dest": dest,
         "url_username": AUTH_USER, "url_password": AUTH_PASSWORD},
    )
    assert result.changed, result.msg
    assert _read(target, dest) == b"welcome"
    assert not any(AUTH_PASSWORD in c for c in recorder.commands)


def test_metacharacters_in_url_header_and_dest_are_data(
    target: Target, site: LoopbackSite
) -> None:
    canary = f"{target.scratch}/canary"
    nasty = f"$(touch {canary})`touch {canary}`;touch {canary}'\""
    dest = f"{target.scratch}/it's $(touch canary2);`touch canary2` here"
    result = run_module(
        "get_url", make_ctx(target),
        {"url": site.url("/files/app.tar?x=") + nasty.replace(" ", "%20"), "dest": dest,
         "headers": {"X-Nasty": nasty}},
    )
    assert result.changed, result.msg
    assert _read(target, dest) == PAYLOAD
    assert site.requests[-1]["headers"]["X-Nasty"] == nasty
    assert target.conn.run(f"test -e {shlex.quote(canary)}").rc != 0
    assert target.conn.run("test -e canary2").rc != 0
    listing = target.conn.run(f"ls -A {shlex.quote(target.scratch)}").stdout.splitlines()
    assert listing == [dest.rsplit("/", 1)[1]]


def test_wget_is_used_when_curl_is_missing(target: Target, site: LoopbackSite) -> None:
    bin_dir = f"{target.scratch}/bin-without-curl"
    target.conn.run(
        f"mkdir {bin_dir} && cp -s /usr/bin/* {bin_dir}/ 2>/dev/null; rm -f {bin_dir}/curl"
    )
    assert target.conn.run(f"test -e {bin_dir}/wget && ! test -e {bin_dir}/curl").rc == 0
    ctx = make_ctx(target)
    ctx.environment = {"PATH": bin_dir}
    dest = f"{target.scratch}/via-wget"
    result = run_module(
        "get_url", ctx,
        {"url": site.url("/auth"), "dest": dest,
         "url_username": AUTH_USER, "url_password": AUTH_PASSWORD},
    )
    assert result.changed and result.data["status_code"] == 200, result.msg
    assert _read(target, dest) == b"welcome"
    missing = run_module("get_url", ctx, {"url": site.url("/files/nope"), "dest": dest + "2"})
    assert missing.failed and missing.data["status_code"] == 404
