"""Shared helpers for the backup tests: backup objects with chosen times, put straight into
the real store, verified (sha256/size metadata as `backup` writes it) or not."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime
from typing import Any

from runbook_engine.s3.naming import TIMESTAMP_FORMAT


def unique_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def backup_key(prefix: str, host: str, name: str, when: datetime, ext: str = "tar.gz") -> str:
    return f"{prefix}/{host}/{name}-{when.strftime(TIMESTAMP_FORMAT)}.{ext}"


def put_object(
    client: Any, bucket: str, key: str, body: bytes | None = None, *, verified: bool = True
) -> bytes:
    body = body if body is not None else os.urandom(64)
    metadata = {"sha256": hashlib.sha256(body).hexdigest(), "size": str(len(body))}
    client.put_object(
        Bucket=bucket, Key=key, Body=body, Metadata=metadata if verified else {}
    )
    return body


def keys_under(client: Any, bucket: str, prefix: str) -> set[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


class RecordingConnection:
    """A real connection that also keeps every command and stdin byte sent to the host,
    so tests can prove what never reached it (S3 credentials)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.host = conn.host
        self.sent = bytearray()

    def connect(self) -> None:
        self.conn.connect()

    def run(self, command: str, *, stdin: bytes | None = None, timeout: float | None = None,
            text: bool = False):
        self.sent += command.encode() + b"\n" + (stdin or b"")
        return self.conn.run(command, stdin=stdin, timeout=timeout, text=text)

    def open_stream(self, command: str) -> Any:
        self.sent += command.encode() + b"\n"
        stream = self.conn.open_stream(command)
        stream.stdin = _RecordingWriter(stream.stdin, self.sent)
        return stream

    def close(self) -> None:
        self.conn.close()


class _RecordingWriter:
    def __init__(self, inner: Any, sink: bytearray) -> None:
        self._inner, self._sink = inner, sink

    def write(self, data: bytes) -> int:
        self._sink += data
        return self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
