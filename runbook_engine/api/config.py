"""The server config (server.yml): the whitelist of playbooks the API may run, and tokens.

```yaml
playbooks:                      # requests name a playbook; only these names exist
  health:
    playbook: playbooks/health-check.yml
    inventory: inventories/local.yml     # or a list
    limit: web                  # optional: the hosts this entry may ever touch
    allow_limit: true           # requests may narrow the hosts further (default false)
    extra_vars: [app_root]      # extra vars a request may set (default: none)
    check: false                # true: every run of this entry is a dry run
tokens:                         # optional; `runbook serve --add-token` writes tokens_file
  - {name: ci, sha256: 3f1d..., playbooks: [health]}
tokens_file: api-tokens.json    # default: $RUNBOOK_STATE_DIR/api-tokens.json
runs_dir: api-runs              # events of runs started here (default: in the state dir)
```

Relative paths are resolved against the config file's directory. Every playbook and
inventory file is checked at start-up; a request only ever selects one of them by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runbook_engine.errors import InputError, Position
from runbook_engine.scheduler.config import NAME_PATTERN
from runbook_engine.scheduler.fire_log import default_state_dir


class PlaybookEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    playbook: Path
    inventory: list[str] = Field(default_factory=list)
    limit: str | None = None
    allow_limit: bool = False
    extra_vars: list[str] = Field(default_factory=list)
    check: bool = False

    @field_validator("inventory", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class TokenEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(pattern=f"^{NAME_PATTERN}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    playbooks: list[str]  # names, or ["*"] for every whitelisted playbook

    def allows(self, playbook: str) -> bool:
        return "*" in self.playbooks or playbook in self.playbooks


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    playbooks: dict[str, PlaybookEntry] = Field(default_factory=dict)
    tokens: list[TokenEntry] = Field(default_factory=list)
    tokens_file: Path | None = None
    runs_dir: Path | None = None

    @field_validator("playbooks")
    @classmethod
    def _names(cls, value: dict[str, PlaybookEntry]) -> dict[str, PlaybookEntry]:
        import re

        for name in value:
            if not re.fullmatch(NAME_PATTERN, name):
                raise ValueError(f"playbook name {name!r}: use letters, digits, . _ -")
        return value

    def playbook_name_of(self, path: str) -> str | None:
        """The whitelist name of a journaled playbook path (None: not one of ours)."""
        resolved = Path(path).resolve()
        for name, entry in self.playbooks.items():
            if entry.playbook.resolve() == resolved:
                return name
        return None


def load_server_config(path: str | Path) -> ServerConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InputError(f"cannot read the server config: {exc.strerror}", Position(str(path)),
                         "pass --config FILE (see docs/api.md)") from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML: {exc}", Position(str(path))) from None
    try:
        config = ServerConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        raise InputError(f"invalid server config: {problems}", Position(str(path))) from None
    return _resolved(config, path.resolve().parent)


def _resolved(config: ServerConfig, base: Path) -> ServerConfig:
    def inventory(value: str) -> str:
        if "," in value or Path(value).is_absolute():
            return value
        return str(base / value)

    playbooks = {}
    for name, entry in config.playbooks.items():
        playbook = entry.playbook if entry.playbook.is_absolute() else base / entry.playbook
        if not playbook.is_file():
            raise InputError(f"playbook {name!r}: no file {playbook}")
        inventories = [inventory(i) for i in entry.inventory]
        for item in inventories:
            if "," not in item and not Path(item).exists():
                raise InputError(f"playbook {name!r}: no inventory {item}")
        playbooks[name] = entry.model_copy(update={"playbook": playbook.resolve(),
                                                   "inventory": inventories})
    state_dir = default_state_dir()
    tokens_file = config.tokens_file or state_dir / "api-tokens.json"
    runs_dir = config.runs_dir or state_dir / "api-runs"
    return config.model_copy(update={
        "playbooks": playbooks,
        "tokens_file": tokens_file if tokens_file.is_absolute() else base / tokens_file,
        "runs_dir": runs_dir if runs_dir.is_absolute() else base / runs_dir,
    })
