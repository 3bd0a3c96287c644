"""The secret values of one run, and masking them out of anything before it is shown or stored.

The executor adds every secret it learns (decrypted vault values, `secret` parameters,
become passwords) and masks events before they leave it; the journal masks again what
it stores. Masking replaces each occurrence inside strings, at any depth of dicts, lists,
tuples and dataclasses (such as `Result`).
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "********"
# Variables that hold passwords whatever their value: given with -e they are secrets too.
PASSWORD_VARS = frozenset({
    "ansible_password", "ansible_ssh_pass", "ansible_become_password", "ansible_become_pass",
})


class SecretRegistry:
    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for value in values:
            self.add(value)

    def add(self, value: Any) -> None:
        """Register a secret; empty values are ignored (masking them would mask everything)."""
        if value is None:
            return
        text = value if isinstance(value, str) else str(value)
        if not text:
            return
        with self._lock:
            if text in self._values:
                return
            self._values.add(text)
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def mask_text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def mask(self, obj: Any) -> Any:
        """A copy of `obj` with every secret replaced by the mask (same types back)."""
        if self._pattern is None:
            return obj
        return self._mask(obj)

    def _mask(self, obj: Any) -> Any:
        if isinstance(obj, str):
            masked = self.mask_text(obj)
            if masked == obj:
                return obj
            # A str subclass (VaultTagged...) cannot be trusted to keep its meaning masked.
            return masked
        if isinstance(obj, dict):
            return {self._mask(k): self._mask(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._mask(v) for v in obj]
        if isinstance(obj, tuple):
            items = [self._mask(v) for v in obj]
            return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
        if isinstance(obj, (set, frozenset)):
            return type(obj)(self._mask(v) for v in obj)
        if isinstance(obj, bytes):
            try:
                return self.mask_text(obj.decode()).encode()
            except UnicodeDecodeError:
                return obj
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {f.name: self._mask(getattr(obj, f.name))
                       for f in dataclasses.fields(obj) if f.init}
            return dataclasses.replace(obj, **changes)
        return obj


def mask_keys(obj: Any, names: Iterable[str]) -> Any:
    """Replace the values of the named keys (e.g. secret parameters) anywhere in `obj`."""
    wanted = set(names)
    if isinstance(obj, dict):
        return {k: (MASK if k in wanted else mask_keys(v, wanted)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [mask_keys(v, wanted) for v in obj]
    return obj
