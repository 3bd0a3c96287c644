"""Streamed multipart upload with bounded memory, checksummed end to end.

A backup object becomes valid in three steps, and only the last one makes it so:
1. parts are uploaded as the stream arrives, each with its SHA-256 (the store rejects a
   part whose bytes do not match);
2. the upload is completed and read back (HeadObject): size and the store's composite
   checksum must equal what was streamed;
3. the object is copied onto itself with `sha256` and `size` metadata: the "verified" mark
   restores and retention look for.
If anything fails before that, the upload is aborted (or the completed object deleted), so
nothing is left that could pass for a backup.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from runbook_engine.errors import ModuleFailure
from runbook_engine.s3.config import MAX_PART_SIZE, S3Args, encryption_args
from runbook_engine.s3.errors import S3Failure, describe, s3_errors

READ_CHUNK = 1024 * 1024
MAX_PARTS = 10_000
META_SHA256 = "sha256"
META_SIZE = "size"
META_VERIFIED_AT = "verified-at"


@dataclass(frozen=True, slots=True)
class UploadedBackup:
    key: str
    size: int
    sha256: str  # hex digest of the whole object
    parts: int
    etag: str


@dataclass
class _Part:
    number: int
    etag: str
    checksum: str  # base64 SHA-256 of the part, as S3 wants it
    md5: bytes


@dataclass
class MultipartUpload:
    """Use as a context manager: leaving it without `commit()` aborts the upload."""

    client: Any
    settings: S3Args
    key: str
    metadata: dict[str, str]
    content_type: str = "application/octet-stream"
    size: int = 0
    _sha256: Any = field(default_factory=hashlib.sha256)
    _parts: list[_Part] = field(default_factory=list)
    _upload_id: str | None = None
    _completed: bool = False
    _committed: bool = False

    @property
    def where(self) -> str:
        return self.settings.where(self.key)

    def __enter__(self) -> MultipartUpload:
        try:
            response = self.client.create_multipart_upload(
                Bucket=self.settings.bucket,
                Key=self.key,
                Metadata=self.metadata,
                ContentType=self.content_type,
                ChecksumAlgorithm="SHA256",
                **encryption_args(self.settings),
            )
        except s3_errors() as exc:
            raise S3Failure(describe(exc, "starting the upload to", self.where)) from exc
        self._upload_id = response["UploadId"]
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._committed:
            note = self.abort()
            if isinstance(exc, ModuleFailure) and exc.args and note:
                exc.args = (f"{exc.args[0]}; {note}",)

    # -- streaming -------------------------------------------------------------
    def write_from(self, source: BinaryIO) -> None:
        """Read `source` to EOF, uploading a part each time `part_size` bytes are buffered.
        Memory stays near two part buffers whatever the archive size."""
        part_size = min(self.settings.part_size, MAX_PART_SIZE)
        chunks: list[bytes] = []
        buffered = 0
        while chunk := source.read(READ_CHUNK):
            chunks.append(chunk)
            buffered += len(chunk)
            if buffered >= part_size:
                joined = b"".join(chunks)
                chunks = [joined[part_size:]] if buffered > part_size else []
                buffered -= part_size
                self._upload_part(joined[:part_size] if chunks else joined)
                del joined
        if chunks or not self._parts:
            self._upload_part(b"".join(chunks))

    def _upload_part(self, data: bytes) -> None:
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise S3Failure(
                f"the backup exceeds {MAX_PARTS} parts of {self.settings.part_size_mb} MiB: "
                "raise part_size_mb"
            )
        self._sha256.update(data)
        self.size += len(data)
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            response = self.client.upload_part(
                Bucket=self.settings.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,
                ChecksumSHA256=checksum,
            )
        except s3_errors() as exc:
            raise S3Failure(describe(exc, f"uploading part {number} of", self.where)) from exc
        md5 = hashlib.md5(data, usedforsecurity=False).digest()
        self._parts.append(_Part(number, response["ETag"], checksum, md5))

    # -- completion ------------------------------------------------------------
    def commit(self) -> UploadedBackup:
        """Complete, read back and verify, then mark verified. Raises S3Failure."""
        bucket, key = self.settings.bucket, self.key
        try:
            self.client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=self._upload_id,
                MultipartUpload={
                    "Parts": [
                        {"PartNumber": p.number, "ETag": p.etag, "ChecksumSHA256": p.checksum}
                        for p in self._parts
                    ]
                },
            )
            self._completed = True
            head = self.client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except s3_errors() as exc:
            raise S3Failure(describe(exc, "completing the upload of", self.where)) from exc
        self._check_read_back(head)
        digest = self._sha256.hexdigest()
        marked = dict(self.metadata)
        marked.update(
            {
                META_SHA256: digest,
                META_SIZE: str(self.size),
                META_VERIFIED_AT: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        try:
            self._copy_in_place(marked)
            head = self.client.head_object(Bucket=bucket, Key=key)
        except s3_errors() as exc:
            raise S3Failure(describe(exc, "marking verified", self.where)) from exc
        stored = head.get("Metadata", {})
        if stored.get(META_SHA256) != digest or head.get("ContentLength") != self.size:
            raise S3Failure(f"{self.where}: the verified mark did not stick (read back differs)")
        self._committed = True
        return UploadedBackup(key, self.size, digest, len(self._parts), head.get("ETag", ""))

    def _check_read_back(self, head: dict[str, Any]) -> None:
        stored_size = head.get("ContentLength")
        if stored_size != self.size:
            raise S3Failure(
                f"{self.where}: stored size {stored_size} differs from the {self.size} bytes sent"
            )
        composite = hashlib.sha256(
            b"".join(base64.b64decode(p.checksum) for p in self._parts)
        ).digest()
        expected_checksum = f"{base64.b64encode(composite).decode()}-{len(self._parts)}"
        stored_checksum = head.get("ChecksumSHA256")
        if stored_checksum:
            if stored_checksum.split("-")[0] != expected_checksum.split("-")[0]:
                raise S3Failure(f"{self.where}: stored SHA-256 checksum differs from the stream")
            return
        # Stores without checksum support: the multipart ETag is md5 of the part md5s.
        etag = str(head.get("ETag", "")).strip('"')
        expected_etag = hashlib.md5(
            b"".join(p.md5 for p in self._parts), usedforsecurity=False
        ).hexdigest()
        if etag != f"{expected_etag}-{len(self._parts)}":
            raise S3Failure(f"{self.where}: cannot verify the upload (no checksum, ETag differs)")

    def _copy_in_place(self, metadata: dict[str, str]) -> None:
        """Metadata can only be set by rewriting the object; stores do it server-side (a
        managed copy switches to part copies above S3's 5 GiB single-copy limit)."""
        from boto3.s3.transfer import TransferConfig

        self.client.copy(
            {"Bucket": self.settings.bucket, "Key": self.key},
            self.settings.bucket,
            self.key,
            ExtraArgs={
                "Metadata": metadata,
                "MetadataDirective": "REPLACE",
                "ContentType": self.content_type,
                **encryption_args(self.settings),
            },
            Config=TransferConfig(
                multipart_threshold=MAX_PART_SIZE,
                multipart_chunksize=max(self.settings.part_size, 64 * 1024 * 1024),
                use_threads=False,
            ),
        )

    # -- failure ---------------------------------------------------------------
    def abort(self) -> str:
        """Remove every trace of an unfinished backup. Returns a note when it could not."""
        bucket, key = self.settings.bucket, self.key
        try:
            if self._completed:
                self.client.delete_object(Bucket=bucket, Key=key)
                return "the unverified object was deleted"
            if self._upload_id is not None:
                self.client.abort_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=self._upload_id
                )
            return "the partial upload was aborted"
        except s3_errors() as exc:
            if self._completed:
                return (
                    f"could not delete the unverified object ({describe(exc, 'deleting', key)}); "
                    "it carries no sha256 mark, so restores and rotation refuse it"
                )
            return (
                f"could not abort the partial upload {self._upload_id} "
                f"({exc.__class__.__name__}); no object was created, and the parts are "
                "removed by an AbortIncompleteMultipartUpload lifecycle rule or a later abort"
            )
