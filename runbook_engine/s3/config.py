"""S3 connection settings shared by the backup modules, and the boto3 client built from them.

Credentials resolve the standard boto3 way: explicit `access_key`/`secret_key` (e.g. from a
vault variable), else the named `profile`, else the environment / shared config chain.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from runbook_engine.modules.base import ModuleArgs

MIB = 1024 * 1024
# S3's own limits: parts of 5 MiB .. 5 GiB, at most 10 000 of them.
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB


class S3Args(ModuleArgs):
    """Where backups live, and how to reach the store."""

    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = "backups"
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key: str | None = None
    secret_key: SecretStr | None = None
    session_token: SecretStr | None = None
    sse: Literal["AES256", "aws:kms"] | None = None
    sse_kms_key_id: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] | None = None
    max_attempts: int = Field(default=5, ge=1, le=20)
    retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    part_size_mb: int = Field(default=16, ge=5, le=5120)

    @field_validator(
        "endpoint_url", "region", "profile", "access_key", "secret_key", "session_token",
        "sse", "sse_kms_key_id", "addressing_style", mode="before",
    )
    @classmethod
    def _s3_empty_is_unset(cls, value: object) -> object:
        # Role defaults spell "not set" as "": the standard boto3 resolution applies.
        return None if value == "" else value

    @field_validator("prefix")
    @classmethod
    def _clean_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if value and any(part in ("", ".", "..") for part in value.split("/")):
            raise ValueError("prefix must not contain empty, '.' or '..' segments")
        return value

    @property
    def part_size(self) -> int:
        return self.part_size_mb * MIB

    def where(self, key: str = "") -> str:
        """`s3://bucket/key` for messages (never carries credentials)."""
        return f"s3://{self.bucket}/{key}"


def make_client(settings: S3Args) -> Any:
    """A boto3 S3 client: path-style addressing by default for custom endpoints (most
    S3-compatible stores need it), botocore's retry modes, bounded timeouts."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    from runbook_engine.s3.errors import S3Failure

    style = settings.addressing_style or ("path" if settings.endpoint_url else "auto")
    config = Config(
        region_name=settings.region,
        retries={"max_attempts": settings.max_attempts, "mode": settings.retry_mode},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        s3={"addressing_style": style},
        # Checksums are sent and checked explicitly by this package, per part.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    try:
        session = boto3.session.Session(profile_name=settings.profile)
        return session.client(
            "s3",
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=_reveal(settings.secret_key),
            aws_session_token=_reveal(settings.session_token),
            config=config,
        )
    except (BotoCoreError, ValueError) as exc:  # unknown profile, malformed endpoint URL...
        raise S3Failure(f"S3 client configuration: {exc}") from exc


def encryption_args(settings: S3Args) -> dict[str, str]:
    """Server-side encryption parameters for uploads and copies."""
    if settings.sse is None:
        return {}
    args = {"ServerSideEncryption": settings.sse}
    if settings.sse == "aws:kms" and settings.sse_kms_key_id:
        args["SSEKMSKeyId"] = settings.sse_kms_key_id
    return args


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
