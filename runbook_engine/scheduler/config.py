"""The schedules file (schedules.yml): what to run, when, and what to do about overlaps.

```yaml
timezone: Europe/Paris          # default for every entry (UTC when unset)
history_retention: 90d          # once a day, prune runs older than this (unset: keep all)
schedules:
  - name: nightly-backup
    playbook: playbooks/backup.yml
    inventory: inventories/prod.yml      # or a list
    limit: db
    extra_vars: {retention_days: 14}
    params: {ticket: OPS-1}
    cron: "30 2 * * *"                   # 5 fields; a 6th (last) one is seconds
    timezone: Europe/Paris
    jitter: 300                          # start up to 300 s after the fire time
    timeout: 3600                        # SIGTERM the run after this many seconds
    overlap: skip                        # skip | queue | kill
    missed: run_once                     # skip | run_once (after the scheduler was down)
```

Relative paths are resolved against the schedules file's directory.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runbook_engine.errors import InputError, Position

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
DEFAULT_SCHEDULES_FILE = "schedules.yml"


class ScheduleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=f"^{NAME_PATTERN}$")
    playbook: Path
    inventory: list[str] = Field(default_factory=list)
    limit: str | None = None
    extra_vars: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    cron: str
    timezone: str = "UTC"
    jitter: float = Field(0, ge=0)
    timeout: float | None = Field(None, gt=0)
    overlap: Literal["skip", "queue", "kill"] = "skip"
    missed: Literal["skip", "run_once"] = "skip"
    check: bool = False
    enabled: bool = True

    @field_validator("inventory", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not str(key).isidentifier():
                raise ValueError(f"parameter name {key!r} is not an identifier")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def trigger(self) -> str:
        return f"schedule:{self.name}"

    def fire_times_after(self, moment: datetime) -> Any:
        """An iterator of fire times (aware datetimes in the entry's zone) after `moment`."""
        from croniter import croniter

        return croniter(self.cron, moment.astimezone(self.zone), ret_type=datetime)

    def next_fire(self, moment: datetime) -> datetime:
        return self.fire_times_after(moment).get_next(datetime)

    def previous_fire(self, moment: datetime) -> datetime:
        return self.fire_times_after(moment).get_prev(datetime)


class SchedulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str | None = None
    # seconds; written as a span (`90d`, `12w`): `runbook prune --older-than` once a day
    history_retention: float | None = None
    schedules: list[ScheduleEntry] = Field(default_factory=list)

    @field_validator("history_retention", mode="before")
    @classmethod
    def _span(cls, value: Any) -> float | None:
        from runbook_engine.state.render import parse_span

        if value is None:
            return None
        seconds = parse_span(str(value))
        if seconds is None or seconds <= 0:
            raise ValueError(f"{value!r} is not a span: write it like 90d, 12w or 36h")
        return seconds


def load_schedules(path: str | Path) -> list[ScheduleEntry]:
    """The file's schedules (see `load_schedules_file`)."""
    return load_schedules_file(path).schedules


def load_schedules_file(path: str | Path) -> SchedulesFile:
    """Read and validate the whole file; InputError (exit 2) names the entry and field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the schedules file: {exc.strerror}", Position(str(path)),
                         "pass --schedules FILE (see schedules.example.yml)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Position(str(path), mark.line + 1, mark.column + 1) if mark else Position(str(path))
        raise InputError(f"YAML: {getattr(exc, 'problem', exc)}", where) from None
    raw = raw or {}
    if not isinstance(raw, dict):
        raise InputError("the schedules file must be a mapping with a `schedules:` list",
                         Position(str(path)))
    default_zone = raw.get("timezone")
    entries = raw.get("schedules") or []
    if isinstance(entries, list) and default_zone:
        entries = [{"timezone": default_zone, **e} if isinstance(e, dict) else e
                   for e in entries]
    try:
        parsed = SchedulesFile.model_validate({**raw, "schedules": entries})
    except ValidationError as exc:
        raise InputError(_describe(exc, raw), Position(str(path))) from None
    base = path.resolve().parent
    resolved = [_resolve_paths(entry, base) for entry in parsed.schedules]
    names = [entry.name for entry in resolved]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"duplicate schedule names: {', '.join(duplicates)}",
                         Position(str(path)))
    return parsed.model_copy(update={"schedules": resolved})


def _resolve_paths(entry: ScheduleEntry, base: Path) -> ScheduleEntry:
    def resolve(value: str) -> str:
        # `host1,host2,` is a host list, not a file
        if "," in value or Path(value).is_absolute():
            return value
        return str(base / value)

    playbook = entry.playbook if entry.playbook.is_absolute() else base / entry.playbook
    return entry.model_copy(update={
        "playbook": playbook, "inventory": [resolve(i) for i in entry.inventory]})


def _describe(exc: ValidationError, raw: dict[str, Any]) -> str:
    problems = []
    for error in exc.errors():
        location = list(error["loc"])
        label = ".".join(str(part) for part in location)
        if len(location) >= 2 and location[0] == "schedules" and isinstance(location[1], int):
            entries = raw.get("schedules") or []
            entry = entries[location[1]] if location[1] < len(entries) else {}
            name = entry.get("name") if isinstance(entry, dict) else None
            field = ".".join(str(part) for part in location[2:]) or "entry"
            label = f"schedule {name or '#' + str(location[1] + 1)!s}: {field}"
        problems.append(f"{label}: {error['msg']}")
    return "invalid schedules file: " + "; ".join(problems)
