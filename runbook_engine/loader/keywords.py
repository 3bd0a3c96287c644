"""The keywords a play and a task may use, as pydantic models: types are checked and
unknown keys refused, and each error is mapped back to the key's file:line:column."""

from __future__ import annotations

from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runbook_engine.errors import InputError, Position, did_you_mean
from runbook_engine.loader.yaml_source import YamlMap

Scalar = str | int | float | bool
M = TypeVar("M", bound=BaseModel)
Condition = str | bool | list[str | bool]


class _Strict(BaseModel):
    # defer_build: a model's validator is built when the loader (one thread) first uses
    # it; a run whose playbook has no roles or loop_control never pays for theirs.
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, defer_build=True)


class LoopControlSpec(_Strict):
    loop_var: str = "item"
    index_var: str | None = None
    label: str | None = None
    pause: float = 0
    extended: bool = False


class TaskKeywords(_Strict):
    name: str | None = None
    when: Condition | None = None
    loop: Any = None
    with_items: Any = None
    with_list: Any = None
    with_dict: Any = None
    with_sequence: Any = None
    loop_control: LoopControlSpec | None = None
    register_: str | None = Field(None, alias="register")
    changed_when: Condition | None = None
    failed_when: Condition | None = None
    ignore_errors: bool | str = False
    ignore_unreachable: bool = False
    notify: str | list[str] | None = None
    listen: str | list[str] | None = None
    tags: str | list[Scalar] | None = None
    no_log: bool | str = False
    become: bool | None = None
    become_user: str | None = None
    become_method: str | None = None
    become_flags: str | None = None
    delegate_to: str | None = None
    delegate_facts: bool = False
    run_once: bool = False
    retries: int | str | None = None
    delay: int | float | str = 5
    until: Condition | None = None
    timeout: int | str | None = None
    environment: dict[str, Any] | None = None
    vars: dict[str, Any] | None = None
    args: dict[str, Any] | None = None
    check_mode: bool | str | None = None
    diff: bool | str | None = None
    any_errors_fatal: bool | None = None
    throttle: int | None = None
    debugger: str | None = None
    # blocks
    block: list[Any] | None = None
    rescue: list[Any] | None = None
    always: list[Any] | None = None


TASK_KEYWORDS = frozenset(
    (f.alias or name) for name, f in TaskKeywords.model_fields.items()
)
# Keys that stand in for the module: they name what the task does.
INCLUDE_KEYWORDS = frozenset(
    {"import_tasks", "include_tasks", "import_role", "include_role", "meta", "include"}
)


class RoleRefSpec(_Strict):
    model_config = ConfigDict(extra="allow")  # the rest are role parameters
    role: str | None = None
    name: str | None = None
    when: Condition | None = None
    tags: str | list[Scalar] | None = None
    vars: dict[str, Any] | None = None
    become: bool | None = None
    become_user: str | None = None


class PlayKeywords(_Strict):
    name: str | None = None
    hosts: str | list[str]
    description: str | None = None
    vars: dict[str, Any] | None = None
    vars_files: list[str] | str | None = None
    vars_prompt: list[Any] | None = None
    pre_tasks: list[Any] | None = None
    roles: list[Any] | None = None
    tasks: list[Any] | None = None
    post_tasks: list[Any] | None = None
    handlers: list[Any] | None = None
    gather_facts: bool | None = None
    become: bool = False
    become_user: str | None = None
    become_method: str | None = None
    serial: int | str | list[int | str] | None = None
    max_fail_percentage: float | int | None = None
    any_errors_fatal: bool = False
    strategy: Literal["linear", "free"] = "linear"
    tags: str | list[Scalar] | None = None
    environment: dict[str, Any] | None = None
    params: list[Any] | None = None  # validated by runbook_engine.params
    notify: Any = None
    check_mode: bool | None = None
    diff: bool | None = None
    ignore_unreachable: bool = False
    force_handlers: bool = False
    order: Literal["inventory", "sorted", "reverse_inventory", "reverse_sorted"] = "inventory"
    remote_user: str | None = None
    connection: str | None = None
    collections: list[str] | None = None
    module_defaults: dict[str, Any] | None = None


PLAY_KEYWORDS = frozenset(PlayKeywords.model_fields)


def validate_keywords(
    model: type[M], data: YamlMap, what: str, known: Any = None
) -> M:
    """Validate a mapping against `model`; the first problem becomes an InputError at the
    offending key (unknown keys get a "did you mean")."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise _first_error(exc, model, data, what, known or model.model_fields) from None


def _first_error(
    exc: ValidationError, model: type[BaseModel], data: YamlMap, what: str, known: Any
) -> InputError:
    error = exc.errors(include_url=False)[0]
    loc = error.get("loc", ())
    key = loc[0] if loc else None
    position: Position | None = data.pos(key) if key is not None else data.position
    value = data.get(key) if key is not None else None
    if error["type"] == "extra_forbidden":
        if len(loc) == 2 and isinstance(value, YamlMap):
            # a key inside a keyword's own mapping: `loop_control: {lable: x}`
            inner = str(loc[1])
            return InputError(f"unknown {key} keyword '{inner}'", value.pos(loc[1]) or position,
                              did_you_mean(inner, _fields_of(model, str(key))))
        return InputError(f"unknown {what} keyword '{key}'", position, did_you_mean(key, known))
    if error["type"] == "missing":
        return InputError(f"{what} is missing the required key '{key}'", data.position)
    path = str(key)
    if isinstance(value, YamlMap) and len(loc) > 1 and loc[1] in value:
        position = value.pos(loc[1]) or position
        path = f"{key}.{loc[1]}"
        value = value[loc[1]]
    elif key is not None:
        position = data.value_pos(key)
    got = type(value).__name__.replace("YamlMap", "mapping").replace("YamlList", "list")
    return InputError(f"{what} keyword '{path}': {error['msg']} (got {got})", position)


def _fields_of(model: type[BaseModel], key: str) -> Any:
    """The field names of the model that keyword `key` of `model` holds (if it holds one)."""
    annotation = model.model_fields[key].annotation if key in model.model_fields else None
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate.model_fields
    return ()
