"""Print `name==floor` for every core dependency of pyproject.toml, for `make test-min-deps`:
the suite run against the oldest versions we claim to support."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

pyproject = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
for requirement in pyproject["project"]["dependencies"]:
    found = re.match(r"([A-Za-z0-9_.\[\]-]+)\s*>=\s*([0-9][0-9.]*)", requirement)
    if found is None:
        raise SystemExit(f"no floor in dependency {requirement!r}")
    print(f"{found[1]}=={found[2]}")
