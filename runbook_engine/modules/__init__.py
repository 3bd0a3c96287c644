"""Modules: one file each, `Args` (pydantic) + `run(ctx, args) -> Result`.

A module is found by its file name; `ansible.builtin.X` and `community.general.X` style
names resolve to `X`. Nothing is imported until a playbook uses the module, which keeps
`runbook --version` and start-up fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

_NOT_MODULES = {"base", "fileops"}



@cache
def available_modules() -> tuple[str, ...]:
    names = [
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _NOT_MODULES
    ]
    # Python keywords can't be file names; such modules carry a trailing underscore.
    return tuple(sorted(n.rstrip("_") for n in names))


def canonical_name(name: str) -> str:
    """`ansible.builtin.copy` -> `copy`; unknown collections keep their last segment."""
    return name.rsplit(".", 1)[-1] if "." in name else name


def is_module(name: str) -> bool:
    return canonical_name(name) in available_modules()


@cache
def load_module(name: str) -> ModuleType:
    short = canonical_name(name)
    if short not in available_modules():
        raise KeyError(name)
    try:
        return importlib.import_module(f"{__name__}.{short}")
    except ModuleNotFoundError:
        return importlib.import_module(f"{__name__}.{short}_")


def suggest(name: str) -> list[str]:
    import difflib  # only for an error message: not on every start

    return difflib.get_close_matches(canonical_name(name), available_modules(), n=3, cutoff=0.6)
