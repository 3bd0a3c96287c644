"""uri: requests made from the host with curl, against a real HTTP server on loopback."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from runbook_engine.errors import ModuleFailure
from tests.harness import Target, make_ctx, run_module
from tests.modules_misc.http_server import AUTH_PASSWORD, AUTH_USER, LoopbackSite
from tests.modules_misc.recording import RecordingConnection


def test_get_json_endpoint(target: Target, http_server: LoopbackSite) -> None:
    result = run_module("uri", make_ctx(target), {"url": http_server.url("/json")})
    assert not result.failed and not result.changed, result.msg
    assert result.data["status"] == 200
    assert result.data["json"] == {"ok": True, "items": [1, 2]}
    assert result.data["content_type"] == "application/json"
    assert "content" not in result.data
    assert result.data["redirected"] is False


def test_redirect_followed_and_reported(target: Target, http_server: LoopbackSite) -> None:
    ctx = make_ctx(target)
    followed = run_module("uri", ctx, {"url": http_server.url("/redirect")})
    assert followed.data["status"] == 200 and followed.data["redirected"] is True
    assert followed.data["url"] == http_server.url("/json")
    kept = run_module(
        "uri", ctx,
        {"url": http_server.url("/redirect"), "follow_redirects": "none", "status_code": 302},
    )
    assert not kept.failed and kept.data["status"] == 302
    assert kept.data["location"] == "/json"


def test_server_error_fails_unless_expected(target: Target, http_server: LoopbackSite) -> None:
    ctx = make_ctx(target)
    failed = run_module("uri", ctx, {"url": http_server.url("/fail")})
    assert failed.failed and failed.data["status"] == 500
    assert "Status code was 500" in failed.msg
    assert failed.data["content"] == "boom"
    expected = run_module(
        "uri", ctx,
        {"url": http_server.url("/fail"), "status_code": [200, 500], "return_content": True},
    )
    assert not expected.failed and expected.data["x_reason"] == "testing"


def test_unreachable_server_is_status_minus_one(target: Target) -> None:
    result = run_module("uri", make_ctx(target), {"url": "http://127.0.0.1:9/", "timeout": 5})
    assert result.failed and result.data["status"] == -1
    assert "Request failed" in result.msg


def test_basic_auth_password_is_not_on_a_command_line(
    target: Target, http_server: LoopbackSite
) -> None:
    recorder = RecordingConnection(target.conn)
    ctx = make_ctx(replace(target, conn=recorder))
    denied = run_module("uri", ctx, {"url": http_server.url("/auth"), "status_code": 401})
    assert denied.data["status"] == 401
    args = {"url": http_server.url("/auth"), "url_username": AUTH_USER,
            "url_password": AUTH_PASSWORD, "return_content": True}
    allowed = run_module("uri", ctx, args)
    assert allowed.data["content"] == "welcome"
    assert recorder.commands and not any(AUTH_PASSWORD in c for c in recorder.commands)


def test_post_json_body_and_headers_arrive_as_sent(
    target: Target, http_server: LoopbackSite
) -> None:
    body = {"name": "web'1; $(id)", "tags": ["a", "b"]}
    result = run_module(
        "uri", make_ctx(target),
        {"url": http_server.url("/echo"), "method": "POST", "body": body,
         "body_format": "json", "status_code": 201, "headers": {"X-Token": "a\"b'$c`d`"}},
    )
    assert not result.failed, result.msg
    echoed = result.data["json"]
    assert echoed["method"] == "POST"
    assert echoed["headers"]["X-Token"] == "a\"b'$c`d`"
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert json.loads(echoed["body"]) == body


def test_header_values_that_yaml_reads_as_numbers_are_sent_as_text(
    target: Target, http_server: LoopbackSite
) -> None:
    result = run_module(
        "uri", make_ctx(target),
        {"url": http_server.url("/echo"), "method": "POST", "body": "x", "status_code": 201,
         "headers": {"X-Retries": 3, "X-Ratio": 0.5, "X-Dry-Run": True}},
    )
    assert not result.failed, result.msg
    echoed = result.data["json"]["headers"]
    assert (echoed["X-Retries"], echoed["X-Ratio"], echoed["X-Dry-Run"]) == ("3", "0.5", "True")


def test_form_body_and_other_methods(target: Target, http_server: LoopbackSite) -> None:
    ctx = make_ctx(target)
    form = run_module(
        "uri", ctx,
        {"url": http_server.url("/echo"), "method": "PUT", "body": {"a": "1 2", "b": "&x"},
         "body_format": "form-urlencoded", "status_code": 201},
    )
    assert form.data["json"]["method"] == "PUT"
    assert form.data["json"]["body"] == "a=1+2&b=%26x"
    raw = run_module(
        "uri", ctx,
        {"url": http_server.url("/echo"), "method": "POST", "body": "@/etc/passwd",
         "status_code": 201},
    )
    assert raw.data["json"]["body"] == "@/etc/passwd"


def test_check_mode_skips_writes_but_runs_reads(
    target: Target, http_server: LoopbackSite
) -> None:
    ctx = make_ctx(target, check=True)
    before = http_server.hits("/echo")
    skipped = run_module("uri", ctx, {"url": http_server.url("/echo"), "method": "DELETE"})
    assert skipped.skipped and http_server.hits("/echo") == before
    read = run_module("uri", ctx, {"url": http_server.url("/json")})
    assert read.data["status"] == 200


def test_shell_metacharacters_in_url_and_header_are_data(
    target: Target, http_server: LoopbackSite
) -> None:
    canary = f"{target.scratch}/canary"
    nasty = f"'; touch {canary}; echo '$(touch {canary})`touch {canary}`"
    url = http_server.url("/echo?q=[1]{2}") + "&x=" + nasty.replace(" ", "%20")
    result = run_module(
        "uri", make_ctx(target),
        {"url": url, "headers": {"X-Nasty": nasty}, "status_code": 201},
    )
    assert not result.failed, result.msg
    assert result.data["json"]["headers"]["X-Nasty"] == nasty
    assert "[1]{2}" in result.data["json"]["path"]
    assert target.conn.run(f"test -e {canary}").rc != 0
    if target.name == "localhost":
        assert not os.path.exists(canary)


def test_header_with_line_break_is_refused(target: Target, http_server: LoopbackSite) -> None:
    with pytest.raises(ModuleFailure, match="line break"):
        run_module(
            "uri", make_ctx(target),
            {"url": http_server.url("/json"), "headers": {"X-A": "1\r\nX-Injected: 2"}},
        )


def test_creates_skips_the_request(target: Target, http_server: LoopbackSite) -> None:
    marker = f"{target.scratch}/done"
    target.conn.run(f"touch {marker}")
    before = http_server.hits("/echo")
    result = run_module(
        "uri", make_ctx(target),
        {"url": http_server.url("/echo"), "method": "POST", "creates": marker},
    )
    assert result.skipped and http_server.hits("/echo") == before
