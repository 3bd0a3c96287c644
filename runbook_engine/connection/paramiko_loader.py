"""Import paramiko without importing invoke until it is needed.

paramiko imports invoke when it is imported, for one ssh_config feature (`Match exec`),
and invoke imports unittest.mock, asyncio and its vendored YAML: ~0.1 s of CPU at the
start of every run over SSH, a good part of a short run. Here paramiko is imported with
invoke hidden, and its ssh_config module is given an invoke that is imported the first
time `Match exec` is used. (Fabric, for jump hosts, imports invoke itself.)
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


class _InvokeOnFirstUse:
    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("invoke"), name)


if "paramiko" not in sys.modules and "invoke" not in sys.modules:
    sys.modules["invoke"] = None  # type: ignore[assignment]  # `import invoke` fails
    try:
        import paramiko.config
    finally:
        del sys.modules["invoke"]
    paramiko.config.invoke = _InvokeOnFirstUse()  # type: ignore[attr-defined]

import paramiko  # noqa: E402

__all__ = ["paramiko"]
