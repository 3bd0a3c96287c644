"""Import paramiko without what its import pulls in and a run does not use.

- invoke: paramiko imports it when it is imported, for one ssh_config feature (`Match
  exec`), and invoke imports unittest.mock, asyncio and its vendored YAML: ~0.1 s of CPU
  at the start of every run over SSH. Here paramiko is imported with invoke hidden, and
  its ssh_config module is given an invoke that is imported the first time `Match exec`
  is used. (Fabric, for jump hosts, imports invoke itself.)
- importlib.metadata: paramiko imports it to read its own version number, and it imports
  email, zipfile and csv: ~30 ms of CPU per start. Here paramiko gets the version from
  the name of its installed metadata directory (`paramiko-5.1.0.dist-info`) instead, when
  there is exactly one such directory and no other thread could be importing meanwhile;
  otherwise it is imported as usual.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import types
from typing import Any


class _InvokeOnFirstUse:
    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("invoke"), name)


def _installed_version() -> str | None:
    """paramiko's version as its `*.dist-info` directory names it (None if unsure)."""
    spec = importlib.util.find_spec("paramiko")
    if spec is None or not spec.submodule_search_locations:
        return None
    site = os.path.dirname(next(iter(spec.submodule_search_locations)))
    try:
        names = [n for n in os.listdir(site)
                 if n.startswith("paramiko-") and n.endswith(".dist-info")]
    except OSError:
        return None
    if len(names) != 1:
        return None
    return names[0].removeprefix("paramiko-").removesuffix(".dist-info")


def _metadata_for_paramiko() -> types.ModuleType | None:
    """A stand-in for importlib.metadata that answers `version("paramiko")` only."""
    if "importlib.metadata" in sys.modules or threading.active_count() != 1:
        return None
    version = _installed_version()
    if version is None:
        return None

    def paramiko_version(name: str) -> str:
        if name != "paramiko":
            raise LookupError(name)
        return version

    stand_in = types.ModuleType("importlib.metadata")
    stand_in.version = paramiko_version  # type: ignore[attr-defined]
    return stand_in


def _import_paramiko_alone() -> None:
    hidden: dict[str, Any] = {"invoke": None}  # `import invoke` fails
    metadata = _metadata_for_paramiko()
    if metadata is not None:
        hidden["importlib.metadata"] = metadata
    sys.modules.update(hidden)
    try:
        import paramiko.config
    finally:
        for name in hidden:
            del sys.modules[name]
        if metadata is not None and getattr(importlib, "metadata", None) is metadata:
            del importlib.metadata  # type: ignore[attr-defined]
    paramiko.config.invoke = _InvokeOnFirstUse()  # type: ignore[attr-defined]


if "paramiko" not in sys.modules and "invoke" not in sys.modules:
    _import_paramiko_alone()

import paramiko  # noqa: E402

__all__ = ["paramiko"]
