from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.modules_misc.http_server import LoopbackSite, serving


@pytest.fixture(scope="module")
def http_server() -> Iterator[LoopbackSite]:
    with serving() as server:
        yield server
