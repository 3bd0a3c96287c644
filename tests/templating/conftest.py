from __future__ import annotations

import pytest

from runbook_engine.templating import Templar


@pytest.fixture(scope="module")
def templar() -> Templar:
    return Templar()
