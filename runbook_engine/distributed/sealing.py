"""Everything the controller and the workers leave in Redis is Fernet-encrypted
(AES-128-CBC + HMAC-SHA256): task payloads, replies and bundles. The key is derived from
RUNBOOK_WORKER_KEY, which the controller and every worker share."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from runbook_engine.distributed import codec
from runbook_engine.errors import InputError

KEY_ENV = "RUNBOOK_WORKER_KEY"
MIN_KEY_LENGTH = 16


class SealError(Exception):
    """A sealed value could not be opened: another key, or tampered with."""


class Sealer:
    def __init__(self, key: str) -> None:
        digest = hashlib.sha256(b"runbook-worker-key\0" + key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, value: Any) -> str:
        return self._fernet.encrypt(codec.dumps(value).encode()).decode("ascii")

    def open(self, token: str | bytes) -> Any:
        return codec.loads(self.open_bytes(token))

    def seal_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def open_bytes(self, token: str | bytes) -> bytes:
        try:
            return self._fernet.decrypt(token if isinstance(token, bytes) else token.encode())
        except InvalidToken:
            raise SealError("cannot decrypt: the controller and this worker do not share "
                            f"the same {KEY_ENV}") from None


def sealer_from_env() -> Sealer:
    key = os.environ.get(KEY_ENV, "")
    if len(key) < MIN_KEY_LENGTH:
        raise InputError(
            f"{KEY_ENV} is {'too short' if key else 'not set'}: the controller and the "
            "workers encrypt everything they put in Redis with it",
            hint=f"set the same {KEY_ENV} (at least {MIN_KEY_LENGTH} characters) for "
            "`runbook run --executor celery` and every `runbook worker`, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`",
        )
    return Sealer(key)
