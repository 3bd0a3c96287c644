"""A real HTTP server on 127.0.0.1 for the uri / get_url tests (stdlib, one thread)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AUTH_USER = "ann"
AUTH_PASSWORD = "s3cr$t;`touch x`'\""


@dataclass
class LoopbackSite:
    base: str
    files: dict[str, bytes]
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r["path"] == path)


def _handler(server_state: LoopbackSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            return

        def _send(self, status: int, body: bytes, ctype: str = "text/plain",
                  extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            server_state.requests.append(
                {"path": path, "raw_path": self.path, "method": self.command,
                 "headers": dict(self.headers), "body": body}
            )
            if path == "/json":
                self._send(200, b'{"ok": true, "items": [1, 2]}', "application/json")
            elif path == "/redirect":
                self._send(302, b"", extra={"Location": "/json"})
            elif path == "/fail":
                self._send(500, b"boom", extra={"X-Reason": "testing"})
            elif path == "/echo":
                echoed = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body.decode("utf-8", "replace"),
                }
                self._send(201, json.dumps(echoed).encode(), "application/json")
            elif path == "/auth":
                token = base64.b64encode(f"{AUTH_USER}:{AUTH_PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") == f"Basic {token}":
                    self._send(200, b"welcome")
                else:
                    self._send(401, b"who?", extra={"WWW-Authenticate": 'Basic realm="t"'})
            elif path.startswith("/files/") and path[len("/files/"):] in server_state.files:
                self._send(200, server_state.files[path[len("/files/"):]],
                           "application/octet-stream")
            else:
                self._send(404, b"not found")

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    return Handler


@contextmanager
def serving() -> Iterator[LoopbackSite]:
    state = LoopbackSite(base="", files={})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
