"""S3 failures turned into messages a person can act on (and that carry no secret)."""

from __future__ import annotations

from runbook_engine.errors import ModuleFailure

_CREDENTIAL_CODES = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken"}
_PERMISSION_CODES = {"AccessDenied", "AllAccessDisabled", "AccountProblem"}


class S3Failure(ModuleFailure):
    """An S3 request failed; the message says which operation, where, and what to check."""


def describe(exc: BaseException, action: str, where: str) -> str:
    """One line naming the failed action, the place and the likely cause."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        NoCredentialsError,
        ProfileNotFound,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        text = str(error.get("Message", "")).split("\n")[0][:200]
        if code in _CREDENTIAL_CODES:
            hint = "S3 rejected the credentials: check the access key and secret key"
        elif code in _PERMISSION_CODES:
            hint = "the key is not allowed to do this: check its permissions on the bucket"
        elif code == "NoSuchBucket":
            hint = "the bucket does not exist"
        elif code == "403":  # HEAD responses carry no error body
            hint = "forbidden: the credentials are wrong or lack permission"
        elif code in ("NoSuchKey", "404", "NotFound"):
            hint = "no such object"
        else:
            hint = text or "the store refused the request"
        return f"{action} {where} failed ({code}): {hint}"
    if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
        return f"{action} {where} failed: cannot reach the S3 endpoint ({exc.__class__.__name__})"
    if isinstance(exc, ReadTimeoutError):
        return f"{action} {where} failed: the S3 endpoint stopped answering (read timeout)"
    if isinstance(exc, NoCredentialsError):
        return f"{action} {where} failed: no S3 credentials (set keys, a profile or AWS_* env)"
    if isinstance(exc, ProfileNotFound):
        return f"{action} {where} failed: {exc}"
    return f"{action} {where} failed: {exc.__class__.__name__}: {str(exc)[:200]}"


def s3_errors() -> tuple[type[BaseException], ...]:
    """The exception types an S3 call can raise (botocore's, plus a dropped socket)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError, OSError)
