"""Ansible's filters, tests and lookups for the Templar (filled in by the templating work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runbook_engine.templating import Templar


def install(templar: Templar) -> None:
    """Register filters, tests and globals on the Templar's environment."""
    return None
