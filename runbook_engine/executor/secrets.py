"""Secret values of one run (vault values, secret parameters, become passwords), and the
masking applied to everything before it leaves the executor as an event."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from runbook_engine.loader.yaml_source import VaultTagged
from runbook_engine.modules.base import Result

MASK = "********"


class SecretRegistry:
    def __init__(self, decrypt: Callable[[str], str] | None = None) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._decrypt = decrypt

    def add(self, value: str) -> None:
        if value and len(value) >= 3:  # masking "a" everywhere would shred every output
            with self._lock:
                self._values = self._values | {value}

    def reveal(self, value: Any) -> Any:
        """Variable transform: decrypt `!vault` values on first use, remembering them."""
        if isinstance(value, VaultTagged):
            if self._decrypt is None:
                from runbook_engine.templating import TemplateError

                raise TemplateError("a !vault value needs a vault password "
                                    "(--vault-password-file or RUNBOOK_VAULT_PASSWORD)")
            clear = self._decrypt(str(value))
            self.add(clear)
            return clear
        return value

    def mask(self, value: Any) -> Any:
        values = self._values
        if not values:
            return value
        if isinstance(value, str):
            for secret in values:
                if secret in value:
                    value = value.replace(secret, MASK)
            return value
        if isinstance(value, dict):
            return {k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask(v) for v in value]
        return value

    def mask_result(self, result: Result) -> Result:
        if not self._values:
            return result
        return replace(
            result, msg=self.mask(result.msg), stdout=self.mask(result.stdout),
            stderr=self.mask(result.stderr), diff=self.mask(result.diff),
            data=self.mask(result.data),
        )
