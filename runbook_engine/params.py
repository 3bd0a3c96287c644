"""Runbook parameters: a play's `params:` list, validated with a pydantic model built at run time.

```yaml
params:
  - name: ticket
    type: str
    pattern: "OPS-[0-9]+"
    description: the incident ticket
  - {name: replicas, type: int, min: 1, max: 9, default: 3}
  - {name: db_password, type: secret}
```

Values come from `-p name=value`; missing required ones are asked for when stdin is a
terminal (secrets without echo), otherwise the run stops with one clear InputError.
`min`/`max` bound numbers, and the length of str, secret and list values.
Secret values are never echoed in errors; `ResolvedParams.masked()` is what gets shown.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from runbook_engine.errors import InputError, Position
from runbook_engine.loader.yaml_source import position_of
from runbook_engine.secrets import MASK

ParamType = Literal["str", "int", "float", "bool", "choice", "secret", "list"]
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}
_PROMPT_ATTEMPTS = 3


class ParamSpec(BaseModel):
    # Built when a playbook first declares params (while loading: one thread), not at
    # every start.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: ParamType = "str"
    description: str = ""
    default: Any = None
    required: bool | None = None
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    choices: list[Any] | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @property
    def is_required(self) -> bool:
        return self.default is None if self.required is None else self.required

    @property
    def secret(self) -> bool:
        return self.type == "secret"


def parse_param_specs(raw: Any, position: Position | None = None) -> list[ParamSpec]:
    """A play's `params:` value -> specs; errors name the file:line:column."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InputError("params must be a list of {name, type, ...} mappings",
                         position_of(raw) or position)
    specs: list[ParamSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = _item_position(raw, index) or position
        if not isinstance(entry, Mapping):
            raise InputError("each param must be a mapping with at least a name", where)
        try:
            spec = ParamSpec.model_validate(dict(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            key = str(first["loc"][0]) if first["loc"] else None
            at = getattr(entry, "value_pos", lambda _k: None)(key) if key else None
            raise InputError(f"param {entry.get('name', index)!r}: {loc}: {first['msg']}",
                             at or where) from None
        if spec.type == "choice" and not spec.choices:
            raise InputError(f"param {spec.name!r} is a choice but lists no choices", where)
        if spec.name in seen:
            raise InputError(f"param {spec.name!r} is declared twice", where)
        seen.add(spec.name)
        specs.append(spec)
    return specs


def _item_position(raw: Any, index: int) -> Position | None:
    pos = getattr(raw, "pos", None)
    return pos(index) if callable(pos) else None


# -- conversion of text to typed values -------------------------------------------------
def _to_bool(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("must be true or false (yes/no, on/off, 1/0)")
    return value


def _to_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("must be a JSON list or comma-separated words") from None
            return [str(v) for v in parsed]
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return value


def _field_for(spec: ParamSpec) -> tuple[Any, Any]:
    bounds: dict[str, Any] = {}
    if spec.type in ("int", "float"):
        if spec.min is not None:
            bounds["ge"] = spec.min
        if spec.max is not None:
            bounds["le"] = spec.max
    else:
        if spec.min is not None:
            bounds["min_length"] = int(spec.min)
        if spec.max is not None:
            bounds["max_length"] = int(spec.max)
    annotation: Any = {
        "str": str, "secret": str, "int": int, "float": float, "bool": bool,
        "list": list[str],
    }.get(spec.type)
    if spec.type == "choice":
        annotation = Literal[tuple(spec.choices or ())]  # type: ignore[misc]
    if spec.pattern and spec.type in ("str", "secret"):
        bounds["pattern"] = f"^(?:{spec.pattern})$"
    default = ... if spec.is_required else spec.default
    return annotation if spec.is_required else annotation | None, Field(default, **bounds)


def build_params_model(specs: Iterable[ParamSpec]) -> type[BaseModel]:
    """A pydantic model whose fields are the params (the validation and its messages)."""
    specs = list(specs)
    fields = {f"p_{spec.name}": _field_for(spec) for spec in specs}
    model = create_model("RunbookParams", __config__=ConfigDict(extra="forbid"), **fields)
    return model


def _coerce(spec: ParamSpec, value: Any) -> Any:
    if value is None:
        return None
    if spec.type == "bool":
        return _to_bool(value)
    if spec.type == "list":
        items = _to_list(value)
        if spec.pattern and isinstance(items, list):
            for item in items:
                if not re.fullmatch(spec.pattern, item):
                    raise ValueError(f"item {item!r} does not match {spec.pattern!r}")
        return items
    if spec.type == "choice" and isinstance(value, str):
        for choice in spec.choices or ():
            if str(choice) == value:
                return choice
    return value


# -- resolving the values of one run ----------------------------------------------------
@dataclass(slots=True)
class ResolvedParams:
    """The values of a run's parameters, and which of them are secret."""

    values: dict[str, Any]
    secret_names: set[str] = field(default_factory=set)

    @property
    def secret_values(self) -> list[str]:
        return [str(self.values[n]) for n in self.secret_names if self.values.get(n) is not None]

    def masked(self) -> dict[str, Any]:
        return {k: (MASK if k in self.secret_names and v is not None else v)
                for k, v in self.values.items()}


def parse_assignments(assignments: Iterable[str]) -> dict[str, str]:
    """`-p name=value` strings -> {name: value}; the value may contain '='."""
    given: dict[str, str] = {}
    for text in assignments:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"-p expects name=value, got {text.split('=')[0]!r}",
                             hint="for example: -p ticket=OPS-123")
        given[name] = value
    return given


def _describe_error(spec: ParamSpec, exc: Exception) -> str:
    detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
    if spec.secret:
        return f"parameter {spec.name!r} (secret): {detail.split(', got')[0]}"
    return f"parameter {spec.name!r}: {detail}"


def _validate_one(spec: ParamSpec, value: Any) -> Any:
    model = build_params_model([spec])
    try:
        coerced = _coerce(spec, value)
        validated = model.model_validate({f"p_{spec.name}": coerced})
    except (ValidationError, ValueError) as exc:
        raise InputError(_describe_error(spec, exc)) from None
    return getattr(validated, f"p_{spec.name}")


def resolve_params(
    specs: list[ParamSpec],
    given: Mapping[str, Any] | Iterable[str],
    *,
    interactive: bool | None = None,
    ask: Callable[[str], str] = input,
    ask_secret: Callable[[str], str] = getpass.getpass,
) -> ResolvedParams:
    """Validate every param; prompt for missing ones on a TTY; InputError otherwise."""
    if not isinstance(given, Mapping):
        given = parse_assignments(given)
    by_name = {spec.name: spec for spec in specs}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise InputError(f"unknown parameter {unknown[0]!r} (this playbook takes: {known})")
    if interactive is None:
        interactive = sys.stdin.isatty()
    values: dict[str, Any] = {}
    missing: list[ParamSpec] = []
    for spec in specs:
        if spec.name in given:
            values[spec.name] = _validate_one(spec, given[spec.name])
        elif not spec.is_required:
            values[spec.name] = _validate_one(spec, spec.default)
        elif interactive:
            values[spec.name] = _prompt(spec, ask, ask_secret)
        else:
            missing.append(spec)
    if missing:
        lines = [f"  {s.name} ({s.type}){': ' + s.description if s.description else ''}"
                 for s in missing]
        example = " ".join(f"-p {s.name}=..." for s in missing)
        raise InputError("missing required parameter(s):\n" + "\n".join(lines),
                         hint=f"give them on the command line: {example}")
    return ResolvedParams(values, {s.name for s in specs if s.secret})


def _prompt(spec: ParamSpec, ask: Callable[[str], str], ask_secret: Callable[[str], str]) -> Any:
    label = spec.name + (f" ({spec.description})" if spec.description else "")
    if spec.type == "choice":
        label += f" [{'/'.join(str(c) for c in spec.choices or ())}]"
    reader = ask_secret if spec.secret else ask
    for attempt in range(_PROMPT_ATTEMPTS):
        try:
            return _validate_one(spec, reader(f"{label}: "))
        except InputError as exc:
            if attempt == _PROMPT_ATTEMPTS - 1:
                raise
            print(exc.message, file=sys.stderr)
    raise AssertionError("unreachable")
